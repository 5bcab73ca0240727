import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { ContainerResources, DEFAULT_CNI_PLUGINS, DEFAULT_IMAGES, Distribution, DISTRIBUTIONS, InterfaceSelection, ResolvedEnvironment, ResolvedFlannelSettings } from '../model/environment';
import { nodeScript } from '../node/scripts';
import { nodeScriptContainer } from './node-script-container';
import { MtuPlan, peerLinks } from '../mtu/plan';
import { CNI_BIN_MOUNT, cniPluginBinaries, installCniContainer } from './install-cni';
import {
  ANNOTATION_PREFIX,
  FLANNEL_CLUSTER_ROLE,
  FLANNEL_DAEMON_SET,
  FLANNEL_NAMESPACE,
  FLANNEL_SERVICE_ACCOUNT,
  flannelConfigMapName,
  flannelDaemonSetName,
} from './names';

export interface FlannelNetworkProps {
  /** The MTU plan; every MTU in net-conf.json and cni-conf.json comes from it. */
  readonly plan: MtuPlan;
  /** Pod networks, backend, VNI and port. */
  readonly flannel: ResolvedFlannelSettings;
  /**
   * Container images.
   * @default - flannel v0.28.9 and flannel-cni-plugin v1.9.1-flannel3, as upstream kube-flannel.yml
   */
  readonly images?: ResolvedEnvironment['images'];
  /**
   * Node init containers to run after the CNI config is installed and before flanneld starts
   * (for example `NodeMtu.container` and `TcpMssClamp.container`), in this order. Only for the
   * single cluster-wide DaemonSet; with `clouds`, each cloud brings its own.
   * @default - none
   */
  readonly nodeInitContainers?: readonly k8s.Container[];
  /**
   * Per-path mode: one ConfigMap and DaemonSet per cloud, each rendered from that cloud's view of
   * the plan (`cloudView(plan, cloud)`) and placed by the cloud's nodeSelector, instead of the
   * single `kube-flannel-cfg` / `kube-flannel-ds`. Namespace, RBAC and ServiceAccount stay single.
   * @default - one ConfigMap and DaemonSet for the whole cluster, under upstream's names
   */
  readonly clouds?: readonly FlannelCloudProps[];
  /**
   * The distribution the nodes run: on k3s an init container links k3s's bundled CNI plugins into
   * `flannel.cniBinDir` where the node has none of its own.
   * @default 'kubeadm'
   */
  readonly distribution?: Distribution;
  /**
   * Run kube-network-policies next to flanneld in every flannel pod (the chart's `netpol`), with
   * the RBAC it needs added to flannel's ClusterRole.
   * @default - no policy controller
   */
  readonly networkPolicies?: NetworkPolicyController;
}

/** The kube-network-policies container the chart runs with `netpol.enabled`. */
export interface NetworkPolicyController {
  readonly image: string;
  readonly args: readonly string[];
}

/** One cloud's flannel in per-path mode. */
export interface FlannelCloudProps {
  /** The cloud's name; the objects are `kube-flannel-cfg-<name>` and `kube-flannel-ds-<name>`. */
  readonly name: string;
  /** Labels that select the cloud's nodes: the DaemonSet's nodeSelector. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** The cloud's view of the plan (`cloudView`): its Backend.MTU, pod MTU and device MTUs. */
  readonly plan: MtuPlan;
  /**
   * Node init containers for this cloud's DaemonSet (its `NodeMtu` and `TcpMssClamp`), in order.
   * @default - none
   */
  readonly nodeInitContainers?: readonly k8s.Container[];
  /**
   * Containers that run next to flanneld in this cloud's pods (its `RouteMtuKeeper`).
   * @default - none
   */
  readonly sidecars?: readonly k8s.Container[];
  /**
   * Extra pod volumes the init containers and sidecars mount.
   * @default - none
   */
  readonly volumes?: readonly k8s.Volume[];
  /**
   * This cloud's flanneld interface selection, instead of the cluster-wide one in `flannel`.
   * @default - `flannel.iface`, `ifaceRegex`, `ifaceCanReach`
   */
  readonly interfaces?: InterfaceSelection;
}

const XTABLES_LOCK = 'xtables-lock';
const FLANNEL_LABELS = { 'k8s-app': 'flannel' };
const NODE_LABELS = { 'tier': 'node', 'app': 'flannel', 'k8s-app': 'flannel' };

