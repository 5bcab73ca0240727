import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as fc from 'fast-check';
import { selectorProblem, SELECTOR_TERM_ERE } from '../../src/model';
import { synthFiles } from '../../src/synth';
import { findObject, K8sObject, REPO } from '../support/dist';
import { runScript, SEED_WORKLOADS, shells, Workload } from './kubectl-standin';

/** The rollout Job as it ships in an environment's manifest: its objects, script and env. */
function shipped(file: string): { objects: K8sObject[]; script: string; env: Record<string, string>; container: K8sObject } {
  const objects = synthFiles([path.join(REPO, file)])[0].objects as K8sObject[];
  const job = findObject(objects, 'Job');
  const container = job.spec.template.spec.containers.find((c: K8sObject) => c.name === 'rollout-restart');
  expect(container.command).toEqual(['/tools/sh', '-c']);
  const [script, argv0] = container.args;
  expect(argv0).toBe('rollout-restart');
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  return { objects, script, env, container };
}

const SEED = shipped('test/fixtures/environments/seed-dev.yaml');
const JUMBO = shipped('test/fixtures/environments/jumbo-per-path.yaml');

const WORKLOADS = SEED_WORKLOADS;
const JSONPATH = 'jsonpath={range .items[*]}{.kind}{"|"}{.metadata.name}{"|"}{.spec.template.spec.hostNetwork}{"|"}{.spec.updateStrategy.type}{"\\n"}{end}';
const LIST = (ns: string) => ['get', 'deployments.apps,statefulsets.apps,daemonsets.apps', '-n', ns, '--request-timeout=60s', '-o', JSONPATH];
const RESTART = (ns: string, w: string) => ['rollout', 'restart', w, '-n', ns, '--request-timeout=60s'];
const STATUS = (ns: string, w: string, t = 600) => ['rollout', 'status', w, '-n', ns, `--timeout=${t}s`];
const FLANNEL_STATUS = STATUS('kube-flannel', 'daemonset.apps/kube-flannel-ds');

