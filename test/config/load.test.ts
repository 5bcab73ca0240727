import { parseEnvironment } from '../../src/config';
import { planText } from '../../src/synth';
import { inputErrors, planErrors, SEED_TEXT } from '../support/input-errors';

const SEED = SEED_TEXT;

const errors = inputErrors;

describe('parseEnvironment', () => {
  test('reads the documented example, with defaults filled in', () => {
    const { environment } = parseEnvironment(SEED, 'environments/seed-dev.yaml');
    expect(environment).toEqual({
      name: 'seed-dev',
      flannel: {
        backend: 'vxlan', podNetwork: '10.244.0.0/16', vni: 1,
        // upstream kube-flannel.yml's values for everything the chart lets you change
        cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', skipCNIConfigInstallation: false, enableNFTables: false, args: [],
        resources: { requests: { cpu: '100m', memory: '50Mi' } }, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
        healthzPort: 8081, cniPlugins: [{ type: 'portmap', capabilities: { portMappings: true } }],
      },
      clouds: [{ name: 'cloud-a', nicMtu: 1400 }, { name: 'cloud-b', nicMtu: 1400 }],
      links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1380 }],
      mssClamp: { enabled: true },
      probe: { enabled: false, intervalSeconds: 300, marginBytes: 10, metrics: true, textfileDirectory: '/var/lib/node_exporter/textfile_collector' },
      mtuMode: 'uniform',
      pmtud: { mode: 'blackhole' },
      images: { flannel: 'ghcr.io/flannel-io/flannel:v0.28.9', flannelCniPlugin: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3' },
      imagePullSecrets: [],
      distribution: 'kubeadm',
    });
  });

  test('the name defaults to the file name', () => {
    expect(parseEnvironment(SEED.replace('name: seed-dev\n', ''), 'environments/staging-eu.yml').environment.name).toBe('staging-eu');
  });

  test('link mtu and overhead give pathMtu = mtu - overhead', () => {
    const text = SEED.replace('pathMtu: 1380', 'mtu: 1400\n    overhead: 20');
    expect(parseEnvironment(text, 'x.yaml').environment.links[0].pathMtu).toBe(1380);
  });

  test('fails when an MTU is a string, naming file, line, column and YAML path', () => {
    expect(errors(SEED.replace('nicMtu: 1400\n  - name: cloud-b', 'nicMtu: "1400"\n  - name: cloud-b'))).toEqual([
      'environments/dev.yaml:6:13: clouds[0].nicMtu: expected an integer between 576 and 9216, got "1400" (a string)',
    ]);
  });

  test('fails when an MTU is not an integer or out of range', () => {
    expect(errors(SEED.replace('pathMtu: 1380', 'pathMtu: 1380.5'))).toEqual([
      'environments/dev.yaml:11:14: links[0].pathMtu: expected an integer between 576 and 9216, got 1380.5',
    ]);
    expect(errors(SEED.replace('pathMtu: 1380', 'pathMtu: 500'))[0]).toContain('links[0].pathMtu: expected an integer between 576 and 9216, got 500');
  });

  test('fails on unknown keys, suggesting the likely one (flannel would silently ignore them)', () => {
    expect(errors(SEED.replace('nicMtu: 1400\n  - name: cloud-b', 'nicMTU: 1400\n  - name: cloud-b'))).toEqual([
      'environments/dev.yaml:6:5: clouds[0].nicMTU: unknown key (did you mean "nicMtu"?); allowed: name, nicMtu, fabricMtu, nodeSelector, nodes, nodeCidrs, iface, ifaceRegex, ifaceCanReach',
      'environments/dev.yaml:5:5: clouds[0]: missing required key "nicMtu"',
    ]);
  });

  test('fails on duplicate cloud names', () => {
    expect(errors(SEED.replace('name: cloud-b', 'name: cloud-a'))).toContain(
      'environments/dev.yaml:7:11: clouds[1].name: duplicate cloud name "cloud-a" (first at clouds[0])',
    );
  });

  test('fails when a link names an unknown cloud', () => {
    expect(errors(SEED.replace('between: [cloud-a, cloud-b]', 'between: [cloud-a, cloud-c]'))).toEqual([
      'environments/dev.yaml:10:24: links[0].between[1]: unknown cloud "cloud-c"; clouds are: cloud-a, cloud-b',
      'environments/dev.yaml:10:3: links: no link joins clouds "cloud-a" and "cloud-b"; every pair of clouds needs one (declare its measured pathMtu)',
    ]);
  });

  test('fails when a pair of clouds has no link', () => {
    expect(errors(SEED.replace(/links:[\s\S]*$/, 'links: []\n'))).toEqual([
      'environments/dev.yaml:9:8: links: no link joins clouds "cloud-a" and "cloud-b"; every pair of clouds needs one (declare its measured pathMtu)',
    ]);
  });

  test('fails when two links join the same pair', () => {
    expect(errors(`${SEED}  - between: [cloud-b, cloud-a]\n    pathMtu: 1300\n`)).toContain(
      'environments/dev.yaml:12:14: links[1].between: clouds "cloud-b" and "cloud-a" are already joined by links[0]; give exactly one link per pair',
    );
  });

  test('fails when a link gives both pathMtu and mtu', () => {
    expect(errors(SEED.replace('pathMtu: 1380', 'pathMtu: 1380\n    mtu: 1400\n    overhead: 20'))).toEqual([
      'environments/dev.yaml:10:5: links[0]: give either pathMtu, or mtu and overhead, not both',
    ]);
  });

  test('tunnelMode: wireguard only, separate or auto', () => {
    const wg = (mode: string) => SEED.replace('flannel:\n', `flannel:\n  backend: wireguard\n  tunnelMode: ${mode}\n`);
    expect(errors(SEED.replace('flannel:\n', 'flannel:\n  tunnelMode: auto\n'))).toEqual(['environments/dev.yaml:3:15: flannel.tunnelMode: only applies to the wireguard backend, not vxlan']);
    expect(errors(wg('ipv6'))[0]).toMatch(/^environments\/dev\.yaml:4:15: flannel\.tunnelMode: tunnelMode "ipv6" is not supported: flannel-mtu plans separate .* and auto/);
    expect(errors(wg('Auto'))).toEqual(['environments/dev.yaml:4:15: flannel.tunnelMode: expected one of separate, auto, got "Auto" (a string)']);
    expect(parseEnvironment(wg('auto'), 'environments/dev.yaml').environment.flannel).toMatchObject({ backend: 'wireguard', tunnelMode: 'auto' });
    // flannel's default is written out for wireguard, and vxlan gets none
    expect(parseEnvironment(SEED.replace('flannel:\n', 'flannel:\n  backend: wireguard\n'), 'environments/dev.yaml').environment.flannel.tunnelMode).toBe('separate');
    expect(parseEnvironment(SEED, 'environments/dev.yaml').environment.flannel).not.toHaveProperty('tunnelMode');
  });

  test('fails on backends flannel-mtu cannot plan', () => {
    expect(errors(SEED.replace('flannel:\n', 'flannel:\n  backend: udp\n'))[0]).toBe(
      'environments/dev.yaml:3:12: flannel.backend: backend "udp" is not supported: flannel takes no MTU for it, so no derived MTU could reach the nodes; use vxlan or wireguard',
    );
    expect(errors(SEED.replace('flannel:\n', 'flannel:\n  backend: vxlan2\n'))[0]).toBe(
      'environments/dev.yaml:3:12: flannel.backend: expected one of vxlan, wireguard, host-gw, got "vxlan2" (a string)',
    );
  });

  test('fails on a bad CIDR and a bad node address', () => {
    expect(errors(SEED.replace('10.244.0.0/16', '10.244.0.0/33').replace('nicMtu: 1400\n  - name: cloud-b', 'nicMtu: 1400\n    nodes: [192.168.1.300]\n  - name: cloud-b'))).toEqual([
      'environments/dev.yaml:3:15: flannel.podNetwork: expected an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0/33"',
      'environments/dev.yaml:7:13: clouds[0].nodes[0]: expected an IPv4 or IPv6 address, got "192.168.1.300" (a string)',
    ]);
  });

  test('fails on invalid YAML with its line', () => {
    expect(errors('name: x\nclouds: [a\n')[0]).toMatch(/^environments\/dev\.yaml:\d+:\d+: invalid YAML: /);
  });

  test('fails on a duplicate YAML key', () => {
    expect(errors(SEED.replace('name: seed-dev', 'name: seed-dev\nname: other'))[0]).toMatch(/^environments\/dev\.yaml:2:1: invalid YAML: Map keys must be unique/);
  });

  test('fails without a name when the file name is not a DNS label', () => {
    expect(errors(SEED.replace('name: seed-dev\n', ''), 'envs/Prod_EU.yaml')).toEqual([
      'envs/Prod_EU.yaml:1:1: (document): missing "name", and the file name "Prod_EU" is not a lowercase DNS label to default to',
    ]);
  });

  const withCidrs = (a: string, b: string) =>
    SEED.replace('nicMtu: 1400\n  - name: cloud-b\n    nicMtu: 1400', `nicMtu: 1400\n    nodeCidrs: [${a}]\n  - name: cloud-b\n    nicMtu: 1400\n    nodeCidrs: [${b}]`);

  test('nodeCidrs are read in the canonical form iptables-save prints', () => {
    const { environment } = parseEnvironment(withCidrs('192.168.1.0/24, "FD00:0:0:1::/64"', '10.119.96.0/24'), 'x.yaml');
    expect(environment.clouds.map((c) => c.nodeCidrs)).toEqual([['192.168.1.0/24', 'fd00:0:0:1::/64'], ['10.119.96.0/24']]);
  });

  test('fails when a node CIDR has host bits set, suggesting the network', () => {
    expect(errors(withCidrs('192.168.1.130/24', '10.119.96.0/24'))).toEqual([
      'environments/dev.yaml:7:17: clouds[0].nodeCidrs[0]: "192.168.1.130/24" has host bits set; did you mean 192.168.1.0/24?',
    ]);
  });

  test('fails when node CIDRs of two clouds overlap (a node must match exactly one cloud)', () => {
    expect(errors(withCidrs('10.0.0.0/8', '10.119.96.0/24'))).toEqual([
      'environments/dev.yaml:10:17: clouds[1].nodeCidrs[0]: 10.119.96.0/24 overlaps 10.0.0.0/8 of clouds[0] (cloud-a): a node address must match exactly one cloud',
    ]);
  });

  test('fails when only some clouds declare nodeCidrs', () => {
    expect(errors(SEED.replace('nicMtu: 1400\n  - name: cloud-b', 'nicMtu: 1400\n    nodeCidrs: [192.168.1.0/24]\n  - name: cloud-b'))).toEqual([
      'environments/dev.yaml:5:3: clouds: 1 of 2 clouds declare nodeCidrs: declare them for every cloud or none, or nodes of the others could not find their cloud',
    ]);
  });

  test('fails when the probe is enabled without nodeSelector and nodes', () => {
    expect(errors(`${SEED}probe: { enabled: true }\n`)).toEqual([
      'environments/dev.yaml:5:5: clouds[0]: probe.enabled needs a nodeSelector on cloud "cloud-a", to place its probe on its nodes',
      'environments/dev.yaml:5:5: clouds[0]: probe.enabled needs at least one address in nodes of cloud "cloud-a", for the other clouds\' probes to measure toward',
      'environments/dev.yaml:7:5: clouds[1]: probe.enabled needs a nodeSelector on cloud "cloud-b", to place its probe on its nodes',
      'environments/dev.yaml:7:5: clouds[1]: probe.enabled needs at least one address in nodes of cloud "cloud-b", for the other clouds\' probes to measure toward',
    ]);
  });

  test('fails on an unknown mtuMode, and per-path without nodeCidrs', () => {
    expect(errors(`${SEED}mtuMode: per-link\n`)).toEqual(['environments/dev.yaml:12:10: mtuMode: expected uniform or per-path, got "per-link" (a string)']);
    expect(errors(`${withCidrs('192.168.1.0/24', '10.119.96.0/24')}mtuMode: per-path\n`)[0]).toBe(
      'environments/dev.yaml:5:5: clouds[0]: mtuMode per-path needs a nodeSelector on cloud "cloud-a": each cloud gets its own flannel DaemonSet',
    );
  });
});