/**
 * Everything upstream kube-flannel.yml (v0.28.9) installs, with net-conf.json and cni-conf.json
 * carrying the planned MTU: Namespace, ClusterRole, ClusterRoleBinding, ServiceAccount, ConfigMap
 * and DaemonSet, under the upstream names so it replaces an upstream install in place. With
 * `clouds` (per-path mode), one `FlannelNodeSet` (ConfigMap + DaemonSet) per cloud instead.
 */
export class FlannelNetwork extends Construct {
  /** The ConfigMap + DaemonSet pairs: one for the cluster, or one per cloud in per-path mode. */
  public readonly nodeSets: readonly FlannelNodeSet[];

  constructor(scope: Construct, id: string, props: FlannelNetworkProps) {
    super(scope, id);
    const { plan, flannel } = props;
    const images = props.images ?? DEFAULT_IMAGES;

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
        // the chart's rules for netpol.enabled (templates/rbac.yaml @ v0.28.9)
        ...(props.networkPolicies !== undefined ? [
          { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
          { apiGroups: ['policy.networking.k8s.io'], resources: ['adminnetworkpolicies', 'baselineadminnetworkpolicies'], verbs: ['list', 'watch'] },
        ] : []),
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

    if (props.clouds === undefined) {
      this.nodeSets = [new FlannelNodeSet(this, 'nodes', { plan, flannel, images, nodeInitContainers: props.nodeInitContainers, distribution: props.distribution, networkPolicies: props.networkPolicies })];
      return;
    }
    if (props.nodeInitContainers !== undefined) {
      throw new Error(`${this.node.path}: nodeInitContainers: give each cloud its own (clouds[].nodeInitContainers) when clouds is set`);
    }
    if (props.clouds.length === 0) throw new Error(`${this.node.path}: clouds: expected at least one cloud, or leave clouds out for one cluster-wide DaemonSet`);
    const seen = new Set<string>();
    for (const c of props.clouds) {
      if (seen.has(c.name)) throw new Error(`${this.node.path}: clouds: cloud "${c.name}" is listed twice`);
      seen.add(c.name);
    }
    this.nodeSets = props.clouds.map((c) => new FlannelNodeSet(this, `nodes-${c.name}`, {
      plan: c.plan,
      flannel,
      images,
      nodeInitContainers: c.nodeInitContainers,
      cloud: { name: c.name, nodeSelector: c.nodeSelector },
      sidecars: c.sidecars,
      volumes: c.volumes,
      interfaces: c.interfaces,
      distribution: props.distribution,
      networkPolicies: props.networkPolicies,
    }));
  }

  /**
   * The names of the flannel DaemonSets, in the order of `nodeSets`: `kube-flannel-ds`, or in
   * per-path mode `kube-flannel-ds-<cloud>` per cloud in file order. What a rollout waits for.
   */
  public get daemonSetNames(): string[] { return this.nodeSets.map((n) => n.daemonSet.name); }

  /** The cluster-wide node set; per-path mode has one per cloud (`nodeSets`). */
  private get single(): FlannelNodeSet {
    if (this.nodeSets.length !== 1 || this.nodeSets[0].cloud !== undefined) {
      throw new Error(`${this.node.path}: per-path mode has one flannel DaemonSet per cloud: use nodeSets`);
    }
    return this.nodeSets[0];
  }
  /** The net-conf.json flanneld reads (`Backend.MTU` is the underlay MTU; flannel subtracts its overhead). Uniform mode only. */
  public get netConf(): Record<string, unknown> { return this.single.netConf; }
  /** The CNI config list; the flannel plugin passes `delegate.mtu` to the bridge plugin for cni0 and pod veths. Uniform mode only. */
  public get cniConf(): Record<string, unknown> { return this.single.cniConf; }
  /** sha256 of the ConfigMap data, on the pod template so a changed MTU rolls the DaemonSet. Uniform mode only. */
  public get configChecksum(): string { return this.single.configChecksum; }
  /** Uniform mode only. */
  public get daemonSet(): k8s.KubeDaemonSet { return this.single.daemonSet; }
}

export interface FlannelNodeSetProps {
  /** The plan, or one cloud's view of it (`cloudView`): net-conf.json and cni-conf.json come from it. */
  readonly plan: MtuPlan;
  /** Pod networks, backend, VNI and port. */
  readonly flannel: ResolvedFlannelSettings;
  /** Container images. */
  readonly images: ResolvedEnvironment['images'];
  /**
   * Node init containers to run after install-cni and before flanneld, in this order.
   * @default - none
   */
  readonly nodeInitContainers?: readonly k8s.Container[];
  /**
   * The cloud this node set serves: suffixes the names with `-<cloud>`, places the DaemonSet with
   * the cloud's nodeSelector and labels its pods `flannel-mtu.io/cloud: <cloud>`.
   * @default - the whole cluster, under upstream's names kube-flannel-cfg / kube-flannel-ds
   */
  readonly cloud?: { readonly name: string; readonly nodeSelector: Readonly<Record<string, string>> };
  /**
   * Containers next to flanneld.
   * @default - none
   */
  readonly sidecars?: readonly k8s.Container[];
  /**
   * Extra pod volumes.
   * @default - none
   */
  readonly volumes?: readonly k8s.Volume[];
  /**
   * flanneld's interface selection.
   * @default - `flannel.iface`, `ifaceRegex`, `ifaceCanReach`
   */
  readonly interfaces?: InterfaceSelection;
  /**
   * The distribution the nodes run.
   * @default 'kubeadm'
   */
  readonly distribution?: Distribution;
  /**
   * kube-network-policies next to flanneld.
   * @default - none
   */
  readonly networkPolicies?: NetworkPolicyController;
}

/**
 * The per-node part of flannel for one plan or one cloud's view of it: the ConfigMap with
 * net-conf.json and cni-conf.json, and the DaemonSet that runs flanneld (upstream's, plus the node
 * init containers and, per cloud, sidecars). `FlannelNetwork` composes one or one per cloud.
 */
export class FlannelNodeSet extends Construct {
  /** The net-conf.json flanneld reads (`Backend.MTU` is the underlay MTU; flannel subtracts its overhead). */
  public readonly netConf: Record<string, unknown>;
  /** The CNI config list; the flannel plugin passes `delegate.mtu` to the bridge plugin for cni0 and pod veths. */
  public readonly cniConf: Record<string, unknown>;
  /** sha256 of the ConfigMap data, on the pod template so a changed MTU rolls the DaemonSet. */
  public readonly configChecksum: string;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly daemonSet: k8s.KubeDaemonSet;
  /** The cloud, when this node set serves one. */
  public readonly cloud?: string;

