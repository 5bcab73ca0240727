// tcp-mss-clamp (init container) on a real kernel, for both iptables backends, in empty
// network namespaces. The script comes from the synthesized manifest and runs with
// `busybox sh -c` and an image-like PATH (busybox applets, ip, iptables-{legacy,nft}*).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findBinary } from '../../lab/host';
import { fixtureManifest } from '../support/dist';
import { initContainerFromYaml, loadInitContainer, mssRule, SEED } from '../support/manifest';
import { Lab, PREFIX, Xtables } from '../support/netns';

const ic = loadInitContainer('tcp-mss-clamp');
const CHAIN = 'FLANNEL-MTU-MSS';
const JUMP = `-A POSTROUTING -j ${CHAIN}`;
const V4 = mssRule('flannel.1', SEED.mssV4);
const V6 = mssRule('flannel-v6.1', SEED.mssV6);
// The seed cluster may be single-stack; the dual-stack cases use the seed's v6 numbers.
// These overlay cases plan no underlay rules (they have their own cases below).
const DUAL = { ...ic.env, MSS_RULES_V4: V4, MSS_RULES_V6: V6, UNDERLAY_RULES_V4: '', UNDERLAY_RULES_V6: '' };

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

    test('per-path mode\'s --clamp-mss-to-pmtu rule is installed as is', () => {
      const pmtu = '-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu';
      const r = clamp({ ...DUAL, MSS_RULES_V4: pmtu, MSS_RULES_V6: '' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(state('iptables', b).chain).toEqual([`-A ${CHAIN} ${pmtu}`]);
    });

    test.each([
      // Before issue 16 each of these reached iptables-restore: 70000 failed there, -j DROP,
      // --set-mss 1 and the rule without the SYN match (on nft) were committed.
      ['an MSS no MTU gives (70000)', mssRule('flannel.1', 70000)],
      ['an MSS below 576 - 40 (--set-mss 1)', mssRule('flannel.1', 1)],
      ['another target (-j DROP)', '-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j DROP'],
      ['TCPMSS without the SYN match', '-o flannel.1 -p tcp -j TCPMSS --set-mss 1000'],
      ['an input-side match (-i)', '-i flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290'],
      ['a device the plan never names', mssRule('eth0', 1290)],
      ['the IPv6 device in the IPv4 rules', mssRule('flannel-v6.1', 1290)],
      ['a second rule appended', `${V4}\n-o flannel.1 -p udp -j TCPMSS --set-mss 1290`],
    ])('refuses a rule the plan cannot produce: %s, before touching any table', (_label, rules) => {
      expect(clamp(DUAL).status).toBe(0);
      const r = clamp({ ...DUAL, MSS_RULES_V4: rules, MSS_RULES_V6: mssRule('flannel-v6.1', 1250) });
      expect(r.stderr).toMatch(/^tcp-mss-clamp: error: MSS_RULES_V4: not a TCPMSS rule of the plan: '.*' \(want '-o <device> .* for IPv4\)\n$/);
      expect(r.status).toBe(1);
      installed(V4, V6); // neither family changed
      expectOtherUntouched();
    });

    test('an IPv6 payload that fails leaves IPv4 untouched: both families are dry-run before either is committed', () => {
      expect(clamp(DUAL).status).toBe(0);
      // A wrapper that corrupts what ip6tables-<b>-restore receives (MSS 70000, which iptables rejects).
      const wrappers = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}wrap-`));
      try {
        const real = findBinary(`ip6tables-${b}-restore`);
        fs.writeFileSync(path.join(wrappers, `ip6tables-${b}-restore`), `#!/bin/sh\nsed 's/--set-mss [0-9]*$/--set-mss 70000/' | exec ${real} "$@"\n`, { mode: 0o755 });
        const v4 = mssRule('flannel.1', 1280);
        const r = lab.sh(ns, ic.script, { ...DUAL, MSS_RULES_V4: v4, MSS_RULES_V6: mssRule('flannel-v6.1', 1260) }, 'both', wrappers);
        expect(r.stderr).toContain(`tcp-mss-clamp: error: ip6tables: ip6tables-${b}-restore --test rejected the rules; nothing was changed in either family\n`);
        expect(r.status).toBe(1);
        installed(V4, V6); // the new IPv4 rule (1280) was not committed
      } finally {
        fs.rmSync(wrappers, { recursive: true, force: true });
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

    test('the shipped env as is (HOST_IP of a cloud-a node, as the downward API would set it)', () => {
      const r = clamp({ ...ic.env, HOST_IP: '192.168.1.130' });
      expect(r.stderr).toBe('');
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

// Underlay clamp (issue 8): node-to-node TCP outside the overlay, chain FLANNEL-MTU-UNDERLAY.
// Rules are written to tables of throw-away namespaces only; the addresses are never contacted.
describe('underlay clamp (FLANNEL-MTU-UNDERLAY)', () => {
  const UCHAIN = 'FLANNEL-MTU-UNDERLAY';
  const UJUMP = `-A POSTROUTING -j ${UCHAIN}`;
  const ulRule = (cidr: string, mss: number) => `-d ${cidr} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${mss}`;
  // seed-dev: cloud-a 192.168.1.0/24, cloud-b 10.119.96.0/24, SD-WAN 1380 -> MSS 1340
  const SEED_UL: Record<string, string> = { ...ic.env, HOST_IP: '192.168.1.130' };
  // hybrid-prod: dual-stack, three clouds, v4 and v6 node subnets
  const hybrid = initContainerFromYaml(fixtureManifest('hybrid-prod'), 'tcp-mss-clamp', 'kube-flannel-ds');

  let lab: Lab;
  let ns: string;
  const save = (fam: Fam, b: Backend): string => lab.mustExec(ns, [`${fam}-${b}-save`]);
  const ipt = (b: Backend, ...args: string[]): string => lab.mustExec(ns, [`iptables-${b}`, '-w', ...args]);
  const clamp = (env: Record<string, string>, xtables: Xtables = 'both') => lab.sh(ns, ic.script, env, xtables);
  const mangle = (fam: Fam, b: Backend) => {
    const lines = save(fam, b).split('\n');
    const start = lines.indexOf('*mangle');
    const m = start < 0 ? [] : lines.slice(start, lines.indexOf('COMMIT', start));
    return {
      postrouting: m.filter((l) => l.startsWith('-A POSTROUTING ')),
      overlay: m.filter((l) => l.startsWith(`-A ${CHAIN} `)).map((l) => l.slice(`-A ${CHAIN} `.length)),
      underlay: m.filter((l) => l.startsWith(`-A ${UCHAIN} `)).map((l) => l.slice(`-A ${UCHAIN} `.length)),
      declared: m.filter((l) => l.startsWith(`:${UCHAIN} `)).length,
    };
  };

  beforeEach(() => {
    lab = new Lab();
    ns = lab.ns('ul');
  });
  afterEach(() => lab.destroy());

  test('the manifests ship the plan: seed-dev one rule per cloud toward the other, hybrid-prod v4 and v6', () => {
    expect(ic.env.NODE_CIDRS).toBe('cloud-a 192.168.1.0/24\ncloud-b 10.119.96.0/24');
    expect(ic.env.UNDERLAY_RULES_V4).toBe(`cloud-a ${ulRule('10.119.96.0/24', 1340)}\ncloud-b ${ulRule('192.168.1.0/24', 1340)}`);
    expect(ic.env.UNDERLAY_RULES_V6).toBe('');
    expect(ic.env.HOST_IP).toBeUndefined(); // a valueFrom (status.hostIP), not a value
    expect(hybrid.env.UNDERLAY_RULES_V6.split('\n')).toContain(`onprem ${ulRule('2001:db8:60::/48', 1350)}`);
  });

  describe.each<[Backend, string]>([
    ['legacy', 'legacy has more rules'],
    ['nft', 'nft has at least as many rules'],
  ])('backend %s (forced by pre-seeded rules)', (b, why) => {
    const o = other(b);
    beforeEach(() => {
      ipt(b, '-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
      ipt(b, '-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT');
      ipt(b, '-t', 'mangle', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'RETURN');
      ipt(o, '-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
    });
    const otherClean = () => {
      expect(save('iptables', o)).not.toContain('FLANNEL-MTU');
      expect(save('ip6tables', o)).not.toContain('FLANNEL-MTU');
    };

    test.each([
      ['192.168.1.130', 'cloud-a', '192.168.1.0/24', '10.119.96.0/24'],
      ['10.119.96.10', 'cloud-b', '10.119.96.0/24', '192.168.1.0/24'],
    ])('seed-dev, HOST_IP %s: cloud %s, only the other cloud is clamped', (hostIp, cloud, own, otherCidr) => {
      const r = clamp({ ...SEED_UL, HOST_IP: hostIp });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trimEnd().split('\n')).toEqual([
        `tcp-mss-clamp: node ${hostIp} is in cloud ${cloud} (${own})`,
        expect.stringMatching(new RegExp(`^tcp-mss-clamp: backend ${b}: no kubelet hint chain; ${why} `)),
        `tcp-mss-clamp: iptables: ${CHAIN} has 1 rule(s), jump from POSTROUTING present once`,
        `tcp-mss-clamp: iptables: ${UCHAIN} has 1 rule(s) for cloud ${cloud}, jump from POSTROUTING present once`,
        'tcp-mss-clamp: ip6tables: no rules planned, no chain present, nothing to remove',
      ]);
      expect(mangle('iptables', b)).toEqual({
        postrouting: [JUMP, UJUMP, '-A POSTROUTING -o eth0 -j RETURN'],
        overlay: [V4],
        underlay: [ulRule(otherCidr, 1340)],
        declared: 1,
      });
      expect(save('ip6tables', b)).not.toContain('FLANNEL-MTU');
      otherClean();
    });

    test('idempotent: a second run leaves one rule and one jump per chain', () => {
      expect(clamp(SEED_UL).status).toBe(0);
      const first = mangle('iptables', b);
      const r = clamp(SEED_UL);
      expect(r.status).toBe(0);
      expect(mangle('iptables', b)).toEqual(first);
      expect(first.postrouting).toEqual([JUMP, UJUMP, '-A POSTROUTING -o eth0 -j RETURN']);
      otherClean();
    });

    test('a changed MSS replaces the rule; the overlay chain is rewritten in the same transaction', () => {
      expect(clamp(SEED_UL).status).toBe(0);
      const r = clamp({ ...SEED_UL, UNDERLAY_RULES_V4: SEED_UL.UNDERLAY_RULES_V4.replace(/1340/g, '1320') });
      expect(r.status).toBe(0);
      expect(mangle('iptables', b)).toMatchObject({ overlay: [V4], underlay: [ulRule('10.119.96.0/24', 1320)] });
      expect(save('iptables', b)).not.toContain('--set-mss 1340');
    });

    test('rules become empty: the underlay chain and its jump go, the overlay chain stays', () => {
      expect(clamp(SEED_UL).status).toBe(0);
      const r = clamp({ ...SEED_UL, UNDERLAY_RULES_V4: '' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`tcp-mss-clamp: iptables: removed chain ${UCHAIN} and 1 jump(s)\n`);
      expect(r.stdout).not.toContain('is in cloud'); // no rules planned: HOST_IP is not even looked at
      expect(mangle('iptables', b)).toEqual({ postrouting: [JUMP, '-A POSTROUTING -o eth0 -j RETURN'], overlay: [V4], underlay: [], declared: 0 });
      // the clamp disabled altogether (every rule empty) removes both
      const off = clamp({ ...SEED_UL, MSS_RULES_V4: '', UNDERLAY_RULES_V4: '' });
      expect(off.status).toBe(0);
      expect(save('iptables', b)).not.toContain('FLANNEL-MTU');
    });

    test('a rule the kernel rejects at commit leaves both previous chains whole (one transaction)', () => {
      expect(clamp(SEED_UL).status).toBe(0);
      const before = mangle('iptables', b);
      // The dry run sees the real payload; the commit gets the last rule (underlay) corrupted to MSS 70000.
      const wrappers = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}wrap-`));
      try {
        const real = findBinary(`iptables-${b}-restore`);
        fs.writeFileSync(path.join(wrappers, `iptables-${b}-restore`), `#!/bin/sh\ncase " $* " in *" --test "*) exec ${real} "$@" ;; esac\nsed 's/--set-mss 1320$/--set-mss 70000/' | exec ${real} "$@"\n`, { mode: 0o755 });
        const r = lab.sh(ns, ic.script, { ...SEED_UL, UNDERLAY_RULES_V4: SEED_UL.UNDERLAY_RULES_V4.replace(/1340/g, '1320'), MSS_RULES_V4: mssRule('flannel.1', 1200) }, 'both', wrappers);
        expect(r.stderr).toContain(`tcp-mss-clamp: error: iptables: iptables-${b}-restore rejected the rules; previous ${CHAIN} and ${UCHAIN} left unchanged\n`);
        expect(r.status).toBe(1);
      } finally {
        fs.rmSync(wrappers, { recursive: true, force: true });
      }
      expect(mangle('iptables', b)).toEqual(before);
    });

    test('hybrid-prod, IPv6 HOST_IP of onprem: v4 and v6 rules toward aws-eu and gcp-eu, none toward onprem', () => {
      for (const hostIp of ['2001:db8:40::10', '2001:DB8:40:0:0:0:0:10', '2001:db8:40:ffff:ffff:ffff:ffff:ffff']) {
        const r = clamp({ ...hybrid.env, HOST_IP: hostIp });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout.split('\n')[0]).toBe(`tcp-mss-clamp: node ${hostIp} is in cloud onprem (2001:db8:40::/48)`);
        expect(r.stdout).toContain(`tcp-mss-clamp: ip6tables: ${UCHAIN} has 2 rule(s) for cloud onprem`);
        expect(mangle('iptables', b)).toMatchObject({ underlay: [ulRule('10.20.0.0/16', 1460), ulRule('10.156.0.0/20', 1380)] });
        expect(mangle('ip6tables', b)).toEqual({
          postrouting: [JUMP, UJUMP],
          overlay: [mssRule('flannel-v6.1', 1280)],
          underlay: [ulRule('2001:db8:20::/48', 1440), ulRule('2001:db8:60::/48', 1350)],
          declared: 1,
        });
        const all = save('iptables', b) + save('ip6tables', b);
        expect(all).not.toContain('172.16.4.0/22');
        expect(all).not.toContain('2001:db8:40::/48');
      }
      otherClean();
    });

    test('hybrid-prod, IPv4 HOST_IP of gcp-eu: its v6 rules too (the cloud, not the family, selects them)', () => {
      const r = clamp({ ...hybrid.env, HOST_IP: '10.156.15.254' });
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('tcp-mss-clamp: node 10.156.15.254 is in cloud gcp-eu (10.156.0.0/20)');
      expect(mangle('iptables', b).underlay).toEqual([ulRule('10.20.0.0/16', 1387), ulRule('172.16.4.0/22', 1380)]);
      expect(mangle('ip6tables', b).underlay).toEqual([ulRule('2001:db8:20::/48', 1367), ulRule('2001:db8:40::/48', 1350)]);
    });
  });

  test.each([
    ['outside every subnet (v4)', { HOST_IP: '192.168.2.1' }, "HOST_IP 192.168.2.1 is in no cloud's node subnets (NODE_CIDRS: cloud-a 192.168.1.0/24, cloud-b 10.119.96.0/24)"],
    ['v6 against v4-only subnets', { HOST_IP: 'fd00::1' }, "HOST_IP fd00::1 is in no cloud's node subnets (NODE_CIDRS: cloud-a 192.168.1.0/24, cloud-b 10.119.96.0/24)"],
    ['in two clouds', { HOST_IP: '192.168.1.130', NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b 192.168.0.0/16\ncloud-b 10.119.96.0/24' }, 'HOST_IP 192.168.1.130 is in the node subnets of more than one cloud: cloud-a 192.168.1.0/24, cloud-b 192.168.0.0/16'],
    ['unset', { HOST_IP: undefined }, 'HOST_IP is not set or empty (status.hostIP): cannot tell which cloud this node is in'],
    ['empty', { HOST_IP: '' }, 'HOST_IP is not set or empty (status.hostIP): cannot tell which cloud this node is in'],
    ['not an address', { HOST_IP: '192.168.1' }, 'HOST_IP 192.168.1 is not an IPv4 or IPv6 address'],
    ['two ::', { HOST_IP: '2001::1::2' }, 'HOST_IP 2001::1::2 is not an IPv4 or IPv6 address'],
    ['octet > 255', { HOST_IP: '192.168.1.256' }, 'HOST_IP 192.168.1.256 is not an IPv4 or IPv6 address'],
    ['host bits in a cidr', { NODE_CIDRS: 'cloud-a 192.168.1.1/24\ncloud-b 10.119.96.0/24' }, 'NODE_CIDRS: 192.168.1.1/24 has host bits set'],
    ['prefix too long', { NODE_CIDRS: 'cloud-a 192.168.1.0/33\ncloud-b 10.119.96.0/24' }, 'NODE_CIDRS: invalid CIDR 192.168.1.0/33'],
    ['a rule naming its own cloud', { UNDERLAY_RULES_V4: `cloud-a ${ulRule('192.168.1.0/24', 1340)}` }, `UNDERLAY_RULES_V4: 'cloud-a ${ulRule('192.168.1.0/24', 1340)}' does not name another cloud's subnet of NODE_CIDRS (traffic inside a cloud is not clamped)`],
    ['a rule naming no declared subnet', { UNDERLAY_RULES_V4: `cloud-a ${ulRule('192.0.2.0/24', 1340)}` }, `UNDERLAY_RULES_V4: 'cloud-a ${ulRule('192.0.2.0/24', 1340)}' does not name another cloud's subnet of NODE_CIDRS (traffic inside a cloud is not clamped)`],
    ['an IPv6 subnet in the IPv4 rules', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b fd00::/64', UNDERLAY_RULES_V4: `cloud-a ${ulRule('fd00::/64', 1340)}` }, `UNDERLAY_RULES_V4 (cloud-a): not a TCPMSS rule of the plan: '${ulRule('fd00::/64', 1340)}' (want '-d <cidr> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>' for IPv4)`],
    // iptables-save prints /0 not at all and IPv4-mapped addresses dotted: a rule in another form never verifies.
    ['a /0 subnet', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b ::/0', UNDERLAY_RULES_V4: '', UNDERLAY_RULES_V6: `cloud-a ${ulRule('::/0', 1340)}` }, 'NODE_CIDRS: ::/0 matches every address (and iptables-save leaves /0 out)'],
    ['a mapped subnet in hex', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b ::ffff:a00:0/104', UNDERLAY_RULES_V4: '', UNDERLAY_RULES_V6: `cloud-a ${ulRule('::ffff:a00:0/104', 1340)}` }, 'NODE_CIDRS: ::ffff:a00:0/104 is not in canonical form (iptables-save prints ::ffff:10.0.0.0/104)'],
    ['a zero run not shortened', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b 2001:db8:0:0::/64' }, 'NODE_CIDRS: 2001:db8:0:0::/64 is not in canonical form (iptables-save prints 2001:db8::/64)'],
    ['upper-case hex', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b 2001:DB8::/64' }, 'NODE_CIDRS: 2001:DB8::/64 is not in canonical form (iptables-save prints 2001:db8::/64)'],
    ['the IPv4-compatible range', { NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b ::10.0.0.0/104' }, 'NODE_CIDRS: ::10.0.0.0/104 is in the IPv4-compatible range ::/96, which iptables prints differently on glibc and musl'],
  ])('fails without touching any table: %s', (_label, change, message) => {
    const env: Record<string, string> = { ...SEED_UL };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const r = clamp(env);
    expect(r.stderr).toBe(`tcp-mss-clamp: error: ${message}\n`);
    expect(r.status).toBe(1);
    for (const fam of ['iptables', 'ip6tables'] as const) for (const b of ['legacy', 'nft'] as const) expect(save(fam, b)).not.toContain('FLANNEL-MTU');
  });

  test('own-cloud detection, IPv4 and IPv6 edge cases (awk CIDR match, "::" expansion)', () => {
    const cases: Array<[string, string, string | null]> = [
      // [HOST_IP, NODE_CIDRS, cloud or null = no match]
      ['10.0.0.0', 'a 10.0.0.0/8\nb 11.0.0.0/8', 'a'],
      ['10.255.255.255', 'a 10.0.0.0/8\nb 11.0.0.0/8', 'a'],
      ['11.0.0.0', 'a 10.0.0.0/8\nb 12.0.0.0/8', null],
      ['172.16.7.255', 'a 172.16.4.0/22\nb 172.16.8.0/22', 'a'],
      ['172.16.8.0', 'a 172.16.4.0/22\nb 172.16.8.0/22', 'b'],
      ['0.0.0.1', 'a 0.0.0.0/31\nb 1.0.0.0/8', 'a'],
      ['255.255.255.255', 'a 255.255.255.255/32\nb 1.0.0.0/8', 'a'],
      ['2001:db8::1', 'a 2001:db8::/32\nb 10.0.0.0/8', 'a'],
      ['2001:db9::1', 'a 2001:db8::/32\nb 10.0.0.0/8', null],
      ['::1', 'a ::1/128\nb ::2/128', 'a'],
      ['::', 'a ::/127\nb ::2/127', 'a'],
      ['1:2:3:4:5:6:7:8', 'a 1:2:3:4:5:6:7:8/128\nb 1:2:3:4:5:6:7:9/128', 'a'],
      ['1:2:3:4:5:6:7:f', 'a 1:2:3:4:5:6:7:0/125\nb 1:2:3:4:5:6:7:8/125', 'b'],
      ['fe80::1', 'a fe80::/10\nb fec0::/10', 'a'],
      ['febf:ffff::', 'a fe80::/10\nb fec0::/10', 'a'],
      ['fec0::', 'a fe80::/10\nb fec0::/10', 'b'],
      ['2001:db8:0:0:1::1', 'a 2001:db8:0:0:1::/80\nb 2001:db8::/80', 'a'],
      ['::ffff:10.1.2.3', 'a ::ffff:10.0.0.0/104\nb ::ffff:11.0.0.0/104', 'a'],
      ['2001:db8:40::10', 'a 2001:db8:40::/48\nb 2001:db8:41::/48', 'a'],
      ['2001:db8:41::10', 'a 2001:db8:40::/47\nb 2001:db8:42::/47', 'a'],
    ];
    for (const [hostIp, cidrs, cloud] of cases) {
      // each cloud clamps toward the other's subnet, in that subnet's family
      const [[, a], [, b]] = cidrs.split('\n').map((l) => l.split(' '));
      const rules = [`a ${ulRule(b, 1000)}`, `b ${ulRule(a, 1000)}`];
      const family = (r: string) => (r.split(' ')[2].includes(':') ? 6 : 4);
      const env = { ...SEED_UL, HOST_IP: hostIp, NODE_CIDRS: cidrs, UNDERLAY_RULES_V4: rules.filter((r) => family(r) === 4).join('\n'), UNDERLAY_RULES_V6: rules.filter((r) => family(r) === 6).join('\n') };
      const r = clamp(env);
      const got = r.status === 0 ? /is in cloud (\S+)/.exec(r.stdout)?.[1] : /is in no cloud/.test(r.stderr) ? null : `error: ${r.stderr}`;
      expect([hostIp, cidrs, got]).toEqual([hostIp, cidrs, cloud]);
    }
  });
});
