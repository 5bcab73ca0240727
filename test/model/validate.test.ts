// Refusals the loader and the plan add for issue 16: each is input that `plan` used to accept
// and that then broke in synth or on the nodes. Messages are checked whole, with file and line.
import { planErrors } from '../support/input-errors';
import { planText, synthEnvironments } from '../../src';

const TWO = (extra = '', cloudA = '', cloudB = '') => `name: dev
flannel:
  podNetwork: 10.244.0.0/16
clouds:
  - name: cloud-a
    nicMtu: 1400
    nodeSelector: { r: a }
    nodes: [192.168.1.130]
    nodeCidrs: [192.168.1.0/24]${cloudA}
  - name: cloud-b
    nicMtu: 1400
    nodeSelector: { r: b }
    nodes: [10.119.96.10]
    nodeCidrs: [10.119.96.0/24]${cloudB}
links:
  - between: [cloud-a, cloud-b]
    pathMtu: 1380
${extra}`;

/** Error lines of planning the text, as the CLI prints them; fails the test if it plans. */
const refused = (text: string) => planErrors(text);

/** Plans and synthesizes: what `plan` accepts must synthesize. */
function synthesizes(text: string): void {
  const { loaded, plan } = planText(text, 'environments/dev.yaml');
  expect(synthEnvironments([{ environment: loaded.environment, plan, source: 'environments/dev.yaml' }])).toHaveLength(1);
}

