// mtuMode per-path on a real kernel, every number taken from the jumbo-per-path fixture's synthesized
// manifest: two nodes
// in a jumbo-frame cloud exchange jumbo pod packets, TCP across the 1380-byte SD-WAN (ICMP
// frag-needed dropped on the routers) works in both directions because the route-MTU keeper (the
// script from dist, under busybox sh) holds flannel's routes to the other cloud at the link's MTU and
// the clamp (from dist) clamps each SYN to its route's MTU, and the keeper undoes a flanneld-style
// route rewrite within a second. Prints iperf3 goodput inside the jumbo cloud, per-path vs uniform.
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { LAB_CLOUD_CIDRS, NodeRole, PerPathLab, PerPathTopology } from '../../lab/per-path-topology';
import { loadEnvironmentFile } from '../../src/config/load';
import { synthFiles } from '../../src/synth';
import { REPO } from '../support/dist';

const ENV_FILE = 'test/fixtures/environments/jumbo-per-path.yaml';
/** flannel v0.28.9's vxlan backend: flannel.1 = Backend.MTU - 50 (pkg/backend/vxlan/device.go L63). */
const FLANNEL_VXLAN_SUBTRACTS = 50;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

interface CloudInputs {
  readonly name: string;
  readonly nicMtu: number;
  readonly backendMtu: number;
  readonly overlayMtu: number;
  readonly podMtu: number;
  readonly deviceMtus: Record<string, number>;
  readonly clampRules: string[];
  readonly keeper: { script: string; env: Record<string, string> };
}

