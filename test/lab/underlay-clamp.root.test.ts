// The underlay clamp (issue 8) on a real kernel: node-to-node TCP outside the overlay (kubelet,
// API server, hostNetwork workloads) across the SD-WAN. Node NICs 1400, the SD-WAN carries 1380,
// ICMP "frag needed" is dropped: a 1616-byte POST from node A to an HTTP server in node B's own
// namespace (hostNetwork style, B's underlay address) hangs; the tcp-mss-clamp init container of
// the seed-dev fixture's manifest, with its MSS values (1380 - 40 = 1340) and the lab's own node subnets
// in place of the seed's documentation addresses, fixes it on iptables-legacy and iptables-nft,
// and leaves TCP inside a cloud alone.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { envFileText, IptablesBackend, MtuLab, labNamespaces } from '../../lab/engine';
import { loadInitContainer } from '../support/manifest';
import { IP, Lab, must } from '../support/netns';

const BIG = 1616;
/** The lab's underlay subnets (lab/mtulab.sh): node A 192.168.100.2, node B 192.168.200.2. */
const LAB_CIDRS = ['192.168.100.0/24', '192.168.200.0/24'] as const;
const PEER = '192.168.100.3'; // a second node in node A's cloud, added by this test
const SYN_MSS_UNCLAMPED = 1400 - 40; // from the 1400-byte NICs

const ic = loadInitContainer('tcp-mss-clamp');
const seedLines = (v: string) => v.split('\n').filter((l) => l !== '');

/** The manifest's env with the lab's subnets in place of the seed's (same clouds, same MSS). */
function labEnv(): { env: Record<string, string>; seedCidrs: string[]; mss: number[] } {
  const cidrs = seedLines(ic.env.NODE_CIDRS).map((l) => l.split(' '));
  expect(cidrs.map(([cloud]) => cloud)).toEqual(['cloud-a', 'cloud-b']);
  const swap = new Map(cidrs.map(([, cidr], i) => [cidr, LAB_CIDRS[i]]));
  const rules = seedLines(ic.env.UNDERLAY_RULES_V4).map((r) => {
    const m = / -d (\S+) /.exec(r);
    if (!m || !swap.has(m[1])) throw new Error(`underlay rule names no seed subnet: ${r}`);
    return r.replace(` -d ${m[1]} `, ` -d ${swap.get(m[1])} `);
  });
  const env = {
    ...ic.env,
    NODE_CIDRS: cidrs.map(([cloud, cidr]) => `${cloud} ${swap.get(cidr)}`).join('\n'),
    UNDERLAY_RULES_V4: rules.join('\n'),
  };
  delete (env as Record<string, string>).HOST_IP; // the lab passes each node's own address
  return { env, seedCidrs: [...swap.keys()], mss: rules.map((r) => Number(/--set-mss (\d+)$/.exec(r)![1])) };
}

