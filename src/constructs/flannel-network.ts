import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { DEFAULT_IMAGES, FlannelSettings, Images } from '../config/environment';
import { MtuPlan } from '../mtu/plan';
import {
  ANNOTATION_PREFIX,
  FLANNEL_CLUSTER_ROLE,
  FLANNEL_CONFIG_MAP,
  FLANNEL_DAEMON_SET,
  FLANNEL_NAMESPACE,
  FLANNEL_SERVICE_ACCOUNT,
} from './names';

export interface FlannelNetworkProps {
  /** The MTU plan; every MTU in net-conf.json and cni-conf.json comes from it. */
  readonly plan: MtuPlan;
  /** Pod networks, backend, VNI and port. */
  readonly flannel: FlannelSettings;
  /**
   * Container images.
   * @default - flannel v0.28.9 and flannel-cni-plugin v1.9.1-flannel3, as upstream kube-flannel.yml
   */
  readonly images?: Images;
  /**
   * Node init containers to run after the CNI config is installed and before flanneld starts
   * (for example `NodeMtu.container` and `TcpMssClamp.container`), in this order.
   * @default - none
   */
  readonly nodeInitContainers?: readonly k8s.Container[];
}

const XTABLES_LOCK = 'xtables-lock';
const FLANNEL_LABELS = { 'k8s-app': 'flannel' };
const NODE_LABELS = { 'tier': 'node', 'app': 'flannel', 'k8s-app': 'flannel' };

/**
 * Everything upstream kube-flannel.yml (v0.28.9) installs, with net-conf.json and cni-conf.json
 * carrying the planned MTU: Namespace, ClusterRole, ClusterRoleBinding, ServiceAccount, ConfigMap
 * and DaemonSet, under the upstream names so it replaces an upstream install in place.
 */
export class FlannelNetwork extends Construct {
  /** The net-conf.json flanneld reads (`Backend.MTU` is the underlay MTU; flannel subtracts its overhead). */
  public readonly netConf: Record<string, unknown>;
  /** The CNI config list; the flannel plugin passes `delegate.mtu` to the bridge plugin for cni0 and pod veths. */
  public readonly cniConf: Record<string, unknown>;
  /** sha256 of the ConfigMap data, on the pod template so a changed MTU rolls the DaemonSet. */
  public readonly configChecksum: string;
  public readonly daemonSet: k8s.KubeDaemonSet;

