import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from '../support/dist';
import { SEED } from '../report/scenarios';

const CLI = path.join(REPO, 'bin', 'flannel-mtu');
const cli = (cwd: string, ...args: string[]) => spawnSync(CLI, args, { cwd, encoding: 'utf8' });
const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
// The SD-WAN 1380 -> 1360: pod MTU 1330 -> 1310, Backend.MTU 1380 -> 1360, MSS 1290 -> 1270 (see test/report/scenarios.ts).
const LOWER = SEED.replace('pathMtu: 1380', 'pathMtu: 1360');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-diff-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
};

describe('flannel-mtu diff, two files', () => {
  test('exits 2 and prints the Markdown report when the plan changed', () => {
    write('old.yaml', SEED);
    write('new.yaml', LOWER);
    const r = cli(dir, 'diff', 'old.yaml', 'new.yaml');
    expect(r).toMatchObject({ status: 2, stderr: '' });
    expect(r.stdout).toContain('1 of 1 environment changed.');
    expect(r.stdout).toContain('| `seed-dev` | pod MTU lowered | 1330 -> 1310 | 1380 -> 1360 | 1290 -> 1270 |');
    expect(r.stdout).toContain('`old.yaml` -> `new.yaml`');
  });

  test('exits 2 for changes the MTU plan does not see (issue 13): the pod network, rollout namespaces', () => {
    write('old.yaml', SEED);
    write('net.yaml', SEED.replace('podNetwork: 10.244.0.0/16', 'podNetwork: 10.245.0.0/16'));
    const net = cli(dir, 'diff', 'old.yaml', 'net.yaml');
    expect(net).toMatchObject({ status: 2, stderr: '' });
    expect(net.stdout).toContain('| `seed-dev` | output changed, MTU plan unchanged | 1330 | 1380 | 1290 |');
    expect(net.stdout).toContain('- `data["net-conf.json"] (JSON).Network`: `"10.244.0.0/16"` -> `"10.245.0.0/16"`');
    write('ns.yaml', SEED.replace('namespaces: [ingress-nginx, default]', 'namespaces: [default]'));
    const ns = cli(dir, 'diff', 'old.yaml', 'ns.yaml');
    expect(ns.status).toBe(2);
    // One namespace fewer: the Job's pod template changes, so it is renamed and runs once more; its Role in ingress-nginx goes.
    expect(ns.stdout).toMatch(/`Job kube-flannel\/flannel-mtu-rollout-[0-9a-f]{8}` runs: restarts the workloads of 1 namespace, one at a time \(`default`\)/);
    expect(ns.stdout).toContain('- `Role ingress-nginx/flannel-mtu-rollout-restart` removed: narrows in namespace ingress-nginx: -get, list, patch, watch on daemonsets.apps');
  });

  test('exits 0 when the files differ only in what reaches no object: comments, layout', () => {
    write('old.yaml', SEED);
    write('new.yaml', `# measured again\n${SEED.replace('namespaces: [ingress-nginx, default]', 'namespaces:\n    - ingress-nginx\n    - default')}`);
    expect(cli(dir, 'diff', 'old.yaml', 'new.yaml')).toMatchObject({ status: 0, stderr: '' });
  });

  test('exits 0 when nothing changed; --json prints one object', () => {
    write('old.yaml', SEED);
    write('new.yaml', SEED);
    const r = cli(dir, 'diff', 'old.yaml', 'new.yaml', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ base: null, changed: false, environments: [{ environment: 'seed-dev', status: 'unchanged' }] });
  });

  test('fails with exit 1 and a located error on a bad file', () => {
    write('old.yaml', SEED);
    write('new.yaml', SEED.replace('pathMtu: 1380', 'pathMtu: 600'));
    const r = cli(dir, 'diff', 'old.yaml', 'new.yaml');
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toMatch(/^error: new\.yaml:\d+:\d+: links\[0\]\.pathMtu: pod MTU would be 550/);
  });
});

