import * as fs from 'fs';
import { parseEnvironment } from '../../src/config/load';
import { synthEnvironments } from '../../src/synth';
import { readmeRuleGroups } from '../support/alert-rules';
import { findObject, fixtureFile, fixtureManifest, K8sObject, parseManifest } from '../support/dist';

const seed = parseManifest(fixtureManifest('seed-dev'));

describe('PathMtuProbe (the seed-dev fixture, synthesized)', () => {
  test('one DaemonSet per cloud, on that cloud\'s nodes, measuring toward the other cloud', () => {
    const probes = seed.filter((o: K8sObject) => o.kind === 'DaemonSet' && o.metadata.name.startsWith('flannel-mtu-probe-'));
    expect(probes.map((p: K8sObject) => [p.metadata.name, p.spec.template.spec.nodeSelector])).toEqual([
      ['flannel-mtu-probe-cloud-a', { 'topology.kubernetes.io/region': 'cloud-a', 'kubernetes.io/os': 'linux' }],
      ['flannel-mtu-probe-cloud-b', { 'topology.kubernetes.io/region': 'cloud-b', 'kubernetes.io/os': 'linux' }],
    ]);
    const env = (name: string) => Object.fromEntries(findObject(seed, 'DaemonSet', name).spec.template.spec.containers[0].env.map((e: K8sObject) => [e.name, e.value ?? e.valueFrom]));
    // The SD-WAN link was declared at 1380; both NICs are 1400, the search's upper bound. The peers
    // are the other cloud's `nodes`, in the file's order: cloud-b has one (10.119.96.10), cloud-a
    // two (192.168.1.130 dev-master, 192.168.1.131 dev-worker), so cloud-b's nodes spread over both.
    expect(env('flannel-mtu-probe-cloud-a')).toMatchObject({ PROBE_CLOUD: 'cloud-a', PROBE_TARGETS: 'sdwan cloud-b 4 10.119.96.10 1380 1400' });
    expect(env('flannel-mtu-probe-cloud-b')).toMatchObject({ PROBE_CLOUD: 'cloud-b', PROBE_TARGETS: 'sdwan cloud-a 4 192.168.1.130,192.168.1.131 1380 1400' });
    // Each node picks its peer from its own name: the kubelet fills NODE_NAME in.
    for (const name of ['flannel-mtu-probe-cloud-a', 'flannel-mtu-probe-cloud-b']) expect(env(name).NODE_NAME).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
  });

  test('dual stack, three clouds (the hybrid-prod fixture): one line per other cloud and family, every node of the family a peer', () => {
    const prod = parseManifest(fixtureManifest('hybrid-prod'));
    const targets = (cloud: string) => findObject(prod, 'DaemonSet', `flannel-mtu-probe-${cloud}`).spec.template.spec.containers[0].env.find((e: K8sObject) => e.name === 'PROBE_TARGETS').value.split('\n');
    // Read by hand from test/fixtures/environments/hybrid-prod.yaml: every cloud lists one IPv4 and
    // one IPv6 node. onprem's links, in the file's order: dx to aws-eu (pathMtu 1500, no pathMtuV6
    // so IPv6 is declared at 1500 too; max min(1500, 9001) = 1500), sdwan to gcp-eu (1420 and
    // pathMtuV6 1410; max min(1500, 1460) = 1460).
    expect(targets('onprem')).toEqual([
      'dx aws-eu 4 10.20.1.10 1500 1500',
      'dx aws-eu 6 2001:db8:20::10 1500 1500',
      'sdwan gcp-eu 4 10.156.0.10 1420 1460',
      'sdwan gcp-eu 6 2001:db8:60::10 1410 1460',
    ]);
  });

  test('sends pings only: NET_RAW, no API token, hostNetwork, Ready only while healthy', () => {
    const spec = findObject(seed, 'DaemonSet', 'flannel-mtu-probe-cloud-a').spec.template.spec;
    const [c] = spec.containers;
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } });
    expect(spec).toMatchObject({ hostNetwork: true, automountServiceAccountToken: false });
    expect(c.readinessProbe.exec.command).toEqual(['grep', '-qx', 'healthy', '/run/path-mtu-probe/status']);
  });

  test('writes its metrics into node-exporter\'s textfile directory: one hostPath, created if missing, mounted where PROBE_METRICS_DIR points', () => {
    const spec = findObject(seed, 'DaemonSet', 'flannel-mtu-probe-cloud-a').spec.template.spec;
    const [c] = spec.containers;
    expect(spec.volumes.find((v: K8sObject) => v.name === 'metrics')).toEqual({ name: 'metrics', hostPath: { path: '/var/lib/node_exporter/textfile_collector', type: 'DirectoryOrCreate' } });
    const mount = c.volumeMounts.find((m: K8sObject) => m.name === 'metrics');
    expect(c.env.find((e: K8sObject) => e.name === 'PROBE_METRICS_DIR').value).toBe(mount.mountPath);
    // The only hostPath: the probe writes nothing else on the node.
    expect(spec.volumes.filter((v: K8sObject) => v.hostPath !== undefined)).toHaveLength(1);
  });
});

