/**
 * plan + synth time for 1, 10 and 100 generated environments, through the same path as
 * `npm run synth` (load YAML, plan, synthesize, schema-validate, write). Reports ratios against the
 * 1-environment run of the same process, so the numbers compare across machines.
 * Target: 100 environments in under 3 s, cost growing linearly (per-environment time flat).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { formatTable } from '../src/cli/table';
import { main } from '../src/main';

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

function timeSynth(count: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-bench-'));
  const envs = path.join(dir, 'environments');
  fs.mkdirSync(envs);
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(envs, `env-${String(i).padStart(3, '0')}.yaml`), environmentYaml(i));
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  const start = performance.now();
  const code = main([envs, path.join(dir, 'dist')]);
  const ms = performance.now() - start;
  process.stdout.write = write;
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`synth of ${count} environments failed`);
  return ms;
}

timeSynth(1); // warm up module loading and JIT, so the baseline measures synthesis only
const best = (count: number) => Math.min(...[1, 2, 3].map(() => timeSynth(count)));
const results = [1, 10, 100].map((count) => ({ count, ms: best(count) }));
const base = results[0].ms;
process.stdout.write(
  `${formatTable(
    ['environments', 'wall (best of 3)', 'x 1-env time', 'per environment', 'per-env x baseline'],
    results.map(({ count, ms }) => [String(count), `${ms.toFixed(0)} ms`, (ms / base).toFixed(1), `${(ms / count).toFixed(1)} ms`, (ms / count / base).toFixed(2)]),
  )}\n`,
);
const hundred = results[2].ms;
process.stdout.write(`100 environments: ${(hundred / 1000).toFixed(2)} s (target < 3 s: ${hundred < 3000 ? 'met' : 'MISSED'})\n`);
