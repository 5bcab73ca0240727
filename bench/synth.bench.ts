/**
 * Start-up and synth time of the CLI as users run it (`node bin/flannel-mtu`, compiled lib/), side
 * by side in one run: `node -e 0` (the baseline), `--version`, `plan` of the seed, and `synth` of 1
 * of 100 and of 1000 generated environments (load YAML, plan, synthesize, schema-validate, write the set).
 * Each is a fresh process, best of RUNS, the same count for every row (a minimum over fewer runs
 * would favour the rows with more); ratios are to `node -e 0` of the same run.
 * Targets: plan within 3x of `node -e 0` (it must not load cdk8s); synth of 100 within 2x of synth of 1.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { formatTable } from '../src/cli/table';

const REPO = path.resolve(__dirname, '..');
const RUNS = 7;
const CLI = path.join(REPO, 'bin', 'flannel-mtu');
const SEED = path.join(REPO, 'test', 'fixtures', 'environments', 'seed-dev.yaml');
function environmentYaml(i: number): string {
  const clouds = 2 + (i % 3);
  const names = Array.from({ length: clouds }, (_, c) => `cloud-${c}`);
  const links = names.flatMap((a, x) => names.slice(x + 1).map((b, y) => `  - between: [${a}, ${b}]\n    pathMtu: ${1380 + ((i + x + y) % 70)}\n`));
  return [
    `name: env-${String(i).padStart(3, '0')}`,
    'flannel:',
    `  podNetwork: 10.${i % 250}.0.0/16`,
    ...(i % 2 ? ['  podNetworkV6: fd00:10::/56'] : []),
    'clouds:',
    ...names.map((n, c) => `  - name: ${n}\n    nicMtu: ${[9001, 1500, 1450][c % 3]}`),
    'links:',
    links.join(''),
  ].join('\n');
}

function timed(args: string[], runs: number): number {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const p = spawnSync(process.execPath, args, { encoding: 'utf8' });
    times.push(performance.now() - start);
    if (p.status !== 0) throw new Error(`node ${args.join(' ')} failed (${p.status}): ${p.stderr}`);
  }
  return Math.min(...times);
}

function environments(count: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flannel-mtu-bench-${process.pid}-`));
  fs.mkdirSync(path.join(dir, 'environments'));
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, 'environments', `env-${String(i).padStart(3, '0')}.yaml`), environmentYaml(i));
  return dir;
}

const one = environments(1);
const hundred = environments(100);
const thousand = environments(1000);
try {
  const synthArgs = (dir: string) => [CLI, 'synth', '--environments', path.join(dir, 'environments'), '--out', path.join(dir, 'dist')];
  // synth runs against an output directory that already holds the set from the run before (warm
  // page cache, an unchanged set is not rewritten), as in a CI check; the first run writes it.
  timed(synthArgs(one), 1);
  timed(synthArgs(hundred), 1);
  timed(synthArgs(thousand), 1);
  const rows: Array<[string, number]> = [
    ['node -e 0', timed(['-e', '0'], RUNS)],
    ['flannel-mtu --version', timed([CLI, '--version'], RUNS)],
    ['flannel-mtu plan seed-dev.yaml', timed([CLI, 'plan', SEED], RUNS)],
    ['flannel-mtu synth (1 environment)', timed(synthArgs(one), RUNS)],
    ['flannel-mtu synth (100 environments)', timed(synthArgs(hundred), RUNS)],
    ['flannel-mtu synth (1000 environments)', timed(synthArgs(thousand), RUNS)],
  ];
  const base = rows[0][1];
  const ms = (name: string) => rows.find((r) => r[0].startsWith(name))![1];
  process.stdout.write(`${formatTable(['command (fresh process)', `wall, best of ${RUNS}`, 'x node -e 0'], rows.map(([name, t]) => [name, `${t.toFixed(0)} ms`, (t / base).toFixed(1)]))}\n`);
  const planRatio = ms('flannel-mtu plan') / base;
  const synthRatio = ms('flannel-mtu synth (100') / ms('flannel-mtu synth (1 ');
  const perEnvironment = (ms('flannel-mtu synth (1000') - ms('flannel-mtu synth (1 ')) / 999;
  process.stdout.write(`each further environment: ${perEnvironment.toFixed(1)} ms (from synth of 1000 and of 1)\n`);
  process.stdout.write(`plan / node -e 0 = ${planRatio.toFixed(1)} (target <= 3: ${planRatio <= 3 ? 'met' : 'MISSED'}); synth of 100 / synth of 1 = ${synthRatio.toFixed(1)} (target <= 2: ${synthRatio <= 2 ? 'met' : 'MISSED'})\n`);
} finally {
  fs.rmSync(one, { recursive: true, force: true });
  fs.rmSync(hundred, { recursive: true, force: true });
  fs.rmSync(thousand, { recursive: true, force: true });
}
