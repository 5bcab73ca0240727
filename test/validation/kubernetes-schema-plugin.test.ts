import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../support/dist';

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
  test('every committed manifest passes', async () => {
    const files = fs.readdirSync(path.join(REPO, 'dist')).map((f) => path.join(REPO, 'dist', f));
    const ctx = context(files);
    await new KubernetesSchemaValidation().validate(ctx);
    expect(ctx.result()).toEqual({ status: 'success', violations: [] });
  });

  test('fails on a manifest that breaks the schema, naming the object and the field', async () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-plugin-')), 'bad.k8s.yaml');
    fs.writeFileSync(bad, fs.readFileSync(path.join(REPO, 'dist', 'seed-dev.k8s.yaml'), 'utf8').replace('hostNetwork: true', 'hostNetwork: "yes"'));
    const ctx = context([bad]);
    await new KubernetesSchemaValidation().validate(ctx);
    const { status, violations } = ctx.result();
    expect(status).toBe('failure');
    expect(violations[0]).toMatchObject({ ruleName: 'kubernetes-openapi-schema', recommendation: 'data/spec/template/spec/hostNetwork must be boolean' });
    expect(violations[0].violatingResources[0].resourceName).toBe('DaemonSet kube-flannel/kube-flannel-ds');
    fs.rmSync(path.dirname(bad), { recursive: true });
  });
});
