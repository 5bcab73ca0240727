import { Chart, Testing } from 'cdk8s';
import { FlannelChart } from '../../src/charts/flannel-chart';
import { toEnvironment } from '../../src/model';
import { FlannelNetwork } from '../../src/constructs/flannel-network';
import { RolloutRestart } from '../../src/constructs/rollout-restart';
import { RouteMtuKeeper } from '../../src/constructs/route-mtu-keeper';
import { overlayMssRules } from '../../src/constructs/tcp-mss-clamp';
import { cloudView, planMtu } from '../../src/mtu';
import { validateObjects } from '../../src/validation/kubernetes-schema';
import { findObject, K8sObject } from '../support/dist';

/** environments/jumbo-per-path.yaml in code: AWS 9001, on-prem 1500, SD-WAN path 1380. */
const JUMBO = {
  name: 'jumbo',
  flannel: { podNetwork: '10.44.0.0/16' },
  mtuMode: 'per-path',
  clouds: [
    { name: 'aws', nicMtu: 9001, nodeSelector: { 'topology.kubernetes.io/region': 'eu-central-1' }, nodeCidrs: ['10.30.0.0/16'] },
    { name: 'onprem', nicMtu: 1500, nodeSelector: { 'topology.kubernetes.io/region': 'onprem-muc' }, nodeCidrs: ['172.16.8.0/22'] },
  ],
  links: [{ between: ['aws', 'onprem'], name: 'sdwan', pathMtu: 1380 }],
};
const UNIFORM = { ...JUMBO, mtuMode: 'uniform' };

const synth = (doc: Record<string, unknown>): K8sObject[] =>
  Testing.synth(new FlannelChart(Testing.app({ outdir: '/nonexistent' }), 'test', { environment: toEnvironment(doc) }));
const names = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const envOf = (c: K8sObject) => Object.fromEntries(c.env.map((e: K8sObject) => [e.name, e.value]));