describe('PathMtuProbe metrics settings', () => {
  const probeSpec = (probe: string) => {
    const text = `${fs.readFileSync(fixtureFile('seed-dev'), 'utf8').replace(/^probe:\n(  .*\n)+/m, '')}probe:\n${probe}`;
    const { environment } = parseEnvironment(text, 'seed-dev.yaml');
    const objects = synthEnvironments([{ environment }])[0].objects as K8sObject[];
    return findObject(objects, 'DaemonSet', 'flannel-mtu-probe-cloud-a').spec.template.spec;
  };

  test('textfileDirectory moves the hostPath; metrics: false removes it and PROBE_METRICS_DIR', () => {
    expect(probeSpec('  textfileDirectory: /var/lib/prometheus/node-exporter\n').volumes[1].hostPath.path).toBe('/var/lib/prometheus/node-exporter');
    const off = probeSpec('  metrics: false\n');
    expect(off.volumes.map((v: K8sObject) => v.name)).toEqual(['status']);
    expect(off.containers[0].env.map((e: K8sObject) => e.name)).not.toContain('PROBE_METRICS_DIR');
  });

  test.each(['var/lib/textfile', '/var/lib/../../etc', '/', '/var/lib/text file'])('fails on textfileDirectory %j, naming the key', (dir) => {
    expect(() => probeSpec(`  textfileDirectory: "${dir}"\n`)).toThrow(/probe\.textfileDirectory: expected an absolute directory path of letters, digits and \._-, without \.\./);
  });
});

describe('README: the example alert rules', () => {
  // The PrometheusRule in the README must only name series the shipped script writes, with status
  // values it writes, or the alerts silently never fire.
  const script = findObject(seed, 'DaemonSet', 'flannel-mtu-probe-cloud-a').spec.template.spec.containers[0].args[0] as string;
  const written = new Set([...script.matchAll(/emit\("(flannel_mtu_probe_[a-z_]+)"/g)].map((m) => m[1]));

  test('every expression names a series the probe writes, and a status it can have', () => {
    const rules = readmeRuleGroups().flatMap((g: K8sObject) => g.rules);
    expect(rules.map((r: K8sObject) => r.alert)).toEqual(['FlannelMtuPathTooSmall', 'FlannelMtuPeerUnreachable', 'FlannelMtuPeerSilent', 'FlannelMtuProbeStale', 'FlannelMtuPathWasted']);
    for (const r of rules) {
      const names = [...String(r.expr).matchAll(/flannel_mtu_probe_[a-z_]+/g)].map((m) => m[0]);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(written).toContain(n);
      for (const [, status] of String(r.expr).matchAll(/status="([^"]+)"/g)) expect(script).toContain(status);
    }
  });
});