describe.each(shells())('rollout-restart.sh as shipped in seed-dev, under $name', ({ argv }) => {
  const run = (extra: { env?: Record<string, string>; failStatus?: string[]; workloads?: Record<string, Workload[]> } = {}) =>
    runScript({ shell: argv, script: SEED.script, env: { ...SEED.env, ...extra.env }, workloads: extra.workloads ?? WORKLOADS, failStatus: extra.failStatus });

  test('the environment reaches the script as env vars', () => {
    expect(SEED.env).toEqual({
      FLANNEL_NAMESPACE: 'kube-flannel',
      FLANNEL_DAEMONSETS: 'kube-flannel-ds',
      ROLLOUT_NAMESPACES: 'ingress-nginx default',
      ROLLOUT_SELECTOR: '',
      ROLLOUT_TIMEOUT_SECONDS: '600',
      HOME: '/tmp',
      PATH: '/tools:/bin:/usr/local/bin:/usr/bin',
    });
  });

  test('waits for flannel first, then restarts namespace by namespace, each restart followed by its status before the next namespace', () => {
    const r = run({ failStatus: ['default/deployment.apps/orders-api'] });
    expect(r.calls).toEqual([
      FLANNEL_STATUS,
      LIST('ingress-nginx'),
      RESTART('ingress-nginx', 'deployment.apps/ingress-nginx-controller'),
      RESTART('ingress-nginx', 'statefulset.apps/geoip-cache'),
      RESTART('ingress-nginx', 'daemonset.apps/edge-proxy'),
      STATUS('ingress-nginx', 'deployment.apps/ingress-nginx-controller'),
      STATUS('ingress-nginx', 'statefulset.apps/geoip-cache'),
      STATUS('ingress-nginx', 'daemonset.apps/edge-proxy'),
      LIST('default'),
      RESTART('default', 'deployment.apps/web'),
      RESTART('default', 'deployment.apps/orders-api'),
      RESTART('default', 'statefulset.apps/db'),
      RESTART('default', 'daemonset.apps/log-agent'),
      STATUS('default', 'deployment.apps/web'),
      STATUS('default', 'deployment.apps/orders-api'),
      STATUS('default', 'statefulset.apps/db'),
      STATUS('default', 'daemonset.apps/log-agent'),
    ]);
  });

  test('hostNetwork workloads are skipped: never restarted, reported as skipped', () => {
    const r = run();
    const touched = r.calls.filter((c) => c[0] === 'rollout').map((c) => c[2]);
    expect(touched).not.toContain('daemonset.apps/ingress-nginx-hostport');
    expect(touched).not.toContain('daemonset.apps/node-exporter');
    expect(r.stdout).toContain("rollout-restart: skipped: ingress-nginx/daemonset.apps/ingress-nginx-hostport (hostNetwork: its pods use the node's network, not the overlay)\n");
    expect(r.stdout).toContain("rollout-restart: skipped: default/daemonset.apps/node-exporter (hostNetwork: its pods use the node's network, not the overlay)\n");
  });

  test('a failed rollout: the other namespaces still proceed, the report names it, exit 1', () => {
    const r = run({ failStatus: ['ingress-nginx/deployment.apps/ingress-nginx-controller'] });
    expect(r.status).toBe(1);
    expect(r.calls).toContainEqual(RESTART('default', 'deployment.apps/web'));
    const report = r.stdout.split('\n').filter((l) => /^rollout-restart: (report|restarted|skipped|failed):/.test(l));
    expect(report).toEqual([
      'rollout-restart: report: 6 restarted, 2 skipped, 1 failed',
      'rollout-restart: restarted: ingress-nginx/statefulset.apps/geoip-cache',
      'rollout-restart: restarted: ingress-nginx/daemonset.apps/edge-proxy',
      'rollout-restart: restarted: default/deployment.apps/web',
      'rollout-restart: restarted: default/deployment.apps/orders-api',
      'rollout-restart: restarted: default/statefulset.apps/db',
      'rollout-restart: restarted: default/daemonset.apps/log-agent',
      "rollout-restart: skipped: ingress-nginx/daemonset.apps/ingress-nginx-hostport (hostNetwork: its pods use the node's network, not the overlay)",
      "rollout-restart: skipped: default/daemonset.apps/node-exporter (hostNetwork: its pods use the node's network, not the overlay)",
      'rollout-restart: failed: ingress-nginx/deployment.apps/ingress-nginx-controller: restarted, but not rolled out within 600s (see kubectl rollout status above)',
    ]);
    expect(r.stderr).toContain('rollout-restart: error: 1 workload(s) failed; pods not recreated keep the old MTU\n');
  });

  test('everything rolled out: exit 0 and a report', () => {
    const r = run();
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('rollout-restart: report: 7 restarted, 2 skipped, 0 failed\n');
    expect(r.stdout.trimEnd().endsWith('rollout-restart: done')).toBe(true);
  });

  test('flannel not rolled out in time: no workload is touched, exit 1 with a clear message', () => {
    const r = run({ failStatus: ['kube-flannel/daemonset.apps/kube-flannel-ds'] });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([FLANNEL_STATUS]);
    expect(r.stderr).toContain(
      'rollout-restart: error: daemonset kube-flannel/kube-flannel-ds did not finish rolling out within 600s; no workload was restarted (pods recreated now could get the old MTU)',
    );
  });

  test('an OnDelete StatefulSet is not restarted (a restart would not recreate its pods) and counts as failed', () => {
    const r = run({ workloads: { 'ingress-nginx': [], 'default': [{ kind: 'StatefulSet', name: 'legacy', updateStrategy: 'OnDelete' }] } });
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c[0] === 'rollout' && c[2] !== 'daemonset.apps/kube-flannel-ds')).toEqual([]);
    expect(r.stdout).toContain('rollout-restart: failed: default/statefulset.apps/legacy: updateStrategy OnDelete: a restart does not recreate its pods; delete them to apply the new MTU\n');
    expect(r.stdout).toContain('rollout-restart: namespace ingress-nginx: nothing to restart\n');
  });

  test('flannel itself is never restarted, even when its namespace is listed', () => {
    const r = run({
      env: { ROLLOUT_NAMESPACES: 'kube-flannel' },
      workloads: { 'kube-flannel': [{ kind: 'DaemonSet', name: 'kube-flannel-ds', updateStrategy: 'RollingUpdate' }] },
    });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([FLANNEL_STATUS, LIST('kube-flannel')]);
    expect(r.stdout).toContain('rollout-restart: skipped: kube-flannel/daemonset.apps/kube-flannel-ds (flannel itself)\n');
  });

  test('the selector is passed to kubectl get as one word', () => {
    const r = run({ env: { ROLLOUT_SELECTOR: 'app.kubernetes.io/part-of=shop,!flannel-mtu.io/skip-rollout', ROLLOUT_NAMESPACES: 'default' } });
    expect(r.calls[1]).toEqual([
      'get', 'deployments.apps,statefulsets.apps,daemonsets.apps', '-n', 'default',
      '--selector=app.kubernetes.io/part-of=shop,!flannel-mtu.io/skip-rollout', '--request-timeout=60s', '-o', JSONPATH,
    ]);
  });

  describe('hostile or broken env values are rejected before kubectl runs (exit 2)', () => {
    const canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-canary-'));
    const canary = path.join(canaryDir, 'pwned');
    afterAll(() => fs.rmSync(canaryDir, { recursive: true, force: true }));
    test.each([
      ['ROLLOUT_NAMESPACES', 'default;rm -rf /', "ROLLOUT_NAMESPACES: invalid character in 'default;rm -rf /'"],
      ['ROLLOUT_NAMESPACES', `$(touch ${canary})`, 'ROLLOUT_NAMESPACES: invalid character in'],
      ['ROLLOUT_NAMESPACES', '`touch pwned`', 'ROLLOUT_NAMESPACES: invalid character in'],
      ['ROLLOUT_NAMESPACES', 'default -all', "ROLLOUT_NAMESPACES: invalid namespace '-all'"],
      ['ROLLOUT_NAMESPACES', 'Default', "ROLLOUT_NAMESPACES: invalid character in 'Default'"],
      ['ROLLOUT_NAMESPACES', 'default default', 'ROLLOUT_NAMESPACES: default listed twice'],
      ['ROLLOUT_NAMESPACES', '', 'ROLLOUT_NAMESPACES is empty'],
      ['ROLLOUT_NAMESPACES', `${'a'.repeat(64)}`, 'ROLLOUT_NAMESPACES: invalid namespace'],
      ['ROLLOUT_SELECTOR', `app=$(touch ${canary})`, 'ROLLOUT_SELECTOR: invalid selector'],
      ['ROLLOUT_SELECTOR', 'app in (a,b)', 'ROLLOUT_SELECTOR: invalid selector'],
      ['ROLLOUT_SELECTOR', '-o=yaml', 'ROLLOUT_SELECTOR: invalid selector'],
      ['ROLLOUT_SELECTOR', 'app=web;id', 'ROLLOUT_SELECTOR: invalid selector'],
      ['ROLLOUT_TIMEOUT_SECONDS', '600;reboot', 'ROLLOUT_TIMEOUT_SECONDS: invalid value'],
      ['ROLLOUT_TIMEOUT_SECONDS', '0600', 'ROLLOUT_TIMEOUT_SECONDS: invalid value'],
      ['ROLLOUT_TIMEOUT_SECONDS', '999999', 'ROLLOUT_TIMEOUT_SECONDS: invalid value'],
      ['FLANNEL_NAMESPACE', 'kube-flannel --all-namespaces', 'FLANNEL_NAMESPACE: invalid namespace'],
      ['FLANNEL_DAEMONSETS', '../x', "FLANNEL_DAEMONSETS: invalid character in '../x'"],
      ['FLANNEL_DAEMONSETS', `kube-flannel-ds $(touch ${canary})`, 'FLANNEL_DAEMONSETS: invalid character in'],
      ['FLANNEL_DAEMONSETS', 'kube-flannel-ds;id', 'FLANNEL_DAEMONSETS: invalid character in'],
      ['FLANNEL_DAEMONSETS', 'kube-flannel-ds\n--all', 'FLANNEL_DAEMONSETS: invalid character in'],
      ['FLANNEL_DAEMONSETS', 'kube-flannel-ds -all', "FLANNEL_DAEMONSETS: invalid name '-all'"],
      ['FLANNEL_DAEMONSETS', 'kube-flannel-ds.', "FLANNEL_DAEMONSETS: invalid name 'kube-flannel-ds.'"],
      ['FLANNEL_DAEMONSETS', 'kube-flannel-ds-aws kube-flannel-ds-aws', 'FLANNEL_DAEMONSETS: kube-flannel-ds-aws listed twice'],
      ['FLANNEL_DAEMONSETS', '', 'FLANNEL_DAEMONSETS is empty'],
      ['FLANNEL_DAEMONSETS', '   ', 'FLANNEL_DAEMONSETS is empty'],
    ])('%s=%j', (name, value, message) => {
      const r = run({ env: { [name]: value } });
      expect([r.status, r.calls]).toEqual([2, []]);
      expect(r.stderr).toContain(`rollout-restart: error: ${message}`);
      expect(fs.existsSync(canary)).toBe(false);
    });

    test('an unset variable is an error, not a default', () => {
      const env: Record<string, string> = { ...SEED.env };
      delete env.ROLLOUT_SELECTOR;
      const r = runScript({ shell: argv, script: SEED.script, env, workloads: WORKLOADS });
      expect([r.status, r.calls]).toEqual([2, []]);
      expect(r.stderr).toContain('rollout-restart: error: ROLLOUT_SELECTOR is not set');
    });
  });
});