describe('FlannelNetwork in per-path mode', () => {
  const objects = synth(JUMBO);

  test('one ConfigMap and DaemonSet per cloud; Namespace, RBAC and ServiceAccount once', () => {
    expect(names(objects)).toEqual([
      'Namespace/kube-flannel', 'ClusterRole/flannel', 'ClusterRoleBinding/flannel', 'ServiceAccount/flannel',
      'ConfigMap/kube-flannel-cfg-aws', 'DaemonSet/kube-flannel-ds-aws',
      'ConfigMap/kube-flannel-cfg-onprem', 'DaemonSet/kube-flannel-ds-onprem',
    ]);
    expect(validateObjects(objects)).toEqual([]);
  });

  test.each([
    // cloud, nodeSelector, Backend.MTU, pod MTU (flannel.1, cni0), link MTU to the peer
    ['aws', 'eu-central-1', 9001, 8951, 'onprem 1330'],
    ['onprem', 'onprem-muc', 1500, 1450, 'aws 1330'],
  ])('%s (region %s): its own Backend.MTU %d, pod MTU %d, device MTUs, nodeSelector and keeper env (%s)', (cloud, region, backendMtu, podMtu, linkMtus) => {
    const cm = findObject(objects, 'ConfigMap', `kube-flannel-cfg-${cloud}`);
    expect(JSON.parse(cm.data['net-conf.json'])).toEqual({ Network: '10.44.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan', MTU: backendMtu, VNI: 1 } });
    expect(JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu).toBe(podMtu);
    expect(cm.metadata.labels['flannel-mtu.io/cloud']).toBe(cloud);
    expect(cm.metadata.annotations['flannel-mtu.io/plan']).toContain(`cloud ${cloud}, underlay ${backendMtu} (bound by cloud ${cloud}), Backend.MTU ${backendMtu}, pod MTU ${podMtu}, MSS ${podMtu - 40}, routes to ${linkMtus.split(' ')[0]} mtu 1330 (link sdwan)`);

    const ds = findObject(objects, 'DaemonSet', `kube-flannel-ds-${cloud}`);
    const spec = ds.spec.template.spec;
    expect(spec.nodeSelector).toEqual({ 'topology.kubernetes.io/region': region });
    expect(ds.spec.selector.matchLabels).toEqual({ 'app': 'flannel', 'flannel-mtu.io/cloud': cloud });
    expect(ds.spec.template.metadata.labels).toEqual({ 'tier': 'node', 'app': 'flannel', 'flannel-mtu.io/cloud': cloud });
    expect(spec.volumes.find((v: K8sObject) => v.name === 'flannel-cfg').configMap.name).toBe(`kube-flannel-cfg-${cloud}`);
    const init = Object.fromEntries(spec.initContainers.map((c: K8sObject) => [c.name, c]));
    // the NIC check: pod MTU + VXLAN 50 is the cloud's whole NIC (per-path fills it)
    expect(envOf(init['apply-node-mtu'])).toEqual({ DEVICE_MTUS: `cni0=${podMtu} flannel.1=${podMtu}`, NIC_MTU_NEEDED: String(podMtu + 50), NODE_NAME: undefined, HOST_IP: undefined });
    expect(envOf(init['tcp-mss-clamp']).MSS_RULES_V4).toBe('-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu');

    expect(spec.containers.map((c: K8sObject) => c.name)).toEqual(['kube-flannel', 'route-mtu-keeper']);
    const keeper = spec.containers[1];
    expect(envOf(keeper)).toEqual({
      CLOUD: cloud,
      LINK_MTUS: linkMtus,
      NODE_CIDRS: cloud === 'aws' ? 'aws 10.30.0.0/16\nonprem 172.16.8.0/22' : 'onprem 172.16.8.0/22\naws 10.30.0.0/16',
      OVERLAY_DEVICES: 'flannel.1',
      STATUS_DIR: '/run/route-mtu-keeper',
      RECHECK_SECONDS: '30',
    });
    expect(keeper.image).toBe('ghcr.io/flannel-io/flannel:v0.28.9');
    expect(keeper.command).toEqual(['/bin/sh', '-c']);
    expect(keeper.securityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } });
    expect(keeper.readinessProbe).toEqual({ exec: { command: ['grep', '-qx', 'ready', '/run/route-mtu-keeper/ready'] }, periodSeconds: 10 });
    expect(keeper.volumeMounts).toEqual([{ name: 'route-mtu-keeper', mountPath: '/run/route-mtu-keeper' }]);
    expect(spec.volumes.find((v: K8sObject) => v.name === 'route-mtu-keeper')).toEqual({ name: 'route-mtu-keeper', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } });
  });

  test('flanneld itself is upstream\'s in every cloud (same container, probes, capabilities)', () => {
    const uniformFlanneld = findObject(synth(UNIFORM), 'DaemonSet').spec.template.spec.containers[0];
    for (const cloud of ['aws', 'onprem']) {
      expect(findObject(objects, 'DaemonSet', `kube-flannel-ds-${cloud}`).spec.template.spec.containers[0]).toEqual(uniformFlanneld);
    }
  });

  test('dual-stack: the keeper watches both devices; the clamp clamps to the route MTU on both', () => {
    const ds = findObject(synth({ ...JUMBO, flannel: { podNetwork: '10.44.0.0/16', podNetworkV6: 'fd00:10:44::/56' }, clouds: JUMBO.clouds.map((c, i) => ({ ...c, nodeCidrs: [...c.nodeCidrs, `2001:db8:${i + 1}::/48`] })) }), 'DaemonSet', 'kube-flannel-ds-aws');
    const spec = ds.spec.template.spec;
    expect(envOf(spec.containers[1]).OVERLAY_DEVICES).toBe('flannel.1 flannel-v6.1');
    // aws: 9001 - 70 (IPv6) = 8931 for every device; link 1380 - 70 = 1310.
    expect(envOf(spec.containers[1]).LINK_MTUS).toBe('onprem 1310');
    expect(envOf(spec.initContainers.find((c: K8sObject) => c.name === 'apply-node-mtu'))).toEqual({
      DEVICE_MTUS: 'cni0=8931 flannel-v6.1=8931 flannel.1=8931',
      // dual-stack: the NIC must carry 8931 + VXLAN over IPv6 70 = 9001
      NIC_MTU_NEEDED: '9001',
      NODE_NAME: undefined,
      HOST_IP: undefined,
    });
    expect(envOf(spec.initContainers.find((c: K8sObject) => c.name === 'tcp-mss-clamp')).MSS_RULES_V6).toBe('-o flannel-v6.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu');
  });
});