  constructor(scope: Construct, id: string, props: FlannelNodeSetProps) {
    super(scope, id);
    const { plan, flannel, images } = props;
    const cloud = props.cloud;
    if (cloud !== undefined) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(cloud.name) || flannelDaemonSetName(cloud.name).length > 63) {
        throw new Error(`${this.node.path}: cloud.name: expected a lowercase DNS label that keeps ${FLANNEL_DAEMON_SET}-<name> within 63 characters, got ${JSON.stringify(cloud.name)}`);
      }
      if (Object.keys(cloud.nodeSelector).length === 0) {
        throw new Error(`${this.node.path}: cloud.nodeSelector: cloud "${cloud.name}" needs labels that select its nodes, or its DaemonSet would run on every node`);
      }
      this.cloud = cloud.name;
    }
    const configMapName = flannelConfigMapName(cloud?.name);
    const cloudLabel: Record<string, string> = cloud === undefined ? {} : { [`${ANNOTATION_PREFIX}/cloud`]: cloud.name };

    this.netConf = netConfJson(plan, flannel);
    this.cniConf = cniConfJson(plan, flannel);
    const data = {
      'cni-conf.json': `${JSON.stringify(this.cniConf, null, 2)}\n`,
      'net-conf.json': `${JSON.stringify(this.netConf, null, 2)}\n`,
    };
    this.configChecksum = createHash('sha256').update(JSON.stringify(data)).digest('hex');

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: {
        name: configMapName,
        namespace: FLANNEL_NAMESPACE,
        labels: { ...NODE_LABELS, ...cloudLabel },
        annotations: { [`${ANNOTATION_PREFIX}/plan`]: planSummary(plan, cloud?.name) },
      },
      data,
    });

    const mount = (name: string, mountPath: string, readOnly?: boolean) => ({ name, mountPath, ...(readOnly && { readOnly }) });
    const psk = flannel.backend === 'wireguard' ? flannel.psk : undefined;
    const healthz = flannel.healthzPort;
    const args = flanneldArgs(flannel, props.interfaces ?? flannel, psk !== undefined);
    const bundled = DISTRIBUTIONS[props.distribution ?? 'kubeadm'].bundledPluginDirs;
    const k3sData = bundled.length > 0 ? commonDir(bundled) : undefined;
    const k3sMount = k3sData !== undefined ? [mount(BUNDLED_PLUGINS_VOLUME, k3sData, true)] : [];
    const installCni = installCniContainer({ image: images.flannel, conflist: this.cniConf, cniBinDirOnHost: flannel.cniBinDir });
    this.daemonSet = new k8s.KubeDaemonSet(this, 'daemon-set', {
      metadata: { name: flannelDaemonSetName(cloud?.name), namespace: FLANNEL_NAMESPACE, labels: { ...NODE_LABELS, ...cloudLabel } },
      spec: {
        selector: { matchLabels: { app: 'flannel', ...cloudLabel } },
        // One node at a time, never two flanneld on a node (hostNetwork healthz port): each node's
        // devices and clamp change with its own flannel pod, and the rollout Job waits for all of them.
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1), maxSurge: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: {
            labels: { tier: 'node', app: 'flannel', ...cloudLabel },
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
            ...((cloud !== undefined || flannel.nodeSelector !== undefined) && { nodeSelector: { ...flannel.nodeSelector, ...cloud?.nodeSelector } }),
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: flannel.tolerations.map((t) => ({ ...t })),
            serviceAccountName: FLANNEL_SERVICE_ACCOUNT,
            initContainers: [
              {
                name: 'install-cni-plugin',
                image: images.flannelCniPlugin,
                command: ['cp'],
                args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                volumeMounts: [mount('cni-plugin', '/opt/cni/bin')],
              },
              ...(bundled.length > 0 ? [linkCniPluginsContainer(images.flannel, this.cniConf, bundled, k3sMount)] : []),
              // install-cni checks the plugin binaries; links into k3s's data dir resolve through its mount
              ...(flannel.skipCNIConfigInstallation ? [] : [{ ...installCni, volumeMounts: [...installCni.volumeMounts ?? [], ...k3sMount] }]),
              ...(psk !== undefined ? [netConfPskContainer(images.flannel)] : []),
              ...(props.nodeInitContainers ?? []),
            ],
            containers: [
              {
                name: 'kube-flannel',
                image: images.flannel,
                command: ['/opt/bin/flanneld'],
                args,
                ...(healthz > 0 && {
                  ports: [{ name: 'healthz', containerPort: healthz, protocol: 'TCP' }],
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
                }),
                resources: quantities(flannel.resources),
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
                  ...(psk !== undefined ? [mount(PSK_NET_CONF_VOLUME, PSK_NET_CONF_DIR, true)] : []),
                ],
              },
              ...(props.networkPolicies !== undefined ? [networkPolicyContainer(props.networkPolicies)] : []),
              ...(props.sidecars ?? []),
            ],
            volumes: [
              { name: 'run', hostPath: { path: '/run/flannel' } },
              { name: 'cni-plugin', hostPath: { path: flannel.cniBinDir } },
              ...(flannel.skipCNIConfigInstallation ? [] : [{ name: 'cni', hostPath: { path: flannel.cniConfDir } }]),
              { name: 'flannel-cfg', configMap: { name: configMapName } },
              { name: XTABLES_LOCK, hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              ...(props.networkPolicies !== undefined ? [{ name: 'lib-modules', hostPath: { path: '/lib/modules' } }] : []),
              ...(k3sData !== undefined ? [{ name: BUNDLED_PLUGINS_VOLUME, hostPath: { path: k3sData, type: 'Directory' } }] : []),
              ...(psk !== undefined ? [
                { name: PSK_SECRET_VOLUME, secret: { secretName: psk.secretName, items: [{ key: psk.key ?? 'psk', path: 'psk' }], defaultMode: 0o400 } },
                { name: PSK_NET_CONF_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
              ] : []),
              ...(props.volumes ?? []),
            ],
          },
        },
      },
    });
  }
}

