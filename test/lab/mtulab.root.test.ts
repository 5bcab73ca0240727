// The seed incident on a real kernel: node NICs 1400, SD-WAN path MTU 1380 (DESIGN.md section 1,
// shared/reference/netns-lab-notes.md). One lab is built once and changed in place between
// scenarios (ip link set mtu + route cache flush); every hanging check costs one 3 s curl timeout.
// The numbers are explicit here; a wrapper will later take them from the synthesized manifests.
import * as path from 'path';
import { Endpoint, IperfResult, MtuLab, labNamespaces } from '../../lab/engine';

const SEED = { nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380 } as const;
/** The body size from the incident. */
const BIG = 1616;
const FIXTURES = path.join(__dirname, 'fixtures');
const CLAMP = path.join(FIXTURES, 'clamp-standin.sh');
const CLAMP_ENV = path.join(FIXTURES, 'clamp-1290.env');

const overlay = (mtu: number, wanModel: 'icmp' | 'frags' | 'open' = 'icmp') =>
  ({ ...SEED, wanModel, overlayMtuA: mtu, overlayMtuB: mtu }) as const;

describe('mtulab: seed incident (NICs 1400, path 1380) on a real kernel', () => {
  const lab = new MtuLab({ labId: `fmlab-jest-${process.pid}`, postTimeoutSeconds: 3, iperfSeconds: 2 });
  const timings: Array<[string, number]> = [];
  let t0 = 0;

  beforeAll(() => {
    expect(labNamespaces(lab.labId)).toEqual([]);
    const up = lab.up(overlay(1350));
    expect(up).toMatchObject({ overlay_mtu_a: 1350, pod_mtu_b: 1350, path_mtu: 1380, wan_model: 'icmp' });
    expect(lab.namespaces()).toHaveLength(6);
    timings.push(['up', up.seconds]);
  }, 30_000);

  beforeEach(() => {
    t0 = Date.now();
  });
  afterEach(() => {
    timings.push([expect.getState().currentTestName ?? '?', (Date.now() - t0) / 1000]);
  });

  afterAll(() => {
    const down = lab.down();
    timings.push(['down', down.seconds]);
    expect(labNamespaces(lab.labId)).toEqual([]);
    console.log(
      'mtulab timings (s)\n' +
        timings.map(([n, s]) => `  ${s.toFixed(2).padStart(7)}  ${n.replace(/^mtulab: [^)]*\) on a real kernel /, '')}`).join('\n'),
    );
  }, 30_000);

  test('1. overlay 1350 (NIC - 50, upstream default): a 1616-byte POST hangs, a small POST works', () => {
    lab.reconfig(overlay(1350));
    expect(lab.post(200, 'podA', 'podB')).toMatchObject({ result: 'ok', http_code: 200 });
    const big = lab.post(BIG, 'podA', 'podB');
    expect(big).toMatchObject({ result: 'hang', curl_rc: 28 });
    expect(big.seconds).toBeGreaterThanOrEqual(2.9);
    // the mechanism: the router made "frag needed" for the 1400-byte outer packets and dropped it
    expect(lab.counters().icmp_frag_needed_dropped_wanA).toBeGreaterThan(0);
  }, 20_000);

  test('2. overlay 1330 (= path 1380 - 50): the 1616-byte POST works podA->podB, podB->podA, nodeA->podB', () => {
    lab.reconfig(overlay(1330));
    const flows: Array<[Endpoint, Endpoint]> = [
      ['podA', 'podB'],
      ['podB', 'podA'],
      ['nodeA', 'podB'],
    ];
    for (const [from, to] of flows) {
      expect(lab.post(BIG, from, to)).toMatchObject({ from, to, result: 'ok', http_code: 200 });
    }
    expect(lab.get(100_000, 'podA', 'podB')).toMatchObject({ result: 'ok' });
  }, 30_000);

  test('3. overlay 1331 hangs and 1330 is the largest DF packet: zero bytes wasted', () => {
    lab.reconfig(overlay(1331));
    expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'hang' });
    expect(lab.dfping('podA', 'podB', 1331)).toMatchObject({ result: 'fail', reason: 'no_reply' });
    expect(lab.dfping('podA', 'podB', 1330)).toMatchObject({ result: 'ok' });
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: 1330, upper_bound: 1331 });
    expect(lab.pmtuSearch('nodeA', 'podB')).toMatchObject({ bytes: 1330 });
    // the underlay path itself: 1380, so the overlay limit is exactly path - 50
    expect(lab.pmtuSearch('nodeA', 'nodeB-ul')).toMatchObject({ bytes: SEED.pathMtu, upper_bound: SEED.nicMtuA });
  }, 30_000);

  test.each(['legacy', 'nft'] as const)(
    '4. overlay left at 1350, clamp --set-mss 1290 (POSTROUTING -o flannel.1) on both nodes, iptables-%s: POST works',
    (backend) => {
      lab.reconfig(overlay(1350));
      lab.unclamp();
      const clamp = lab.clamp({ script: CLAMP, envFile: CLAMP_ENV, backend });
      expect(clamp).toHaveLength(2);
      for (const c of clamp) {
        expect(c).toMatchObject({ result: 'ok', rc: 0, ipt_backend: backend });
        // the rule landed in the backend the node "uses", and only there
        expect(backend === 'legacy' ? c.tcpmss_rules_legacy : c.tcpmss_rules_nft).toBe(1);
        expect(backend === 'legacy' ? c.tcpmss_rules_nft : c.tcpmss_rules_legacy).toBe(0);
      }
      expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'ok' });
      expect(lab.post(BIG, 'nodeA', 'podB')).toMatchObject({ result: 'ok' });
      expect(lab.post(BIG, 'podB', 'podA')).toMatchObject({ result: 'ok' });
      // and it is the clamp that fixed it
      lab.unclamp();
      expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'hang' });
    },
    30_000,
  );

  test.each(['icmp', 'frags'] as const)('5. WAN model %s: hangs at overlay 1350, works at 1330', (model) => {
    lab.reconfig(overlay(1350, model));
    expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'hang' });
    const c = lab.counters();
    if (model === 'icmp') expect(c.icmp_frag_needed_dropped_wanA).toBeGreaterThan(0);
    else expect(c.fragments_dropped_wanB).toBeGreaterThan(0);
    lab.reconfig(overlay(1330, model));
    expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    expect(lab.post(BIG, 'podB', 'podA')).toMatchObject({ result: 'ok' });
  }, 30_000);

  test('5b. control: flannel df unset over a WAN that fragments and loses nothing works even at 1350', () => {
    lab.reconfig(overlay(1350, 'open'));
    expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    // and the DF ping search is blind there: the inner DF bit is not copied to the outer header
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: 1350 });
  }, 30_000);

  test('7. per-path: devices left at 1350, route MTU 1330 on the routes to the other pod subnet: POST works', () => {
    lab.reconfig({ ...overlay(1350), routeMtuA: 1330, routeMtuB: 1330 });
    expect(lab.post(BIG, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    expect(lab.post(BIG, 'nodeA', 'podB')).toMatchObject({ result: 'ok' });
    expect(lab.post(BIG, 'podB', 'podA')).toMatchObject({ result: 'ok' });
  }, 30_000);

  test('6. iperf3 goodput at overlay 1330 / 1250 / 1000 (GSO off)', () => {
    const rows: Array<[number, IperfResult, IperfResult]> = [];
    for (const mtu of [1330, 1250, 1000]) {
      lab.reconfig(overlay(mtu));
      rows.push([mtu, lab.iperf('nodeA', 'podB'), lab.iperf('podA', 'podB')]);
    }
    console.log(
      'iperf3 goodput, Mbit/s received (sent), GSO off, 2 s, path 1380\n' +
        '  overlay  nodeA->podB           podA->podB\n' +
        rows
          .map(
            ([mtu, n, p]) =>
              `  ${String(mtu).padEnd(7)}  ${`${n.mbps_received} (${n.mbps_sent}) rtx ${n.retransmits}`.padEnd(20)}  ` +
              `${p.mbps_received} (${p.mbps_sent}) rtx ${p.retransmits}`,
          )
          .join('\n'),
    );
    for (const [, n, p] of rows) {
      expect(n).toMatchObject({ result: 'ok', gso: 'off' });
      expect(p).toMatchObject({ result: 'ok', gso: 'off' });
      expect(n.mbps_received).toBeGreaterThan(0);
      expect(p.mbps_received).toBeGreaterThan(0);
    }
  }, 60_000);
});
