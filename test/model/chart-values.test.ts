// Parity with flannel's Helm chart: every value of its values.yaml (test/fixtures, v0.28.9) has a
// row in the README table, and every flannel-mtu key a row names is accepted and changes the output.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { synthEnvironments } from '../../src';
import { toEnvironment } from '../../src/model';
import { findObject, K8sObject, parseManifest, REPO } from '../support/dist';
import { BUSYBOX } from '../support/netns';

const VALUES = fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'upstream-chart-values.yaml'), 'utf8');
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/**
 * The chart's values as dotted paths: every leaf (a scalar, a list, an empty or null value) of the
 * YAML, plus the keys values.yaml only shows commented out (`#backendPort: 0`, `# psk: 0`), which
 * the templates read all the same.
 */
function chartValues(text: string): string[] {
  const leaves: string[] = [];
  const walk = (node: unknown, at: string[]) => {
    if (isMap(node) && node.items.length > 0) {
      for (const pair of node.items) walk(pair.value, [...at, String(isScalar(pair.key) ? pair.key.value : pair.key)]);
    } else {
      leaves.push(at.join('.'));
    }
  };
  walk(parseDocument(text).contents, []);
  const stack: Array<{ indent: number; key: string }> = [];
  for (const line of text.split('\n')) {
    const live = /^( *)([A-Za-z_][A-Za-z0-9_]*):/.exec(line);
    const commented = /^( *)# ?([A-Za-z_][A-Za-z0-9_]*): \S/.exec(line);
    const m = live ?? commented;
    if (!m) continue;
    const indent = m[1].length;
    while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
    if (commented) leaves.push([...stack.map((s) => s.key), m[2]].join('.'));
    else stack.push({ indent, key: m[2] });
  }
  return [...new Set(leaves)];
}

interface Row { chart: string[]; key: string | null; text: string }

/** The README's "Coming from the upstream Helm chart" table. */
function readmeRows(): Row[] {
  const start = README.indexOf('### Coming from the upstream Helm chart');
  expect(start).toBeGreaterThan(0);
  const section = README.slice(start, README.indexOf('\n#', start + 10));
  return section.split('\n').filter((l) => l.startsWith('| `')).map((l) => {
    const [chart, key, text] = l.slice(1, -1).split(' | ');
    return { chart: [...chart.matchAll(/`([^`]+)`/g)].map((m) => m[1]), key: key === '—' ? null : /^`([^`]+)`$/.exec(key)![1], text };
  });
}

const BASE = {
  name: 'parity',
  flannel: { podNetwork: '10.244.0.0/16' },
  clouds: [{ name: 'a', nicMtu: 1500 }],
};
type Doc = Record<string, unknown> & { flannel: Record<string, unknown> };
const WG = (extra: Record<string, unknown>) => (d: Doc): Doc => ({ ...d, flannel: { ...d.flannel, backend: 'wireguard', ...extra } });
const FL = (extra: Record<string, unknown>) => (d: Doc): Doc => ({ ...d, flannel: { ...d.flannel, ...extra } });

/** For every flannel-mtu key the table names: a value other than its default, and the base it applies to. */
const SAMPLES: Record<string, (d: Doc) => Doc> = {
  'imagePullSecrets': (d) => ({ ...d, imagePullSecrets: ['regcred'] }),
  'flannel.podNetwork': FL({ podNetwork: '10.42.0.0/16' }),
  'flannel.podNetworkV6': FL({ podNetworkV6: 'fd00:42::/56' }),
  'images.flannel': (d) => ({ ...d, images: { flannel: 'registry.example/flannel:v0.28.9' } }),
  'images.flannelCniPlugin': (d) => ({ ...d, images: { flannelCniPlugin: 'registry.example/flannel-cni-plugin:v1.9.1-flannel3' } }),
  'flannel.cniBinDir': FL({ cniBinDir: '/usr/libexec/cni' }),
  'flannel.cniConfDir': FL({ cniConfDir: '/var/lib/cni/net.d' }),
  'flannel.skipCNIConfigInstallation': FL({ skipCNIConfigInstallation: true }),
  'flannel.enableNFTables': FL({ enableNFTables: true }),
  'flannel.args': FL({ args: ['--iptables-resync=10'] }),
  'flannel.backend': FL({ backend: 'wireguard' }),
  'flannel.backendPort': FL({ backendPort: 8473 }),
  'flannel.backendPortv6': WG({ backendPortv6: 51831 }),
  'flannel.vni': FL({ vni: 4096 }),
  'flannel.GBP': FL({ GBP: true }),
  'flannel.directRouting': FL({ directRouting: true }),
  'flannel.psk': WG({ psk: { secretName: 'flannel-psk' } }),
  'flannel.tunnelMode': WG({ tunnelMode: 'auto' }),
  'flannel.keepaliveInterval': WG({ keepaliveInterval: 25 }),
  'flannel.cniPlugins': FL({ cniPlugins: [{ type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }] }),
  'flannel.resources': FL({ resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } } }),
  'flannel.healthzPort': FL({ healthzPort: 9081 }),
  'flannel.tolerations': FL({ tolerations: [{ operator: 'Exists' }] }),
  'flannel.nodeSelector': FL({ nodeSelector: { 'node-role.kubernetes.io/flannel': 'true' } }),
  'netpol.enabled': (d) => ({ ...d, netpol: { enabled: true } }),
  'netpol.args': (d) => ({ ...d, netpol: { args: ['--hostname-override=$(MY_NODE_NAME)', '--v=4'] } }),
  'netpol.image': (d) => ({ ...d, netpol: { image: 'registry.example/kube-network-policies:v1.0.0' } }),
};

