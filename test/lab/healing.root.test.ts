// Issue 14 part 2 on a real kernel: the lab's WAN path shrinks 80 bytes below what
// environments/seed-dev.yaml declares (1380 -> 1300) while a stream and 1616-byte POSTs run from
// podA to podB, ICMP lost, in both WAN models. Nodes carry dist/'s MTUs and clamp; pods get
// tcp_mtu_probing from dist/'s conflist (the real tuning plugin) or keep the kernel default 0.
// The numbers (stall ms, delivered bytes, POST times) are printed, not asserted: assertions are on
// outcomes only (hung or recovered, answered or not, which probe round saw it).
import { labNamespaces } from '../../lab/engine';
import { renderShrinkReport, runShrinkScenarios, ShrinkReport } from '../../lab/healing';
import { labInputs } from '../../lab/manifest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fixtureFile, REPO, writeFixtures } from '../support/dist';
import { requireTools } from '../support/tools';

requireTools();

describe('a WAN path that shrinks under load: dist/seed-dev with and without tcp_mtu_probing', () => {
  let report: ShrinkReport;
  const inputs = (() => {
    const cwd = process.cwd();
    process.chdir(REPO);
    // the seed fixture, written by synth to a temporary dist/ (the examples may be deleted)
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), `fmlab-dist-${process.pid}-`));
    try {
      writeFixtures(dist, ['seed-dev']);
      return labInputs(fixtureFile('seed-dev', false), dist);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dist, { recursive: true, force: true });
    }
  })();

  beforeAll(async () => {
    report = await runShrinkScenarios(inputs, { runsWithProbing: 3 });
    process.stdout.write(renderShrinkReport(report));
  }, 420_000);
  afterAll(() => expect(labNamespaces('fmlab-').filter((n) => n.startsWith(`fmlab-${process.pid}-`))).toEqual([]));

  test('the conflist in dist/ is what the pods got: tcp_mtu_probing=1 from its tuning entry', () => {
    expect(inputs.conflist.plugins.find((p: { type: string }) => p.type === 'tuning').sysctl).toEqual({ 'net.ipv4.tcp_mtu_probing': '1' });
    expect(report.declared).toBe(1380); // seed-dev links[0].pathMtu
    expect(report.shrunkTo).toBe(1300); // 1380 - 80: pod packets of up to 1330 + 50 = 1380 no longer fit
    for (const r of report.runs) expect(r.podSysctl).toBe(r.probing ? '1' : '0');
  });

  test.each(['icmp', 'frags'] as const)('%s: without probing the stream hangs for good and no new POST is answered', (wanModel) => {
    const [off] = report.runs.filter((r) => r.wanModel === wanModel && !r.probing);
    expect(off.deliveredBeforeShrink).toBeGreaterThan(0);
    expect(off.recovered).toBe(false);
    expect(off.posts.started).toBeGreaterThan(10);
    expect(off.posts.ok).toBe(0);
  });

  test.each(['icmp', 'frags'] as const)('%s: with probing the stream recovers in every run and every new POST is answered', (wanModel) => {
    const on = report.runs.filter((r) => r.wanModel === wanModel && r.probing);
    expect(on).toHaveLength(3);
    for (const r of on) {
      expect(r.recovered).toBe(true);
      expect(r.posts).toMatchObject({ ok: r.posts.started });
      expect(r.posts.started).toBeGreaterThan(10);
    }
  });

  test.each(['icmp', 'frags'] as const)('%s: the shipped probe says too-small, measuring 1300, by the round after the one in flight', (wanModel) => {
    // the loop waits for a round that measured 1300 (it fails otherwise); a round in flight at the
    // shrink may report too-small with a value in between first
    const p = report.probe.find((x) => x.wanModel === wanModel)!;
    expect(p.secondsToTooSmall).not.toBeNull();
    expect(p.secondsToTooSmall!).toBeLessThanOrEqual(p.secondsToExact);
    expect(p.roundsAfterShrink).toBeLessThanOrEqual(2);
  });
});
