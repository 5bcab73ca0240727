// Output must not depend on the machine's locale (issue 16: localeCompare sorted the keeper's
// peers chicago/houston one way under LC_ALL=C and the other under cs_CZ.UTF-8, where "ch" sorts
// after "h", so the DaemonSet and its config hash changed with the locale).
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');

// Three per-path clouds: austin's keeper lists its peers chicago and houston, in code-unit order.
const ENV = `name: locale
flannel: { podNetwork: 10.244.0.0/16 }
mtuMode: per-path
clouds:
  - { name: austin, nicMtu: 9001, nodeSelector: { r: austin }, nodeCidrs: [10.1.0.0/16] }
  - { name: houston, nicMtu: 1500, nodeSelector: { r: houston }, nodeCidrs: [10.2.0.0/16] }
  - { name: chicago, nicMtu: 1500, nodeSelector: { r: chicago }, nodeCidrs: [10.3.0.0/16] }
links:
  - { between: [austin, houston], pathMtu: 1400 }
  - { between: [austin, chicago], pathMtu: 1380 }
  - { between: [houston, chicago], pathMtu: 1380 }
`;

/** The synthesized YAML of ENV, from a fresh Node.js process running under `locale`. */
function synthUnder(locale: string): string {
  const code = `const { planText, synthEnvironments } = require(${JSON.stringify(path.join(REPO, 'src'))});
const { loaded, plan } = planText(${JSON.stringify(ENV)}, 'environments/locale.yaml');
process.stdout.write(synthEnvironments([{ environment: loaded.environment, plan, source: 'environments/locale.yaml' }])[0].yaml);`;
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: locale, LANG: locale },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('output bytes do not depend on the locale', () => {
  test('LC_ALL=C and LC_ALL=cs_CZ.UTF-8 give the same bytes; the keeper lists chicago before houston', () => {
    const c = synthUnder('C');
    const cs = synthUnder('cs_CZ.UTF-8');
    expect(createHash('sha256').update(cs).digest('hex')).toBe(createHash('sha256').update(c).digest('hex'));
    // austin's keeper: LINK_MTUS "<peer> <link overlay MTU>", chicago 1380 - 50 = 1330, houston 1400 - 50 = 1350
    expect(c).toMatch(/- name: LINK_MTUS\n\s+value: \|-\n\s+chicago 1330\n\s+houston 1350\n/);
  }, 120_000);

  test('no locale-dependent comparison or formatting in the sources', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (/\.ts$/.test(entry.name) && /\b(localeCompare|Intl\.|toLocale\w*)\b/.test(fs.readFileSync(p, 'utf8'))) offenders.push(path.relative(REPO, p));
      }
    };
    for (const dir of ['src', 'validators', 'imports']) if (fs.existsSync(path.join(REPO, dir))) walk(path.join(REPO, dir));
    expect(offenders).toEqual([]);
  });
});