describe('uniform mode is unchanged', () => {
  test('the same clouds in uniform mode: upstream names, no keeper, --set-mss, one MTU for all', () => {
    const objects = synth(UNIFORM);
    expect(names(objects)).toEqual(['Namespace/kube-flannel', 'ClusterRole/flannel', 'ClusterRoleBinding/flannel', 'ServiceAccount/flannel', 'ConfigMap/kube-flannel-cfg', 'DaemonSet/kube-flannel-ds']);
    const spec = findObject(objects, 'DaemonSet').spec.template.spec;
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.containers.map((c: K8sObject) => c.name)).toEqual(['kube-flannel']);
    expect(JSON.parse(findObject(objects, 'ConfigMap').data['net-conf.json']).Backend.MTU).toBe(1380);
    expect(envOf(spec.initContainers.find((c: K8sObject) => c.name === 'tcp-mss-clamp')).MSS_RULES_V4).toBe('-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290');
  });

  test('a uniform cloud view is the plan itself, so rendering from it changes nothing', () => {
    const plan = planMtu(toEnvironment(UNIFORM));
    expect(cloudView(plan, 'aws')).toEqual(plan);
    expect(overlayMssRules(cloudView(plan, 'aws'))).toEqual(overlayMssRules(plan));
  });
});

describe('construct validation', () => {
  const plan = planMtu(toEnvironment(JUMBO));
  const flannel = toEnvironment(JUMBO).flannel;
  const chart = () => Testing.chart();

  test('fails when a cloud has an empty nodeSelector (its DaemonSet would run everywhere)', () => {
    expect(() => new FlannelNetwork(chart(), 'f', { plan, flannel, clouds: [{ name: 'aws', nodeSelector: {}, plan: cloudView(plan, 'aws') }] }))
      .toThrow(/f\/nodes-aws: cloud.nodeSelector: cloud "aws" needs labels that select its nodes/);
  });

  test('fails when a cloud is listed twice, or clouds is empty, or nodeInitContainers is given with clouds', () => {
    const c = { name: 'aws', nodeSelector: { a: 'b' }, plan: cloudView(plan, 'aws') };
    expect(() => new FlannelNetwork(chart(), 'f', { plan, flannel, clouds: [c, c] })).toThrow(/clouds: cloud "aws" is listed twice/);
    expect(() => new FlannelNetwork(chart(), 'f', { plan, flannel, clouds: [] })).toThrow(/clouds: expected at least one cloud/);
    expect(() => new FlannelNetwork(chart(), 'f', { plan, flannel, clouds: [c], nodeInitContainers: [] })).toThrow(/nodeInitContainers: give each cloud its own/);
  });

  test('per-path FlannelNetwork has no single DaemonSet to hand out', () => {
    const f = new FlannelNetwork(chart(), 'f', { plan, flannel, clouds: [{ name: 'aws', nodeSelector: { a: 'b' }, plan: cloudView(plan, 'aws') }] });
    expect(f.nodeSets.map((n) => n.daemonSet.name)).toEqual(['kube-flannel-ds-aws']);
    expect(() => f.daemonSet).toThrow(/per-path mode has one flannel DaemonSet per cloud: use nodeSets/);
  });

  test('fails when a keeper is made for a uniform plan or an unknown cloud', () => {
    expect(() => new RouteMtuKeeper(chart(), 'k', { plan: planMtu(toEnvironment(UNIFORM)), cloud: 'aws', image: 'x' })).toThrow(/a route-MTU keeper belongs to mtuMode per-path/);
    expect(() => new RouteMtuKeeper(chart(), 'k', { plan, cloud: 'gcp', image: 'x' })).toThrow(/cloud "gcp" is not in the plan \(clouds: aws, onprem\)/);
    expect(() => new RouteMtuKeeper(chart(), 'k', { plan, cloud: 'aws', image: 'x', recheckSeconds: 0 })).toThrow(/recheckSeconds: expected an integer between 1 and 3600, got 0/);
  });
});