describe('flannel-mtu diff, against a git revision', () => {
  beforeEach(() => {
    git(dir, 'init', '-q');
    write('environments/seed-dev.yaml', SEED);
    write('environments/gone.yaml', SEED.replace('name: seed-dev', 'name: gone'));
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'environments');
  });

  test('every environments/*.yaml: a changed one, a new one, a removed one; exit 2', () => {
    write('environments/seed-dev.yaml', LOWER);
    write('environments/fresh.yaml', SEED.replace('name: seed-dev', 'name: fresh'));
    fs.rmSync(path.join(dir, 'environments/gone.yaml'));
    const r = cli(dir, 'diff', '--base', 'HEAD', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ base: 'HEAD', changed: true });
    expect(report.environments.map((e: { environment: string; status: string; source: unknown }) => [e.environment, e.status, e.source])).toEqual([
      ['fresh', 'added', { old: 'HEAD:environments/fresh.yaml', new: 'environments/fresh.yaml' }],
      ['gone', 'removed', { old: 'HEAD:environments/gone.yaml', new: null }],
      ['seed-dev', 'changed', { old: 'HEAD:environments/seed-dev.yaml', new: 'environments/seed-dev.yaml' }],
    ]);
    expect(report.environments[2].numbers.find((n: { key: string }) => n.key === 'podMtu')).toMatchObject({ old: 1330, new: 1310 });
  });

  test('one file; the default base is the merge base of HEAD and main; exit 0 when the working tree matches it', () => {
    expect(cli(dir, 'diff', 'environments/seed-dev.yaml')).toMatchObject({ status: 0 });
    git(dir, 'checkout', '-q', '-b', 'feature');
    write('environments/seed-dev.yaml', LOWER);
    git(dir, 'commit', '-q', '-am', 'sdwan 1360');
    const mergeBase = git(dir, 'merge-base', 'HEAD', 'main').trim();
    const r = cli(dir, 'diff', 'environments/seed-dev.yaml');
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(`Compared with \`${mergeBase.slice(0, 12)} (merge-base of HEAD and main)\`: 1 of 1 environment changed.`);
    expect(r.stdout).toContain(`\`${mergeBase.slice(0, 12)} (merge-base of HEAD and main):environments/seed-dev.yaml\` -> \`environments/seed-dev.yaml\``);
  });

  test('works from a subdirectory, with paths relative to it', () => {
    write('environments/seed-dev.yaml', LOWER);
    const r = cli(path.join(dir, 'environments'), 'diff', 'seed-dev.yaml', '--base', 'HEAD', '--json');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).environments[0]).toMatchObject({ status: 'changed', source: { old: 'HEAD:seed-dev.yaml', new: 'seed-dev.yaml' } });
  });

  test('fails on an unknown revision, a file in neither place, and an invalid file at the base', () => {
    expect(cli(dir, 'diff', '--base', 'nope')).toMatchObject({ status: 1, stdout: '', stderr: 'error: --base: expected a git revision of this repository, got "nope"\n' });
    expect(cli(dir, 'diff', 'environments/none.yaml', '--base', 'HEAD')).toMatchObject({ status: 1, stderr: 'error: environments/none.yaml: not found in the working tree nor at HEAD\n' });
    write('environments/seed-dev.yaml', SEED.replace('nicMtu: 1400', 'nicMtu: "1400"'));
    git(dir, 'commit', '-q', '-am', 'bad');
    write('environments/seed-dev.yaml', SEED);
    const r = cli(dir, 'diff', 'environments/seed-dev.yaml', '--base', 'HEAD');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: HEAD:environments\/seed-dev\.yaml:7:13: clouds\[0\]\.nicMtu: expected an integer/);
  });

  test('outside a git repository it says so; with no main branch, how to give a base', () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-nogit-'));
    try {
      fs.writeFileSync(path.join(bare, 'seed.yaml'), SEED);
      const r = cli(bare, 'diff', 'seed.yaml');
      expect(r).toMatchObject({ status: 1, stdout: '' });
      expect(r.stderr).toBe('error: not in a git repository: diff compares with a git revision; run it inside the repository, or give two files to compare\n');
      git(bare, 'init', '-q', '-b', 'trunk');
      const nomain = cli(bare, 'diff', 'seed.yaml');
      expect(nomain).toMatchObject({ status: 1, stdout: '' });
      expect(nomain.stderr).toBe('error: --base: HEAD has no merge base with main, origin/main, master; give --base <rev>\n');
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });
});
