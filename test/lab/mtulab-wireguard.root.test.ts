// mtulab.sh's wireguard backend on real WireGuard encapsulation (Debian's userspace wireguard-go;
// no kernel module): the devices flannel's wireguard backend creates, over the same two routers and
// SD-WAN link as the vxlan lab. Explicit numbers; the dist-driven proof is wireguard-e2e.root.test.ts.
//
// The arithmetic every expectation comes from: WireGuard costs 20 (IPv4) / 40 (IPv6) outer IP + 8
// UDP + 16 header + 16 auth tag = 60 / 80 bytes, and pads each packet to a multiple of 16 bytes but
// never beyond the device MTU. So on a path P a device of MTU M carries M-byte packets while
// M <= P - overhead (the fit F), and only floor16(F)-byte packets once M > F.
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { MTULAB_SCRIPT, MtuLab, labNamespaces } from '../../lab/engine';
import { findBinary, pidAlive } from '../../lab/host';

const floor16 = (n: number) => n - (n % 16);

beforeAll(() => {
  // name what is missing instead of failing somewhere inside mtulab.sh
  for (const tool of ['wireguard-go', 'wg', 'unshare', 'nsenter']) expect(findBinary(tool)).toBeTruthy();
});

describe('mtulab wireguard, separate tunnels (flannel-wg over IPv4, flannel-wg-v6 over IPv6), path 1380 both families', () => {
  const lab = new MtuLab({ labId: `fmlab-jwg${process.pid}-sep`, postTimeoutSeconds: 3 });
  const underlay = { backend: 'wireguard', wgMode: 'separate', ipv6: true, nicMtuA: 1500, nicMtuB: 1500, pathMtu: 1380 } as const;
  const devices = (mtu: number) => ({ ...underlay, overlayMtuA: mtu, overlayMtuB: mtu });

  beforeAll(() => {
    const up = lab.up(devices(1300));
    expect(up).toMatchObject({ backend: 'wireguard', ipv6: true, path_mtu_v6: 1380, overlay_devices: ['flannel-wg', 'flannel-wg-v6'], overlay_mtu_a: 1300, pod_mtu_b: 1300 });
  }, 30_000);
  afterAll(() => {
    lab.down();
    expect(lab.namespaces()).toEqual([]);
  }, 30_000);

  test('the underlay carries 1380 bytes in both families', () => {
    expect(lab.pmtuSearch('nodeA', 'nodeB-ul')).toMatchObject({ bytes: 1380 });
    expect(lab.pmtuSearch('nodeA', 'nodeB-ul6')).toMatchObject({ bytes: 1380 });
  }, 30_000);

  test('IPv6 underlay costs 80: flannel-wg-v6 at 1300 = 1380 - 80 carries 1300-byte packets; at 1301 only floor16(1300) = 1296', () => {
    lab.reconfig(devices(1300));
    expect(lab.pmtuSearch('podA', 'podB6')).toMatchObject({ bytes: 1300, upper_bound: 1300 });
    expect(lab.post(1616, 'podA', 'podB6')).toMatchObject({ result: 'ok' });
    expect(lab.post(1616, 'podB', 'podA6')).toMatchObject({ result: 'ok' });
    lab.reconfig(devices(1301));
    expect(lab.pmtuSearch('podA', 'podB6')).toMatchObject({ bytes: floor16(1300), upper_bound: 1301 });
    // the cliff: every size from 1297 to the device MTU is padded to 1312 and dropped
    for (let size = floor16(1300) + 1; size <= 1301; size++) expect(lab.dfping('podA', 'podB6', size)).toMatchObject({ size, result: 'fail', reason: 'no_reply' });
    expect(lab.post(1616, 'podA', 'podB6')).toMatchObject({ result: 'hang' });
    // flannel-wg at 1301 is still 19 below its IPv4 fit 1380 - 60 = 1320: no cliff there
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: 1301 });
  }, 60_000);

  test('IPv4 underlay costs 60: flannel-wg at 1320 carries 1320; at 1321 only floor16(1320) = 1312 (1313..1321 blackholed)', () => {
    lab.reconfig(devices(1320));
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: 1320, upper_bound: 1320 });
    lab.reconfig(devices(1321));
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: floor16(1320) });
    expect(lab.dfping('podA', 'podB', 1313)).toMatchObject({ result: 'fail' });
    expect(lab.dfping('podA', 'podB', 1312)).toMatchObject({ result: 'ok' });
  }, 60_000);

  test('both WAN models lose what does not fit: ICMP frag-needed dropped, or fragments dropped with ICMP let through', () => {
    for (const wan of [{ wanModel: 'icmp' }, { wanModel: 'frags', icmpBlackhole: false }] as const) {
      lab.reconfig({ ...devices(1340), ...wan });
      expect(lab.post(1616, 'podA', 'podB')).toMatchObject({ result: 'hang' });
      lab.reconfig({ ...devices(1300), ...wan });
      expect(lab.post(1616, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    }
    // wireguard-go sends with DF (the kernel's default for UDP): with ICMP let through, the node
    // learns the path MTU and fragments the outer packet itself, and the WAN drops the fragments
    lab.reconfig({ ...devices(1340), wanModel: 'frags', icmpBlackhole: false });
    expect(lab.post(1616, 'podA', 'podB')).toMatchObject({ result: 'hang' });
    expect(lab.counters().fragments_dropped_wanB).toBeGreaterThan(0);
  }, 60_000);
});

