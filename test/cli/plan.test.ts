import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from '../support/dist';

const CLI = path.join(REPO, 'bin', 'flannel-mtu');
const cli = (...args: string[]) => spawnSync(CLI, args, { cwd: REPO, encoding: 'utf8' });

describe('flannel-mtu plan', () => {
  test('--json prints exactly one JSON object with the documented keys (seed: 1380 / 1330 / 1290)', () => {
    const out = execFileSync(CLI, ['plan', 'test/fixtures/environments/seed-dev.yaml', '--json'], { cwd: REPO, encoding: 'utf8' });
    const plan = JSON.parse(out);
    expect(plan).toMatchObject({
      environment: 'seed-dev', backend: 'vxlan', underlayMtu: 1380, underlayMtuV6: null, backendMtu: 1380, podMtu: 1330, mss: 1290, mssV6: null,
      binding: { kind: 'link', name: 'sdwan', mtu: 1380, family: 'ipv4', path: 'links[0].pathMtu' },
    });
    expect(plan.paths).toEqual([
      expect.objectContaining({ from: 'cloud-a', to: 'cloud-a', pathMtu: 1400, headroom: 20 }),
      expect.objectContaining({ from: 'cloud-b', to: 'cloud-b', pathMtu: 1400, headroom: 20 }),
      expect.objectContaining({ from: 'cloud-a', to: 'cloud-b', pathMtu: 1380, headroom: 0 }),
    ]);
  });

  test('the table shows the numbers, every path and the reasoning', () => {
    const r = cli('plan', 'test/fixtures/environments/seed-dev.yaml');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('underlay MTU  1380  bound by link sdwan (IPv4 1380)');
    expect(r.stdout).toContain('Backend.MTU   1380  net-conf.json; flannel subtracts 50');
    expect(r.stdout).toMatch(/link sdwan\s+cloud-a <-> cloud-b\s+1380\s+0  <- binding/);
    expect(r.stdout).toContain('so pods get 1380 - 50 = 1330');
  });

  test('fails on bad input with nothing on stdout and the location on stderr', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-cli-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, 'test/fixtures/environments/seed-dev.yaml'), 'utf8').replace('pathMtu: 1380', 'pathMtu: 600'));
    const r = cli('plan', file);
    const json = cli('plan', file, '--json');
    fs.rmSync(dir, { recursive: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: .*bad\.yaml:\d+:14: links\[0\]\.pathMtu: pod MTU would be 550 \(link sdwan path MTU 600 - vxlan overhead 50 over IPv4\), below IPv4's minimum MTU 576\n$/);
    // --json: the errors are JSON too, on stdout, and the exit code stays 1
    expect(json).toMatchObject({ status: 1, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({
      errors: [{ file, line: 24, column: 14, path: 'links[0].pathMtu', message: "pod MTU would be 550 (link sdwan path MTU 600 - vxlan overhead 50 over IPv4), below IPv4's minimum MTU 576" }],
    });
  });

  test('several files: every plan, or every bad file; warnings on stderr with the file', () => {
    const two = cli('plan', 'test/fixtures/environments/seed-dev.yaml', 'test/fixtures/environments/hybrid-prod.yaml', '--json');
    expect(two.status).toBe(0);
    expect(JSON.parse(two.stdout).map((p: { environment: string }) => p.environment)).toEqual(['seed-dev', 'hybrid-prod']);
    const text = cli('plan', 'test/fixtures/environments/seed-dev.yaml', 'test/fixtures/environments/hybrid-prod.yaml');
    expect(text.stdout).toMatch(/^seed-dev: vxlan, IPv4\n[\s\S]*\n\nhybrid-prod: /);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-cli-'));
    try {
      // a link declared above its NICs (1400) is a warning, and the NICs are used
      const warn = path.join(dir, 'warn.yaml');
      fs.writeFileSync(warn, fs.readFileSync(path.join(REPO, 'test/fixtures/environments/seed-dev.yaml'), 'utf8').replace('pathMtu: 1380', 'pathMtu: 1450'));
      const w = cli('plan', warn);
      expect(w.status).toBe(0);
      expect(w.stdout).not.toContain('warning');
      expect(w.stderr).toMatch(new RegExp(`^warning: ${warn.replace(/[/.]/g, '\\$&')}:24:14: links\\[0\\]\\.pathMtu: path MTU 1450 exceeds the NICs it joins`));
      const bad = cli('plan', 'nope-1.yaml', warn, 'nope-2.yaml');
      expect(bad).toMatchObject({ status: 1, stdout: '' });
      expect(bad.stderr).toBe('error: nope-1.yaml: cannot read the environment file: ENOENT\nerror: nope-2.yaml: cannot read the environment file: ENOENT\n');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  test('plan loads neither cdk8s nor the constructs nor the schema (start-up)', () => {
    const code = `require('./lib/src/cli/main.js').run(['plan', 'test/fixtures/environments/seed-dev.yaml']).then((c) => {
      const heavy = Object.keys(require.cache).filter((k) => /node_modules\\/(cdk8s|cdk8s-plus-27|constructs|kubernetes-models)\\//.test(k));
      process.stderr.write(JSON.stringify({ c, heavy }));
    });`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: REPO, encoding: 'utf8' });
    expect(JSON.parse(r.stderr)).toEqual({ c: 0, heavy: [] });
    // and the same probe sees them when they are loaded, so it can fail
    const synth = spawnSync(process.execPath, ['-e', "require('./lib/src/index.js'); process.stderr.write(String(Object.keys(require.cache).some((k) => k.includes('/node_modules/cdk8s/'))))"], { cwd: REPO, encoding: 'utf8' });
    expect(synth.stderr).toBe('true');
  });

  test('--version prints the package version', () => {
    expect(cli('--version')).toMatchObject({ status: 0, stdout: `${JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version}\n` });
  });

  test('fails on a missing file and an unknown command', () => {
    expect(cli('plan', 'environments/nope.yaml')).toMatchObject({ status: 1, stdout: '', stderr: 'error: environments/nope.yaml: cannot read the environment file: ENOENT\n' });
    expect(cli('frobnicate').status).not.toBe(0);
  });
});

describe('flannel-mtu plan, mtuMode per-path', () => {
  test('--json has mtuMode, every cloud\'s own numbers and every link\'s overlay MTU', () => {
    const plan = JSON.parse(execFileSync(CLI, ['plan', 'test/fixtures/environments/jumbo-per-path.yaml', '--json'], { cwd: REPO, encoding: 'utf8' }));
    expect(plan.mtuMode).toBe('per-path');
    expect(plan.clouds).toEqual([
      expect.objectContaining({ name: 'aws', podMtu: 8951, backendMtu: 9001, mss: 8911, deviceMtus: { 'cni0': 8951, 'flannel.1': 8951 }, binding: expect.objectContaining({ kind: 'cloud', name: 'aws', path: 'clouds[0].nicMtu' }) }),
      expect.objectContaining({ name: 'onprem', podMtu: 1450, backendMtu: 1500, mss: 1410 }),
    ]);
    expect(plan.links).toEqual([{ name: 'sdwan', between: ['aws', 'onprem'], overlayMtu: 1330, mss: 1290, mssV6: null }]);
    expect(JSON.parse(execFileSync(CLI, ['plan', 'test/fixtures/environments/seed-dev.yaml', '--json'], { cwd: REPO, encoding: 'utf8' })).mtuMode).toBe('uniform');
  });

  test('the table shows each cloud and each link', () => {
    const r = cli('plan', 'test/fixtures/environments/jumbo-per-path.yaml');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('jumbo-per-path: vxlan, IPv4, mtuMode per-path\n');
    expect(r.stdout).toMatch(/aws\s+8951\s+9001\s+8911\s+cloud aws \(IPv4 9001\)/);
    expect(r.stdout).toMatch(/onprem\s+1450\s+1500\s+1410\s+cloud onprem \(IPv4 1500\)/);
    expect(r.stdout).toMatch(/sdwan\s+aws <-> onprem\s+1330\s+1290\s+route MTU between the clouds' pod subnets/);
  });
});

// Issue 16: what used to hang or throw a foreign error, as a user runs the CLI.
describe('flannel-mtu plan on hostile files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `fmtu-${process.pid}-cli-`));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a FIFO is refused at once (it used to wait for a writer forever)', () => {
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = spawnSync(CLI, ['plan', fifo], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect([r.status, r.stderr]).toEqual([1, `error: ${fifo}: not a regular file (a FIFO): an environment file must be a regular YAML file\n`]);
  });

  test('an undefined YAML alias is a located error (it was an uncaught ReferenceError without the file)', () => {
    const file = path.join(dir, 'alias.yaml');
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, 'test/fixtures/environments/seed-dev.yaml'), 'utf8').replace('name: cloud-b', 'name: *cloud'));
    const r = spawnSync(CLI, ['plan', file], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML aliases \\(\\*name\\) are not supported in environment files: write the value out\\n$`));
  });
});
