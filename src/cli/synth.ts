import { spawnSync } from 'child_process';
import { Command, CommanderError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { formatProblem, InputError } from '../model/errors';
import { environmentFiles } from '../config/load';
import { GITOPS_TOOLS, GitOpsTool, gitopsFiles } from '../synth-gitops';
import { checkOutput, OutputFile, writeOutput } from '../synth-write';
import type { Manifest } from '../synth';

/** Exit code of `synth --check` when the output directory is not what synth would write. */
export const EXIT_STALE = 2;

export interface SynthOptions {
  /** @default 'environments' */
  readonly environments?: string;
  /** @default $CDK8S_OUTDIR, else 'dist' */
  readonly out?: string;
  readonly check?: boolean;
  readonly gitops?: readonly GitOpsTool[];
  readonly repoUrl?: string;
  readonly revision?: string;
  readonly json?: boolean;
}

/** Bad input or an unwritable output: the problems, and what that means for the output. */
export class SynthFailed extends Error {
  constructor(public readonly error: InputError, public readonly note: string) {
    super(error.message);
  }
}

/** Where a cluster's manifest goes inside OUT: a directory per cluster, for Argo CD and Flux paths. */
export function manifestPath(m: Pick<Manifest, 'environment' | 'fileName'>): string {
  return `${m.environment}/${m.fileName}`;
}

function git(args: string[]): string | undefined {
  const r = spawnSync('git', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** OUT relative to the git work tree's root (else to the current directory), `/`-separated. */
function repoRelative(out: string): string {
  const top = git(['rev-parse', '--show-toplevel']);
  const base = top ? fs.realpathSync(top) : process.cwd();
  const abs = path.resolve(out);
  const real = fs.existsSync(abs) ? fs.realpathSync(abs) : path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  const rel = path.relative(base, real).split(path.sep).join('/');
  if (rel === '' || rel.startsWith('..')) throw new InputError([{ file: out, message: `--gitops: the output directory must be inside the repository${top ? ` (${top})` : ''}` }]);
  return rel;
}

function summary(m: Manifest): string {
  const p = m.plan;
  if (p.mtuMode === 'per-path') {
    return `per-path: ${[
      ...p.clouds.map((c) => `${c.name} pod MTU ${c.podMtu}, Backend.MTU ${c.backendMtu ?? '-'}, MSS ${c.mss}`),
      ...p.links.map((l) => `link ${l.name} MTU ${l.overlayMtu}`),
    ].join('; ')}`;
  }
  return `pod MTU ${p.podMtu}, Backend.MTU ${p.backendMtu ?? '-'}, MSS ${p.mss}`;
}

/**
 * `flannel-mtu synth`: every environment file -> OUT/<env>/<env>.k8s.yaml, validated, written as
 * one set (see src/synth-write.ts). Returns the exit code: 0 written or up to date, 2 stale
 * (--check); throws SynthFailed on bad input or an unwritable OUT (exit 1, nothing written).
 */
export function synth(opts: SynthOptions = {}): number {
  const envDir = opts.environments ?? 'environments';
  const out = opts.out ?? process.env.CDK8S_OUTDIR ?? 'dist';
  const note = opts.check ? 'nothing was checked' : 'nothing was written';
  try {
    let files: string[];
    try {
      files = environmentFiles(envDir).map((f) => path.relative(process.cwd(), f) || f);
    } catch (e) {
      throw new InputError([{ file: envDir, message: `cannot read the environments directory: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
    }
    if (files.length === 0) throw new InputError([{ file: envDir, message: 'no environment files (*.yaml) found' }]);
    const outAbs = path.resolve(out);
    if (files.some((f) => path.resolve(f).startsWith(`${outAbs}${path.sep}`))) {
      throw new InputError([{ file: out, message: `contains the environment files (${envDir}): give synth an output directory of its own` }]);
    }
    // cdk8s, the constructs and the schema load only here: plan, diff and explain never need them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { synthFiles } = require('../synth') as typeof import('../synth');
    const manifests = synthFiles(files);
    for (const m of manifests) for (const w of m.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
    const output: OutputFile[] = manifests.map((m) => ({ path: manifestPath(m), content: m.yaml }));
    if (opts.gitops && opts.gitops.length > 0) {
      const repoUrl = opts.repoUrl ?? (opts.gitops.includes('argocd') ? git(['remote', 'get-url', 'origin']) : undefined);
      if (opts.gitops.includes('argocd') && !repoUrl) {
        throw new InputError([{ message: '--gitops argocd: give --repo-url <url> (there is no git remote "origin" to take it from)' }]);
      }
      output.push(...gitopsFiles(manifests.map((m) => m.model), opts.gitops, { repoUrl, revision: opts.revision, outPath: repoRelative(out) }));
    }
    const shown = (p: string) => path.join(out, ...p.split('/'));

    if (opts.check) {
      const stale = checkOutput(out, output);
      if (opts.json) process.stdout.write(`${JSON.stringify({ upToDate: stale.length === 0, stale: stale.map((s) => ({ file: shown(s.path), reason: s.reason })) }, null, 2)}\n`);
      for (const s of stale) process.stderr.write(`stale: ${shown(s.path)}: ${s.reason}\n`);
      if (stale.length > 0) {
        process.stderr.write(`${out} is not what \`flannel-mtu synth\` writes: run it and commit the result\n`);
        return EXIT_STALE;
      }
      if (!opts.json) process.stdout.write(`${out} is up to date (${manifests.length} environment${manifests.length === 1 ? '' : 's'})\n`);
      return 0;
    }

    const result = writeOutput(out, output);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({
        changed: result.changed,
        written: output.map((f) => shown(f.path)),
        removed: result.removed.map(shown),
        recovered: result.recovered,
      }, null, 2)}\n`);
      return 0;
    }
    for (const r of result.recovered) process.stderr.write(`cleaned up after an interrupted synth: ${r}\n`);
    for (const m of manifests) process.stdout.write(`${shown(manifestPath(m))}: ${summary(m)}\n`);
    for (const f of output.slice(manifests.length)) process.stdout.write(`${shown(f.path)}\n`);
    for (const r of result.removed) process.stdout.write(`removed ${shown(r)} (no longer generated)\n`);
    if (!result.changed) process.stdout.write(`${out} was already up to date\n`);
    return 0;
  } catch (e) {
    if (e instanceof InputError) throw new SynthFailed(e, note);
    throw e;
  }
}

export function synthCommand(): Command {
  return new Command('synth')
    .description('write every environment\'s manifests to OUT/<env>/, validated, as one set (a bad file writes nothing)')
    .option('--environments <dir>', 'directory of environment files (*.yaml)', 'environments')
    .option('--out <dir>', 'output directory (default: $CDK8S_OUTDIR, else dist)')
    .option('--check', 'write nothing; exit 2 naming every file that a synth would change (for CI)')
    .addOption(new Option('--gitops <tool...>', 'also write per-cluster GitOps objects: OUT/_argocd/<env>.yaml, OUT/_flux/<env>/flannel-mtu.yaml').choices(GITOPS_TOOLS))
    .option('--repo-url <url>', 'the repository Argo CD clones (default: git remote origin)')
    .option('--revision <rev>', 'the revision Argo CD syncs', 'HEAD')
    .option('--json', 'print one JSON object for machines')
    .addHelpText('after', '\nExit codes: 0 written or up to date, 1 bad input or unwritable output (nothing written), 2 stale (--check).')
    .action((opts: SynthOptions) => {
      const code = synth(opts);
      if (code !== 0) throw new CommanderError(code, 'flannel-mtu.synth.stale', 'the output directory is stale');
    });
}
