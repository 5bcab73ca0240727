/**
 * `npm run lab -- environments/<env>.yaml` (root): builds two nodes of the environment's first two
 * clouds in network namespaces, joined by routers whose link has the environment's path MTU and
 * loses what does not fit, applies the numbers from dist/<env>/<env>.k8s.yaml and prints what works.
 * Everything it creates is removed on exit, also when interrupted.
 */
import { renderChangeReport, renderShrinkReport, runMtuChangeScenario, runShrinkScenarios } from './healing';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { labInputs, synthInto } from './manifest';
import { renderReport, runScenarios } from './scenarios';
import { renderWireguardTable, runWireguardScenarios } from './wireguard-scenarios';

async function main(argv: string[]): Promise<number> {
  const distAt = argv.indexOf('--dist');
  const file = argv.find((a, i) => !a.startsWith('--') && (distAt < 0 || i !== distAt + 1));
  if (!file || (distAt >= 0 && argv[distAt + 1] === undefined)) {
    process.stderr.write('usage: npm run lab -- environments/<env>.yaml [--no-iperf] [--no-heal] [--dist <dir with the synthesized manifest> | --synth]\n');
    return 2;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('npm run lab needs root: it creates network namespaces, VXLAN or WireGuard devices and iptables rules (run it with sudo)\n');
    return 2;
  }
  // --synth: an environment without a committed manifest (a test fixture) is synthesized to a temporary dist/
  const dist = argv.includes('--synth') ? synthInto(fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-synth-')), [file]) : distAt >= 0 ? argv[distAt + 1] : 'dist';
  // on 'exit', so an interrupt (process.exit below) removes it too
  if (argv.includes('--synth')) process.on('exit', () => fs.rmSync(dist, { recursive: true, force: true }));
  return runLab(argv, file, dist);
}

async function runLab(argv: string[], file: string, dist: string): Promise<number> {
  const inputs = labInputs(file, dist);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  if (inputs.backend === 'wireguard') {
    const report = runWireguardScenarios(inputs, { log });
    process.stdout.write(`${renderReport(report)}\n${renderWireguardTable([report])}`);
    return report.checks.every((c) => c.pass) ? 0 : 1;
  }
  const report = runScenarios(inputs, { iperf: !argv.includes('--no-iperf'), log });
  process.stdout.write(renderReport(report));
  let ok = report.checks.every((c) => c.pass);
  if (!argv.includes('--no-heal')) {
    if (inputs.backend !== 'vxlan' || !inputs.conflist.plugins.some((p: { type: string }) => p.type === 'tuning')) {
      log(`lab: healing scenarios skipped: they need vxlan and the conflist's tuning entry (pmtud not off); ${file} has ${inputs.backend}`);
    } else {
      const shrink = await runShrinkScenarios(inputs, { log });
      process.stdout.write(`\n${renderShrinkReport(shrink)}`);
      ok &&= shrink.runs.every((r) => r.recovered === r.probing && (r.probing ? r.posts.ok === r.posts.started : r.posts.ok === 0));
      const change = await runMtuChangeScenario(file, inputs, { log });
      process.stdout.write(`\n${renderChangeReport(change)}`);
      ok &&= change.phases.every((p) => p.newConnections.failed === 0 && (!p.probing || p.groups.every((g) => g.hung === 0)));
    }
  }
  return ok ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // Exit through the normal path so the lab's teardown runs; its watchdog covers a hard kill.
  process.on(signal, () => process.exit(130));
}
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => {
    process.stderr.write(`lab: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