  constructor(scope: Construct, id: string, props: FlannelNetworkProps) {
    super(scope, id);
    const { plan, flannel } = props;
    const images = props.images ?? DEFAULT_IMAGES;

    this.netConf = netConfJson(plan, flannel);
    this.cniConf = cniConfJson(plan);
    const data = {
      'cni-conf.json': `${JSON.stringify(this.cniConf, null, 2)}\n`,
      'net-conf.json': `${JSON.stringify(this.netConf, null, 2)}\n`,
    };
    this.configChecksum = createHash('sha256').update(JSON.stringify(data)).digest('hex');

    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: FLANNEL_NAMESPACE,
        labels: { ...FLANNEL_LABELS, 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    });
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: { name: FLANNEL_CLUSTER_ROLE, labels: FLANNEL_LABELS },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: FLANNEL_CLUSTER_ROLE, labels: FLANNEL_LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: FLANNEL_CLUSTER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: FLANNEL_SERVICE_ACCOUNT, namespace: FLANNEL_NAMESPACE }],
    });
    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: FLANNEL_SERVICE_ACCOUNT, namespace: FLANNEL_NAMESPACE, labels: FLANNEL_LABELS },
    });
    new k8s.KubeConfigMap(this, 'config', {
      metadata: {
        name: FLANNEL_CONFIG_MAP,
        namespace: FLANNEL_NAMESPACE,
        labels: NODE_LABELS,
        annotations: { [`${ANNOTATION_PREFIX}/plan`]: planSummary(plan) },
      },
      data,
    });

    const mount = (name: string, mountPath: string) => ({ name, mountPath });
    this.daemonSet = new k8s.KubeDaemonSet(this, 'daemon-set', {
      metadata: { name: FLANNEL_DAEMON_SET, namespace: FLANNEL_NAMESPACE, labels: NODE_LABELS },
      spec: {
        selector: { matchLabels: { app: 'flannel' } },
        template: {
          metadata: {
            labels: { tier: 'node', app: 'flannel' },
            annotations: { [`${ANNOTATION_PREFIX}/config-checksum`]: this.configChecksum },
          },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
                },
              },
            },
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            serviceAccountName: FLANNEL_SERVICE_ACCOUNT,
            initContainers: [
              {
                name: 'install-cni-plugin',
                image: images.flannelCniPlugin,
                command: ['cp'],
                args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                volumeMounts: [mount('cni-plugin', '/opt/cni/bin')],
              },
              {
                name: 'install-cni',
                image: images.flannel,
                command: ['/opt/bin/install-conf'],
                args: ['/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
                volumeMounts: [mount('cni', '/etc/cni/net.d'), mount('flannel-cfg', '/etc/kube-flannel/')],
              },
              ...(props.nodeInitContainers ?? []),
            ],
            containers: [
              {
                name: 'kube-flannel',
                image: images.flannel,
                command: ['/opt/bin/flanneld'],
                args: ['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081'],
                ports: [{ name: 'healthz', containerPort: 8081, protocol: 'TCP' }],
                livenessProbe: {
                  httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('healthz') },
                  initialDelaySeconds: 10,
                  periodSeconds: 30,
                },
                readinessProbe: {
                  httpGet: { path: '/readyz', port: k8s.IntOrString.fromString('healthz') },
                  initialDelaySeconds: 5,
                  periodSeconds: 10,
                },
                resources: {
                  requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('50Mi') },
                },
                securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                  { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
                ],
                volumeMounts: [
                  mount('run', '/run/flannel'),
                  mount('flannel-cfg', '/etc/kube-flannel/'),
                  mount(XTABLES_LOCK, '/run/xtables.lock'),
                ],
              },
            ],
            volumes: [
              { name: 'run', hostPath: { path: '/run/flannel' } },
              { name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } },
              { name: 'cni', hostPath: { path: '/etc/cni/net.d' } },
              { name: 'flannel-cfg', configMap: { name: FLANNEL_CONFIG_MAP } },
              { name: XTABLES_LOCK, hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
            ],
          },
        },
      },
    });
  }
}

/** The volume node init containers mount to share iptables' lock with flanneld and kube-proxy. */
export const XTABLES_LOCK_MOUNT: k8s.VolumeMount = { name: XTABLES_LOCK, mountPath: '/run/xtables.lock' };

/** net-conf.json: Backend.Type is always written (a missing Backend means udp in flannel, not vxlan). */
export function netConfJson(plan: MtuPlan, flannel: FlannelSettings): Record<string, unknown> {
  const backend: Record<string, unknown> = { Type: plan.backend };
  if (plan.backendMtu !== null) backend.MTU = plan.backendMtu;
  if (plan.backend === 'vxlan') {
    backend.VNI = flannel.vni;
    if (flannel.port !== undefined) backend.Port = flannel.port;
  }
  return {
    Network: flannel.podNetwork,
    ...(flannel.podNetworkV6 !== undefined && { EnableIPv6: true, IPv6Network: flannel.podNetworkV6 }),
    EnableNFTables: false,
    Backend: backend,
  };
}

/** cni-conf.json: `delegate.mtu` overrides FLANNEL_MTU, so cni0 and pod veths get the planned MTU even where flannel takes none. */
export function cniConfJson(plan: MtuPlan): Record<string, unknown> {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true, mtu: plan.podMtu } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** One line a reviewer can read in `kubectl get configmap -o yaml`. */
export function planSummary(plan: MtuPlan): string {
  const v6 = plan.dualStack ? `/${plan.underlayMtuV6}` : '';
  return [
    `underlay ${plan.underlayMtu}${v6} (bound by ${plan.binding.kind} ${plan.binding.name})`,
    plan.backendMtu !== null ? `Backend.MTU ${plan.backendMtu}` : `${plan.backend} (no Backend.MTU)`,
    `pod MTU ${plan.podMtu}`,
    `MSS ${plan.mss}${plan.mssV6 !== null ? `/${plan.mssV6}` : ''}`,
  ].join(', ');
}
