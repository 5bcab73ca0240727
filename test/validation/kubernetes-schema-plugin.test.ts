import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { fixtureManifest } from '../support/dist';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KubernetesSchemaValidation } = require('../../validators/kubernetes-schema');

/** The parts of cdk8s-cli's ValidationContext the plugin uses. */
function context(manifests: string[]) {
  const violations: Array<{ ruleName: string; recommendation: string; violatingResources: Array<{ resourceName: string }> }> = [];
  let status: string | undefined;
  return {
    manifests,
    parseManifest: (file: string) => parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS()),
    report: { addViolation: (v: (typeof violations)[number]) => violations.push(v), submit: (s: string) => (status = s) },
    result: () => ({ status, violations }),
  };
}

describe('cdk8s validation plugin (cdk8s.yaml validations)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `flannel-mtu-plugin-${process.pid}-`));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('every fixture manifest passes, and the GitOps objects of synth --gitops are left to their tools', async () => {
    const files = (['seed-dev', 'hybrid-prod', 'jumbo-per-path'] as const).map((n) => {
      const file = path.join(tmp, `${n}.k8s.yaml`);
      fs.writeFileSync(file, fixtureManifest(n));
      return file;
    });
    const gitops = path.join(tmp, 'seed-dev.argocd.yaml');
    fs.writeFileSync(gitops, 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: flannel-mtu-seed-dev\n');
    const ctx = context([...files, gitops]);
    await new KubernetesSchemaValidation().validate(ctx);
    expect(ctx.result()).toEqual({ status: 'success', violations: [] });
  });

  test('fails on a manifest that breaks the schema, naming the object and the field', async () => {
    const bad = path.join(tmp, 'bad.k8s.yaml');
    fs.writeFileSync(bad, fixtureManifest('seed-dev').replace('hostNetwork: true', 'hostNetwork: "yes"'));
    const ctx = context([bad]);
    await new KubernetesSchemaValidation().validate(ctx);
    const { status, violations } = ctx.result();
    expect(status).toBe('failure');
    expect(violations[0]).toMatchObject({ ruleName: 'kubernetes-openapi-schema', recommendation: 'data/spec/template/spec/hostNetwork must be boolean' });
    expect(violations[0].violatingResources[0].resourceName).toBe('DaemonSet kube-flannel/kube-flannel-ds');
  });
});
