// Issue 14 part 3 on a real kernel: environments/seed-dev.yaml's lab link lowered by 50 (pod MTU
// 1330 -> 1280, MSS 1290 -> 1240; synthesized in memory by the same code as dist/) and raised back,
// on a running lab, in the order the generated objects produce it: the DaemonSet's rolling update
// (one node at a time: that node's apply-node-mtu, then its tcp-mss-clamp, from the new manifest),
// then the rollout Job recreating the pods (new MTU and the conflist's tuning). Traffic all along:
// 8 long-lived connections in each of pod->pod, pod<-pod, node->pod and pod->node, and a new
// connection every 100 ms. Once with ICMP across the overlay delivered, once dropped by the nodes, and
// dropped with the pods' tcp_mtu_probing at 0. Stall and time numbers are printed, not asserted.
import { labNamespaces } from '../../lab/engine';
import { ChangeReport, renderChangeReport, runMtuChangeScenario } from '../../lab/healing';
import { labInputs } from '../../lab/manifest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fixtureFile, REPO, writeFixtures } from '../support/dist';
import { requireTools } from '../support/tools';

requireTools();

describe('changing the MTU with traffic flowing: dist/seed-dev lowered by 50 and raised back', () => {
  let report: ChangeReport;

  beforeAll(async () => {
    const cwd = process.cwd();
    process.chdir(REPO);
    // the seed fixture, written by synth to a temporary dist/ (the examples may be deleted)
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), `fmlab-dist-${process.pid}-`));
    try {
      writeFixtures(dist, ['seed-dev']);
      const seed = fixtureFile('seed-dev', false);
      report = await runMtuChangeScenario(seed, labInputs(seed, dist));
    } finally {
      process.chdir(cwd);
      fs.rmSync(dist, { recursive: true, force: true });
    }
    process.stdout.write(renderChangeReport(report));
  }, 400_000);
  afterAll(() => expect(labNamespaces('fmlab-').filter((n) => n.startsWith(`fmlab-${process.pid}-`))).toEqual([]));

  test('six phases: lower and raise, with overlay ICMP delivered, dropped, dropped with probing off; 1330 = 1380 - 50, 1280 = 1330 - 50', () => {
    expect(report.phases.map((p) => [p.direction, p.overlayIcmp, p.probing, p.fromPodMtu, p.toPodMtu])).toEqual([
      ['lower', 'pass', true, 1330, 1280], ['raise', 'pass', true, 1280, 1330],
      ['lower', 'drop', true, 1330, 1280], ['raise', 'drop', true, 1280, 1330],
      ['lower', 'drop', false, 1330, 1280], ['raise', 'drop', false, 1280, 1330],
    ]);
  });

  test('the steps run in the generated order: node A, node B (one at a time), then the pods', () => {
    for (const p of report.phases) {
      expect(p.steps.map((s) => s.step.split(':')[0].split(' ')[0])).toEqual(['nodeA', 'nodeB', 'long-lived', 'podA', 'podB']);
    }
  });

  test('with the generated config (probing on) no long-lived connection hangs and no new connection fails', () => {
    for (const p of report.phases.filter((x) => x.probing)) {
      expect(p.groups.map((g) => [g.from, g.to, g.connections, g.hung])).toEqual([
        ['podA', 'podB', 8, 0], ['podB', 'podA', 8, 0], ['nodeA', 'podB', 8, 0], ['podB', 'nodeA', 8, 0],
      ]);
      expect(p.newConnections.started).toBeGreaterThan(50);
      expect(p.newConnections.failed).toBe(0);
    }
  });

  test('new connections never fail, even with ICMP dropped and probing off (the clamp and MSS negotiation cover them)', () => {
    for (const p of report.phases) expect(p.newConnections.failed).toBe(0);
  });

  test('the drop variant really removed ICMP: the nodes dropped frag-needed while the MTU went down', () => {
    expect(report.phases.find((p) => p.direction === 'lower' && p.overlayIcmp === 'drop')!.icmpDropped).toBeGreaterThan(0);
  });
});
