// The wireguard backend end to end on real WireGuard (wireguard-go): three fixture environments are
// synthesized as `npm run synth` does, the lab reads every number from that YAML (labInputs) and
// builds the devices flannel creates for the environment's tunnelMode, and every check's
// expectation follows from WireGuard's wire format (60 bytes over IPv4, 80 over IPv6, 16-byte padding
// capped at the device MTU; see lab/wireguard-scenarios.ts), not from the plan.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WgLabMode } from '../../lab/engine';
import { labInputs, synthInto } from '../../lab/manifest';
import { renderReport } from '../../lab/scenarios';
import { renderWireguardTable, runWireguardScenarios, WireguardReport } from '../../lab/wireguard-scenarios';
import { REPO } from '../support/dist';

const FIXTURES = 'test/fixtures/environments';
const cwd = process.cwd();
let dist = '';
const reports: WireguardReport[] = [];

beforeAll(() => {
  process.chdir(REPO);
  // as `flannel-mtu synth` writes them: OUT/<env>/<env>.k8s.yaml
  dist = synthInto(fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-wgdist-')), ['wg-seed', 'wg-dual', 'wg-auto'].map((e) => `${FIXTURES}/${e}.yaml`));
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(dist, { recursive: true, force: true });
  console.log(`wireguard, measured (README table)\n${renderWireguardTable(reports)}`);
});

const run = (env: string, modes?: WgLabMode[]): WireguardReport => {
  const report = runWireguardScenarios(labInputs(`${FIXTURES}/${env}.yaml`, dist), { modes });
  console.log(renderReport(report));
  reports.push(report);
  return report;
};

describe('wireguard end to end, numbers from the synthesized manifests', () => {
  test('the lab reads the wireguard numbers from the manifest', () => {
    // wg-seed: path 1380 - 60 = 1320 for pods and flannel-wg, Backend.MTU 1320 + 80 = 1400,
    // MSS 1320 rounded down to a multiple of 16 = 1312, - 40 = 1272, clamped on flannel-wg.
    expect(labInputs(`${FIXTURES}/wg-seed.yaml`, dist)).toMatchObject({
      backend: 'wireguard', tunnelMode: 'separate', dualStack: false, backendMtu: 1400, overlayMtu: 1320, podMtu: 1320, mss: 1272, mssV6: null,
      clampDevices: { v4: ['flannel-wg'], v6: [] },
    });
    // wg-dual: min(1400 - 60, 1390 - 80) = 1310, Backend.MTU 1390; IPv4 MSS 1310 - 40 = 1270 (1310 is
    // within floor16(1340) = 1328), IPv6 MSS floor16(1310) = 1296 - 60 = 1236, each on its own device.
    expect(labInputs(`${FIXTURES}/wg-dual.yaml`, dist)).toMatchObject({
      tunnelMode: 'separate', dualStack: true, pathMtuV6: 1390, backendMtu: 1390, overlayMtu: 1310, podMtu: 1310, mss: 1270, mssV6: 1236,
      clampDevices: { v4: ['flannel-wg'], v6: ['flannel-wg-v6'] },
    });
    // wg-auto: one flannel-wg that may run over IPv6: both families fit 1310, so both MSS use 1296.
    expect(labInputs(`${FIXTURES}/wg-auto.yaml`, dist)).toMatchObject({
      tunnelMode: 'auto', backendMtu: 1390, podMtu: 1310, mss: 1256, mssV6: 1236, clampDevices: { v4: ['flannel-wg'], v6: ['flannel-wg'] },
    });
    expect(labInputs(`${FIXTURES}/wg-dual.yaml`, dist).deviceMtus).toEqual({ 'cni0': 1310, 'flannel-wg': 1310, 'flannel-wg-v6': 1310 });
  });

  test('wg-seed (IPv4, NIC 1400, path 1380): upstream NIC - 80 is exact here, NIC - 60 blackholes, generated works, 1321 falls off the cliff, the clamp alone fixes TCP', () => {
    const report = run('wg-seed');
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    // underlay 1 + 2 configs x 2 + generated 2 + 2 WAN models x 3 flows + cliff 2 + 2 pings + 2 backends x 3 clamp checks + 1 control
    expect(report.checks).toHaveLength(24);
    expect(report.rows.map((r) => [r.deviceMtu, r.largest, r.post])).toEqual([
      [1320, 1320, 'ok'], [1340, 1312, 'hang'], [1320, 1320, 'ok'], [1321, 1312, 'hang'],
      // the clamp alone with flannel-wg at 1340: MSS 1272 (packets of 1312) crosses, 1280 (1320, padded to 1328) does not
      [1340, null, 'ok'], [1340, null, 'hang'],
    ]);
  }, 120_000);

  test('wg-dual (separate, IPv4 1400 / IPv6 1390): IPv6 costs 80 and binds; IPv4 has 30 bytes of headroom before its own cliff', () => {
    const report = run('wg-dual');
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    const byConfig = (prefix: string) => report.rows.filter((r) => r.config.startsWith(prefix)).map((r) => [r.family, r.largest, r.post]);
    expect(byConfig('2.')).toEqual([['ipv4', 1310, 'ok'], ['ipv6', 1310, 'ok']]);
    // one byte more: flannel-wg (fit 1340) still carries 1311, flannel-wg-v6 (fit 1310) only floor16(1310) = 1296
    expect(byConfig('3.')).toEqual([['ipv4', 1311, 'ok'], ['ipv6', 1296, 'hang']]);
  }, 150_000);

  test('wg-auto over the IPv6 underlay (what auto picks for public IPv6 peers): both families pay 80 through one flannel-wg', () => {
    // auto over IPv4 behaves like separate's flannel-wg for both families (npm run lab runs it too)
    const report = run('wg-auto', ['ipv6']);
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    expect(report.rows.filter((r) => r.config.startsWith('3.')).map((r) => [r.family, r.fit, r.largest])).toEqual([['ipv4', 1310, 1296], ['ipv6', 1310, 1296]]);
  }, 150_000);
});