describe('environment validation for per-path', () => {
  test.each([
    ['wireguard', { ...JUMBO, flannel: { backend: 'wireguard', podNetwork: '10.44.0.0/16' } }, /mtuMode: mtuMode per-path needs the vxlan backend .* got "wireguard"/],
    ['no nodeCidrs', { ...JUMBO, clouds: JUMBO.clouds.map(({ nodeCidrs: _n, ...c }) => c) }, /mtuMode per-path needs nodeCidrs on cloud "aws"/],
  ])('fails when %s', (_name, doc, message) => {
    expect(() => toEnvironment(doc)).toThrow(message);
  });

  test('rollout is accepted: the Job waits for every per-cloud DaemonSet, and the Role names exactly those', () => {
    const env = toEnvironment({ ...JUMBO, rollout: { namespaces: ['shop'] } });
    expect(env.rollout).toEqual({ enabled: true, namespaces: ['shop'], timeoutSeconds: 600 });
    const objects = synth({ ...JUMBO, rollout: { namespaces: ['shop'] } });
    const job = findObject(objects, 'Job');
    expect(envOf(job.spec.template.spec.containers[0]).FLANNEL_DAEMONSETS).toBe('kube-flannel-ds-aws kube-flannel-ds-onprem');
    expect(findObject(objects, 'Role', 'flannel-mtu-rollout-wait-flannel').rules).toEqual([
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['kube-flannel-ds-aws', 'kube-flannel-ds-onprem'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(job.metadata.annotations['flannel-mtu.io/plan']).toBe('restarts pods for cloud aws pod MTU 8951, MSS 8911; cloud onprem pod MTU 1450, MSS 1410');
    // Both DaemonSets (and every flannel object) in wave 0, before the Job's wave 1; the Job last.
    for (const ds of ['kube-flannel-ds-aws', 'kube-flannel-ds-onprem']) {
      expect(findObject(objects, 'DaemonSet', ds).metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('0');
    }
    expect(job.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('1');
    expect(objects.indexOf(job)).toBe(objects.length - 1);
    expect(validateObjects(objects)).toEqual([]);
  });

  test('the Job name follows every cloud\'s numbers, not only the smallest pod MTU; a link-only change keeps it (no pod changes MTU)', () => {
    const jobName = (doc: Record<string, unknown>) => findObject(synth(doc), 'Job').metadata.name as string;
    const base = { ...JUMBO, rollout: { namespaces: ['shop'] } };
    // AWS 9001 -> 8500: aws pod MTU 8951 -> 8450; the cluster-wide smallest (the SD-WAN's 1330) stays.
    const smaller = { ...base, clouds: [{ ...JUMBO.clouds[0], nicMtu: 8500 }, JUMBO.clouds[1]] };
    expect(planMtu(toEnvironment(smaller)).podMtu).toBe(planMtu(toEnvironment(base)).podMtu);
    expect(jobName(smaller)).not.toBe(jobName(base));
    expect(jobName(base)).toBe(jobName(base));
    // SD-WAN 1380 -> 1360: only the link's overlay (route) MTU moves, 1330 -> 1310; pods keep 8951 / 1450.
    expect(jobName({ ...base, links: [{ ...JUMBO.links[0], pathMtu: 1360 }] })).toBe(jobName(base));
  });
});

describe('RolloutRestart with a per-path plan', () => {
  const plan = planMtu(toEnvironment(JUMBO));
  const chart = () => new Chart(Testing.app({ outdir: '/nonexistent' }), 'c');
  test('the DaemonSet names must be given (FlannelNetwork.daemonSetNames), valid and distinct', () => {
    expect(() => new RolloutRestart(chart(), 'r', { plan, namespaces: ['shop'] })).toThrow(/r: flannelDaemonSets: mtuMode per-path has one flannel DaemonSet per cloud; pass FlannelNetwork.daemonSetNames/);
    expect(() => new RolloutRestart(chart(), 'r', { plan, namespaces: ['shop'], flannelDaemonSets: [] })).toThrow(/flannelDaemonSets: expected at least one DaemonSet/);
    expect(() => new RolloutRestart(chart(), 'r', { plan, namespaces: ['shop'], flannelDaemonSets: ['a', 'a'] })).toThrow(/flannelDaemonSets: a is listed twice/);
    expect(() => new RolloutRestart(chart(), 'r', { plan, namespaces: ['shop'], flannelDaemonSets: ['ds; id'] })).toThrow(/flannelDaemonSets: expected DaemonSet names .* got "ds; id"/);
  });
});