// mtuMode per-path: one flannel DaemonSet per cloud (kube-flannel-ds-aws, kube-flannel-ds-onprem,
// in the file's cloud order). The Job waits for each in that order before it restarts anything.
describe.each(shells())('rollout-restart.sh as shipped in jumbo-per-path (one flannel DaemonSet per cloud), under $name', ({ argv }) => {
  const run = (extra: { env?: Record<string, string>; failStatus?: string[]; workloads?: Record<string, Workload[]> } = {}) =>
    runScript({ shell: argv, script: JUMBO.script, env: { ...JUMBO.env, ...extra.env }, workloads: extra.workloads ?? WORKLOADS, failStatus: extra.failStatus });
  const AWS = STATUS('kube-flannel', 'daemonset.apps/kube-flannel-ds-aws');
  const ONPREM = STATUS('kube-flannel', 'daemonset.apps/kube-flannel-ds-onprem');

  test('the same script; the DaemonSets reach it as one space-separated variable, in cloud order', () => {
    expect(JUMBO.script).toBe(SEED.script);
    expect(JUMBO.env).toEqual({ ...SEED.env, FLANNEL_DAEMONSETS: 'kube-flannel-ds-aws kube-flannel-ds-onprem' });
  });

  test('waits for every per-cloud DaemonSet, in order, before the first workload call', () => {
    const r = run();
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.calls.slice(0, 3)).toEqual([AWS, ONPREM, LIST('ingress-nginx')]);
    expect(r.calls.filter((c) => c.includes('kube-flannel'))).toEqual([AWS, ONPREM]);
    const firstRestart = r.calls.findIndex((c) => c[1] === 'restart');
    expect(firstRestart).toBeGreaterThan(r.calls.indexOf(ONPREM));
    expect(r.stdout).toContain(
      'rollout-restart: daemonset/kube-flannel-ds-aws is rolled out\n'
      + 'rollout-restart: waiting for daemonset/kube-flannel-ds-onprem in kube-flannel to roll out (timeout 600s)\n',
    );
    expect(r.stdout).toContain('rollout-restart: report: 7 restarted, 2 skipped, 0 failed\n');
  });

  test.each([
    // [failing DaemonSet, the calls made: none after the failing one]
    ['kube-flannel-ds-aws', [AWS]],
    ['kube-flannel-ds-onprem', [AWS, ONPREM]],
  ])('%s not rolled out: no later DaemonSet is waited for, no workload is listed or restarted, exit 1', (ds, calls) => {
    const r = run({ failStatus: [`kube-flannel/daemonset.apps/${ds}`] });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual(calls);
    expect(r.stderr).toContain(
      `rollout-restart: error: daemonset kube-flannel/${ds} did not finish rolling out within 600s; no workload was restarted (pods recreated now could get the old MTU). Check: kubectl -n kube-flannel rollout status ds/${ds}\n`,
    );
    expect(r.stdout).not.toContain('report:');
  });

  test('none of the per-cloud DaemonSets is ever restarted, even when kube-flannel is listed', () => {
    const r = run({
      env: { ROLLOUT_NAMESPACES: 'kube-flannel' },
      workloads: {
        'kube-flannel': [
          { kind: 'DaemonSet', name: 'kube-flannel-ds-aws', updateStrategy: 'RollingUpdate' },
          { kind: 'DaemonSet', name: 'kube-flannel-ds-onprem', updateStrategy: 'RollingUpdate' },
          { kind: 'DaemonSet', name: 'kube-flannel-ds-onprem-extra', updateStrategy: 'RollingUpdate' },
        ],
      },
    });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      AWS, ONPREM, LIST('kube-flannel'),
      RESTART('kube-flannel', 'daemonset.apps/kube-flannel-ds-onprem-extra'),
      STATUS('kube-flannel', 'daemonset.apps/kube-flannel-ds-onprem-extra'),
    ]);
    expect(r.stdout).toContain('rollout-restart: skipped: kube-flannel/daemonset.apps/kube-flannel-ds-aws (flannel itself)\n');
    expect(r.stdout).toContain('rollout-restart: skipped: kube-flannel/daemonset.apps/kube-flannel-ds-onprem (flannel itself)\n');
  });
});

