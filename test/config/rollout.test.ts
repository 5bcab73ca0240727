import { parseEnvironment } from '../../src/config';
import { selectorProblem } from '../../src/model/validate';
import { inputErrors } from '../support/input-errors';

const BASE = `name: seed-dev
flannel:
  podNetwork: 10.244.0.0/16
clouds:
  - name: cloud-a
    nicMtu: 1400
links: []
`;

const errors = inputErrors;
const rollout = (body: string) => parseEnvironment(`${BASE}rollout:\n${body}`, 'x.yaml').environment.rollout;

describe('rollout settings', () => {
  test('absent: no rollout', () => {
    expect(parseEnvironment(BASE, 'x.yaml').environment.rollout).toBeUndefined();
  });

  test('present: enabled, with the default timeout', () => {
    expect(rollout('  namespaces: [ingress-nginx, default]\n')).toEqual({ enabled: true, namespaces: ['ingress-nginx', 'default'], timeoutSeconds: 600 });
    expect(rollout('  namespaces: [default]\n  selector: app.kubernetes.io/part-of=shop\n  timeoutSeconds: 900\n')).toEqual({
      enabled: true, namespaces: ['default'], selector: 'app.kubernetes.io/part-of=shop', timeoutSeconds: 900,
    });
  });

  test('enabled: false needs no namespaces', () => {
    expect(rollout('  enabled: false\n')).toEqual({ enabled: false, namespaces: [], timeoutSeconds: 600 });
  });

  test('kubectl and busybox images are optional and stay absent when not given', () => {
    const env = parseEnvironment(`${BASE}images:\n  kubectl: registry.k8s.io/kubectl:v1.32.8\n`, 'x.yaml').environment;
    expect(env.images).toEqual({ flannel: 'ghcr.io/flannel-io/flannel:v0.28.9', flannelCniPlugin: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3', kubectl: 'registry.k8s.io/kubectl:v1.32.8' });
  });

  test('fails when a namespace is not a DNS label, naming line, column and YAML path', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: [default, Shop_1]\n`)).toEqual([
      'environments/dev.yaml:9:25: rollout.namespaces[1]: expected a namespace name (a lowercase DNS label such as "ingress-nginx"), got "Shop_1" (a string)',
    ]);
  });

  test('fails when a namespace carries shell syntax', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: ["default;rm -rf /", "$(id)"]\n`)).toEqual([
      'environments/dev.yaml:9:16: rollout.namespaces[0]: expected a namespace name (a lowercase DNS label such as "ingress-nginx"), got "default;rm -rf /" (a string)',
      'environments/dev.yaml:9:36: rollout.namespaces[1]: expected a namespace name (a lowercase DNS label such as "ingress-nginx"), got "$(id)" (a string)',
    ]);
  });

  test('fails on an unknown key under rollout, listing the allowed ones', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: [default]\n  timeout: 600\n`)).toEqual([
      'environments/dev.yaml:10:3: rollout.timeout: unknown key; allowed: enabled, namespaces, selector, timeoutSeconds, allowSystemNamespaces',
    ]);
  });

  test('fails when enabled without namespaces (there is no all-namespaces mode)', () => {
    expect(errors(`${BASE}rollout:\n  selector: app=web\n`)).toEqual([
      'environments/dev.yaml:9:3: rollout: missing required key "namespaces": list the namespaces whose workloads are restarted, in order (there is no all-namespaces mode)',
    ]);
    expect(errors(`${BASE}rollout:\n  namespaces: []\n`)).toEqual(['environments/dev.yaml:9:15: rollout.namespaces: expected at least one namespace']);
  });

  test('fails on a duplicate namespace', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: [default, default]\n`)).toEqual([
      'environments/dev.yaml:9:25: rollout.namespaces[1]: duplicate namespace "default" (first at rollout.namespaces[0])',
    ]);
  });

  test('fails when the selector is not a plain equality selector', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: [default]\n  selector: "app in (web, api)"\n`)).toEqual([
      'environments/dev.yaml:10:13: rollout.selector: expected a label selector of comma-separated key, !key, key=value or key!=value terms (set-based "in"/"notin" terms are not supported), got "app in (web, api)" (bad term "app in (web")',
    ]);
    expect(errors(`${BASE}rollout:\n  namespaces: [default]\n  selector: "app=$(id)"\n`)[0]).toContain('rollout.selector: expected a label selector');
  });

  test('fails when timeoutSeconds is out of range', () => {
    expect(errors(`${BASE}rollout:\n  namespaces: [default]\n  timeoutSeconds: 5\n`)).toEqual([
      'environments/dev.yaml:10:19: rollout.timeoutSeconds: expected a number of seconds between 10 and 86400, got 5',
    ]);
  });

  test.each([
    ['app=web', undefined],
    ['app.kubernetes.io/part-of=shop,!flannel-mtu.io/skip-rollout', undefined],
    ['tier!=edge,canary', undefined],
    ['app==web', undefined],
    ['app=', 'got "app="'],
    ['!app=web', 'got "!app=web"'],
    ['app=web,', 'bad term ""'],
    ['-o=yaml', 'got "-o=yaml"'],
    ['app=a b', 'got "app=a b"'],
  ])('selectorProblem(%j)', (selector, problem) => {
    const p = selectorProblem(selector);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });
});