/** The volume node init containers mount to share iptables' lock with flanneld and kube-proxy. */
export const XTABLES_LOCK_MOUNT: k8s.VolumeMount = { name: XTABLES_LOCK, mountPath: '/run/xtables.lock' };

/**
 * net-conf.json: Backend.Type is always written (a missing Backend means udp in flannel, not vxlan).
 * A wireguard pre-shared key is never written here: `netConfPskContainer` adds it on the node.
 */
export function netConfJson(plan: MtuPlan, flannel: ResolvedFlannelSettings): Record<string, unknown> {
  const backend: Record<string, unknown> = { Type: plan.backend };
  if (plan.backendMtu !== null) backend.MTU = plan.backendMtu;
  const port = flannel.backendPort ?? flannel.port;
  if (plan.backend === 'vxlan') {
    backend.VNI = flannel.vni;
    if (port !== undefined) backend.Port = port;
    if (flannel.GBP !== undefined) backend.GBP = flannel.GBP;
    if (flannel.directRouting !== undefined) backend.DirectRouting = flannel.directRouting;
  }
  if (plan.backend === 'wireguard') {
    if (port !== undefined) backend.ListenPort = port;
    if (flannel.backendPortv6 !== undefined) backend.ListenPortV6 = flannel.backendPortv6;
    // written even when it is flannel's default, so the devices the plan names are the ones flanneld creates
    if (plan.tunnelMode !== null) backend.Mode = plan.tunnelMode;
    if (flannel.keepaliveInterval !== undefined) backend.PersistentKeepaliveInterval = flannel.keepaliveInterval;
  }
  return {
    Network: flannel.podNetwork,
    ...(flannel.podNetworkV6 !== undefined && { EnableIPv6: true, IPv6Network: flannel.podNetworkV6 }),
    EnableNFTables: flannel.enableNFTables,
    Backend: backend,
  };
}

