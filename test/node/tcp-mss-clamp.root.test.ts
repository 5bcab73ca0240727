// tcp-mss-clamp (init container) on a real kernel, for both iptables backends, in empty
// network namespaces. The script comes from the synthesized manifest and runs with
// `busybox sh -c` and an image-like PATH (busybox applets, ip, iptables-{legacy,nft}*).
import { loadInitContainer, mssRule, SEED } from '../support/manifest';
import { Lab, Xtables } from '../support/netns';

const ic = loadInitContainer('tcp-mss-clamp');
const CHAIN = 'FLANNEL-MTU-MSS';
const JUMP = `-A POSTROUTING -j ${CHAIN}`;
const V4 = mssRule('flannel.1', SEED.mssV4);
const V6 = mssRule('flannel-v6.1', SEED.mssV6);
// The seed cluster may be single-stack; the dual-stack cases use the seed's v6 numbers.
const DUAL = { ...ic.env, MSS_RULES_V4: V4, MSS_RULES_V6: V6 };

type Backend = 'legacy' | 'nft';
type Fam = 'iptables' | 'ip6tables';
const other = (b: Backend): Backend => (b === 'legacy' ? 'nft' : 'legacy');

/** The rule lines ("-A ...") and user chain declarations of one save output, comments dropped. */
function ruleLines(save: string): string[] {
  return save.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith('*') || l.startsWith(`:${CHAIN} `));
}

