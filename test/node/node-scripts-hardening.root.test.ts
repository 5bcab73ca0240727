// Static checks and hostile input for the node scripts, as extracted from the manifest.
// Hostile values run inside a throw-away namespace, so even a broken validation could not
// reach the host's links or tables.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadInitContainer, mssRule, NodeScriptName, REPO_ROOT } from '../support/manifest';
import { BUSYBOX, Lab, PREFIX, run } from '../support/netns';

const NAMES: NodeScriptName[] = ['apply-node-mtu', 'tcp-mss-clamp'];
const scripts = Object.fromEntries(NAMES.map((n) => [n, loadInitContainer(n)])) as Record<
  NodeScriptName,
  ReturnType<typeof loadInitContainer>
>;
const CANARY = path.join(os.tmpdir(), `${PREFIX}pwned`);

describe.each(NAMES)('%s: static checks', (name) => {
  const { script } = scripts[name];

  test('the manifest ships the current script (else re-run `npm run synth`)', () => {
    expect(script).toBe(fs.readFileSync(path.join(REPO_ROOT, 'src', 'node', 'scripts', `${name}.sh`), 'utf8'));
  });

  test.each([
    ['sh', ['sh', '-n']],
    ['busybox sh', [BUSYBOX, 'sh', '-n']],
  ])('%s -n accepts it', (_label, argv) => {
    const r = run([...argv, '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('shellcheck -s sh finds nothing', () => {
    const r = run(['shellcheck', '-s', 'sh', '-'], { input: script });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  test('uses set -euf and no eval', () => {
    expect(script).toMatch(/^set -euf$/m);
    expect(script).not.toMatch(/\beval\b/);
  });
});

describe('hostile env values are rejected before any command runs', () => {
  let lab: Lab;
  let ns: string;
  beforeAll(() => {
    lab = new Lab();
    ns = lab.ns('hostile');
    // cni0 at 1350, so a wrongly accepted value would show as a change
    lab.ip(ns, 'link', 'add', 'cni0', 'mtu', '1350', 'type', 'bridge');
  });
  afterAll(() => lab.destroy());
  afterEach(() => {
    expect(fs.existsSync(CANARY)).toBe(false);
    expect(lab.sysNet(ns, 'cni0')).toBe(1350);
    // no table of either backend was even created
    for (const cmd of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
      expect(lab.mustExec(ns, [cmd])).toBe('');
    }
    for (const cmd of ['iptables-nft-save', 'ip6tables-nft-save']) {
      expect(lab.mustExec(ns, [cmd])).not.toContain('*');
    }
  });

  const bad = 'apply-node-mtu: error: DEVICE_MTUS';
  test.each<[string, string | undefined, string]>([
    ['unset', undefined, 'apply-node-mtu: error: DEVICE_MTUS is not set'],
    ['empty', '', 'apply-node-mtu: error: DEVICE_MTUS is empty'],
    ['blank', '  \n ', 'apply-node-mtu: error: DEVICE_MTUS is empty'],
    ['shell ;', 'cni0;reboot', `${bad}: 'cni0;reboot' is not name=mtu`],
    ['shell ; in mtu', `cni0=1330;touch\${IFS}${CANARY}`, `${bad}: cni0: invalid mtu '1330;touch\${IFS}${CANARY}' (want an integer 576..9216)`],
    ['$(...) name', '$(id)=1330', `${bad}: invalid device name '$(id)'`],
    ['$(...) mtu', `cni0=$(touch${'${IFS}'}${CANARY})`, `${bad}: cni0: invalid mtu '$(touch\${IFS}${CANARY})' (want an integer 576..9216)`],
    ['backticks', '`id`=1330', `${bad}: invalid device name '\`id\`'`],
    ['path', '../cni0=1330', `${bad}: invalid device name '../cni0'`],
    ['slash', 'cni0/x=1330', `${bad}: invalid device name 'cni0/x'`],
    ['leading dash', '-cni0=1330', `${bad}: invalid device name '-cni0'`],
    ['leading dot', '.cni0=1330', `${bad}: invalid device name '.cni0'`],
    ['16 chars', 'abcdefghijklmnop=1330', `${bad}: invalid device name 'abcdefghijklmnop'`],
    ['no name', '=1330', `${bad}: invalid device name ''`],
    ['no =', 'cni0', `${bad}: 'cni0' is not name=mtu`],
    ['no mtu', 'cni0=', `${bad}: cni0: invalid mtu '' (want an integer 576..9216)`],
    ['==', 'cni0==1330', `${bad}: cni0: invalid mtu '=1330' (want an integer 576..9216)`],
    ['hex-ish', 'cni0=13a0', `${bad}: cni0: invalid mtu '13a0' (want an integer 576..9216)`],
    ['leading zero', 'cni0=01330', `${bad}: cni0: invalid mtu '01330' (want an integer 576..9216)`],
    ['negative', 'cni0=-1330', `${bad}: cni0: invalid mtu '-1330' (want an integer 576..9216)`],
    ['decimal', 'cni0=1330.0', `${bad}: cni0: invalid mtu '1330.0' (want an integer 576..9216)`],
    ['too small', 'cni0=575', `${bad}: cni0: invalid mtu '575' (want an integer 576..9216)`],
    ['too big', 'cni0=9217', `${bad}: cni0: invalid mtu '9217' (want an integer 576..9216)`],
    ['huge', 'cni0=99999999999999999999', `${bad}: cni0: invalid mtu '99999999999999999999' (want an integer 576..9216)`],
    ['duplicate', 'cni0=1330 cni0=1330', `${bad}: cni0 listed twice`],
    ['glob', '*=1330', `${bad}: invalid device name '*'`],
  ])('apply-node-mtu rejects %s', (_label, value, message) => {
    const env: Record<string, string> = value === undefined ? {} : { DEVICE_MTUS: value };
    const r = lab.sh(ns, scripts['apply-node-mtu'].script, env);
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });

  const ok4 = mssRule('flannel.1', 1290);
  const v4 = 'tcp-mss-clamp: error: MSS_RULES_V4';
  const e4 = (rules: string) => ({ MSS_RULES_V4: rules, MSS_RULES_V6: '' });
  const notPlan = (rule: string) => `${v4}: not a TCPMSS rule of the plan: '${rule}' (want '-o <device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>' or '-o <device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu' for IPv4)`;
  test.each<[string, Record<string, string>, string]>([
    ['V4 unset', { MSS_RULES_V6: '' }, 'tcp-mss-clamp: error: MSS_RULES_V4 is not set'],
    ['V6 unset', { MSS_RULES_V4: ok4 }, 'tcp-mss-clamp: error: MSS_RULES_V6 is not set'],
    ['; reboot', e4(`${ok4};reboot`), `${v4}: invalid character in rule '${ok4};reboot'`],
    ['$(...)', e4(`${ok4} $(touch ${CANARY})`), `${v4}: invalid character in rule '${ok4} $(touch ${CANARY})'`],
    ['backticks', e4('-o `id` -j ACCEPT'), `${v4}: invalid character in rule '-o \`id\` -j ACCEPT'`],
    ['pipe', e4(`${ok4} | true`), `${v4}: invalid character in rule '${ok4} | true'`],
    ['redirect', e4(`${ok4} >/etc/x`), `${v4}: invalid character in rule '${ok4} >/etc/x'`],
    ['quote', e4(`-m comment --comment 'x'`), `${v4}: invalid character in rule '-m comment --comment 'x''`],
    ['tab', e4(`-o flannel.1\t-j ACCEPT`), `${v4}: invalid character in rule '-o flannel.1\t-j ACCEPT'`],
    ['restore directive', e4(`${ok4}\nCOMMIT`), notPlan('COMMIT')],
    ['table switch', e4(`${ok4}\n*filter`), `${v4}: invalid character in rule '*filter'`],
    ['-t', e4('-t filter -j ACCEPT'), notPlan('-t filter -j ACCEPT')],
    ['-A', e4('-j ACCEPT -A POSTROUTING'), notPlan('-j ACCEPT -A POSTROUTING')],
    ['--flush', e4('--flush POSTROUTING'), notPlan('--flush POSTROUTING')],
    ['-X in v6', { MSS_RULES_V4: ok4, MSS_RULES_V6: '-X KUBE-SERVICES' }, "tcp-mss-clamp: error: MSS_RULES_V6: not a TCPMSS rule of the plan: '-X KUBE-SERVICES' (want '-o <device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>' or '-o <device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu' for IPv6)"],
    ['leading space', e4(` ${ok4}`), notPlan(` ${ok4}`)],
    ['double space', e4(ok4.replace(' -j', '  -j')), notPlan(ok4.replace(' -j', '  -j'))],
    ['trailing space', e4(`${ok4} `), notPlan(`${ok4} `)],
    ['-j DROP', e4('-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j DROP'), notPlan('-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j DROP')],
    ['--set-mss 1', e4(mssRule('flannel.1', 1)), notPlan(mssRule('flannel.1', 1))],
    ['--set-mss 09176 (leading zero)', e4(mssRule('flannel.1', 1290).replace('1290', '01290')), notPlan(mssRule('flannel.1', 1290).replace('1290', '01290'))],
    ['16-char device', e4(mssRule('flannel.12345678', 1290)), notPlan(mssRule('flannel.12345678', 1290))],
    ['duplicate', e4(`${ok4}\n${ok4}`), `${v4}: duplicate rule '${ok4}'`],
  ])('tcp-mss-clamp rejects %s', (_label, env, message) => {
    const r = lab.sh(ns, scripts['tcp-mss-clamp'].script, env);
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });
});