describe('mtulab wireguard, one tunnel (flannel-wg) for both families over the IPv6 underlay: what `auto` picks for public IPv6 peers', () => {
  const lab = new MtuLab({ labId: `fmlab-jwg${process.pid}-one`, postTimeoutSeconds: 3 });
  const other = new MtuLab({ labId: `fmlab-jwg${process.pid}-two`, postTimeoutSeconds: 3 });
  const underlay = { backend: 'wireguard', wgMode: 'ipv6', ipv6: true, nicMtuA: 1500, nicMtuB: 1500, pathMtu: 1400, pathMtuV6: 1380 } as const;

  beforeAll(() => {
    expect(lab.up({ ...underlay, overlayMtuA: 1300, overlayMtuB: 1300 })).toMatchObject({ overlay_devices: ['flannel-wg'], wg_mode: 'ipv6', path_mtu_v6: 1380 });
  }, 30_000);
  afterAll(() => {
    lab.down();
    other.down();
    expect(labNamespaces(`fmlab-jwg${process.pid}-`)).toEqual([]);
  }, 30_000);

  test('both families cost 80 through flannel-wg: the IPv6 path 1380 binds, not the IPv4 1400', () => {
    lab.reconfig({ ...underlay, overlayMtuA: 1300, overlayMtuB: 1300 });
    expect(lab.pmtuSearch('nodeA', 'nodeB-ul6')).toMatchObject({ bytes: 1380 });
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: 1300, upper_bound: 1300 });
    expect(lab.pmtuSearch('podA', 'podB6')).toMatchObject({ bytes: 1300 });
    lab.reconfig({ ...underlay, overlayMtuA: 1301, overlayMtuB: 1301 });
    expect(lab.pmtuSearch('podA', 'podB')).toMatchObject({ bytes: floor16(1300) });
    expect(lab.pmtuSearch('podA', 'podB6')).toMatchObject({ bytes: floor16(1300) });
  }, 60_000);

  test('two labs at once each have their own flannel-wg and control socket; down kills only its own wireguard-go', () => {
    lab.reconfig({ ...underlay, overlayMtuA: 1300, overlayMtuB: 1300 });
    other.up({ ...underlay, wgMode: 'ipv4', overlayMtuA: 1300, overlayMtuB: 1300 });
    expect(other.post(1616, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    expect(lab.post(1616, 'podA', 'podB')).toMatchObject({ result: 'ok' });
    // the sockets live in the labs' private mount namespaces, never in the host's /run/wireguard
    const hostSockets = fs.existsSync('/run/wireguard') ? fs.readdirSync('/run/wireguard') : [];
    expect(hostSockets.filter((s) => s.startsWith('flannel-wg'))).toEqual([]);
    const pidsOf = (l: MtuLab) => l.namespaces().filter((n) => /-node[AB]$/.test(n))
      .flatMap((n) => (spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean).map(Number))
      .filter((p) => fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'wireguard-go');
    const mine = pidsOf(other);
    const theirs = pidsOf(lab);
    expect(mine).toHaveLength(2);
    expect(theirs).toHaveLength(2);
    expect(other.down()).toMatchObject({ namespaces_removed: 6 });
    // killed, or a zombie its adoptive parent has not reaped yet (it holds no socket or device)
    const stat = (p: number) => (pidAlive(p) ? fs.readFileSync(`/proc/${p}/stat`, { encoding: 'utf8', flag: 'r' }) : '');
    const dead = (p: number) => { try { return !/^\d+ \(.*\) [^Z]/.test(stat(p)); } catch { return true; } };
    for (const p of mine) expect(dead(p)).toBe(true);
    for (const p of theirs) expect(dead(p)).toBe(false);
    expect(lab.post(1616, 'podA', 'podB6')).toMatchObject({ result: 'ok' });
  }, 60_000);
});

test('usage errors for the wireguard settings exit 2 and build nothing', () => {
  const id = `fmlab-jwg${process.pid}-bad`;
  const bad = (args: string[], env: Record<string, string>) =>
    spawnSync('bash', [MTULAB_SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LAB_ID: id, ...env }, encoding: 'utf8' });
  expect(bad(['up'], { IPV6: '1' }).stderr).toMatch(/IPV6=1 needs BACKEND=wireguard/);
  expect(bad(['up'], { BACKEND: 'wireguard', WG_MODE: 'ipv6' }).status).toBe(2);
  expect(bad(['up'], { BACKEND: 'wireguard', WG_MODE: 'auto' }).stderr).toMatch(/WG_MODE must be separate, ipv4 or ipv6/);
  expect(bad(['up'], { BACKEND: 'wireguard', IPV6: '1', PATH_MTU_V6: '1390' }).stderr).toMatch(/PATH_MTU_V6=1390 must be within 1280\.\.PATH_MTU \(1380\)/);
  expect(bad(['up'], { BACKEND: 'ipsec' }).status).toBe(2);
  expect(bad(['dfping', 'nodeA', 'podB6', '1300'], {}).stderr).toMatch(/nodes have no IPv6 overlay address/);
  expect(bad(['post', '1616', 'podA', 'nodeB-ul6'], {}).status).toBe(2);
  expect(labNamespaces(id)).toEqual([]);
});
