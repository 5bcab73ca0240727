// The project's claim, proven on a real kernel with every number taken from the synthesized manifest
// (the seed fixture, written by synth to a temporary dist/): the seed
// incident hangs with upstream's MTU, works with the generated one in both WAN models, breaks one
// byte above it, and the generated clamp alone fixes TCP on iptables-legacy and iptables-nft.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { labInputs } from '../../lab/manifest';
import { renderReport, runScenarios } from '../../lab/scenarios';
import { fixtureFile, REPO, writeFixtures } from '../support/dist';

const SEED = fixtureFile('seed-dev', false);
const cwd = process.cwd();
let dist: string;
beforeAll(() => {
  process.chdir(REPO);
  dist = fs.mkdtempSync(path.join(os.tmpdir(), `fmlab-dist-${process.pid}-`));
  writeFixtures(dist, ['seed-dev']);
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(dist, { recursive: true, force: true });
});

describe('end to end: the seed as synthesized to dist/', () => {
  test('the lab reads its numbers from the manifest: Backend.MTU 1380 -> flannel.1 1380 - 50 = 1330, pods 1330, MSS 1290', () => {
    const inputs = labInputs(SEED, dist);
    expect(inputs).toMatchObject({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380, backendMtu: 1380, overlayMtu: 1330, podMtu: 1330, mss: 1290 });
    expect(inputs.deviceMtus).toEqual({ 'cni0': 1330, 'flannel.1': 1330 });
  });

  test('fails when dist/ is stale', () => {
    const stale = fs.mkdtempSync(path.join(os.tmpdir(), `fmlab-dist-${process.pid}-`));
    fs.mkdirSync(path.join(stale, 'seed-dev'));
    fs.writeFileSync(path.join(stale, 'seed-dev', 'seed-dev.k8s.yaml'), fs.readFileSync(path.join(dist, 'seed-dev', 'seed-dev.k8s.yaml'), 'utf8').replace('"MTU": 1380', '"MTU": 1400'));
    expect(() => labInputs(SEED, stale)).toThrow(/seed-dev\.k8s\.yaml is missing or out of date .*run `npm run synth` first/);
    fs.rmSync(stale, { recursive: true });
  });

  test('incident, fix, zero bytes wasted, overlay and underlay clamp on both iptables backends, throughput', () => {
    const report = runScenarios(labInputs(SEED, dist));
    console.log(renderReport(report));
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    // 2 WAN models x (2 + 3) + 1 hostNetwork hang, 3 one-byte-more checks, 2 backends x 4 clamp checks.
    expect(report.checks.length).toBe(22);
    expect(report.throughput.map((t) => t.podMtu)).toEqual([1330, 1250, 1000]);
    for (const t of report.throughput) expect(t.mbps).toBeGreaterThan(0);
  }, 150_000);
});
