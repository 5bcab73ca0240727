import * as fs from 'fs';
import * as path from 'path';
import { environmentFiles } from './config/load';
import { formatProblem, InputError } from './model/errors';
import { synthFiles } from './synth';

/**
 * The cdk8s app: every environments/*.yaml becomes <outdir>/<env>.k8s.yaml.
 *
 * Nothing is written unless every environment loads, plans and validates; files are replaced by
 * rename, and manifests of environments that no longer exist are removed.
 * Usage: tsx src/main.ts [environments-dir] [out-dir]   (out-dir defaults to $CDK8S_OUTDIR or dist)
 */
export function main(argv: readonly string[]): number {
  const envDir = argv[0] ?? 'environments';
  const outDir = argv[1] ?? process.env.CDK8S_OUTDIR ?? 'dist';
  try {
    const files = environmentFiles(envDir).map((f) => path.relative(process.cwd(), f) || f);
    if (files.length === 0) throw new InputError([{ file: envDir, message: 'no environment files (*.yaml) found' }]);
    const manifests = synthFiles(files);
    for (const p of manifests.flatMap((m) => m.plan.warnings.map((w) => ({ ...w, file: m.source })))) {
      process.stderr.write(`warning: ${formatProblem(p)}\n`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    for (const m of manifests) {
      const target = path.join(outDir, m.fileName);
      fs.writeFileSync(`${target}.tmp`, m.yaml);
      fs.renameSync(`${target}.tmp`, target);
    }
    const produced = new Set(manifests.map((m) => m.fileName));
    for (const stale of fs.readdirSync(outDir).filter((f) => f.endsWith('.k8s.yaml') && !produced.has(f))) {
      fs.unlinkSync(path.join(outDir, stale));
    }
    for (const m of manifests) {
      const numbers = m.plan.mtuMode === 'per-path'
        ? `per-path: ${[
          ...m.plan.clouds.map((c) => `${c.name} pod MTU ${c.podMtu}, Backend.MTU ${c.backendMtu ?? '-'}, MSS ${c.mss}`),
          ...m.plan.links.map((l) => `link ${l.name} MTU ${l.overlayMtu}`),
        ].join('; ')}`
        : `pod MTU ${m.plan.podMtu}, Backend.MTU ${m.plan.backendMtu ?? '-'}, MSS ${m.plan.mss}`;
      process.stdout.write(`${path.join(outDir, m.fileName)}: ${numbers}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`${e.problems.map((p) => `error: ${formatProblem(p)}`).join('\n')}\nnothing was written\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