/**
 * cni-conf.json, the one place the conflist is built: flannel first, with `delegate.mtu` (it
 * overrides FLANNEL_MTU, so cni0 and pod veths get the planned MTU even where flannel takes none),
 * then `flannel.cniPlugins` (default portmap) in order, and unless pmtud is off a `tuning` entry
 * that sets the plan's PMTUD sysctls (tcp_mtu_probing, tcp_base_mss) in every new pod's network
 * namespace.
 */
export function cniConfJson(plan: MtuPlan, flannel: Pick<ResolvedFlannelSettings, 'cniPlugins'> = { cniPlugins: DEFAULT_CNI_PLUGINS }): Record<string, unknown> {
  const sysctls = plan.pmtud.sysctls;
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true, mtu: plan.podMtu } },
      ...flannel.cniPlugins.map((p) => structuredClone(p)),
      ...(Object.keys(sysctls).length > 0 ? [{ type: 'tuning', sysctl: { ...sysctls } }] : []),
    ],
  };
}

/** flanneld's arguments: upstream's, the interface selection, the PSK copy of net-conf.json, then `flannel.args`. */
export function flanneldArgs(flannel: ResolvedFlannelSettings, interfaces: InterfaceSelection, psk: boolean): string[] {
  return [
    '--ip-masq',
    '--kube-subnet-mgr',
    ...(flannel.healthzPort > 0 ? [`--healthz-port=${flannel.healthzPort}`] : []),
    ...(interfaces.iface ?? []).map((i) => `--iface=${i}`),
    ...(interfaces.ifaceRegex ?? []).map((i) => `--iface-regex=${i}`),
    ...(interfaces.ifaceCanReach !== undefined ? [`--iface-can-reach=${interfaces.ifaceCanReach}`] : []),
    ...(psk ? [`--net-config-path=${PSK_NET_CONF_DIR}/net-conf.json`] : []),
    ...flannel.args,
  ];
}

function quantities(r: ContainerResources): k8s.ResourceRequirements {
  const q = (m: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, k8s.Quantity.fromString(v)]));
  return { ...(r.requests && { requests: q(r.requests) }), ...(r.limits && { limits: q(r.limits) }) };
}

const BUNDLED_PLUGINS_VOLUME = 'distribution-cni-plugins';

