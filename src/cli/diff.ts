import { spawnSync } from 'child_process';
import { Command, CommanderError } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { environmentFiles } from '../config/load';
import { InputError } from '../model/errors';
import { ResolvedEnvironment } from '../model/environment';
import { MtuPlan } from '../mtu/plan';
import { diffPlans, DiffReport, diffReport, DiffSide, OutputSide, PlanDiff, renderDiffMarkdown, rolloutNamespaces } from '../report';
import { planFile, planText, synthEnvironments } from '../synth';
import { manifestPath } from './synth';

/** Exit code of `diff` when some environment changed (0: nothing changed, 1: errors). */
export const EXIT_CHANGED = 2;

/** The branches whose merge base with HEAD is the default `--base`, in order of preference. */
export const DEFAULT_BASE_BRANCHES = ['main', 'origin/main', 'master'] as const;

export interface DiffOptions {
  /**
   * Git revision to compare the working tree with.
   * @default - with two files, none (they are compared); otherwise the merge base of HEAD and main (then origin/main, master)
   */
  readonly base?: string;
}

/**
 * Compares environments. With two files and no `base`: the first is old, the second new. Otherwise
 * each file (default: every environments/*.yaml in the working tree or at the base) at the `base`
 * revision against the working tree; `base` defaults to `git merge-base HEAD main` (then
 * origin/main, master). A file absent at the base is a new environment; absent now, a removed one.
 * Git runs in, and paths are relative to, the current directory.
 */
export function diffEnvironments(files: readonly string[], opts: DiffOptions = {}): DiffReport {
  if (files.length === 2 && opts.base === undefined) {
    // Both synthesized as the new file: what differs is the content, not the file name in the header.
    return diffReport(null, [diffPlans(workingTreeSide(files[0], files[1]), workingTreeSide(files[1], files[1]))]);
  }
  if (!git(['rev-parse', '--is-inside-work-tree']).ok) {
    throw new InputError([{ message: 'not in a git repository: diff compares with a git revision; run it inside the repository, or give two files to compare' }]);
  }
  const base = opts.base !== undefined ? { rev: verifyRevision(opts.base), label: opts.base } : defaultBase();
  const targets = files.length > 0 ? [...files] : defaultFiles(base.rev);
  if (targets.length === 0) throw new InputError([{ file: 'environments', message: `no environment files (*.yaml) in the working tree or at ${base.label}` }]);
  const diffs: PlanDiff[] = targets.map((file) => {
    const old = revisionSide(base.rev, base.label, file);
    const now = fs.existsSync(file) ? workingTreeSide(file, file) : { plan: null };
    if (old.plan === null && now.plan === null) {
      throw new InputError([{ file, message: `not found in the working tree nor at ${base.label}` }]);
    }
    return diffPlans(old, now);
  });
  return diffReport(base.label, diffs);
}

export function diffCommand(): Command {
  return new Command('diff')
    .description('show what an MTU plan change does, as Markdown for a pull request comment or as JSON')
    .argument('[files...]', 'two files and no --base: old and new; otherwise files to compare with their version at the base (default: environments/*.yaml)')
    .option('--base <rev>', 'git revision to compare the working tree with (default: git merge-base HEAD main, then origin/main, master)')
    .option('--json', 'print one JSON object for machines')
    .addHelpText('after', '\nExit codes: 0 when nothing changed, 2 when some environment changed, 1 on errors.')
    .action((files: string[], opts: { base?: string; json?: boolean }) => {
      const report = diffEnvironments(files, { base: opts.base });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderDiffMarkdown(report));
      if (report.changed) throw new CommanderError(EXIT_CHANGED, 'flannel-mtu.diff.changed', 'the MTU plan changed');
    });
}

/** `as`: the file name `npm run synth` would write in the manifest header. */
function workingTreeSide(file: string, as: string): DiffSide {
  const { loaded, plan } = planFile(file);
  return { plan, source: file, rolloutNamespaces: rolloutNamespaces(loaded.environment), output: synthesized(loaded.environment, plan, as, file) };
}

/** The bytes and objects `flannel-mtu synth` writes for the environment (its file under OUT), in memory; schema errors located at `errorsIn`. */
export function synthesized(environment: ResolvedEnvironment, plan: MtuPlan, as: string, errorsIn: string): OutputSide {
  try {
    const [m] = synthEnvironments([{ environment, plan, source: as }]);
    return { files: { [manifestPath(m)]: m.yaml }, objects: m.objects };
  } catch (e) {
    throw e instanceof InputError ? new InputError(e.problems.map((p) => ({ ...p, file: errorsIn }))) : e;
  }
}

/** The file at a revision, planned like a working-tree file (errors located at `<rev>:<file>`); no plan when absent there. */
function revisionSide(rev: string, label: string, file: string): DiffSide {
  const spec = `${rev}:./${path.relative(process.cwd(), path.resolve(file)).split(path.sep).join('/')}`;
  const source = `${label}:${file}`;
  if (!git(['cat-file', '-e', spec]).ok) return { plan: null, source };
  const text = git(['show', spec]);
  if (!text.ok) throw new InputError([{ file: source, message: `git show failed: ${text.stderr.trim()}` }]);
  const { loaded, plan } = planText(text.stdout, source);
  return { plan, source, rolloutNamespaces: rolloutNamespaces(loaded.environment), output: synthesized(loaded.environment, plan, file, source) };
}

/** Every environments/*.yaml in the working tree or at the revision, sorted. */
function defaultFiles(rev: string): string[] {
  const now = fs.existsSync('environments') ? environmentFiles('environments') : [];
  const listed = git(['ls-tree', '--name-only', rev, '--', 'environments/']);
  const then = listed.ok ? listed.stdout.split('\n').filter((f) => /\.ya?ml$/.test(f)) : [];
  return [...new Set([...now, ...then])].sort();
}

function defaultBase(): { rev: string; label: string } {
  for (const branch of DEFAULT_BASE_BRANCHES) {
    const r = git(['merge-base', 'HEAD', branch]);
    if (r.ok) {
      const rev = r.stdout.trim();
      return { rev, label: `${rev.slice(0, 12)} (merge-base of HEAD and ${branch})` };
    }
  }
  throw new InputError([{ message: `--base: HEAD has no merge base with ${DEFAULT_BASE_BRANCHES.join(', ')}; give --base <rev>` }]);
}

function verifyRevision(rev: string): string {
  const r = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (!r.ok) throw new InputError([{ message: `--base: expected a git revision of this repository, got ${JSON.stringify(rev)}` }]);
  return r.stdout.trim();
}

function git(args: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { encoding: 'utf8' });
  if (r.error) throw new InputError([{ message: `cannot run git: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` }]);
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}
