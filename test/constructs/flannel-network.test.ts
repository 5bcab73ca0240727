import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { FlannelChart } from '../../src/charts/flannel-chart';
import { toEnvironment } from '../../src/model';
import { validateObjects } from '../../src/validation/kubernetes-schema';
import { findObject, K8sObject, parseManifest } from '../support/dist';

const SEED = {
  name: 'seed-dev',
  flannel: { podNetwork: '10.244.0.0/16' },
  clouds: [{ name: 'cloud-a', nicMtu: 1400 }, { name: 'cloud-b', nicMtu: 1400 }],
  links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1380 }],
};

function synth(doc: Record<string, unknown> = SEED): K8sObject[] {
  return Testing.synth(new FlannelChart(Testing.app({ outdir: '/nonexistent' }), 'test', { environment: toEnvironment(doc) }));
}

/** Paths where `actual` lacks something `expected` has; lists of named objects are matched by name. */
function missingFrom(expected: unknown, actual: unknown, at = ''): string[] {
  if (typeof expected === 'string' && expected.trim().startsWith('{') && typeof actual === 'string') {
    return missingFrom(JSON.parse(expected), JSON.parse(actual), `${at}(json)`);
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected a list`];
    return expected.flatMap((e, i) => {
      const named = e && typeof e === 'object' && 'name' in e;
      const match = named ? actual.find((a) => a?.name === e.name) : actual[i];
      return match === undefined ? [`${at}[${named ? e.name : i}]: missing`] : missingFrom(e, match, `${at}[${named ? e.name : i}]`);
    });
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') return [`${at}: expected a mapping`];
    return Object.entries(expected).flatMap(([k, v]) => missingFrom(v, (actual as Record<string, unknown>)[k], `${at}.${k}`));
  }
  // The upstream file writes the resource request "100m" and our quantities are strings too.
  return expected === actual ? [] : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

describe('FlannelNetwork', () => {
  const upstream = parseManifest(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'upstream-kube-flannel.yml'), 'utf8'));

  test('is a superset of upstream kube-flannel.yml v0.28.9: same objects, every field upstream sets', () => {
    const ours = synth();
    expect(ours.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(upstream.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const u of upstream) {
      // The one replaced field: install-cni runs a script that checks the plugin binaries, then
      // copies the same file to the same place as upstream's install-conf (asserted below).
      const replaced = /^DaemonSet\.spec\.template\.spec\.initContainers\[install-cni\]\.(command|args)\[\d\]/;
      expect(missingFrom(u, findObject(ours, u.kind, u.metadata.name), `${u.kind}`).filter((m) => !replaced.test(m))).toEqual([]);
    }
    const upstreamInstall = findObject(upstream, 'DaemonSet').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'install-cni');
    const install = findObject(ours, 'DaemonSet').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'install-cni');
    const env = Object.fromEntries(install.env.map((e: K8sObject) => [e.name, e.value]));
    expect([env.CNI_CONF_SRC, env.CNI_CONF_DEST]).toEqual(upstreamInstall.args);
  });

  test('the DaemonSet rolls one node at a time and never runs two flanneld on a node (what the MTU-change lab assumes)', () => {
    expect(findObject(synth(), 'DaemonSet').spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  });

  test('cni-conf.json: upstream\'s flannel and portmap entries, then tuning with tcp_mtu_probing=1 (pmtud default blackhole)', () => {
    const conf = JSON.parse(findObject(synth(), 'ConfigMap').data['cni-conf.json']);
    expect(conf.plugins.map((p: K8sObject) => p.type)).toEqual(['flannel', 'portmap', 'tuning']);
    expect(conf.plugins[2]).toEqual({ type: 'tuning', sysctl: { 'net.ipv4.tcp_mtu_probing': '1' } });
  });

  test.each([
    // mode -> kernel value (ip-sysctl.rst: 1 = on after a blackhole is detected, 2 = always); baseMss written as given
    [{ mode: 'always', baseMss: 1200 }, { 'net.ipv4.tcp_base_mss': '1200', 'net.ipv4.tcp_mtu_probing': '2' }],
    [{ baseMss: 1024 }, { 'net.ipv4.tcp_base_mss': '1024', 'net.ipv4.tcp_mtu_probing': '1' }],
  ])('pmtud %j: the tuning entry writes %j', (pmtud, sysctl) => {
    const conf = JSON.parse(findObject(synth({ ...SEED, pmtud }), 'ConfigMap').data['cni-conf.json']);
    expect(conf.plugins[2]).toEqual({ type: 'tuning', sysctl });
  });

  test('pmtud off: no tuning entry, and install-cni checks only what upstream\'s list runs', () => {
    const objects = synth({ ...SEED, pmtud: { mode: 'off' } });
    const conf = JSON.parse(findObject(objects, 'ConfigMap').data['cni-conf.json']);
    expect(conf.plugins.map((p: K8sObject) => p.type)).toEqual(['flannel', 'portmap']);
    const install = findObject(objects, 'DaemonSet').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'install-cni');
    expect(install.env.find((e: K8sObject) => e.name === 'CNI_PLUGINS').value).toBe('bridge flannel host-local portmap');
  });

  test('install-cni checks every binary the conflist runs (flannel delegates to bridge + host-local) and mounts the bin dir read-only, no capabilities', () => {
    const install = findObject(synth(), 'DaemonSet').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'install-cni');
    expect(install.command).toEqual(['/bin/sh', '-c']);
    expect(install.env).toEqual([
      { name: 'CNI_CONF_SRC', value: '/etc/kube-flannel/cni-conf.json' },
      { name: 'CNI_CONF_DEST', value: '/etc/cni/net.d/10-flannel.conflist' },
      { name: 'CNI_BIN_DIR', value: '/opt/cni/bin' },
      { name: 'CNI_BIN_DIR_HOST', value: '/opt/cni/bin' },
      { name: 'CNI_PLUGINS', value: 'bridge flannel host-local portmap tuning' },
    ]);
    expect(install.volumeMounts).toContainEqual({ name: 'cni-plugin', mountPath: '/opt/cni/bin', readOnly: true });
    expect(install.securityContext.capabilities).toEqual({ drop: ['ALL'], add: [] });
  });

  test('the parity check can fail', () => {
    expect(missingFrom({ a: [{ name: 'x', b: 1 }] }, { a: [{ name: 'x', b: 2 }] })).toEqual(['.a[x].b: expected 1, got 2']);
  });

  test('net-conf.json always names the backend and carries Backend.MTU as a JSON number', () => {
    const cm = findObject(synth(), 'ConfigMap');
    expect(JSON.parse(cm.data['net-conf.json'])).toEqual({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan', MTU: 1380, VNI: 1 } });
  });

  test('dual-stack net-conf.json enables IPv6 and wireguard has no VNI', () => {
    const cm = findObject(synth({ ...SEED, flannel: { backend: 'wireguard', podNetwork: '10.244.0.0/16', podNetworkV6: 'fd00:10:244::/56' } }), 'ConfigMap');
    // wireguard dual-stack: 1380 - 80 (IPv6 cost) = 1300 for pods; Backend.MTU 1300 + 80 = 1380.
    expect(JSON.parse(cm.data['net-conf.json'])).toEqual({
      Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', EnableNFTables: false, Backend: { Type: 'wireguard', MTU: 1380, Mode: 'separate' },
    });
    expect(JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu).toBe(1300);
  });

  test('the config checksum changes with the MTU and only with the config', () => {
    const checksum = (objects: K8sObject[]) => findObject(objects, 'DaemonSet').spec.template.metadata.annotations['flannel-mtu.io/config-checksum'];
    const base = checksum(synth());
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(synth())).toBe(base);
    expect(checksum(synth({ ...SEED, links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1370 }] }))).not.toBe(base);
  });

  test('cluster-scoped objects carry no namespace; namespaced ones are in kube-flannel', () => {
    for (const o of synth()) {
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind);
      expect([o.kind, o.metadata.namespace]).toEqual([o.kind, clusterScoped ? undefined : 'kube-flannel']);
    }
  });

  test('node init containers run after install-cni and before flanneld, with only the capabilities they need', () => {
    const spec = findObject(synth(), 'DaemonSet').spec.template.spec;
    expect(spec.initContainers.map((c: K8sObject) => c.name)).toEqual(['install-cni-plugin', 'install-cni', 'apply-node-mtu', 'tcp-mss-clamp']);
    const byName = Object.fromEntries(spec.initContainers.map((c: K8sObject) => [c.name, c]));
    expect(byName['apply-node-mtu'].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
    expect(byName['tcp-mss-clamp'].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(byName['tcp-mss-clamp'].volumeMounts).toEqual([{ name: 'xtables-lock', mountPath: '/run/xtables.lock' }]);
    for (const c of [byName['apply-node-mtu'], byName['tcp-mss-clamp']]) {
      expect(c.image).toBe('ghcr.io/flannel-io/flannel:v0.28.9');
      expect(c.command).toEqual(['/bin/sh', '-c']);
      expect(c.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    }
  });

  test('mssClamp disabled keeps the container with no rules, so it removes an old clamp', () => {
    const spec = findObject(synth({ ...SEED, mssClamp: { enabled: false } }), 'DaemonSet').spec.template.spec;
    const clamp = spec.initContainers.find((c: K8sObject) => c.name === 'tcp-mss-clamp');
    expect(clamp.env.filter((e: K8sObject) => e.name.endsWith('_RULES_V4') || e.name.endsWith('_RULES_V6'))).toEqual([
      { name: 'MSS_RULES_V4', value: '' },
      { name: 'MSS_RULES_V6', value: '' },
      { name: 'UNDERLAY_RULES_V4', value: '' },
      { name: 'UNDERLAY_RULES_V6', value: '' },
    ]);
  });

  test('underlay clamp: rules from plan.underlayClamps, NODE_CIDRS from the clouds, HOST_IP from status.hostIP; none when disabled', () => {
    const clouds = SEED.clouds.map((c, i) => ({ ...c, nodeCidrs: [['192.0.2.0/24'], ['198.51.100.0/24']][i] }));
    const env = (enabled: boolean) =>
      findObject(synth({ ...SEED, clouds, mssClamp: { enabled } }), 'DaemonSet').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'tcp-mss-clamp').env;
    expect(env(true).slice(2)).toEqual([
      {
        name: 'UNDERLAY_RULES_V4',
        value: 'cloud-a -d 198.51.100.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340\ncloud-b -d 192.0.2.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340',
      },
      { name: 'UNDERLAY_RULES_V6', value: '' },
      { name: 'NODE_CIDRS', value: 'cloud-a 192.0.2.0/24\ncloud-b 198.51.100.0/24' },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
    ]);
    expect(env(false).find((e: K8sObject) => e.name === 'UNDERLAY_RULES_V4')).toEqual({ name: 'UNDERLAY_RULES_V4', value: '' });
  });

  test('every object passes the Kubernetes schema, and the schema check catches a wrong type', () => {
    const objects = synth();
    expect(validateObjects(objects)).toEqual([]);
    const broken = structuredClone(findObject(objects, 'DaemonSet'));
    broken.spec.template.spec.hostNetwork = 'yes';
    expect(validateObjects([broken])).toEqual([{ object: 'DaemonSet kube-flannel/kube-flannel-ds', message: 'data/spec/template/spec/hostNetwork must be boolean' }]);
  });
});
