/**
 * `npm run lab -- environments/<env>.yaml` (root): builds two nodes of the environment's first two
 * clouds in network namespaces, joined by routers whose link has the environment's path MTU and
 * loses what does not fit, applies the numbers from dist/<env>.k8s.yaml and prints what works.
 * Everything it creates is removed on exit, also when interrupted.
 */
import { labInputs } from './manifest';
import { renderReport, runScenarios } from './scenarios';

function main(argv: string[]): number {
  const file = argv.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: npm run lab -- environments/<env>.yaml [--no-iperf]\n');
    return 2;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('npm run lab needs root: it creates network namespaces, VXLAN devices and iptables rules (run it with sudo)\n');
    return 2;
  }
  const report = runScenarios(labInputs(file), { iperf: !argv.includes('--no-iperf'), log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(renderReport(report));
  return report.checks.every((c) => c.pass) ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // Exit through the normal path so the lab's teardown runs; its watchdog covers a hard kill.
  process.on(signal, () => process.exit(130));
}
try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`lab: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
