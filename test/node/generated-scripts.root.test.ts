// For every input plan accepts, every generated script accepts its own env (issue 16): each
// environment in environments/ and random valid ones from the fuzz generator are synthesized, and
// every script of the synthesized YAML runs with the env the generator wrote for it, on a node of
// each cloud it is placed on, in a throwaway network namespace holding that node's address on an
// `eth0` (a veth pair inside the namespace) with the cloud's NIC MTU. The downward API values (HOST_IP, NODE_NAME) are the node's.
//
// Only what points outside the namespace is changed: the probe's status and metrics directories
// and the keeper's STATUS_DIR become temporary directories, and the probe runs one round
// (PROBE_INTERVAL=0). install-cni and link-cni-plugins (k3s) are left out (they write the host's
// /opt/cni/bin and /etc/cni, which test/lab/cni-chain.root.test.ts and test/node/link-cni-plugins.test.ts
// cover with Debian's real plugins), and so is net-conf-psk, which touches no network and which
// test/fuzz runs, with the ConfigMap's own net-conf.json, for every environment this generator
// draws; the rollout Job's script runs with the kubectl stand-in of test/jobs.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import * as api from '../../src';
import { runScript, shells } from '../jobs/kubectl-standin';
import { toYaml, validDocument } from '../support/arbitrary-environment';
import { BUSYBOX, IP, Lab, PREFIX, toolbox } from '../support/netns';
import { FIXTURES_DIR, REPO } from '../support/dist';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Random valid environments run on top of the examples (each takes a few seconds). */
const RANDOM_RUNS = 20;
const runs = { environments: 0, scripts: 0 };

interface Script {
  readonly where: string;
  readonly container: string;
  readonly script: string;
  readonly env: Record<string, string>;
}

/** The `sh -c` scripts of a synthesized manifest by DaemonSet (or Job), with their plain env values. */
function scripts(yaml: string): Array<{ kind: string; name: string; scripts: Script[] }> {
  return parseAllDocuments(yaml).map((d) => d.toJS() as Obj).filter((o) => o?.spec?.template).map((o) => {
    const spec = o.spec.template.spec;
    const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as Obj[];
    return {
      kind: o.kind,
      name: o.metadata.name,
      scripts: all.filter((c) => Array.isArray(c.command) && /\/sh$/.test(c.command[0]) && c.command[1] === '-c' && typeof c.args?.[0] === 'string').map((c) => ({
        where: `${o.kind} ${o.metadata.name}`,
        container: c.name,
        script: c.args[0],
        env: Object.fromEntries((c.env ?? []).filter((e: Obj) => e.valueFrom === undefined).map((e: Obj) => [e.name, String(e.value ?? '')])),
      })),
    };
  });
}

/** The clouds a DaemonSet runs on: its own in per-path mode and for the probe, every cloud otherwise. */
function cloudsOf(name: string, env: api.ResolvedEnvironment): readonly api.Cloud[] {
  const own = env.clouds.find((c) => name === `kube-flannel-ds-${c.name}` || name === `flannel-mtu-probe-${c.name}`);
  return own ? [own] : env.clouds;
}

