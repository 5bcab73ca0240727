// fast-check generators of environment files for the fuzz suite (test/fuzz) and the root test that
// runs every generated script with its own env (test/node/generated-scripts.root.test.ts).
// `validDocument` draws files that keep to the documented rules most of the time (some still
// plan to a pod MTU below the minimum, which is a located refusal), with every key of the model
// (src/model/environment.ts) drawn in some cases; `mutatedDocument` breaks one of them in one place
// with a value from HOSTILE.
import * as fc from 'fast-check';
import { stringify } from 'yaml';

type Json = unknown;
type Obj = Record<string, Json>;

/** Extra CNI plugin configs, as users chain them after flannel (tuning only with pmtud off). */
const PLUGINS: readonly Obj[] = [
  { type: 'portmap', capabilities: { portMappings: true } },
  { type: 'bandwidth', capabilities: { bandwidth: true } },
  { type: 'firewall', backend: 'iptables' },
  { type: 'sbr' },
  { type: 'vrf', vrfname: 'blue' },
];
const FLANNELD_ARGS = ['--v=2', '--iptables-resync=10', '--ip-masq-fully-random-disable', '--subnet-lease-renew-margin=60', '--iptables-forward-rules=false'];
const TOLERATIONS: readonly Obj[] = [
  { operator: 'Exists' },
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'dedicated', value: 'gpu', effect: 'NoExecute', tolerationSeconds: 30 },
];
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** The keys beyond the MTU inputs: distribution, PSK, CNI plugins, pull secrets, the chart's values, images, netpol. */
const knobs = fc.record({
  hostGw: fc.boolean(),
  distribution: fc.constantFrom(undefined, 'kubeadm', 'k3s', 'rke2'),
  psk: opt(fc.record({ secretName: fc.constantFrom('flannel-psk', 'wg.psk-2', 'a'), key: opt(fc.constantFrom('psk', 'wg-psk', 'PSK_1.b')) })),
  cniPlugins: opt(fc.uniqueArray(fc.constantFrom(...PLUGINS), { selector: (p) => p.type, maxLength: 3 })),
  tuning: fc.boolean(),
  pullSecrets: opt(fc.uniqueArray(fc.constantFrom('regcred', 'ghcr-pull', 'a.b-c'), { minLength: 1, maxLength: 3 })),
  pullSecretsAsNames: fc.boolean(),
  port: opt(fc.record({ key: fc.constantFrom('backendPort', 'port'), value: fc.constantFrom(1, 8472, 51820, 65535) })),
  portV6: opt(fc.constantFrom(51821, 4789)),
  gbp: opt(fc.boolean()),
  directRouting: opt(fc.boolean()),
  keepalive: opt(fc.constantFrom(0, 25, 65535)),
  cniBinDir: opt(fc.constantFrom('/opt/cni/bin', '/usr/libexec/cni', '/var/lib/cni/bin/')),
  cniConfDir: opt(fc.constantFrom('/etc/cni/net.d', '/var/lib/rancher/k3s/agent/etc/cni/net.d')),
  skipCni: opt(fc.boolean()),
  nft: opt(fc.boolean()),
  args: opt(fc.uniqueArray(fc.constantFrom(...FLANNELD_ARGS), { maxLength: 3 })),
  resources: opt(fc.constantFrom<Obj>({ requests: { cpu: '200m', memory: '64Mi' } }, { requests: { cpu: 1 }, limits: { memory: '128Mi', 'ephemeral-storage': '1Gi' } }, {})),
  tolerations: opt(fc.uniqueArray(fc.constantFrom(...TOLERATIONS), { maxLength: 3 })),
  flannelSelector: opt(fc.constantFrom<Obj>({ 'kubernetes.io/os': 'linux' }, { 'flannel-mtu.io/overlay': 'yes', pool: '' })),
  healthz: opt(fc.constantFrom(0, 8081, 9099)),
  ifaceRegex: opt(fc.constantFrom(['^10[.]'], ['eth[0-9]+', 'ens[0-9]+'])),
  ifaceCanReach: fc.boolean(),
  cloudIface: fc.boolean(),
  linkOverhead: fc.array(fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
  images: opt(fc.record({
    flannel: opt(fc.constantFrom('ghcr.io/flannel-io/flannel:v0.27.4', 'registry.local:5000/flannel/flannel:v0.28.9', `ghcr.io/flannel-io/flannel@sha256:${'ab'.repeat(32)}`)),
    flannelCniPlugin: opt(fc.constantFrom('ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3', 'mirror.example/flannel-cni-plugin:v1.9.1')),
    kubectl: opt(fc.constantFrom('registry.k8s.io/kubectl:v1.32.0')),
    busybox: opt(fc.constantFrom('docker.io/library/busybox:1.36.1-musl')),
  })),
  rolloutExtra: fc.record({ enabled: opt(fc.boolean()), timeoutSeconds: opt(fc.constantFrom(10, 600, 86400)), system: fc.boolean() }),
  probeExtra: fc.record({ marginBytes: opt(fc.constantFrom(0, 10, 1000)), metrics: opt(fc.boolean()), textfileDirectory: opt(fc.constantFrom('/var/lib/node_exporter/textfile_collector', '/run/prom')) }),
  netpol: opt(fc.record({ enabled: opt(fc.boolean()), args: opt(fc.constantFrom(['--v=4'], ['--hostname-override=$(MY_NODE_NAME)', '--v=2', '--nfqueue-id=100'])), image: opt(fc.constantFrom('registry.k8s.io/networking/kube-network-policies:v0.9.0')) })),
});

const NAMES = ['aws', 'onprem', 'gcp-eu', 'chicago', 'houston', 'cloud-a', 'cloud-b', 'a', 'zz-9', `c${'x'.repeat(45)}d`];

/** One environment as a plain object, ready to be written as YAML. */
export const validDocument: fc.Arbitrary<Obj> = fc
  .record({
    backend: fc.constantFrom('vxlan', 'vxlan', 'wireguard'),
    tunnelMode: fc.constantFrom(undefined, 'separate', 'auto'),
    dualStack: fc.boolean(),
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
    nics: fc.array(fc.integer({ min: 1280, max: 9216 }), { minLength: 4, maxLength: 4 }),
    fabrics: fc.array(fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    links: fc.array(fc.integer({ min: 1200, max: 9216 }), { minLength: 6, maxLength: 6 }),
    linkV6: fc.array(fc.option(fc.integer({ min: 1350, max: 9216 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
    linkNamed: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    cidrs: fc.boolean(),
    perPath: fc.boolean(),
    probe: fc.boolean(),
    rollout: fc.option(fc.record({
      namespaces: fc.uniqueArray(fc.constantFrom('default', 'ingress-nginx', 'shop', 'payments'), { minLength: 1, maxLength: 3 }),
      selector: fc.option(fc.constantFrom('!flannel-mtu.io/skip-rollout', 'app=web', 'tier!=db,app'), { nil: undefined }),
    }), { nil: undefined }),
    vni: fc.option(fc.constantFrom(1, 1, 4096, 9999, 9999999, 10000000), { nil: undefined }),
    mssClamp: fc.boolean(),
    pmtud: fc.option(fc.record({ mode: fc.constantFrom('off', 'blackhole', 'always'), baseMss: fc.option(fc.integer({ min: 536, max: 1200 }), { nil: undefined }) }), { nil: undefined }),
    iface: fc.option(fc.constantFrom(['eth0'], ['ens5', 'eth0']), { nil: undefined }),
    k: knobs,
  })
  .map((g) => {
    const k = g.k;
    // host-gw only for one cloud (one L2 segment); it takes no port, VNI or tunnel mode
    const backend = k.hostGw && g.names.length === 1 ? 'host-gw' : g.backend;
    const vxlan = backend === 'vxlan';
    const wg = backend === 'wireguard';
    const v6 = g.dualStack;
    const perPath = g.perPath && g.cidrs && vxlan;
    const pmtudOff = g.pmtud?.mode === 'off';
    const clouds = g.names.map((name, i) => {
      const nicMtu = g.nics[i];
      const fabric = g.fabrics[i];
      return {
        name,
        nicMtu,
        ...(fabric !== undefined && { fabricMtu: Math.max(576, nicMtu - fabric) }),
        nodeSelector: { 'topology.kubernetes.io/region': name.slice(0, 63) },
        nodes: [`10.${i + 1}.0.10`, ...(v6 ? [`fd00:${i + 1}::10`] : [])],
        ...(g.cidrs && { nodeCidrs: [`10.${i + 1}.0.0/16`, ...(v6 ? [`fd00:${i + 1}::/64`] : [])] }),
        // per-cloud interfaces only in per-path mode (one DaemonSet per cloud)
        ...(perPath && k.cloudIface && i % 2 === 0 && { iface: [`ens${i + 5}`], ifaceCanReach: `10.${i + 1}.0.1` }),
      };
    });
    const links: Obj[] = [];
    for (let i = 0; i < clouds.length; i++) {
      for (let j = i + 1; j < clouds.length; j++) {
        const n = links.length;
        links.push({
          between: [clouds[i].name, clouds[j].name],
          ...(g.linkNamed[n] && { name: `link-${n}` }),
          // either the measured path MTU, or the link's MTU and its encapsulation overhead
          ...(g.k.linkOverhead[n] === undefined ? { pathMtu: g.links[n] } : { mtu: Math.min(9216, g.links[n] + g.k.linkOverhead[n]!), overhead: g.k.linkOverhead[n] }),
          ...(v6 && g.linkV6[n] !== undefined && { pathMtuV6: g.linkV6[n] }),
        });
      }
    }
    const plugins = k.cniPlugins && [...k.cniPlugins, ...(pmtudOff && k.tuning ? [{ type: 'tuning', sysctl: { 'net.ipv4.tcp_mtu_probing': '1' } }] : [])];
    const rolloutNamespaces = g.rollout && (k.rolloutExtra.system ? [...g.rollout.namespaces, 'kube-system'] : g.rollout.namespaces);
    return {
      name: 'fuzz',
      ...(k.distribution !== undefined && { distribution: k.distribution }),
      flannel: {
        backend,
        podNetwork: '10.244.0.0/16',
        ...(v6 && { podNetworkV6: 'fd00:10:244::/56' }),
        ...(vxlan && g.vni !== undefined && { vni: g.vni }),
        ...(wg && g.tunnelMode !== undefined && { tunnelMode: g.tunnelMode }),
        ...(g.iface !== undefined && { iface: g.iface }),
        ...(k.ifaceRegex !== undefined && { ifaceRegex: k.ifaceRegex }),
        // an address every node has a route to (the only cloud's subnet: the lab's nodes have no default route)
        ...(k.ifaceCanReach && clouds.length === 1 && { ifaceCanReach: '10.1.0.1' }),
        ...(wg && k.psk !== undefined && { psk: { secretName: k.psk.secretName, ...(k.psk.key !== undefined && { key: k.psk.key }) } }),
        ...(k.port !== undefined && (vxlan || (wg && k.port.key === 'backendPort')) && { [k.port.key]: k.port.value }),
        ...(wg && k.portV6 !== undefined && { backendPortv6: k.portV6 }),
        ...(wg && k.keepalive !== undefined && { keepaliveInterval: k.keepalive }),
        ...(vxlan && k.gbp !== undefined && { GBP: k.gbp }),
        ...(vxlan && k.directRouting !== undefined && { directRouting: k.directRouting }),
        ...(plugins !== undefined && { cniPlugins: plugins }),
        ...(k.cniBinDir !== undefined && { cniBinDir: k.cniBinDir }),
        ...(k.cniConfDir !== undefined && { cniConfDir: k.cniConfDir }),
        ...(k.skipCni !== undefined && { skipCNIConfigInstallation: k.skipCni }),
        ...(k.nft !== undefined && { enableNFTables: k.nft }),
        ...(k.args !== undefined && { args: k.args }),
        ...(k.resources !== undefined && { resources: k.resources }),
        ...(k.tolerations !== undefined && { tolerations: k.tolerations }),
        ...(k.flannelSelector !== undefined && { nodeSelector: k.flannelSelector }),
        ...(k.healthz !== undefined && { healthzPort: k.healthz }),
      },
      clouds,
      ...(links.length > 0 && { links }),
      ...(!g.mssClamp && { mssClamp: { enabled: false } }),
      ...(g.probe && clouds.length > 1 && { probe: { enabled: true, intervalSeconds: 60, ...defined(k.probeExtra) } }),
      ...(g.rollout && {
        rollout: {
          ...(k.rolloutExtra.enabled !== undefined && { enabled: k.rolloutExtra.enabled }),
          namespaces: rolloutNamespaces,
          ...(k.rolloutExtra.system && { allowSystemNamespaces: true }),
          ...(g.rollout.selector && { selector: g.rollout.selector }),
          ...(k.rolloutExtra.timeoutSeconds !== undefined && { timeoutSeconds: k.rolloutExtra.timeoutSeconds }),
        },
      }),
      ...(perPath && { mtuMode: 'per-path' }),
      ...(g.pmtud !== undefined && { pmtud: { mode: g.pmtud.mode, ...(g.pmtud.baseMss !== undefined && g.pmtud.mode !== 'off' && { baseMss: g.pmtud.baseMss }) } }),
      ...(k.pullSecrets !== undefined && { imagePullSecrets: k.pullSecretsAsNames ? k.pullSecrets : k.pullSecrets.map((name) => ({ name })) }),
      ...(k.images !== undefined && { images: defined(k.images) }),
      ...(k.netpol !== undefined && { netpol: defined(k.netpol) }),
    };
  });

/** The entries of a drawn record that were drawn (fc.option's undefined left out). */
function defined(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Values that break a field: wrong types, extremes, hostile strings, odd CIDRs. */
export const HOSTILE: readonly Json[] = [
  null, true, -1, 0, 1.5, 575, 9217, 1e308, 65536, 16777216, '1400', '', ' ', 'x'.repeat(100_000),
  '$(reboot)', '`id`', 'a;b', 'a\nb', '../x', '-a', 'A', '*', 'a=b=c', 'kube-system', '::/0', '0.0.0.0/0',
  '::ffff:a00:0/104', '::10.0.0.0/104', '10.1.0.1/16', '10.1.0.0/33', 'fd00::/129', '1.2.3', '2001::1::2',
  [], [1, 2], {}, { a: 1 }, { ['x'.repeat(300)]: 1 },
  // right for another key, wrong here: backends and distributions, an inline key, plugin types flannel-mtu
  // owns or the node scripts refuse, an over-long DNS name, flags flannel-mtu sets, paths out of bounds
  'vxlan', 'wireguard', 'host-gw', 'k3s', 'K3s', 'cDlJbkRqc3Q3ZnB0Uk1hS2xpUm9GVjZHQmJ3dDhCeTA=', 'flannel', 'tuning', 'Bandwidth',
  { type: 'flannel' }, { type: 'tuning' }, { type: 'Portmap' }, { name: 'regcred' }, { secretName: 'x' }, `${'a'.repeat(63)}.`.repeat(4).slice(0, 254),
  '--iface=eth0', '--net-config-path=/x', '--etcd-prefix=/x', '/', '/opt/cni/../bin',
];

/**
 * Near misses for one key (the last mapping key on the path): values a person could write there
 * that are wrong in a way only that key's rules catch. A mutation of such a key draws from here
 * half the time, so that one-in-thousands pairings of key and HOSTILE value are drawn every run.
 */
const NEAR_MISS: Readonly<Record<string, readonly Json[]>> = {
  backend: ['host-gw', 'vxlan', 'wireguard', 'udp', 'VXLAN'],
  distribution: ['K3s', 'k3d', 'rke', 'kubeadm ', ''],
  type: ['Bandwidth', 'flannel', 'tuning', 'a'.repeat(65), 'port map', '-x'],
  cniPlugins: [[{ type: 'portmap' }, { type: 'portmap' }], [{ capabilities: {} }], ['portmap'], [{ type: 'flannel' }]],
  secretName: ['Flannel-psk', `${'a'.repeat(63)}.`.repeat(4).slice(0, 254), 'a_b', '-a', 'a.'],
  key: ['.', '..', '..data', 'a/b', 'a b', ''],
  psk: ['cDlJbkRqc3Q3ZnB0Uk1hS2xpUm9GVjZHQmJ3dDhCeTA=', { key: 'psk' }, { secretName: 'a', key: 'psk', value: 'x' }],
  imagePullSecrets: [['a', 'a'], [{ name: 'a', namespace: 'b' }], 'regcred', [{ secret: 'a' }]],
  cniBinDir: ['/opt/cni/../bin', '/', 'opt/cni/bin', '/opt//cni', `/${'a'.repeat(40)} `, '/opt/cni/bin\n'],
  cniConfDir: ['/etc/cni/..', '/', '/etc/cni/net.d/../../root'],
  textfileDirectory: ['/', '/var/..', 'relative', '/a b'],
  flannel: ['ghcr.io/flannel-io/flannel', 'Ghcr.io/x:v1', `${'a/'.repeat(60_000)}!`],
  args: [['--iface=eth0'], ['--healthz-port=1'], ['--kube-subnet-mgr'], ['--v=2', '--v=3'], ['--nope'], ['v=2']],
  healthzPort: [65536, -1, '8081'],
  keepaliveInterval: [-1, 65536, 1.5],
  backendPort: [0, 65536],
};

/** Every path to a scalar, list or mapping in a document (the root excluded). */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...paths(v, [...prefix, i])]);
  if (value !== null && typeof value === 'object') return Object.entries(value as Obj).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
  return [];
}

function setIn(doc: Json, path: ReadonlyArray<string | number>, apply: (parent: Obj | Json[], key: string | number) => void): Json {
  const copy = structuredClone(doc);
  let node = copy as Obj;
  for (const key of path.slice(0, -1)) node = (node as Obj)[key] as Obj;
  apply(node, path[path.length - 1]);
  return copy;
}

/** A valid document broken in one place: a value replaced, a key removed, an unknown key added, an entry repeated. */
export const mutatedDocument: fc.Arbitrary<Json> = fc
  .tuple(validDocument, fc.nat(), fc.constantFrom('replace', 'replace', 'replace', 'delete', 'unknown', 'repeat'), fc.constantFrom(...HOSTILE), fc.nat(), fc.boolean())
  .map(([doc, pick, how, hostile, nearPick, near]) => {
    const all = paths(doc);
    const at = all[pick % all.length];
    const key = String([...at].reverse().find((k) => typeof k === 'string'));
    const misses = NEAR_MISS[key];
    const value = near && misses !== undefined ? structuredClone(misses[nearPick % misses.length]) : hostile;
    return setIn(doc, at, (parent, key) => {
      if (how === 'replace') (parent as Obj)[key] = value;
      else if (how === 'delete') {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Obj)[key];
      } else if (how === 'unknown' && !Array.isArray(parent)) (parent as Obj)[`${String(key)}x`] = value;
      else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(key)]));
      else (parent as Obj)[key] = value;
    });
  });

/** YAML text of a document, as a person would write the file. */
export function toYaml(doc: Json): string {
  return stringify(doc, { lineWidth: 0 });
}