/** What the lab applies, read from the synthesized manifest. */
function perPathInputs(): { clouds: [CloudInputs, CloudInputs]; linkPathMtu: number } {
  const manifest = synthFiles([ENV_FILE])[0];
  const { environment } = loadEnvironmentFile(ENV_FILE);
  const objects: Obj[] = parseAllDocuments(manifest.yaml).map((d) => d.toJS());
  const envOf = (c: Obj) => Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? '']));
  const clouds = environment.clouds.map((cloud): CloudInputs => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `kube-flannel-cfg-${cloud.name}`);
    const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === `kube-flannel-ds-${cloud.name}`);
    const spec = ds.spec.template.spec;
    const backendMtu = JSON.parse(cm.data['net-conf.json']).Backend.MTU;
    const apply = envOf(spec.initContainers.find((c: Obj) => c.name === 'apply-node-mtu'));
    const clamp = envOf(spec.initContainers.find((c: Obj) => c.name === 'tcp-mss-clamp'));
    const keeper = spec.containers.find((c: Obj) => c.name === 'route-mtu-keeper');
    return {
      name: cloud.name,
      nicMtu: cloud.nicMtu,
      backendMtu,
      overlayMtu: backendMtu - FLANNEL_VXLAN_SUBTRACTS,
      podMtu: JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu,
      deviceMtus: Object.fromEntries(String(apply.DEVICE_MTUS).split(' ').map((p) => [p.split('=')[0], Number(p.split('=')[1])])),
      clampRules: String(clamp.MSS_RULES_V4).split('\n').filter((l) => l.length > 0),
      keeper: { script: keeper.args[0], env: envOf(keeper) },
    };
  });
  return { clouds: [clouds[0], clouds[1]], linkPathMtu: environment.links[0].pathMtu };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('per-path MTU in network namespaces (the jumbo-per-path fixture, synthesized)', () => {
  const cwd = process.cwd();
  let lab: PerPathLab;
  let inputs: ReturnType<typeof perPathInputs>;
  let jumbo: CloudInputs;
  let remote: CloudInputs;
  let linkMtu: number;
  const keepers: Partial<Record<NodeRole, { out: string[] }>> = {};
  const cloudOf: Record<NodeRole, () => CloudInputs> = { nA1: () => jumbo, nA2: () => jumbo, nB: () => remote };

  beforeAll(() => {
    process.chdir(REPO);
    inputs = perPathInputs();
    [jumbo, remote] = inputs.clouds;
    linkMtu = Number(jumbo.keeper.env.LINK_MTUS.split(' ')[1]);
    const topology: PerPathTopology = {
      jumboNicMtu: jumbo.nicMtu,
      remoteNicMtu: remote.nicMtu,
      linkMtu: inputs.linkPathMtu,
      jumboOverlayMtu: jumbo.overlayMtu,
      jumboPodMtu: jumbo.podMtu,
      remoteOverlayMtu: remote.overlayMtu,
      remotePodMtu: remote.podMtu,
    };
    lab = new PerPathLab();
    lab.up(topology);
    // The clamp from dist, on every node; the nodes also drop the ICMP frag-needed they would send
    // their own pods, so TCP across the link works only through the clamp.
    for (const n of ['nA1', 'nA2', 'nB'] as NodeRole[]) {
      for (const rule of cloudOf[n]().clampRules) {
        expect(rule).toMatch(/^-o flannel\.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu$/);
        lab.exec(n, ['iptables', '-t', 'mangle', '-A', 'POSTROUTING', ...rule.split(' ')]);
      }
      lab.exec(n, ['iptables', '-A', 'OUTPUT', '-p', 'icmp', '--icmp-type', 'fragmentation-needed', '-j', 'DROP']);
    }
  }, 60_000);

  afterAll(() => {
    try {
      lab?.down();
      expect(lab.namespaces()).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });

  test('the numbers come from dist: AWS Backend.MTU 9001 -> flannel.1 8951, on-prem 1500 -> 1450, SD-WAN 1380 - 50 = 1330 on the routes', () => {
    expect([jumbo.name, jumbo.backendMtu, jumbo.overlayMtu, jumbo.podMtu, jumbo.deviceMtus]).toEqual(['aws', 9001, 8951, 8951, { 'cni0': 8951, 'flannel.1': 8951 }]);
    expect([remote.name, remote.backendMtu, remote.overlayMtu, remote.podMtu, remote.deviceMtus]).toEqual(['onprem', 1500, 1450, 1450, { 'cni0': 1450, 'flannel.1': 1450 }]);
    expect(jumbo.keeper.env).toMatchObject({ CLOUD: 'aws', LINK_MTUS: 'onprem 1330', OVERLAY_DEVICES: 'flannel.1' });
    expect(remote.keeper.env).toMatchObject({ CLOUD: 'onprem', LINK_MTUS: 'aws 1330', OVERLAY_DEVICES: 'flannel.1' });
    expect(linkMtu).toBe(1330);
  });

  test('control: without the keeper (no route MTU) the 1616-byte POST across the SD-WAN hangs', () => {
    const r = lab.post(1616, 'pA1', 'pB', 3);
    expect([r.ok, r.curlRc]).toEqual([false, 28]);
  });

  test('the keeper from dist sets the link MTU on the routes to the other cloud only, then reports ready', async () => {
    for (const n of ['nA1', 'nA2', 'nB'] as NodeRole[]) {
      const { script, env } = cloudOf[n]().keeper;
      // Same clouds and order as dist's NODE_CIDRS, with the lab's underlay subnets.
      const cidrs = env.NODE_CIDRS.split('\n').map((l: string) => l.split(' ')[0]).map((c: string) => `${c} ${c === 'aws' ? LAB_CLOUD_CIDRS.jumbo : LAB_CLOUD_CIDRS.remote}`);
      const statusDir = path.join(lab.stateDir, `keeper-${n}`);
      keepers[n] = lab.startScript(n, `route-mtu-keeper ${n}`, script, { ...env, NODE_CIDRS: cidrs.join('\n'), STATUS_DIR: statusDir });
    }
    const deadline = Date.now() + 10_000;
    const ready = (n: NodeRole) => fs.existsSync(path.join(lab.stateDir, `keeper-${n}`, 'ready'));
    while (!(['nA1', 'nA2', 'nB'] as NodeRole[]).every(ready) && Date.now() < deadline) await delay(50);
    expect((['nA1', 'nA2', 'nB'] as NodeRole[]).filter((n) => !ready(n))).toEqual([]);

    expect(lab.ip('nA1', 'route', 'show', 'dev', 'flannel.1').trim().split('\n').map((l) => l.trim())).toEqual([
      '10.246.2.0/24 via 10.246.2.0 onlink', // inside the jumbo cloud: left alone
      `10.246.3.0/24 via 10.246.3.0 onlink mtu ${linkMtu}`,
    ]);
    expect(lab.ip('nB', 'route', 'show', 'dev', 'flannel.1').trim().split('\n').map((l) => l.trim())).toEqual([
      `10.246.1.0/24 via 10.246.1.0 onlink mtu ${linkMtu}`,
      `10.246.2.0/24 via 10.246.2.0 onlink mtu ${linkMtu}`,
    ]);
    await delay(100);
    expect(keepers.nA1!.out.join('\n')).toMatch(/route-mtu-keeper: flannel\.1: 10\.246\.3\.0\/24 via 10\.246\.3\.0: node 192\.168\.201\.2 in cloud onprem: mtu none -> 1330/);
    expect(keepers.nA1!.out.join('\n')).not.toMatch(/10\.246\.2\.0\/24 via .*->/);
  }, 30_000);

  test('inside the jumbo cloud pods exchange 8950- and 8951-byte DF packets (8952 does not leave the pod) and a large POST', () => {
    expect(lab.dfPing('pA1', 'pA2', 8950)).toBe(true);
    expect(lab.dfPing('pA1', 'pA2', jumbo.podMtu)).toBe(true);
    expect(lab.dfPing('pA1', 'pA2', jumbo.podMtu + 1)).toBe(false);
    expect(lab.dfPing('pA2', 'pA1', 8950)).toBe(true);
    for (const [from, to] of [['pA1', 'pA2'], ['pA2', 'pA1']] as const) {
      const r = lab.post(200_000, from, to, 5);
      expect([r.ok, r.body]).toEqual([true, 'received 200000 bytes']);
    }
  });

  test('across the SD-WAN: the 1616-byte POST works in both directions, pods and hosts; DF pings fit 1330, not 1331', () => {
    for (const [from, to] of [['pA1', 'pB'], ['pB', 'pA1'], ['pA2', 'pB'], ['pB', 'pA2'], ['nA1', 'pB'], ['nB', 'pA1']] as const) {
      const r = lab.post(1616, from, to, 3);
      expect([from, to, r.ok, r.body]).toEqual([from, to, true, 'received 1616 bytes']);
    }
    expect(lab.dfPing('nA1', 'pB', linkMtu)).toBe(true);
    expect(lab.dfPing('nA1', 'pB', linkMtu + 1)).toBe(false);
    expect(lab.dfPing('pB', 'pA1', linkMtu)).toBe(true);
  });

  test('after a flanneld-style `ip route replace` without mtu, the keeper restores the mtu within a second', async () => {
    const reactions: number[] = [];
    for (const [node, subnet] of [['nA1', '10.246.3.0'], ['nB', '10.246.1.0'], ['nA1', '10.246.3.0'], ['nB', '10.246.2.0'], ['nA2', '10.246.3.0']] as const) {
      const route = `${subnet}/24`;
      const logged = keepers[node]!.out.length;
      const t0 = Date.now();
      lab.ip(node, 'route', 'replace', route, 'via', subnet, 'dev', 'flannel.1', 'onlink');
      let restored = -1;
      while (Date.now() - t0 < 3000) {
        if (lab.ip(node, 'route', 'show', route, 'dev', 'flannel.1').includes(`mtu ${linkMtu}`)) {
          restored = Date.now() - t0;
          break;
        }
        await delay(5);
      }
      reactions.push(restored);
      // the rewrite really dropped the mtu: the keeper logged putting it back
      const deadline = Date.now() + 2000;
      while (keepers[node]!.out.length === logged && Date.now() < deadline) await delay(10);
      expect(keepers[node]!.out.slice(logged).join('\n')).toMatch(new RegExp(`flannel\\.1: ${subnet.replace(/\./g, '\\.')}/24 via .*: mtu none -> ${linkMtu}$`));
    }
    console.log(`route-mtu-keeper reaction (ms), flanneld-style route rewrite -> mtu ${linkMtu} again: ${reactions.join(', ')}`);
    for (const ms of reactions) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(1000);
    }
    await delay(100);
    const logs = keepers.nA1!.out.filter((l) => / -> 1330$/.test(l));
    expect(logs.length).toBeGreaterThanOrEqual(3); // the first set, then one per rewrite
    // and TCP across still works
    expect(lab.post(1616, 'pA1', 'pB', 3).ok).toBe(true);
    // readiness stayed (every route carries its MTU again)
    expect(fs.existsSync(path.join(lab.stateDir, 'keeper-nA1', 'ready'))).toBe(true);
  }, 30_000);

  test('iperf3 inside the jumbo cloud, GSO off: per-path (pods at 8951) vs uniform (everyone at the SD-WAN\'s 1330)', () => {
    const best = () => Math.max(...[0, 1, 2].map(() => lab.iperf('pA1', 'pA2', 2, false)));
    const perPath = best();
    for (const n of ['nA1', 'nA2', 'nB'] as NodeRole[]) lab.setOverlayMtus(n, linkMtu, linkMtu);
    const uniform = best();
    const table = [
      '| inside cloud aws, pA1 -> pA2 (iperf3 -t 2, GSO off, best of 3) | pod MTU | Mbit/s |',
      '| --- | --- | --- |',
      `| per-path | ${jumbo.podMtu} | ${perPath} |`,
      `| uniform (SD-WAN overlay MTU for everyone) | ${linkMtu} | ${uniform} |`,
      `| per-path / uniform | | ${(perPath / uniform).toFixed(2)}x |`,
    ].join('\n');
    console.log(table);
    expect(uniform).toBeGreaterThan(0);
    expect(perPath).toBeGreaterThan(uniform);
  }, 90_000);
});