// One selector grammar (issue 16: the script accepted `a=b=c`, which the loader refuses): the
// script carries the loader's ERE, and both give the same verdict on every selector tried.
describe('rollout selectors: the script and the loader accept the same ones', () => {
  test('the shipped script carries SELECTOR_TERM_ERE verbatim', () => {
    expect(SEED.script).toContain(`selector_term_ere='${SELECTOR_TERM_ERE}'\n`);
  });

  // The shipped valid_selector, run over many selectors in one shell (one line of 0/1 per selector).
  const start = SEED.script.indexOf('selector_term_ere=');
  const end = SEED.script.indexOf('\n}\n', SEED.script.indexOf('valid_selector() {')) + 3;
  const verdicts = (shell: readonly string[], selectors: readonly string[]): boolean[] => {
    const prog = `${SEED.script.slice(start, end)}\nfor s in "$@"; do if valid_selector "$s"; then echo 1; else echo 0; fi; done\n`;
    const r = spawnSync(shell[0], [...shell.slice(1), '-c', prog, 'selectors', ...selectors], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l === '1');
  };
  const loader = (s: string) => selectorProblem(s) === undefined;

  const chosen = [
    'a=b=c', 'a==b', 'a!=b', '!a', '!a=b', 'a=', '=a', 'a,', ',a', 'a,,b', 'a===b', 'a!==b', '!!a', 'a!', 'a=b,!c,d!=e',
    'app.kubernetes.io/name=web', 'example.com/a', '/a', 'a/', 'a/b/c', 'A/b', '-a', 'a-', 'a_b', '_a', 'a..b=c', 'a.b/c=d.e',
    `${'a'.repeat(63)}=b`, `${'a'.repeat(64)}=b`, `a=${'b'.repeat(63)}`, `a=${'b'.repeat(64)}`, '!flannel-mtu.io/skip-rollout',
  ];
  test.each(shells())('hand-picked selectors, under $name', ({ argv }) => {
    expect(chosen.map((s) => [s, verdicts(argv, [s])[0]])).toEqual(chosen.map((s) => [s, loader(s)]));
  });

  test.each(shells())('100 random selectors over the grammar\'s characters, under $name', ({ argv }) => {
    const selectors = fc.sample(fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '/', '=', '!', ','), minLength: 1, maxLength: 12 }), { numRuns: 100, seed: 16 });
    const got = verdicts(argv, selectors);
    expect(selectors.map((s, i) => [s, got[i]])).toEqual(selectors.map((s) => [s, loader(s)]));
  });
});