describe('refused when planning (they used to plan and then break)', () => {
  test('two links with one name', () => {
    const text = `name: dev
flannel: { podNetwork: 10.244.0.0/16 }
clouds:
  - { name: a, nicMtu: 9001 }
  - { name: b, nicMtu: 9001 }
  - { name: c, nicMtu: 9001 }
links:
  - { between: [a, b], name: wan, pathMtu: 9001 }
  - { between: [a, c], name: wan, pathMtu: 1380 }
  - { between: [b, c], pathMtu: 1380 }
`;
    expect(refused(text)).toEqual(['environments/dev.yaml:9:30: links[1].name: duplicate link name "wan" (first at links[0]); give each link its own name']);
  });

  test.each([
    // flannel.<vni>: 8 + digits; flannel-v6.<vni>: 11 + digits; Linux allows 15.
    ['dual-stack vni 10000 (flannel-v6.10000)', 'podNetworkV6: fd00:10:244::/56\n  vni: 10000', 'environments/dev.yaml:5:8: flannel.vni: vni 10000 makes flannel name its device flannel-v6.10000, over Linux\'s 15-character limit (IFNAMSIZ), so no node could create it: use a vni below 10000'],
    ['single-stack vni 10000000 (flannel.10000000)', 'vni: 10000000', 'environments/dev.yaml:4:8: flannel.vni: vni 10000000 makes flannel name its device flannel.10000000, over Linux\'s 15-character limit (IFNAMSIZ), so no node could create it: use a vni below 10000000'],
  ])('%s', (_label, flannel, message) => {
    expect(refused(TWO().replace('  podNetwork: 10.244.0.0/16\n', `  podNetwork: 10.244.0.0/16\n  ${flannel}\n`))).toEqual([message]);
  });

  test('the largest VNIs that name valid devices synthesize: 9999 dual-stack, 9999999 single-stack', () => {
    synthesizes(TWO().replace('  podNetwork: 10.244.0.0/16\n', '  podNetwork: 10.244.0.0/16\n  podNetworkV6: fd00:10:244::/56\n  vni: 9999\n'));
    synthesizes(TWO().replace('  podNetwork: 10.244.0.0/16\n', '  podNetwork: 10.244.0.0/16\n  vni: 9999999\n'));
  });

  test.each([
    ['probe', 'probe: { enabled: true }\n', 'environments/dev.yaml:5:5: clouds[0]: probe.enabled needs a nodeSelector on cloud "cloud-a", to place its probe on its nodes'],
    ['per-path', 'mtuMode: per-path\n', 'environments/dev.yaml:5:5: clouds[0]: mtuMode per-path needs a nodeSelector on cloud "cloud-a": each cloud gets its own flannel DaemonSet'],
  ])('nodeSelector: {} with the %s (synth threw a raw Error)', (_label, extra, message) => {
    expect(refused(TWO(extra).replace('nodeSelector: { r: a }', 'nodeSelector: {}'))).toEqual([message]);
  });

  test('per-path cloud names of 48 characters (kube-flannel-ds-<cloud> over 63); 47 synthesize', () => {
    const name = (n: number) => `c${'x'.repeat(n - 2)}a`;
    const text = (n: number) => TWO('mtuMode: per-path\n').replace(/cloud-a/g, name(n));
    expect(refused(text(48))).toEqual([`environments/dev.yaml:5:11: clouds[0].name: mtuMode per-path needs cloud names of at most 47 characters (kube-flannel-ds-<cloud> is a 63-character DNS label), got 48`]);
    synthesizes(text(47));
  });

  test('the probe with one cloud (PROBE_TARGETS: no targets)', () => {
    const text = 'name: dev\nflannel: { podNetwork: 10.244.0.0/16 }\nclouds:\n  - { name: a, nicMtu: 1400, nodeSelector: { r: a }, nodes: [10.0.0.1] }\nprobe: { enabled: true }\n';
    expect(refused(text)).toEqual(['environments/dev.yaml:5:19: probe.enabled: probe.enabled needs at least two clouds: the probe measures the links between clouds, and one cloud has none']);
  });

  test('the probe toward a single-stack cloud whose nodes are all IPv6 (PROBE_TARGETS: no targets)', () => {
    const text = TWO('probe: { enabled: true }\n').replace('nodes: [10.119.96.10]', 'nodes: ["2001:db8::10"]').replace('nodeCidrs: [10.119.96.0/24]', 'nodeCidrs: [10.119.96.0/24, "2001:db8::/64"]');
    expect(refused(text)).toEqual(['environments/dev.yaml:13:12: clouds[1].nodes: probe.enabled needs an IPv4 address in nodes of cloud "cloud-b": a single-stack cluster\'s probe measures IPv4 paths only']);
  });

  test.each([
    ['::/0 (iptables-save leaves /0 out)', '"::/0"', 'environments/dev.yaml:14:33: clouds[1].nodeCidrs[1]: ::/0 matches every address: give the cloud\'s node subnets'],
    ['0.0.0.0/0', '0.0.0.0/0', 'environments/dev.yaml:14:33: clouds[1].nodeCidrs[1]: 0.0.0.0/0 matches every address: give the cloud\'s node subnets'],
    ['::10.0.0.0/104 (glibc and musl print it differently)', '"::10.0.0.0/104"', 'environments/dev.yaml:14:33: clouds[1].nodeCidrs[1]: ::10.0.0.0/104 is in the deprecated IPv4-compatible range ::/96, which iptables prints differently on glibc and musl: give a real node subnet'],
  ])('a node subnet %s', (_label, cidr, message) => {
    const lines = refused(TWO().replace('nodeCidrs: [10.119.96.0/24]', `nodeCidrs: [10.119.96.0/24, ${cidr}]`));
    expect(lines).toContain(message);
  });

  test('a declared node outside its cloud\'s nodeCidrs (that node failed with "in no cloud\'s node subnets")', () => {
    expect(refused(TWO().replace('nodes: [10.119.96.10]', 'nodes: [10.119.96.10, 10.119.97.10]'))).toEqual([
      'environments/dev.yaml:13:27: clouds[1].nodes[1]: node 10.119.97.10 is in none of this cloud\'s nodeCidrs (10.119.96.0/24): its underlay clamp could not find its cloud',
    ]);
  });

  test.each(['kube-system', 'kube-flannel'])('rollout.namespaces listing %s, unless rollout.allowSystemNamespaces', (ns) => {
    const text = TWO(`rollout:\n  namespaces: [default, ${ns}]\n`);
    expect(refused(text)).toEqual([
      `environments/dev.yaml:19:25: rollout.namespaces[1]: ${ns} is refused unless rollout.allowSystemNamespaces is true: the Job could then patch the DaemonSets there (kube-proxy, flannel itself), which run as root on every node`,
    ]);
    const allowed = planText(TWO(`rollout:\n  namespaces: [default, ${ns}]\n  allowSystemNamespaces: true\n`), 'environments/dev.yaml');
    expect(allowed.loaded.environment.rollout).toMatchObject({ namespaces: ['default', ns], allowSystemNamespaces: true });
  });

  test('rollout selectors the Job script would refuse: a=b=c, and over 1024 characters', () => {
    expect(refused(TWO('rollout:\n  namespaces: [default]\n  selector: a=b=c\n'))).toEqual([
      'environments/dev.yaml:20:13: rollout.selector: expected a label selector of comma-separated key, !key, key=value or key!=value terms (set-based "in"/"notin" terms are not supported), got "a=b=c"',
    ]);
    const long = Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',');
    expect(refused(TWO(`rollout:\n  namespaces: [default]\n  selector: ${long}\n`))).toEqual([
      `environments/dev.yaml:20:13: rollout.selector: expected a label selector of at most 1024 characters, got ${long.length}`,
    ]);
  });
});

describe('echoed values are cut', () => {
  test.each([
    ['a CIDR', (v: string) => TWO().replace('podNetwork: 10.244.0.0/16', `podNetwork: ${v}`), 'flannel.podNetwork: expected an IPv4 CIDR such as 10.244.0.0/16, got'],
    ['a label key', (v: string) => TWO().replace('nodeSelector: { r: a }', `nodeSelector: { ${v}: a }`), 'expected a Kubernetes label key, got'],
  ])('%s of 1000 characters is echoed as 64 and its length', (_label, text, message) => {
    const lines = refused(text('Z'.repeat(1000)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${message} "${'Z'.repeat(64)}"... (1000 characters)`);
    expect(lines[0].length).toBeLessThan(300);
  });
});

describe('what iptables-save prints is what the plan writes', () => {
  test('an IPv4-mapped node subnet is written dotted, as ip6tables-save prints it', () => {
    const { plan } = planText(TWO().replace('nodeCidrs: [10.119.96.0/24]', 'nodeCidrs: [10.119.96.0/24, "::ffff:a00:0/104"]'), 'environments/dev.yaml');
    expect(plan.clouds[1].nodeCidrs).toEqual(['10.119.96.0/24', '::ffff:10.0.0.0/104']);
  });
});