const yamlOf = (doc: Doc): string => synthEnvironments([{ environment: toEnvironment(doc) }])[0].yaml;
const objectsOf = (doc: Doc): K8sObject[] => parseManifest(yamlOf(doc));

describe('parity with the upstream Helm chart (chart/kube-flannel/values.yaml v0.28.9)', () => {
  const values = chartValues(VALUES);
  const rows = readmeRows();

  test('the fixture is the chart\'s values.yaml: its values, commented ones included', () => {
    expect(values).toEqual(expect.arrayContaining([
      'global.imagePullSecrets', 'podCidr', 'podCidrv6', 'flannel.image.tag', 'flannel.cniBinDir', 'flannel.args',
      'flannel.backendPort', 'flannel.mtu', 'flannel.psk', 'flannel.keepaliveInterval', 'flannel.resources.requests.cpu',
      'flannel.healthz.port', 'flannel.healthz.readinessProbe.periodSeconds', 'flannel.tolerations', 'flannel.nodeSelector', 'netpol.image.tag',
    ]));
    // 27 leaves, counted by hand: global 1 + podCidr, podCidrv6 2 + images 4 + cniBinDir, cniConfDir,
    // skipCNIConfigInstallation, enableNFTables, args 5 + backend, cniConf 2 + resources 2 + healthz 5 +
    // tolerations, nodeSelector 2 + netpol 4; and 10 commented flannel keys (backendPort, mtu, vni, GBP, directRouting,
    // macPrefix, backendPortv6, psk, tunnelMode, keepaliveInterval)
    expect(values).toHaveLength(37);
  });

  test.each(chartValues(VALUES))('%s has a counterpart, or the README says why not', (value) => {
    const row = rows.find((r) => r.chart.some((c) => value === c || value.startsWith(`${c}.`)));
    expect({ value, row: row !== undefined }).toEqual({ value, row: true });
    if (row!.key === null) expect(row!.text.length).toBeGreaterThan(40);
  });

  test('every row names a chart value that exists', () => {
    for (const r of rows) for (const c of r.chart) expect([c, values.some((v) => v === c || v.startsWith(`${c}.`))]).toEqual([c, true]);
  });

  const keyed = readmeRows().filter((r) => r.key !== null).map((r) => r.key!);
  test.each(keyed)('%s is accepted and changes the synthesized output', (key) => {
    expect(Object.keys(SAMPLES)).toContain(key);
    const base = yamlOf(BASE);
    const sample = SAMPLES[key](BASE);
    // a backend change on its own is the base for the backend's own keys: compare with that
    const reference = sample.flannel.backend === 'wireguard' && key !== 'flannel.backend' ? yamlOf(WG({})(BASE)) : base;
    expect(yamlOf(sample)).not.toBe(reference);
  });
});

