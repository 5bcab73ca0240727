import * as fs from 'fs';
import * as path from 'path';
import { findObject, K8sObject, parseManifest, REPO } from '../support/dist';

const seed = parseManifest(fs.readFileSync(path.join(REPO, 'dist', 'seed-dev.k8s.yaml'), 'utf8'));

describe('PathMtuProbe (dist/seed-dev.k8s.yaml)', () => {
  test('one DaemonSet per cloud, on that cloud\'s nodes, measuring toward the other cloud', () => {
    const probes = seed.filter((o: K8sObject) => o.kind === 'DaemonSet' && o.metadata.name.startsWith('flannel-mtu-probe-'));
    expect(probes.map((p: K8sObject) => [p.metadata.name, p.spec.template.spec.nodeSelector])).toEqual([
      ['flannel-mtu-probe-cloud-a', { 'topology.kubernetes.io/region': 'cloud-a', 'kubernetes.io/os': 'linux' }],
      ['flannel-mtu-probe-cloud-b', { 'topology.kubernetes.io/region': 'cloud-b', 'kubernetes.io/os': 'linux' }],
    ]);
    const env = (name: string) => Object.fromEntries(findObject(seed, 'DaemonSet', name).spec.template.spec.containers[0].env.map((e: K8sObject) => [e.name, e.value]));
    // The SD-WAN link was declared at 1380; both NICs are 1400, the search's upper bound.
    expect(env('flannel-mtu-probe-cloud-a').PROBE_TARGETS).toBe('sdwan cloud-b 4 10.119.96.10 1380 1400');
    expect(env('flannel-mtu-probe-cloud-b').PROBE_TARGETS).toBe('sdwan cloud-a 4 192.168.1.130 1380 1400');
  });

  test('sends pings only: NET_RAW, no API token, hostNetwork, Ready only while healthy', () => {
    const spec = findObject(seed, 'DaemonSet', 'flannel-mtu-probe-cloud-a').spec.template.spec;
    const [c] = spec.containers;
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } });
    expect(spec).toMatchObject({ hostNetwork: true, automountServiceAccountToken: false });
    expect(c.readinessProbe.exec.command).toEqual(['grep', '-qx', 'healthy', '/run/path-mtu-probe/status']);
  });
});