describe(`tcp-mss-clamp (script from ${ic.source})`, () => {
  let lab: Lab;
  let ns: string;
  const save = (fam: Fam, b: Backend): string => lab.mustExec(ns, [`${fam}-${b}-save`]);
  const ipt = (b: Backend, ...args: string[]): string => lab.mustExec(ns, [`iptables-${b}`, '-w', ...args]);
  const clamp = (env: Record<string, string>, xtables: Xtables = 'both') => lab.sh(ns, ic.script, env, xtables);
  /** mangle section of <fam>-<b>-save: POSTROUTING rules in order, our chain's rules, declared? */
  const state = (fam: Fam, b: Backend) => {
    const lines = save(fam, b).split('\n');
    const start = lines.indexOf('*mangle');
    const mangle = start < 0 ? [] : lines.slice(start, lines.indexOf('COMMIT', start));
    return {
      postrouting: mangle.filter((l) => l.startsWith('-A POSTROUTING ')),
      chain: mangle.filter((l) => l.startsWith(`-A ${CHAIN} `)),
      declared: mangle.filter((l) => l.startsWith(`:${CHAIN} `)).length,
    };
  };

  beforeEach(() => {
    lab = new Lab();
    ns = lab.ns('node');
  });
  afterEach(() => lab.destroy());

  test('the shipped v4 rule is the seed rule (MSS 1290 on flannel.1); v6 is empty or the seed v6 rule', () => {
    expect(ic.env.MSS_RULES_V4).toBe('-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290');
    expect(['', V6]).toContain(ic.env.MSS_RULES_V6);
    expect(V6).toBe('-o flannel-v6.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1270');
  });

  describe.each<[Backend, string]>([
    ['legacy', 'no kubelet hint chain; legacy has more rules (3 vs 1 nft)'],
    ['nft', 'no kubelet hint chain; nft has at least as many rules (3 vs 1 legacy, ties go to nft)'],
  ])('backend %s (forced by pre-seeded rules)', (b, why) => {
    const o = other(b);
    let otherBefore: { v4: string[]; v6: string[] };
    beforeEach(() => {
      // 3 rules in the backend under test (one in mangle POSTROUTING), 1 in the other one.
      ipt(b, '-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
      ipt(b, '-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT');
      ipt(b, '-t', 'mangle', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'RETURN');
      ipt(o, '-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
      otherBefore = { v4: ruleLines(save('iptables', o)), v6: ruleLines(save('ip6tables', o)) };
      expect(otherBefore).toEqual({ v4: ['*filter', '-A INPUT -i lo -j ACCEPT'], v6: [] });
    });
    const expectOtherUntouched = () => {
      expect({ v4: ruleLines(save('iptables', o)), v6: ruleLines(save('ip6tables', o)) }).toEqual(otherBefore);
    };
    const installed = (v4: string, v6: string) => {
      expect(state('iptables', b)).toEqual({
        postrouting: [JUMP, '-A POSTROUTING -o eth0 -j RETURN'],
        chain: [`-A ${CHAIN} ${v4}`],
        declared: 1,
      });
      expect(state('ip6tables', b)).toEqual({ postrouting: [JUMP], chain: [`-A ${CHAIN} ${v6}`], declared: 1 });
    };

    test('installs chain and jump (position 1) for both families; nothing in the other backend', () => {
      const r = clamp(DUAL);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trimEnd().split('\n')).toEqual([
        `tcp-mss-clamp: backend ${b}: ${why}`,
        `tcp-mss-clamp: iptables: ${CHAIN} has 1 rule(s), jump from POSTROUTING present once`,
        `tcp-mss-clamp: ip6tables: ${CHAIN} has 1 rule(s), jump from POSTROUTING present once`,
      ]);
      installed(V4, V6);
      expectOtherUntouched();
    });

    test('a second run replaces instead of stacking: one rule, one jump', () => {
      expect(clamp(DUAL).status).toBe(0);
      const r = clamp(DUAL);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`tcp-mss-clamp: backend ${b}: `);
      installed(V4, V6);
      expectOtherUntouched();
    });

    test('a changed MSS replaces the rule', () => {
      expect(clamp(DUAL).status).toBe(0);
      const v4 = mssRule('flannel.1', 1280);
      const v6 = mssRule('flannel-v6.1', 1260);
      const r = clamp({ ...DUAL, MSS_RULES_V4: v4, MSS_RULES_V6: v6 });
      expect(r.status).toBe(0);
      installed(v4, v6);
      expect(save('iptables', b)).not.toContain('--set-mss 1290');
      expectOtherUntouched();
    });

    test('several rules per family are kept in order', () => {
      const v4 = `${V4}\n-i flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290\n`;
      const r = clamp({ ...DUAL, MSS_RULES_V4: v4 });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`tcp-mss-clamp: iptables: ${CHAIN} has 2 rule(s)`);
      expect(state('iptables', b).chain).toEqual([
        `-A ${CHAIN} ${V4}`,
        `-A ${CHAIN} -i flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290`,
      ]);
    });

    test('an invalid rule (--set-mss 70000) fails and leaves the previous chain intact', () => {
      expect(clamp(DUAL).status).toBe(0);
      const r = clamp({ ...DUAL, MSS_RULES_V4: mssRule('flannel.1', 70000), MSS_RULES_V6: mssRule('flannel-v6.1', 1250) });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('TCPMSS: bad value for option "--set-mss", or out of range (0-65515).');
      expect(r.stderr).toContain(
        `tcp-mss-clamp: error: iptables: iptables-${b}-restore rejected the rules; previous ${CHAIN} left unchanged\n`,
      );
      installed(V4, V6); // v4 untouched, and v6 not reached
      expectOtherUntouched();
    });

    test('a rule the kernel rejects at commit (TCPMSS without the SYN match) is atomic too', () => {
      expect(clamp(DUAL).status).toBe(0);
      const noSyn = '-o flannel.1 -p tcp -j TCPMSS --set-mss 1000';
      const r = clamp({ ...DUAL, MSS_RULES_V4: noSyn });
      if (b === 'legacy') {
        // xt_TCPMSS: "Only works on TCP SYN packets" (netns-lab-notes §1, gotcha 6)
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`tcp-mss-clamp: error: iptables: iptables-legacy-restore rejected the rules`);
        installed(V4, V6);
      } else {
        // iptables-nft accepts it (measured, netns-lab-notes §1); the verification passes.
        expect(r.status).toBe(0);
        expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${noSyn}`]);
      }
      expectOtherUntouched();
    });

    test('empty rules remove chain and jump in both families; a second empty run does nothing', () => {
      expect(clamp(DUAL).status).toBe(0);
      const empty = { ...DUAL, MSS_RULES_V4: '', MSS_RULES_V6: '' };
      const r = clamp(empty);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // the counts now include our own rules: only the backend is compared
      expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^tcp-mss-clamp: backend ${b}: no kubelet hint chain; ${b} has `));
      expect(r.stdout.trimEnd().split('\n').slice(1)).toEqual([
        `tcp-mss-clamp: iptables: removed chain ${CHAIN} and 1 jump(s)`,
        `tcp-mss-clamp: ip6tables: removed chain ${CHAIN} and 1 jump(s)`,
      ]);
      expect(save('iptables', b)).not.toContain(CHAIN);
      expect(save('ip6tables', b)).not.toContain(CHAIN);
      expect(state('iptables', b).postrouting).toEqual(['-A POSTROUTING -o eth0 -j RETURN']);

      const r2 = clamp(empty);
      expect(r2.status).toBe(0);
      expect(r2.stdout.trimEnd().split('\n').slice(1)).toEqual([
        'tcp-mss-clamp: iptables: no rules planned, no chain present, nothing to remove',
        'tcp-mss-clamp: ip6tables: no rules planned, no chain present, nothing to remove',
      ]);
      expectOtherUntouched();
    });

    test('disabling only v6 removes only the v6 chain', () => {
      expect(clamp(DUAL).status).toBe(0);
      const r = clamp({ ...DUAL, MSS_RULES_V6: '' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`tcp-mss-clamp: ip6tables: removed chain ${CHAIN} and 1 jump(s)\n`);
      expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(save('ip6tables', b)).not.toContain(CHAIN);
    });

    test('a v4-only plan does not touch IPv6 tables at all', () => {
      const r = clamp({ ...DUAL, MSS_RULES_V6: '' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('tcp-mss-clamp: ip6tables: no rules planned, no chain present, nothing to remove\n');
      expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(ruleLines(save('ip6tables', b))).toEqual([]);
      expectOtherUntouched();
    });

    test('the shipped env as is', () => {
      const r = clamp(ic.env);
      expect(r.status).toBe(0);
      expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${ic.env.MSS_RULES_V4}`]);
      expect(state('ip6tables', b).chain).toEqual(ic.env.MSS_RULES_V6 ? [`-A ${CHAIN} ${ic.env.MSS_RULES_V6}`] : []);
      expectOtherUntouched();
    });
  });

  describe('backend choice (kubernetes-sigs/iptables-wrappers rule)', () => {
    test('empty host (tie 0 vs 0) -> nft, and legacy stays untouched', () => {
      const r = clamp(DUAL);
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(
        'tcp-mss-clamp: backend nft: no kubelet hint chain; nft has at least as many rules (0 vs 0 legacy, ties go to nft)',
      );
      expect(state('iptables', 'nft').chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(save('iptables', 'legacy')).toBe('');
      expect(save('ip6tables', 'legacy')).toBe('');
    });

    test('equal rule counts (1 vs 1) -> nft', () => {
      ipt('legacy', '-A', 'INPUT', '-j', 'ACCEPT');
      ipt('nft', '-A', 'INPUT', '-j', 'ACCEPT');
      const r = clamp(DUAL);
      expect(r.stdout.split('\n')[0]).toBe(
        'tcp-mss-clamp: backend nft: no kubelet hint chain; nft has at least as many rules (1 vs 1 legacy, ties go to nft)',
      );
      expect(save('iptables', 'legacy')).not.toContain(CHAIN);
    });

    test("kubelet's KUBE-IPTABLES-HINT in nft mangle wins over more legacy rules", () => {
      for (let i = 0; i < 3; i++) ipt('legacy', '-A', 'INPUT', '-j', 'ACCEPT');
      ipt('nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
      const r = clamp(DUAL);
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('tcp-mss-clamp: backend nft: kubelet hint chain found in nft mangle');
      expect(state('iptables', 'nft').chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(save('iptables', 'legacy')).not.toContain(CHAIN);
    });

    test("kubelet's KUBE-KUBELET-CANARY in legacy wins over more nft rules", () => {
      for (let i = 0; i < 3; i++) ipt('nft', '-A', 'INPUT', '-j', 'ACCEPT');
      ipt('legacy', '-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY');
      const r = clamp(DUAL);
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('tcp-mss-clamp: backend legacy: kubelet hint chain found in legacy tables');
      expect(state('iptables', 'legacy').chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(save('iptables', 'nft')).not.toContain(CHAIN);
    });

    test.each<Backend>(['legacy', 'nft'])('only %s binaries present -> that backend, even against the counts', (b) => {
      for (let i = 0; i < 3; i++) ipt(other(b), '-A', 'INPUT', '-j', 'ACCEPT');
      const r = clamp(DUAL, b);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`tcp-mss-clamp: backend ${b}: only iptables-${b} binaries present`);
      expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${V4}`]);
      expect(state('ip6tables', b).chain).toEqual([`-A ${CHAIN} ${V6}`]);
      expect(save('iptables', other(b))).not.toContain(CHAIN);
    });
  });

  test('a duplicated jump (left by someone else) is collapsed to one at position 1', () => {
    expect(clamp(DUAL).status).toBe(0);
    ipt('nft', '-t', 'mangle', '-A', 'POSTROUTING', '-j', CHAIN);
    expect(state('iptables', 'nft').postrouting).toEqual([JUMP, JUMP]);
    const r = clamp(DUAL);
    expect(r.status).toBe(0);
    expect(state('iptables', 'nft').postrouting).toEqual([JUMP]);
  });
});