// Seed: path 1380 - vxlan 50 = pod MTU 1330, MSS 1330 - 40 = 1290 (the upper bound of pmtud.baseMss).
describe('pmtud', () => {
  test('defaults to blackhole: tcp_mtu_probing 1, tcp_base_mss left to the kernel', () => {
    expect(planText(SEED, 'x.yaml').plan.pmtud).toEqual({ mode: 'blackhole', tcpMtuProbing: 1, baseMss: null, sysctls: { 'net.ipv4.tcp_mtu_probing': '1' } });
  });

  test.each([
    ['always', 2],
    ['off', 0],
  ] as const)('mode %s is tcp_mtu_probing %i', (mode, value) => {
    const p = planText(`${SEED}pmtud:\n  mode: ${mode}\n`, 'x.yaml').plan.pmtud;
    expect(p.tcpMtuProbing).toBe(value);
    expect(p.sysctls).toEqual(mode === 'off' ? {} : { 'net.ipv4.tcp_mtu_probing': String(value) });
  });

  test('baseMss up to the planned MSS 1290 is written as tcp_base_mss', () => {
    expect(planText(`${SEED}pmtud:\n  baseMss: 1290\n`, 'x.yaml').plan.pmtud.sysctls).toEqual({ 'net.ipv4.tcp_base_mss': '1290', 'net.ipv4.tcp_mtu_probing': '1' });
  });

  test('fails when baseMss exceeds the planned MSS (1330 - 40 = 1290), located at the key', () => {
    expect(planErrors(`${SEED}pmtud:\n  baseMss: 1291\n`)).toEqual([
      'environments/dev.yaml:13:12: pmtud.baseMss: expected at most the planned MSS 1290: probing falls back to tcp_base_mss, so it must be smaller than what the path carries, got 1291',
    ]);
  });

  test('fails when dual-stack and baseMss exceeds the IPv6 MSS (pod MTU 1310 = 1380 - 70; 1310 - 60 = 1250)', () => {
    const dual = SEED.replace('podNetwork: 10.244.0.0/16', 'podNetwork: 10.244.0.0/16\n  podNetworkV6: fd00:10:244::/56');
    expect(planErrors(`${dual}pmtud:\n  baseMss: 1251\n`)[0]).toContain('pmtud.baseMss: expected at most the planned MSS 1250');
  });

  test('fails when mode is unknown, baseMss is not an integer in range, or set with mode off', () => {
    expect(inputErrors(`${SEED}pmtud:\n  mode: on\n`)).toEqual(['environments/dev.yaml:13:9: pmtud.mode: expected one of blackhole, always, off, got "on" (a string)']);
    expect(inputErrors(`${SEED}pmtud:\n  baseMss: 40\n`)).toEqual(['environments/dev.yaml:13:12: pmtud.baseMss: expected an MSS in bytes between 48 and 9176, got 40']);
    expect(inputErrors(`${SEED}pmtud:\n  baseMss: "1024"\n`)[0]).toContain('pmtud.baseMss: expected an MSS in bytes between 48 and 9176, got "1024" (a string)');
    expect(inputErrors(`${SEED}pmtud:\n  mode: off\n  baseMss: 1024\n`)).toEqual(['environments/dev.yaml:14:12: pmtud.baseMss: only applies when pmtud.mode is blackhole or always (mode off writes no sysctl)']);
  });

  test('fails on an unknown key, suggesting the right one', () => {
    expect(inputErrors(`${SEED}pmtud:\n  baseMSS: 1024\n`)[0]).toContain('pmtud.baseMSS: unknown key (did you mean "baseMss"?); allowed: mode, baseMss');
  });
});