describe('each chart value reaches its field', () => {
  const ds = (doc: Doc) => findObject(objectsOf(doc), 'DaemonSet', 'kube-flannel-ds');
  const pod = (doc: Doc) => ds(doc).spec.template.spec;
  const flanneld = (doc: Doc) => pod(doc).containers.find((c: K8sObject) => c.name === 'kube-flannel');
  const netConf = (doc: Doc) => JSON.parse(findObject(objectsOf(doc), 'ConfigMap', 'kube-flannel-cfg').data['net-conf.json']);
  const cniConf = (doc: Doc) => JSON.parse(findObject(objectsOf(doc), 'ConfigMap', 'kube-flannel-cfg').data['cni-conf.json']);

  test('defaults are upstream kube-flannel.yml\'s (the bytes of existing environments stay)', () => {
    const p = pod(BASE);
    expect(p.tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }]);
    expect(p.nodeSelector).toBeUndefined();
    expect(p.imagePullSecrets).toBeUndefined();
    expect(p.volumes.filter((v: K8sObject) => v.hostPath).map((v: K8sObject) => [v.name, v.hostPath.path])).toEqual([
      ['run', '/run/flannel'], ['cni-plugin', '/opt/cni/bin'], ['cni', '/etc/cni/net.d'], ['xtables-lock', '/run/xtables.lock'],
    ]);
    expect(flanneld(BASE).args).toEqual(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081']);
    expect(flanneld(BASE).resources).toEqual({ requests: { cpu: '100m', memory: '50Mi' } });
    expect(netConf(BASE)).toEqual({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan', MTU: 1500, VNI: 1 } });
    // upstream's portmap, then the tuning entry of pmtud (mode blackhole by default)
    expect(cniConf(BASE).plugins.slice(1).map((p: K8sObject) => p.type)).toEqual(['portmap', 'tuning']);
    expect(cniConf(BASE).plugins[1]).toEqual({ type: 'portmap', capabilities: { portMappings: true } });
  });

  test('imagePullSecrets: every generated pod, flannel, probes and the rollout Job', () => {
    const doc = {
      ...BASE,
      imagePullSecrets: ['regcred', { name: 'mirror' }],
      clouds: [{ name: 'a', nicMtu: 1500, nodeSelector: { zone: 'a' }, nodes: ['192.0.2.1'] }, { name: 'b', nicMtu: 1500, nodeSelector: { zone: 'b' }, nodes: ['192.0.2.2'] }],
      links: [{ between: ['a', 'b'], pathMtu: 1400 }],
      probe: { enabled: true },
      rollout: { namespaces: ['shop'] },
    };
    const pods = objectsOf(doc).filter((o) => o.kind === 'DaemonSet' || o.kind === 'Job');
    expect(pods.map((o) => o.metadata.name)).toEqual(expect.arrayContaining(['kube-flannel-ds', 'flannel-mtu-probe-a', 'flannel-mtu-probe-b']));
    expect(pods.some((o) => o.kind === 'Job')).toBe(true);
    for (const o of pods) expect([o.metadata.name, o.spec.template.spec.imagePullSecrets]).toEqual([o.metadata.name, [{ name: 'regcred' }, { name: 'mirror' }]]);
  });

  test('cniBinDir, cniConfDir: the hostPaths the install containers write through', () => {
    const p = pod(FL({ cniBinDir: '/usr/libexec/cni', cniConfDir: '/var/lib/cni/net.d' })(BASE));
    expect(p.volumes.find((v: K8sObject) => v.name === 'cni-plugin').hostPath.path).toBe('/usr/libexec/cni');
    expect(p.volumes.find((v: K8sObject) => v.name === 'cni').hostPath.path).toBe('/var/lib/cni/net.d');
  });

  test('skipCNIConfigInstallation: no install-cni and no cni volume; the plugin is still installed', () => {
    const p = pod(FL({ skipCNIConfigInstallation: true })(BASE));
    expect(p.initContainers.map((c: K8sObject) => c.name)).toEqual(['install-cni-plugin', 'apply-node-mtu', 'tcp-mss-clamp']);
    expect(p.volumes.map((v: K8sObject) => v.name)).not.toContain('cni');
  });

  test('enableNFTables, GBP, directRouting, backendPort reach net-conf.json', () => {
    expect(netConf(FL({ enableNFTables: true, GBP: true, directRouting: true, backendPort: 8473 })(BASE))).toEqual({
      Network: '10.244.0.0/16', EnableNFTables: true, Backend: { Type: 'vxlan', MTU: 1500, VNI: 1, Port: 8473, GBP: true, DirectRouting: true },
    });
  });

  test('wireguard: backendPort, backendPortv6, keepaliveInterval reach net-conf.json next to the planned MTU and Mode', () => {
    const doc = WG({ podNetworkV6: 'fd00:42::/56', backendPort: 51830, backendPortv6: 51831, keepaliveInterval: 25 })(BASE);
    const backend = netConf(doc).Backend;
    expect(backend).toMatchObject({ Type: 'wireguard', ListenPort: 51830, ListenPortV6: 51831, Mode: 'separate', PersistentKeepaliveInterval: 25 });
    // the MTU is still the plan's: dual-stack wireguard on a 1500 NIC, IPv6 costs 80, flannel subtracts 80
    expect(backend.MTU).toBe(1500);
  });

  test('args: appended after the ones flannel-mtu sets', () => {
    expect(flanneld(FL({ args: ['--iptables-resync=10', '--v=2'] })(BASE)).args).toEqual(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081', '--iptables-resync=10', '--v=2']);
  });

  test('healthzPort: flag, container port and probes; 0 turns them off', () => {
    const on = flanneld(FL({ healthzPort: 9081 })(BASE));
    expect(on.args).toContain('--healthz-port=9081');
    expect(on.ports).toEqual([{ name: 'healthz', containerPort: 9081, protocol: 'TCP' }]);
    expect(on.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'healthz' });
    const off = flanneld(FL({ healthzPort: 0 })(BASE));
    expect(off.args).toEqual(['--ip-masq', '--kube-subnet-mgr']);
    expect([off.ports, off.livenessProbe, off.readinessProbe]).toEqual([undefined, undefined, undefined]);
  });

  test('resources, tolerations, nodeSelector: the flannel pod', () => {
    const doc = FL({
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: 128 } },
      tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' }, { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoExecute', tolerationSeconds: 60 }],
      nodeSelector: { 'node-role.kubernetes.io/flannel': 'true' },
    })(BASE);
    expect(flanneld(doc).resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128' } });
    expect(pod(doc).tolerations).toEqual([
      { operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' },
      { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoExecute', tolerationSeconds: 60 },
    ]);
    expect(pod(doc).nodeSelector).toEqual({ 'node-role.kubernetes.io/flannel': 'true' });
  });

  test('cniPlugins: after flannel, in order, before pmtud\'s tuning; flannel keeps the pod MTU; install-cni checks their binaries', () => {
    const plugins = cniConf(FL({ cniPlugins: [{ type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }] })(BASE)).plugins;
    expect(plugins.map((p: K8sObject) => p.type)).toEqual(['flannel', 'portmap', 'bandwidth', 'tuning']);
    expect(plugins[0].delegate.mtu).toBe(1450);
    const doc = FL({ cniBinDir: '/usr/libexec/cni', cniPlugins: [{ type: 'bandwidth' }] })(BASE);
    const install = pod(doc).initContainers.find((c: K8sObject) => c.name === 'install-cni');
    const env = Object.fromEntries(install.env.map((e: K8sObject) => [e.name, e.value]));
    expect([env.CNI_PLUGINS, env.CNI_BIN_DIR_HOST]).toEqual(['bandwidth bridge flannel host-local tuning', '/usr/libexec/cni']);
  });

  test('cniPlugins: tuning is pmtud\'s unless pmtud is off', () => {
    expect(() => toEnvironment(FL({ cniPlugins: [{ type: 'tuning', sysctl: {} }] })(BASE))).toThrow(/flannel\.cniPlugins\[0\]\.type: flannel-mtu chains the tuning plugin itself for pmtud/);
    const plugins = cniConf({ ...FL({ cniPlugins: [{ type: 'tuning', sysctl: { 'net.core.somaxconn': '1024' } }] })(BASE), pmtud: { mode: 'off' } }).plugins;
    expect(plugins.map((p: K8sObject) => p.type)).toEqual(['flannel', 'tuning']);
  });

  // Found by the fuzz suite: `type: Bandwidth` was accepted, and install-cni (and link-cni-plugins)
  // then refused the name on every node, so flanneld never started anywhere.
  test('cniPlugins: a type the node scripts refuse (not lowercase) is refused where it is written', () => {
    expect(() => toEnvironment(FL({ cniPlugins: [{ type: 'portmap' }, { type: 'Bandwidth' }] })(BASE))).toThrow(/flannel\.cniPlugins\[1\]\.type: expected a CNI plugin binary name .*lowercase.*got "Bandwidth"/);
    const install = pod(FL({ cniPlugins: [{ type: 'bandwidth' }] })(BASE)).initContainers.find((c: K8sObject) => c.name === 'install-cni');
    // the script as synthesized refuses the name before it looks for any binary
    const r = spawnSync(BUSYBOX, ['sh', '-c', install.args[0]], { env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(install.env.map((e: K8sObject) => [e.name, e.value])), CNI_PLUGINS: 'Bandwidth' }, encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([1, "install-cni: error: CNI_PLUGINS: invalid plugin name 'Bandwidth'\n"]);
  });

  // Found by the fuzz suite: a 254-character name was accepted, but no Secret can be named so
  // (a DNS subdomain is at most 253 characters), so the pods could never pull or start.
  test('Secret names (psk, imagePullSecrets): at most 253 characters', () => {
    const name = (n: number) => `${'a'.repeat(62)}.`.repeat(5).slice(0, n - 1) + 'z';
    expect(name(254)).toHaveLength(254);
    expect(() => toEnvironment({ ...BASE, imagePullSecrets: [name(254)] } as Doc)).toThrow(/imagePullSecrets\[0\]: expected a Secret name .*at most 253 characters/);
    expect(() => toEnvironment(WG({ psk: { secretName: name(254) } })(BASE))).toThrow(/flannel\.psk\.secretName: expected a Secret name .*at most 253 characters/);
    expect(toEnvironment({ ...WG({ psk: { secretName: name(253) } })(BASE), imagePullSecrets: [name(253)] } as Doc).imagePullSecrets).toEqual([name(253)]);
  });

  // Found with the fuzz suite's values: `..` in a CNI directory passed (Kubernetes refuses such a
  // hostPath, install-cni the directory), and `/a...a ` took exponential time to refuse.
  test('cniBinDir, cniConfDir: no .. segment, not /, and refused at once however long', () => {
    for (const [key, dir] of [['cniBinDir', '/opt/cni/../bin'], ['cniConfDir', '/etc/cni/..'], ['cniBinDir', '/'], ['cniConfDir', `/${'a'.repeat(40)} `]]) {
      expect(() => toEnvironment(FL({ [key]: dir })(BASE))).toThrow(new RegExp(`flannel\\.${key}: expected an absolute directory path on the node`));
    }
    expect(pod(FL({ cniBinDir: '/var/lib/cni/bin/', cniConfDir: '/etc/cni/..conf' })(BASE)).volumes.filter((v: K8sObject) => ['cni', 'cni-plugin'].includes(v.name)).map((v: K8sObject) => v.hostPath.path)).toEqual(['/var/lib/cni/bin/', '/etc/cni/..conf']);
    // a megabyte-long image reference is refused at once too (the pattern is quadratic without its length bound)
    expect(() => toEnvironment({ ...BASE, images: { flannel: `${'a/'.repeat(400_000)}!` } } as Doc)).toThrow(/images\.flannel: expected an image reference/);
  });

  // Kubernetes refuses a Secret data key `.` or starting with `..` (IsConfigMapKey): no Secret could hold it.
  test('psk.key: a key a Secret can hold', () => {
    for (const key of ['.', '..', '..data']) expect(() => toEnvironment(WG({ psk: { secretName: 'flannel-psk', key } })(BASE))).toThrow(/flannel\.psk\.key: expected a Secret data key/);
    expect(toEnvironment(WG({ psk: { secretName: 'flannel-psk', key: '.wg..psk' } })(BASE)).flannel.psk).toEqual({ secretName: 'flannel-psk', key: '.wg..psk' });
  });

  test('psk: a Secret volume and the net-conf-psk init container; the ConfigMap never holds the key', () => {
    const doc = WG({ psk: { secretName: 'flannel-psk', key: 'wg' } })(BASE);
    const objects = objectsOf(doc);
    expect(JSON.stringify(findObject(objects, 'ConfigMap', 'kube-flannel-cfg'))).not.toMatch(/PSK|flannel-psk/);
    const p = findObject(objects, 'DaemonSet', 'kube-flannel-ds').spec.template.spec;
    expect(p.volumes.find((v: K8sObject) => v.secret)).toEqual({ name: 'flannel-mtu-psk', secret: { secretName: 'flannel-psk', items: [{ key: 'wg', path: 'psk' }], defaultMode: 0o400 } });
    expect(p.initContainers.map((c: K8sObject) => c.name)).toEqual(['install-cni-plugin', 'install-cni', 'net-conf-psk', 'apply-node-mtu', 'tcp-mss-clamp']);
    const f = p.containers.find((c: K8sObject) => c.name === 'kube-flannel');
    expect(f.args).toContain('--net-config-path=/run/flannel-mtu/net-conf.json');
    expect(f.volumeMounts).toContainEqual({ name: 'flannel-mtu-net-conf', mountPath: '/run/flannel-mtu', readOnly: true });
    expect(p.volumes.find((v: K8sObject) => v.name === 'flannel-mtu-net-conf').emptyDir.medium).toBe('Memory');
  });

  test('netpol: the chart\'s kube-network-policies container, its volume and its RBAC; off without the section', () => {
    const objects = objectsOf({ ...BASE, netpol: { enabled: true } } as Doc);
    const p = findObject(objects, 'DaemonSet', 'kube-flannel-ds').spec.template.spec;
    expect(p.containers.map((c: K8sObject) => c.name)).toEqual(['kube-flannel', 'kube-network-policies']);
    expect(p.containers[1]).toMatchObject({
      image: 'registry.k8s.io/networking/kube-network-policies:v1.0.0',
      command: ['/bin/netpol'],
      args: ['--hostname-override=$(MY_NODE_NAME)', '--v=2'],
      env: [{ name: 'MY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
    });
    expect(p.volumes).toContainEqual({ name: 'lib-modules', hostPath: { path: '/lib/modules' } });
    expect(findObject(objects, 'ClusterRole', 'flannel').rules.slice(3)).toEqual([
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
      { apiGroups: ['policy.networking.k8s.io'], resources: ['adminnetworkpolicies', 'baselineadminnetworkpolicies'], verbs: ['list', 'watch'] },
    ]);
    expect(yamlOf({ ...BASE, netpol: { enabled: false } } as Doc)).toBe(yamlOf(BASE));
  });

  test('directRouting: the plan says what it does to same-subnet traffic', () => {
    const { planMtu } = jest.requireActual('../../src/mtu/plan');
    const plan = planMtu(toEnvironment(FL({ directRouting: true })(BASE)));
    expect(plan.reasoning).toContain('directRouting: between nodes on one subnet pods talk without VXLAN, still at pod MTU 1450 (cni0 and pod eth0), so those packets leave the 50 encapsulation bytes of the NIC unused; traffic between subnets is VXLAN as planned');
  });
});

describe('iface, ifaceRegex, ifaceCanReach: flanneld\'s arguments and the NIC check, from one value', () => {
  const initEnv = (ds: K8sObject) => Object.fromEntries(ds.spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'apply-node-mtu').env.filter((e: K8sObject) => 'value' in e).map((e: K8sObject) => [e.name, e.value]));
  const flanneldArgs = (ds: K8sObject) => ds.spec.template.spec.containers.find((c: K8sObject) => c.name === 'kube-flannel').args;

  test('uniform: the cluster-wide lists become repeated flags and the check\'s env', () => {
    const ds = findObject(objectsOf(FL({ iface: ['ens5', '10.0.0.1'], ifaceRegex: ['^10[.]20[.]', '^enp'], ifaceCanReach: '10.30.0.1' })(BASE)), 'DaemonSet', 'kube-flannel-ds');
    expect(flanneldArgs(ds)).toEqual(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081', '--iface=ens5', '--iface=10.0.0.1', '--iface-regex=^10[.]20[.]', '--iface-regex=^enp', '--iface-can-reach=10.30.0.1']);
    expect(initEnv(ds)).toMatchObject({ FLANNEL_IFACES: 'ens5 10.0.0.1', FLANNEL_IFACE_REGEXES: '^10[.]20[.]\n^enp', FLANNEL_IFACE_CAN_REACH: '10.30.0.1' });
  });

  test('per-path: a cloud\'s own selection replaces the cluster-wide one for its DaemonSet only', () => {
    const doc = {
      ...BASE,
      flannel: { podNetwork: '10.244.0.0/16', iface: ['eth0'] },
      mtuMode: 'per-path',
      clouds: [
        { name: 'aws', nicMtu: 9001, nodeSelector: { cloud: 'aws' }, nodeCidrs: ['10.1.0.0/16'], ifaceRegex: ['^ens'] },
        { name: 'dc', nicMtu: 1500, nodeSelector: { cloud: 'dc' }, nodeCidrs: ['10.2.0.0/16'] },
      ],
      links: [{ between: ['aws', 'dc'], pathMtu: 1400 }],
    };
    const objects = objectsOf(doc as unknown as Doc);
    const aws = findObject(objects, 'DaemonSet', 'kube-flannel-ds-aws');
    const dc = findObject(objects, 'DaemonSet', 'kube-flannel-ds-dc');
    expect(flanneldArgs(aws)).toEqual(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081', '--iface-regex=^ens']);
    expect(initEnv(aws)).toMatchObject({ FLANNEL_IFACE_REGEXES: '^ens', NIC_MTU_NEEDED: '9001' });
    expect(initEnv(aws)).not.toHaveProperty('FLANNEL_IFACES');
    expect(flanneldArgs(dc)).toEqual(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081', '--iface=eth0']);
    expect(initEnv(dc)).toMatchObject({ FLANNEL_IFACES: 'eth0', NIC_MTU_NEEDED: '1500' });
  });
});

describe('resolving is idempotent with every chart value set', () => {
  const { resolveEnvironment } = jest.requireActual('../../src/model');
  const vxlan = Object.entries(SAMPLES).filter(([k]) => !['flannel.backend', 'flannel.backendPortv6', 'flannel.psk', 'flannel.tunnelMode', 'flannel.keepaliveInterval', 'flannel.GBP', 'flannel.directRouting'].includes(k));
  test.each([
    ['vxlan', [...vxlan.map(([, f]) => f), FL({ GBP: true, directRouting: true, iface: ['eth0'], ifaceRegex: ['^ens'], ifaceCanReach: '10.0.0.1' }), (d: Doc) => ({ ...d, distribution: 'k3s' })]],
    ['wireguard', [WG({ backendPort: 51830, backendPortv6: 51831, psk: { secretName: 'p', key: 'k' }, tunnelMode: 'auto', keepaliveInterval: 25, podNetworkV6: 'fd00:42::/56' })]],
  ])('%s', (_label, patches) => {
    const doc = (patches as Array<(d: Doc) => Doc>).reduce((d, f) => f(d), BASE as Doc);
    const once = resolveEnvironment(doc);
    expect(resolveEnvironment(once)).toEqual(once);
  });
});