/** SYN and SYN-ACK segments a tcpdump -v printed: who sent them and the MSS option they carried. */
function syns(out: string): Array<{ from: string; to: string; flags: string; mss: number }> {
  const re = /(\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.\d+: Flags \[(S\.?)\][^\n]*?mss (\d+)/g;
  return [...out.matchAll(re)].map((m) => ({ from: m[1], to: m[2], flags: m[3] === 'S' ? 'SYN' : 'SYN-ACK', mss: Number(m[4]) }));
}

describe('underlay clamp: node-to-node TCP across the SD-WAN (seed numbers from dist/)', () => {
  const lab = new MtuLab({ labId: `fmlab-ul-${process.pid}`, postTimeoutSeconds: 3 });
  const ns = new Lab();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-ul-'));
  const script = path.join(dir, 'tcp-mss-clamp.sh');
  const envFile = path.join(dir, 'clamp.env');
  const { env, seedCidrs, mss } = labEnv();
  const nodeNs = (n: 'nodeA' | 'nodeB') => `${lab.labId}-${n}`;
  let peer = '';

  /** Runs `client` while tcpdump -v watches `dev` in node A's namespace for SYNs to/from port 8888. */
  const capture = (dev: string, client: string[]): { syns: ReturnType<typeof syns>; client: number } => {
    const cap = path.join(dir, 'cap.txt');
    const sh = [
      `timeout 8 ${IP} netns exec ${nodeNs('nodeA')} tcpdump -l -n -v -i ${dev} -c 2 'tcp port 8888 and tcp[tcpflags] & tcp-syn != 0' >${cap} 2>/dev/null &`,
      'p=$!',
      'sleep 1',
      '"$@" >/dev/null 2>&1; rc=$?',
      'wait $p',
      'exit $rc',
    ].join('\n');
    const r = spawnSync('sh', ['-c', sh, 'capture', ...client], { encoding: 'utf8', timeout: 30_000 });
    return { syns: syns(fs.readFileSync(cap, 'utf8')), client: r.status ?? -1 };
  };
  const curl = (from: string, url: string) => [IP, 'netns', 'exec', from, 'curl', '-sS', '-m', '3', '-o', '/dev/null', url];
  const save = (n: 'nodeA' | 'nodeB', b: 'legacy' | 'nft') => must([IP, 'netns', 'exec', nodeNs(n), `iptables-${b}-save`, '-t', 'mangle']);

  beforeAll(() => {
    expect(labNamespaces(lab.labId)).toEqual([]);
    fs.writeFileSync(script, ic.script);
    fs.writeFileSync(envFile, envFileText(env));
    lab.up({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380 });
    // A second node of cloud A (192.168.100.3), linked straight to node A: TCP between the two
    // stays inside the cloud. Namespaces only; nothing touches the host namespace.
    peer = ns.ns('peer');
    ns.ip(peer, 'link', 'add', 'eth0', 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', nodeNs('nodeA'), 'mtu', '1400');
    ns.ip(peer, 'addr', 'add', `${PEER}/24`, 'dev', 'eth0');
    ns.ip(peer, 'link', 'set', 'eth0', 'up');
    must([IP, '-n', nodeNs('nodeA'), 'link', 'set', 'eth1', 'up']);
    must([IP, '-n', nodeNs('nodeA'), 'route', 'add', `${PEER}/32`, 'dev', 'eth1']);
  }, 60_000);

  afterAll(() => {
    lab.down();
    ns.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(labNamespaces(lab.labId)).toEqual([]);
  }, 30_000);

  test("the env is the manifest's with the lab's subnets: same clouds, same MSS (1380 - 40), no seed address left", () => {
    expect(mss).toEqual([1340, 1340]);
    expect(env.NODE_CIDRS).toBe('cloud-a 192.168.100.0/24\ncloud-b 192.168.200.0/24');
    expect(env.UNDERLAY_RULES_V4).toBe(
      [
        'cloud-a -d 192.168.200.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340',
        'cloud-b -d 192.168.100.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340',
      ].join('\n'),
    );
    const text = fs.readFileSync(envFile, 'utf8');
    for (const c of seedCidrs) expect(text).not.toContain(c.split('/')[0]);
  });

  test('without the clamp: a small POST works, the 1616-byte POST node A -> node B (underlay) hangs', () => {
    lab.unclamp();
    expect(lab.post(200, 'nodeA', 'nodeB-ul')).toMatchObject({ result: 'ok' });
    expect(lab.post(BIG, 'nodeA', 'nodeB-ul')).toMatchObject({ result: 'hang', curl_rc: 28 });
    expect(lab.counters().icmp_frag_needed_dropped_wanA).toBeGreaterThan(0);
  }, 30_000);

  describe.each<IptablesBackend & ('legacy' | 'nft')>(['legacy', 'nft'])('with the clamp, iptables-%s', (backend) => {
    const other = backend === 'legacy' ? 'nft' : 'legacy';
    beforeAll(() => {
      lab.unclamp();
      const runs = lab.clamp({ script, envFile, backend });
      expect(runs.map((r) => [r.node, r.result, r.detail ?? ''])).toEqual([
        ['nodeA', 'ok', ''],
        ['nodeB', 'ok', ''],
      ]);
      for (const r of runs) {
        // overlay rule + the node's one underlay rule, in the backend the node uses only
        expect(backend === 'legacy' ? r.tcpmss_rules_legacy : r.tcpmss_rules_nft).toBe(2);
        expect(backend === 'legacy' ? r.tcpmss_rules_nft : r.tcpmss_rules_legacy).toBe(0);
      }
    }, 60_000);

    test("each node clamps only toward the other cloud's subnet", () => {
      const underlay = (n: 'nodeA' | 'nodeB') => save(n, backend).split('\n').filter((l) => l.startsWith('-A FLANNEL-MTU-UNDERLAY '));
      expect(underlay('nodeA')).toEqual(['-A FLANNEL-MTU-UNDERLAY -d 192.168.200.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340']);
      expect(underlay('nodeB')).toEqual(['-A FLANNEL-MTU-UNDERLAY -d 192.168.100.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340']);
      expect(save('nodeA', other)).not.toContain('FLANNEL-MTU');
    });

    test('the 1616-byte POST works node A -> node B and node B -> node A (underlay addresses)', () => {
      expect(lab.post(BIG, 'nodeA', 'nodeB-ul')).toMatchObject({ result: 'ok', http_code: 200 });
      expect(lab.post(BIG, 'nodeB', 'nodeA-ul')).toMatchObject({ result: 'ok', http_code: 200 });
    }, 30_000);

    test('SYN and SYN-ACK across the SD-WAN carry MSS 1340; inside cloud A they keep 1360', () => {
      const across = capture('eth0', curl(nodeNs('nodeA'), 'http://192.168.200.2:8888/'));
      expect(across.client).toBe(0);
      expect(across.syns).toEqual([
        { from: '192.168.100.2', to: '192.168.200.2', flags: 'SYN', mss: 1340 },
        { from: '192.168.200.2', to: '192.168.100.2', flags: 'SYN-ACK', mss: 1340 },
      ]);
      const inside = capture('eth1', curl(peer, 'http://192.168.100.2:8888/'));
      expect(inside.client).toBe(0);
      expect(inside.syns).toEqual([
        { from: PEER, to: '192.168.100.2', flags: 'SYN', mss: SYN_MSS_UNCLAMPED },
        { from: '192.168.100.2', to: PEER, flags: 'SYN-ACK', mss: SYN_MSS_UNCLAMPED },
      ]);
    }, 30_000);
  });

  test('and it is the clamp that fixed it: removed again, the POST hangs again', () => {
    lab.unclamp();
    expect(lab.post(BIG, 'nodeA', 'nodeB-ul')).toMatchObject({ result: 'hang' });
  }, 30_000);
});