describe('every generated script accepts the env the generator wrote for it', () => {
  let lab: Lab;
  let tmp: string;
  beforeAll(() => {
    lab = new Lab();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}scripts-`));
  });
  afterAll(() => {
    lab.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.stdout.write(`generated scripts: ${runs.scripts} script runs for ${runs.environments} environments (${RANDOM_RUNS} random)\n`);
  });

  /** Runs one script on a node of `cloud`; returns what went wrong, or null. */
  function runOnNode(s: Script, cloud: api.Cloud, env: api.ResolvedEnvironment): string | null {
    // the cloud's first declared node (cloud c of EDGE is found by its IPv6 address)
    const hostIp = cloud.nodes?.[0] ?? '10.99.0.10';
    const ns = lab.ns('node');
    // a veth pair inside the namespace (the kernel here has no dummy module), both ends at the NIC MTU
    lab.ip(ns, 'link', 'add', 'eth0', 'mtu', String(cloud.nicMtu), 'type', 'veth', 'peer', 'name', 'eth0p', 'mtu', String(cloud.nicMtu));
    lab.ip(ns, 'link', 'set', 'eth0p', 'up');
    lab.ip(ns, 'addr', 'add', `${hostIp}/${hostIp.includes(':') ? 64 : 16}`, 'dev', 'eth0', ...(hostIp.includes(':') ? ['nodad'] : []));
    lab.ip(ns, 'link', 'set', 'eth0', 'up');
    const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
    const extra: Record<string, string> = { HOST_IP: hostIp, NODE_NAME: 'node-1' };
    if (s.container === 'probe') {
      fs.mkdirSync(path.join(dir, 'path-mtu-probe'));
      Object.assign(extra, { PROBE_INTERVAL: '0', PROBE_STATUS: path.join(dir, 'path-mtu-probe', 'status') });
      if (s.env.PROBE_METRICS_DIR) extra.PROBE_METRICS_DIR = dir;
    }
    if (s.container === 'route-mtu-keeper') extra.STATUS_DIR = path.join(dir, 'keeper');
    runs.scripts++;
    const long = s.container === 'route-mtu-keeper'; // a sidecar: it must still be running after its start-up checks
    const started = Date.now();
    const r = spawnSync(IP, ['netns', 'exec', ns, BUSYBOX, 'sh', '-c', s.script], { env: { ...s.env, ...extra, PATH: toolbox() }, encoding: 'utf8', timeout: long ? 1500 : 30_000 });
    if (process.env.SCRIPT_TIMES) process.stdout.write(`${s.container} ${Date.now() - started} ms\n`);
    const what = `${env.name}: ${s.where} ${s.container} on cloud ${cloud.name} (HOST_IP ${hostIp})`;
    if (long) return r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' && !/error:/.test(r.stderr) ? null : `${what} exited ${r.status}: ${r.stderr}`;
    // the probe's one round ends 0 (healthy) or 3 (unhealthy: nothing answers in an empty namespace)
    const ok = s.container === 'probe' ? (r.status === 0 || r.status === 3) && r.stdout.includes('"probe":"path-mtu"') : r.status === 0;
    return ok ? null : `${what} exited ${r.status}: ${r.stderr}${r.stdout}`;
  }

  function checkEnvironment(text: string, source: string): void {
    let planned: ReturnType<typeof api.planText>;
    try {
      planned = api.planText(text, source);
    } catch (e) {
      if (e instanceof api.InputError) return; // refused: nothing to run
      throw e;
    }
    const { loaded, plan } = planned;
    const manifest = api.synthEnvironments([{ environment: loaded.environment, plan, source }])[0];
    runs.environments++;
    const failures: string[] = [];
    for (const workload of scripts(manifest.yaml)) {
      for (const s of workload.scripts) {
        if (['install-cni', 'link-cni-plugins', 'net-conf-psk'].includes(s.container)) continue;
        if (workload.kind === 'Job') {
          // every listed namespace exists and holds no workload: the Job waits for flannel, lists, restarts nothing
          const workloads = Object.fromEntries((s.env.ROLLOUT_NAMESPACES ?? '').split(' ').filter((n) => n !== '').map((n) => [n, []]));
          const r = runScript({ shell: shells()[shells().length - 1].argv, script: s.script, env: s.env, workloads });
          runs.scripts++;
          if (r.status !== 0) failures.push(`${loaded.environment.name}: ${s.where} ${s.container} exited ${r.status}: ${r.stderr}`);
          continue;
        }
        for (const cloud of cloudsOf(workload.name, loaded.environment)) {
          const failure = runOnNode(s, cloud, loaded.environment);
          if (failure) failures.push(failure);
        }
      }
    }
    expect(failures).toEqual([]);
  }

  // every fixture environment (copies of the examples, and the wireguard ones): the examples may be deleted
  test.each(api.environmentFiles(FIXTURES_DIR).map((f) => path.relative(REPO, f)))('%s', (file) => {
    checkEnvironment(fs.readFileSync(path.join(REPO, file), 'utf8'), file);
  }, 120_000);

  // The cases issue 16 found: an unnamed link with the probe (reported as a~b), an IPv4-mapped node
  // subnet written in hex (the plan writes it dotted, as ip6tables-save prints it), a dual-stack
  // cloud whose node address is IPv6.
  const EDGE = `name: edge
flannel: { podNetwork: 10.244.0.0/16, podNetworkV6: "fd00:10:244::/56" }
clouds:
  - { name: a, nicMtu: 1500, nodeSelector: { r: a }, nodes: ["10.1.0.10", "fd00:1::10"], nodeCidrs: [10.1.0.0/16, "fd00:1::/64"] }
  - { name: b, nicMtu: 1500, nodeSelector: { r: b }, nodes: ["10.9.0.10", "::ffff:10.2.0.10"], nodeCidrs: ["::ffff:a02:0/112", 10.9.0.0/16] }
  - { name: c, nicMtu: 1500, nodeSelector: { r: c }, nodes: ["fd00:3::10", "10.3.0.10"], nodeCidrs: ["fd00:3::/64", 10.3.0.0/16] }
links:
  - { between: [a, b], pathMtu: 1400 }
  - { between: [a, c], pathMtu: 1450, pathMtuV6: 1430 }
  - { between: [b, c], pathMtu: 1420 }
probe: { enabled: true }
`;
  test('edge cases: an unnamed link with the probe, an IPv4-mapped subnet, IPv6 node addresses', () => {
    expect(api.planText(EDGE, 'environments/edge.yaml').plan.clouds[1].nodeCidrs).toEqual(['::ffff:10.2.0.0/112', '10.9.0.0/16']);
    checkEnvironment(EDGE, 'environments/edge.yaml');
  }, 120_000);

  test('edge case: dual-stack wireguard with one tunnel for both families (the IPv6 clamp rule is on flannel-wg)', () => {
    const wg = EDGE.replace('flannel: { podNetwork: 10.244.0.0/16,', 'flannel: { backend: wireguard, tunnelMode: auto, podNetwork: 10.244.0.0/16,');
    expect(api.planText(wg, 'environments/edge-wg.yaml').plan.devices).toMatchObject({ overlay: 'flannel-wg', overlayV6: 'flannel-wg' });
    checkEnvironment(wg, 'environments/edge-wg.yaml');
  }, 120_000);

  test(`${RANDOM_RUNS} random valid environments`, () => {
    fc.assert(fc.property(validDocument, (doc) => checkEnvironment(toYaml(doc), 'environments/fuzz.yaml')), { numRuns: RANDOM_RUNS, seed: 1616 });
  }, 600_000);
});
