import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from '../support/dist';
import { SEED } from '../report/scenarios';

const CLI = path.join(REPO, 'bin', 'flannel-mtu');
/** The probe log recorded from the netns lab: sdwan measured 1380 both ways, then 1360 both ways (test/fixtures/README.md). */
const RECORDED = path.join(REPO, 'test', 'fixtures', 'probe-seed-dev.log');
const cli = (cwd: string, args: string[], input?: string) => spawnSync(CLI, args, { cwd, encoding: 'utf8', input });

/** SEED with comments, as a person keeps the file: the drift edit must leave all of it but the number. */
const ENV = `# the incident's cluster
${SEED.replace('    pathMtu: 1380\n', '    pathMtu: 1380   # measured 2026-11-30, DF pings both ways\n')}`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-drift-'));
  fs.mkdirSync(path.join(dir, 'environments'));
  fs.writeFileSync(path.join(dir, 'environments', 'seed-dev.yaml'), ENV);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const envText = () => fs.readFileSync(path.join(dir, 'environments', 'seed-dev.yaml'), 'utf8');

describe('flannel-mtu drift', () => {
  test('the recorded lab log: exit 2, the edit as a diff that applies, and the PR report of it; the file is untouched without --write', () => {
    const r = cli(dir, ['drift', 'environments/seed-dev.yaml', '--logs', RECORDED]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('4 probe results from');
    // Smallest per direction over the two rounds: 1360 each way, so the link's 1360 < 1380 declared.
    expect(r.stdout).toContain('| `sdwan` | IPv4 | 1380 | cloud-a -> cloud-b: 1360 (2 rounds); cloud-b -> cloud-a: 1360 (2 rounds) | 1360 | **lower to 1360** |');
    const patch = /```diff\n([\s\S]*?)```/.exec(r.stdout)![1];
    expect(patch.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-    pathMtu: 1380   # measured 2026-11-30, DF pings both ways',
      '+    pathMtu: 1360   # measured 2026-11-30, DF pings both ways',
    ]);
    // The PR report of that edit: pod MTU 1360 - 50 = 1310, Backend.MTU 1360, MSS 1270.
    expect(r.stdout).toContain('| `seed-dev` | pod MTU lowered | 1330 -> 1310 | 1380 -> 1360 | 1290 -> 1270 |');
    expect(r.stdout).toContain('not written: pass --write to save it');
    expect(envText()).toBe(ENV);
    // The printed diff is a real patch: git applies it to the file.
    fs.writeFileSync(path.join(dir, 'drift.patch'), patch);
    expect(spawnSync('git', ['apply', '--check', 'drift.patch'], { cwd: dir, encoding: 'utf8' })).toMatchObject({ status: 0, stderr: '' });
  });

  test('--write saves exactly that edit; then the same log shows no drift (exit 0)', () => {
    const first = cli(dir, ['drift', 'environments/seed-dev.yaml', '--logs', '-', '--write'], fs.readFileSync(RECORDED, 'utf8'));
    expect(first.status).toBe(2);
    expect(first.stdout).toContain('(written)');
    expect(envText()).toBe(ENV.replace('pathMtu: 1380 ', 'pathMtu: 1360 '));
    expect(fs.readdirSync(path.join(dir, 'environments'))).toEqual(['seed-dev.yaml']);
    const again = cli(dir, ['drift', 'environments/seed-dev.yaml', '--logs', RECORDED]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('No drift: the file stays as it is.');
  });

  test('refuses to raise without --allow-raise (exit 2, nothing written); raises with it', () => {
    // Both directions measured 1400 (the NICs): 1400 > 1380 + margin 10.
    const wide = fs.readFileSync(RECORDED, 'utf8').replace(/"measured":\d+,"status":"[a-z-]+"/g, '"measured":1400,"status":"wasted"');
    const refused = cli(dir, ['drift', 'environments/seed-dev.yaml', '--write'], wide);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toContain('not raised to 1400 (needs --allow-raise)');
    expect(refused.stdout).toContain('The file stays as it is: every difference found needs --allow-raise.');
    expect(envText()).toBe(ENV);
    const raised = cli(dir, ['drift', 'environments/seed-dev.yaml', '--allow-raise', '--json'], wide);
    expect(raised.status).toBe(2);
    const json = JSON.parse(raised.stdout);
    expect(json.decision.links[0]).toMatchObject({ verdict: 'raise', value: 1400 });
    expect(json.edits).toEqual([{ path: 'links[0].pathMtu', line: 14, old: '1380', new: '1400' }]);
    expect(json.written).toBe(false);
  });

  test('fails with exit 1 and nothing written: a broken log line, a log of another cluster, a measurement that makes the plan invalid', () => {
    const broken = cli(dir, ['drift', 'environments/seed-dev.yaml', '--write'], '{"probe":"path-mtu","from":"cloud-a"\n');
    expect(broken).toMatchObject({ status: 1, stdout: '' });
    expect(broken.stderr).toBe('error: -:1:1: a probe result that is not valid JSON (truncated?): {"probe":"path-mtu","from":"cloud-a"\n');
    const other = cli(dir, ['drift', 'environments/seed-dev.yaml'], fs.readFileSync(RECORDED, 'utf8').replace(/"link":"sdwan"/g, '"link":"mpls"'));
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('none of the 4 probe results is for a link of environments/seed-dev.yaml (they name mpls)');
    // 600 - 50 = 550 < 576: the edited file would not plan.
    const tiny = cli(dir, ['drift', 'environments/seed-dev.yaml', '--write'], fs.readFileSync(RECORDED, 'utf8').replace(/"measured":1360/g, '"measured":600'));
    expect(tiny.status).toBe(1);
    expect(tiny.stderr).toMatch(/^error: environments\/seed-dev\.yaml \(with the measured path MTUs\):14:\d+: links\[0\]\.pathMtu: pod MTU would be 550/);
    expect(envText()).toBe(ENV);
  });
});
