import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../model/errors';
import { packageVersion } from './version';

/** Where the scaffold's files are, in this repository and in the installed package alike. */
export function templateDir(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const t = path.join(dir, 'templates', 'gitops-repo');
    if (fs.existsSync(path.join(t, 'package.json'))) return t;
  }
  throw new Error('flannel-mtu: templates/gitops-repo is missing from the package');
}

/** The versions a scaffolded repository pins: the ones this package was built and tested with. */
function testedVersions(): Record<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(templateDir(), '..', '..', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const pick = (name: string) => {
    const v = pkg.devDependencies[name];
    if (!v) throw new Error(`flannel-mtu: package.json has no devDependency ${name}`);
    return v;
  };
  return { 'version': packageVersion(), 'cdk8s': pick('cdk8s'), 'cdk8s-plus-27': pick('cdk8s-plus-27'), 'constructs': pick('constructs'), 'cdk8s-cli': pick('cdk8s-cli') };
}

/** Template path -> scaffold path: a leading `_` becomes `.` (npm does not pack .gitignore). */
function targetName(rel: string): string {
  return rel.split('/').map((s) => (s.startsWith('_') ? `.${s.slice(1)}` : s)).join('/');
}

function listTemplates(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? listTemplates(dir, `${rel}${e.name}/`) : [`${rel}${e.name}`]));
}

export interface InitResult {
  readonly written: readonly string[];
  /** package.json entries added to an existing package.json. */
  readonly merged: readonly string[];
}

type PackageJson = Record<string, unknown> & { scripts?: Record<string, string>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

/**
 * Adds the scaffold's scripts and dependencies to an existing package.json, keeping every value
 * already there; a script of the same name with another command is a conflict (unless `force`).
 */
function mergePackageJson(existing: PackageJson, scaffold: PackageJson, force: boolean): { merged: PackageJson; added: string[]; conflicts: string[] } {
  const merged: PackageJson = { ...existing };
  const added: string[] = [];
  const conflicts: string[] = [];
  const installed = new Set([...Object.keys(existing.dependencies ?? {}), ...Object.keys(existing.devDependencies ?? {})]);
  for (const section of ['scripts', 'dependencies', 'devDependencies'] as const) {
    const have: Record<string, string> = { ...(existing[section] ?? {}) };
    for (const [k, v] of Object.entries(scaffold[section] ?? {})) {
      if (section !== 'scripts' && installed.has(k)) continue;
      if (!(k in have)) {
        have[k] = v;
        added.push(`${section}.${k}`);
      } else if (section === 'scripts' && have[k] !== v) {
        if (force) {
          have[k] = v;
          added.push(`${section}.${k}`);
        } else conflicts.push(`package.json scripts.${k} is ${JSON.stringify(have[k])}, init would set ${JSON.stringify(v)}`);
      }
    }
    merged[section] = have;
  }
  return { merged, added, conflicts };
}

/** `flannel-mtu init [dir]`: scaffolds a GitOps repository that depends on flannel-mtu. */
export function init(dir: string, opts: { force?: boolean } = {}): InitResult {
  const root = templateDir();
  const values = { name: path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'flannel-clusters', ...testedVersions() };
  const render = (text: string) => text.replace(/\{\{([a-z0-9-]+)\}\}/g, (m, k: string) => (k in values ? values[k as keyof typeof values] : m));
  const files = listTemplates(root).map((rel) => ({ target: targetName(rel), content: render(fs.readFileSync(path.join(root, rel), 'utf8')) }));

  const conflicts: string[] = [];
  let merge: { merged: PackageJson; added: string[] } | undefined;
  for (const f of files) {
    const target = path.join(dir, f.target);
    if (!fs.existsSync(target)) continue;
    if (f.target === 'package.json') {
      let existing: PackageJson;
      try {
        existing = JSON.parse(fs.readFileSync(target, 'utf8')) as PackageJson;
      } catch (e) {
        throw new InputError([{ file: target, message: `is not valid JSON: ${(e as Error).message}` }]);
      }
      const m = mergePackageJson(existing, JSON.parse(f.content) as PackageJson, opts.force ?? false);
      conflicts.push(...m.conflicts);
      merge = m;
    } else if (!opts.force) {
      conflicts.push(`${path.join(dir, f.target)} exists`);
    }
  }
  if (conflicts.length > 0) {
    throw new InputError([...conflicts.map((message) => ({ message })), { message: 'nothing was written; move those files away or run `flannel-mtu init --force` to overwrite them' }]);
  }
  const written: string[] = [];
  try {
    for (const f of files) {
      const target = path.join(dir, f.target);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (f.target === 'package.json' && merge) {
        if (merge.added.length > 0) fs.writeFileSync(target, `${JSON.stringify(merge.merged, null, 2)}\n`);
        continue;
      }
      fs.writeFileSync(target, f.content);
      written.push(target);
    }
  } catch (e) {
    throw new InputError([{ file: dir, message: `cannot write the scaffold: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
  }
  return { written, merged: merge?.added ?? [] };
}

export function initCommand(): Command {
  return new Command('init')
    .description('scaffold a GitOps repository that uses flannel-mtu: package.json, environments/, cdk8s.yaml, the PR workflow, a README')
    .argument('[dir]', 'where to write it', '.')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nAn existing package.json gets the missing scripts and dependencies; other existing files are refused (exit 1) unless --force.')
    .action((dir: string, opts: { force?: boolean }) => {
      const r = init(dir, opts);
      for (const f of r.written) process.stdout.write(`wrote ${f}\n`);
      if (r.merged.length > 0) process.stdout.write(`added to ${path.join(dir, 'package.json')}: ${r.merged.join(', ')}\n`);
      process.stdout.write(`\nnext: ${path.resolve(dir) === process.cwd() ? '' : `cd ${dir} && `}npm install && npm run synth   (then npm test checks dist/)\n`);
    });
}
