// `flannel-mtu init`: the scaffold's files, its refusal to overwrite (naming the files), --force,
// and the merge into an existing package.json. The scaffold's own synth runs in test:package.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from '../support/dist';

const CLI = path.join(REPO, 'bin', 'flannel-mtu');
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `flannel-mtu-init-${process.pid}-`));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const cli = (cwd: string, ...args: string[]) => spawnSync(CLI, args, { cwd, encoding: 'utf8' });

describe('flannel-mtu init', () => {
  test('scaffolds package.json, a commented environment, cdk8s.yaml, the PR workflow, README, .gitignore', () => {
    const r = cli(dir, 'init', 'clusters');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const root = path.join(dir, 'clusters');
    const files = ['.github/workflows/flannel-mtu-pr.yml', '.gitignore', 'README.md', 'cdk8s.yaml', 'environments/dev.yaml', 'package.json'];
    for (const f of files) expect(fs.existsSync(path.join(root, f))).toBe(true);
    expect(r.stdout).toContain('next: cd clusters && npm install && npm run synth');
    const scaffold = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(scaffold).toMatchObject({
      name: 'clusters',
      private: true,
      scripts: { synth: 'flannel-mtu synth', test: 'flannel-mtu synth --check' },
      // the versions this package is tested with
      dependencies: { 'flannel-mtu': `^${pkg.version}`, 'cdk8s': pkg.devDependencies.cdk8s, 'cdk8s-plus-27': pkg.devDependencies['cdk8s-plus-27'], 'constructs': pkg.devDependencies.constructs },
      devDependencies: { 'cdk8s-cli': pkg.devDependencies['cdk8s-cli'] },
    });
    expect(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8')).toContain('app: npm run --silent synth\n');
    expect(fs.readFileSync(path.join(root, '.github/workflows/flannel-mtu-pr.yml'), 'utf8')).toBe(
      fs.readFileSync(path.join(REPO, 'templates/gitops-repo/_github/workflows/flannel-mtu-pr.yml'), 'utf8'),
    );
    // the commented example plans: 1380 - vxlan 50 = 1330
    const plan = cli(root, 'plan', 'environments/dev.yaml', '--json');
    expect(plan.status).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ environment: 'dev', podMtu: 1330, backendMtu: 1380, mss: 1290 });
  });

  test('refuses to overwrite, naming every existing file, writes nothing; --force overwrites', () => {
    fs.mkdirSync(path.join(dir, 'environments'));
    fs.writeFileSync(path.join(dir, 'environments', 'dev.yaml'), 'mine\n');
    fs.writeFileSync(path.join(dir, 'README.md'), 'mine\n');
    const r = cli(dir, 'init');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe([
      'error: README.md exists',
      `error: ${path.join('environments', 'dev.yaml')} exists`,
      'error: nothing was written; move those files away or run `flannel-mtu init --force` to overwrite them',
      '',
    ].join('\n'));
    expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'environments']);
    expect(cli(dir, 'init', '--force').status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain('flannel-mtu init');
  });

  test('an existing package.json gets the missing scripts and dependencies and keeps its own', () => {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ours', dependencies: { 'flannel-mtu': 'file:../flannel-mtu.tgz', 'cdk8s': '2.69.0' }, scripts: { lint: 'eslint .' } }));
    const r = cli(dir, 'init');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('added to package.json: scripts.synth, scripts.test, scripts.plan, scripts.diff, dependencies.cdk8s-plus-27, dependencies.constructs, devDependencies.cdk8s-cli\n');
    const merged = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(merged.name).toBe('ours');
    expect(merged.dependencies['flannel-mtu']).toBe('file:../flannel-mtu.tgz');
    expect(merged.dependencies.cdk8s).toBe('2.69.0');
    expect(merged.scripts.lint).toBe('eslint .');
    // a script of the same name with another command is a conflict
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ours', scripts: { test: 'jest' } }));
    fs.rmSync(path.join(dir, 'README.md'));
    const conflict = cli(path.join(dir), 'init', '--force');
    expect(conflict.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).scripts.test).toBe('flannel-mtu synth --check');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ours', scripts: { test: 'jest' } }));
    for (const f of ['README.md', 'cdk8s.yaml', '.gitignore', 'environments', '.github']) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    const refused = cli(dir, 'init');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('error: package.json scripts.test is "jest", init would set "flannel-mtu synth --check"\n');
    expect(fs.existsSync(path.join(dir, 'cdk8s.yaml'))).toBe(false);
  });
});
