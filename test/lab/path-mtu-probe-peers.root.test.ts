// The path-MTU probe spreading its load over several peers, as it ships. The environment below
// declares the per-path lab's underlay addresses as its nodes, so the probe's PROBE_TARGETS is the
// generator's own, untouched: it is synthesized here, and the remote cloud's probe (script and env
// taken from the YAML) runs under busybox sh in node nB's namespace, toward the jumbo cloud's nodes
// nA1 (192.168.101.2), nA2 (192.168.102.2) and a third declared node, 192.168.103.2, that is not in
// the lab (a node that is gone: router rA has no route to it). Which peer a node starts at is
// computed here from the same rule, with coreutils' `cksum` (the script computes it in awk).
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { findBinary, linkImageTools } from '../../lab/host';
import { PerPathLab } from '../../lab/per-path-topology';
import { firingAlerts } from '../support/alert-rules';
import { planText, synthEnvironments } from '../../src/synth';

// Tools first, naming every missing one: the lab's (iproute2, iptables, sysctl), busybox for the
// shipped script and its awk with the bitwise functions the peer choice uses, coreutils' cksum.
const missing = ['ip', 'bridge', 'ss', 'iptables', 'sysctl', 'busybox', 'cksum'].filter((t) => {
  try {
    findBinary(t);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: install iproute2, iptables, procps, busybox and coreutils (.ci/run does)`);
const awkXor = spawnSync(findBinary('busybox'), ['awk', 'BEGIN { print xor(lshift(1, 24), 5) }'], { encoding: 'utf8' });
if (awkXor.stdout.trim() !== '16777221') throw new Error(`busybox awk lacks xor/lshift (got ${JSON.stringify(awkXor.stdout + awkXor.stderr)}): the probe picks its peer with them`);

const IP = findBinary('ip');
const BUSYBOX = findBinary('busybox');
const PEERS = ['192.168.101.2', '192.168.102.2', '192.168.103.2'] as const;
const [NA1, NA2] = PEERS;

const ENVIRONMENT = `name: probe-peers
flannel:
  backend: vxlan
  podNetwork: 10.246.0.0/16
clouds:
  - name: jumbo
    nicMtu: 9000
    nodeSelector: { lab: jumbo }
    nodes: [${PEERS.join(', ')}]
  - name: remote
    nicMtu: 1500
    nodeSelector: { lab: remote }
    nodes: [192.168.201.2]
links:
  - between: [jumbo, remote]
    name: sdwan
    pathMtu: 1380
probe:
  enabled: true
`;

/** The remote cloud's probe container as synthesized: its script and its plain env values. */
function shippedProbe(): { script: string; env: Record<string, string>; nodeName: unknown } {
  const { loaded, plan } = planText(ENVIRONMENT, 'probe-peers.yaml');
  const yaml = synthEnvironments([{ environment: loaded.environment, plan, source: 'probe-peers.yaml' }])[0].yaml;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ds = parseAllDocuments(yaml).map((d) => d.toJS()).find((o: any) => o?.kind === 'DaemonSet' && o.metadata.name === 'flannel-mtu-probe-remote');
  const c = ds.spec.template.spec.containers.find((x: { name: string }) => x.name === 'probe');
  const env = c.env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
  return {
    script: c.args[0],
    env: Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
    nodeName: env.find((e) => e.name === 'NODE_NAME')?.valueFrom,
  };
}

/** The peer a node named `name` starts at: cksum of the name (no newline) modulo the number of peers. */
function startIndex(name: string, peers: number): number {
  const r = spawnSync(findBinary('cksum'), { input: name, encoding: 'utf8' });
  return Number(r.stdout.split(' ')[0]) % peers;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('path-MTU probe over several declared peers (synthesized here, run in the per-path lab from nB)', () => {
  const lab = new PerPathLab();
  const shipped = shippedProbe();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${lab.labId}-probe-`));
  let toolbox: string;
  /** A node name that starts at each peer index: the first of node-1, node-2, ... cksum puts there. */
  const nameAt: string[] = [];
  for (let i = 1; Object.keys(nameAt).length < PEERS.length && i < 1000; i++) {
    const name = `node-${i}`;
    nameAt[startIndex(name, PEERS.length)] ??= name;
  }

  /** One round (PROBE_INTERVAL=0) of the shipped probe as node `name`, in nB's namespace. */
  function round(name: string): Promise<{ status: number | null; lines: Json[]; stderr: string; metrics: string }> {
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    fs.mkdirSync(path.join(dir, 'path-mtu-probe'));
    fs.mkdirSync(path.join(dir, 'textfile'));
    const env = { ...shipped.env, NODE_NAME: name, PROBE_INTERVAL: '0', PROBE_STATUS: path.join(dir, 'path-mtu-probe', 'status'), PROBE_METRICS_DIR: path.join(dir, 'textfile'), PATH: toolbox };
    const child = spawn(IP, ['netns', 'exec', lab.ns('nB'), BUSYBOX, 'sh', '-c', shipped.script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on('close', (status) => {
      const prom = path.join(dir, 'textfile', 'flannel-mtu-probe.prom');
      resolve({ status, stderr, lines: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)), metrics: fs.existsSync(prom) ? fs.readFileSync(prom, 'utf8') : '' });
    }));
  }
  /** The nodes' rounds at the same time (separate status and metrics directories), as the DaemonSet's pods run. */
  const rounds = (names: string[]) => Promise.all(names.map(round));
  /** Node `role` answers no ping at all: down, or drained behind a firewall. */
  const silence = (role: 'nA1' | 'nA2', on: boolean) => lab.exec(role, ['iptables', on ? '-I' : '-D', 'INPUT', '-p', 'icmp', '--icmp-type', 'echo-request', '-j', 'DROP']);

  beforeAll(() => {
    // the PATH of the flannel image as the lab lays it out: busybox applets, iproute2's ip and bridge
    toolbox = path.join(tmp, 'bin');
    fs.mkdirSync(toolbox);
    linkImageTools(toolbox);
    // NICs and link as declared; flannel.1 and the pods (1380 - 50 = 1330) carry nothing here.
    lab.up({ jumboNicMtu: 9000, remoteNicMtu: 1500, linkMtu: 1380, jumboOverlayMtu: 1330, jumboPodMtu: 1330, remoteOverlayMtu: 1330, remotePodMtu: 1330 });
  }, 60_000);
  afterAll(() => {
    lab.down();
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(lab.namespaces()).toEqual([]);
  }, 30_000);
  afterEach(() => lab.flushCaches());

  test('the generator lists every declared node of the jumbo cloud as a peer, and NODE_NAME comes from spec.nodeName', () => {
    // by hand from ENVIRONMENT: the three jumbo nodes in their order; declared 1380; max = min(9000, 1500)
    expect(shipped.env).toMatchObject({ PROBE_CLOUD: 'remote', PROBE_TARGETS: `sdwan jumbo 4 ${PEERS.join(',')} 1380 1500` });
    expect(shipped.nodeName).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    // the names found above start at each of the three peers (the loop above stops at the first of each)
    expect(nameAt.map((n) => startIndex(n, PEERS.length))).toEqual([0, 1, 2]);
  });

  test('the script\'s awk CRC is cksum\'s: 200 node names over 7 loopback peers each start where cksum says, and spread evenly', () => {
    // The shipped script with its target's peers replaced by 7 addresses of nB's own loopback
    // (nothing leaves the namespace; every peer answers) and the search pinned at 576 (one ping).
    const peers = Array.from({ length: 7 }, (_, i) => `127.0.0.${i + 1}`);
    const targets = shipped.env.PROBE_TARGETS.replace(/^(\S+ \S+ 4) \S+ \d+ \d+$/, `$1 ${peers.join(',')} 576 576`);
    expect(targets).toBe(`sdwan jumbo 4 ${peers.join(',')} 576 576`);
    const dir = path.join(tmp, 'crc', 'path-mtu-probe');
    fs.mkdirSync(dir, { recursive: true });
    const counts = peers.map(() => 0);
    const wrong: string[] = [];
    // names like a cloud's: ip-10-30-<a>-<b>.eu-central-1.compute.internal
    for (let i = 0; i < 200; i++) {
      const name = `ip-10-30-${i >> 4}-${(i * 37) % 256}.eu-central-1.compute.internal`;
      const env = { ...shipped.env, NODE_NAME: name, PROBE_TARGETS: targets, PROBE_INTERVAL: '0', PROBE_STATUS: path.join(dir, 'status'), PATH: toolbox };
      const r = spawnSync(IP, ['netns', 'exec', lab.ns('nB'), BUSYBOX, 'sh', '-c', shipped.script], { env, encoding: 'utf8', timeout: 30_000 });
      const peer = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!).peer;
      const expected = peers[startIndex(name, peers.length)];
      if (peer !== expected) wrong.push(`${name}: ${peer}, cksum says ${expected}`);
      counts[peers.indexOf(peer)]++;
    }
    expect(wrong).toEqual([]);
    process.stdout.write(`peer choice: 200 names over 7 peers: ${counts.join(' ')} (even: 28.6 each)\n`);
    // CRC-32 spreads such names evenly: no peer gets twice its share, none goes without
    expect(Math.max(...counts)).toBeLessThan(2 * 200 / 7);
    expect(Math.min(...counts)).toBeGreaterThan(0);

    // At the README's scale (table "How each node script's cost grows"): 2500 such names, the
    // same rule (shown above to be the script's), over 10 and over 50 peers.
    const names = Array.from({ length: 2500 }, (_, i) => `ip-10-30-${i >> 8}-${i & 255}.eu-central-1.compute.internal`);
    const sums = spawnSync('/bin/sh', ['-c', 'while read -r n; do printf %s "$n" | cksum; done'], { input: `${names.join('\n')}\n`, encoding: 'utf8', env: { PATH: path.dirname(findBinary('cksum')) } })
      .stdout.trim().split('\n').map((l) => Number(l.split(' ')[0]));
    expect(sums).toHaveLength(2500);
    for (const p of [10, 50]) {
      const perPeer = Array.from({ length: p }, (_, k) => sums.filter((c) => c % p === k).length);
      process.stdout.write(`peer choice: 2500 names over ${p} peers: ${Math.min(...perPeer)} to ${Math.max(...perPeer)} nodes each (even: ${2500 / p})\n`);
      expect(Math.max(...perPeer)).toBeLessThan(1.5 * 2500 / p);
      expect(Math.min(...perPeer)).toBeGreaterThan(0.5 * 2500 / p);
    }
  }, 90_000);

  test('(a) nodes with different names measure toward different peers, the one cksum gives; a gone peer is skipped for the next', async () => {
    const [a, b, c] = await rounds(nameAt);
    // starting at nA1 and nA2: both answer, the path carries the declared 1380
    expect(a.lines).toEqual([expect.objectContaining({ from: 'remote', to: 'jumbo', link: 'sdwan', peer: NA1, unanswered: 0, declared: 1380, measured: 1380, status: 'healthy' })]);
    expect(b.lines).toEqual([expect.objectContaining({ peer: NA2, unanswered: 0, measured: 1380, status: 'healthy' })]);
    // starting at the gone node: no answer, on to the next in the list (wrapping around to nA1), still healthy
    expect(c.lines).toEqual([expect.objectContaining({ peer: NA1, unanswered: 1, measured: 1380, status: 'healthy' })]);
    for (const r of [a, b, c]) expect([r.status, r.stderr]).toEqual([0, '']);
    expect(c.metrics).toContain(`flannel_mtu_probe_unanswered_peers{from="remote",to="jumbo",link="sdwan",family="ipv4",peer="${NA1}"} 1\n`);
    expect(c.metrics).toContain(`flannel_mtu_probe_status{from="remote",to="jumbo",link="sdwan",family="ipv4",peer="${NA1}",status="healthy"} 1\n`);
  }, 90_000);

  test('(b) the chosen peer answers nothing: the probe moves on to the next peers and still reports the path healthy; all silent is unreachable', async () => {
    silence('nA1', true);
    try {
      const [a, b, c] = await rounds(nameAt);
      expect(a.lines).toEqual([expect.objectContaining({ peer: NA2, unanswered: 1, measured: 1380, status: 'healthy' })]);
      expect(b.lines).toEqual([expect.objectContaining({ peer: NA2, unanswered: 0, measured: 1380, status: 'healthy' })]);
      // gone, then nA1 silent, then nA2
      expect(c.lines).toEqual([expect.objectContaining({ peer: NA2, unanswered: 2, measured: 1380, status: 'healthy' })]);
      for (const r of [a, b, c]) expect(r.status).toBe(0);
      // the README's alerts (promtool, 7 h on): a node whose own peer is silent gets
      // FlannelMtuPeerSilent (info), naming the peer it measured toward; one that lost none, nothing
      expect(firingAlerts(a.metrics, nameAt[0], '7h')).toEqual({ FlannelMtuPeerSilent: [expect.objectContaining({ severity: 'info', instance: nameAt[0], link: 'sdwan', family: 'ipv4', peer: NA2 })] });
      expect(firingAlerts(b.metrics, nameAt[1], '7h')).toEqual({});

      silence('nA2', true);
      try {
        const [none] = await rounds([nameAt[0]]);
        // nA1, nA2, the gone node: three tried, none answered; reported toward the node's own peer
        expect(none.lines).toEqual([expect.objectContaining({ peer: NA1, unanswered: 3, measured: 0, status: 'unreachable' })]);
        expect(none.status).toBe(3);
        expect(none.metrics).toContain(`flannel_mtu_probe_unanswered_peers{from="remote",to="jumbo",link="sdwan",family="ipv4",peer="${NA1}"} 3\n`);
        expect(none.metrics).toContain(`flannel_mtu_probe_status{from="remote",to="jumbo",link="sdwan",family="ipv4",peer="${NA1}",status="unreachable"} 1\n`);
        // every peer silent: unreachable, not also "silent"
        expect(firingAlerts(none.metrics, nameAt[0], '7h')).toEqual({ FlannelMtuPeerUnreachable: [expect.objectContaining({ peer: NA1 })] });
      } finally {
        silence('nA2', false);
      }
    } finally {
      silence('nA1', false);
    }
  }, 90_000);

  test('(c) the chosen peer answers small pings but the path to it is too small: too-small, and the probe does not move on', async () => {
    // rA's port toward nA1 carries 1300; rA drops the "fragmentation needed" it generates (the blackhole)
    lab.ip('rA', 'link', 'set', 'a1', 'mtu', '1300');
    try {
      const [a, b] = await rounds([nameAt[0], nameAt[1]]);
      // moving on to nA2 would have said healthy: the probe stays with nA1 and reports what crosses
      expect(a.lines).toEqual([expect.objectContaining({ peer: NA1, unanswered: 0, declared: 1380, measured: 1300, status: 'too-small' })]);
      expect(a.status).toBe(3);
      expect(b.lines).toEqual([expect.objectContaining({ peer: NA2, unanswered: 0, measured: 1380, status: 'healthy' })]);
      expect(b.status).toBe(0);
    } finally {
      lab.ip('rA', 'link', 'set', 'a1', 'mtu', '9000');
    }
  }, 90_000);
});