/** The chart's kube-network-policies container (templates/daemonset.yaml @ v0.28.9), as it is there. */
function networkPolicyContainer(c: NetworkPolicyController): k8s.Container {
  return {
    name: 'kube-network-policies',
    image: c.image,
    command: ['/bin/netpol'],
    args: [...c.args],
    env: [{ name: 'MY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    volumeMounts: [{ name: 'lib-modules', mountPath: '/lib/modules', readOnly: true }],
    resources: { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('50Mi') } },
    securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
  };
}

/** The deepest directory holding all of `dirs` (k3s: its data dir, /var/lib/rancher/k3s/data). */
function commonDir(dirs: readonly string[]): string {
  const parts = dirs.map((d) => d.split('/'));
  const common: string[] = [];
  for (let i = 0; parts.every((p) => i < p.length - 1 && p[i] === parts[0][i]); i++) common.push(parts[0][i]);
  return common.join('/') || '/';
}

/**
 * k3s: links each plugin the conflist runs (and loopback, which containerd runs itself) that the
 * node's cniBinDir lacks to k3s's own copy, before install-cni checks them.
 */
function linkCniPluginsContainer(image: string, conflist: Record<string, unknown>, dirs: readonly string[], mounts: k8s.VolumeMount[]): k8s.Container {
  const plugins = [...new Set([...cniPluginBinaries(conflist).filter((p) => p !== 'flannel'), 'loopback'])].sort();
  return nodeScriptContainer({
    name: 'link-cni-plugins',
    image,
    script: nodeScript('link-cni-plugins.sh'),
    env: { CNI_BIN_DIR: CNI_BIN_MOUNT, K3S_CNI_DIRS: dirs.join(' '), CNI_PLUGINS: plugins.join(' ') },
    capabilities: [],
    volumeMounts: [{ name: 'cni-plugin', mountPath: CNI_BIN_MOUNT }, ...mounts],
  });
}

const PSK_SECRET_VOLUME = 'flannel-mtu-psk';
const PSK_NET_CONF_VOLUME = 'flannel-mtu-net-conf';
const PSK_NET_CONF_DIR = '/run/flannel-mtu';

/**
 * The init container that gives flanneld net-conf.json with the wireguard pre-shared key: flanneld
 * reads the key only from `Backend.PSK` in that file (pkg/backend/wireguard @ v0.28.9), so the
 * ConfigMap's copy plus the key from the Secret is written to a memory volume only flanneld mounts.
 */
function netConfPskContainer(image: string): k8s.Container {
  return nodeScriptContainer({
    name: 'net-conf-psk',
    image,
    script: nodeScript('net-conf-psk.sh'),
    env: { NET_CONF: '/etc/kube-flannel/net-conf.json', PSK_FILE: '/run/flannel-mtu-psk/psk', NET_CONF_OUT: `${PSK_NET_CONF_DIR}/net-conf.json` },
    capabilities: [],
    volumeMounts: [
      { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/', readOnly: true },
      { name: PSK_SECRET_VOLUME, mountPath: '/run/flannel-mtu-psk', readOnly: true },
      { name: PSK_NET_CONF_VOLUME, mountPath: PSK_NET_CONF_DIR },
    ],
  });
}

/**
 * One line a reviewer can read in `kubectl get configmap -o yaml`; for one cloud's view of a
 * per-path plan, the cloud's numbers and the route MTU toward each other cloud.
 */
export function planSummary(plan: MtuPlan, cloud?: string): string {
  const v6 = plan.dualStack ? `/${plan.underlayMtuV6}` : '';
  const routes = cloud === undefined ? [] : peerLinks(plan, cloud).map(({ peer, link }) => `routes to ${peer} mtu ${link.overlayMtu} (link ${link.name})`);
  return [
    ...(cloud === undefined ? [] : [`cloud ${cloud}`]),
    `underlay ${plan.underlayMtu}${v6} (bound by ${plan.binding.kind} ${plan.binding.name})`,
    plan.backendMtu !== null ? `Backend.MTU ${plan.backendMtu}` : `${plan.backend} (no Backend.MTU)`,
    `pod MTU ${plan.podMtu}`,
    `MSS ${plan.mss}${plan.mssV6 !== null ? `/${plan.mssV6}` : ''}`,
    ...routes,
  ].join(', ');
}
