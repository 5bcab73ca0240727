/**
 * The typed model of one cluster environment, shared by config (YAML files), plan, constructs and
 * report. `Environment` is the input: what `environments/<env>.yaml` holds and what a library user
 * passes to `FlannelChart` or `planMtu`, optional wherever a default exists.
 * `ResolvedEnvironment` is the same with every default filled in (see `resolveEnvironment`): what
 * the plan and the constructs read.
 */

/** Flannel backends flannel-mtu can plan for. */
export type BackendType = 'vxlan' | 'wireguard' | 'host-gw';
export const BACKEND_TYPES: readonly BackendType[] = ['vxlan', 'wireguard', 'host-gw'];

/**
 * flannel's wireguard `Backend.Mode`. `separate`: flannel-wg carries IPv4 over the IPv4 underlay
 * and, when dual-stack, flannel-wg-v6 carries IPv6 over the IPv6 underlay. `auto`: one flannel-wg
 * carries both families, over IPv4 or IPv6 chosen per peer (IPv6 only for a peer whose IPv4
 * address is private and whose IPv6 address is not). flannel's `ipv4` and `ipv6` (one tunnel
 * over a fixed family) are not supported.
 */
export type WireguardTunnelMode = 'separate' | 'auto';
export const WIREGUARD_TUNNEL_MODES: readonly WireguardTunnelMode[] = ['separate', 'auto'];
/** flannel's default `Backend.Mode`. */
export const DEFAULT_TUNNEL_MODE: WireguardTunnelMode = 'separate';

/**
 * How flanneld picks the interface (NIC) it sends overlay traffic through: its `--iface`,
 * `--iface-regex` and `--iface-can-reach` arguments, tried in that order. The NIC whose MTU the plan
 * uses (`clouds[].nicMtu`) must be the one flannel picks.
 */
export interface InterfaceSelection {
  /**
   * Interface names or addresses, tried in order (`--iface`, repeated); the first that exists wins.
   * @default - none
   */
  readonly iface?: readonly string[];
  /**
   * Regular expressions tried in order against the IPv4 addresses, then the names, of the node's
   * interfaces (`--iface-regex`, repeated).
   * @default - none
   */
  readonly ifaceRegex?: readonly string[];
  /**
   * An address: flannel uses the interface of the route to it (`--iface-can-reach`). flanneld takes
   * one address, tried after iface and ifaceRegex.
   * @default - none
   */
  readonly ifaceCanReach?: string;
}

export interface FlannelSettings extends InterfaceSelection {
  /**
   * The flannel backend (`Backend.Type` in net-conf.json).
   * @default 'vxlan'
   */
  readonly backend?: BackendType;
  /** IPv4 pod network, `Network` in net-conf.json, e.g. `10.244.0.0/16`. */
  readonly podNetwork: string;
  /**
   * IPv6 pod network (`IPv6Network`); present means dual-stack.
   * @default - single-stack IPv4
   */
  readonly podNetworkV6?: string;
  /**
   * VXLAN network identifier; flannel names the devices `flannel.<vni>` and `flannel-v6.<vni>`.
   * @default 1
   */
  readonly vni?: number;
  /**
   * VXLAN UDP port (`Backend.Port`); the same as `backendPort`, kept for existing files.
   * @default - the kernel default, 8472 (flannel sends Port 0)
   */
  readonly port?: number;
  /**
   * wireguard only: which tunnels flannel creates (`Backend.Mode`), see `WireguardTunnelMode`.
   * @default 'separate'
   */
  readonly tunnelMode?: WireguardTunnelMode;
  /**
   * The backend's UDP port, as the chart's `flannel.backendPort`: vxlan `Backend.Port`, wireguard
   * `Backend.ListenPort`.
   * @default - vxlan: the kernel's 8472; wireguard: 51820
   */
  readonly backendPort?: number;
  /**
   * Wireguard only: the UDP port of the IPv6 device flannel-wg-v6 (`Backend.ListenPortV6`).
   * @default 51821
   */
  readonly backendPortv6?: number;
  /**
   * VXLAN only: Group Based Policy (`Backend.GBP`); the VXLAN header keeps its 8 bytes, so the MTU
   * does not change.
   * @default false
   */
  readonly GBP?: boolean;
  /**
   * VXLAN only (`Backend.DirectRouting`): between nodes on one subnet flannel routes pod traffic
   * directly over the NIC, without VXLAN. Those packets are still at most the pod MTU (cni0 and pod
   * eth0 are set to it), so same-subnet traffic leaves the encapsulation bytes of the NIC unused.
   * @default false
   */
  readonly directRouting?: boolean;
  /**
   * Wireguard only: a pre-shared key from a Secret in namespace kube-flannel, never written into the
   * ConfigMap. An init container merges it into a copy of net-conf.json (`Backend.PSK`) on a memory
   * volume that flanneld reads through `--net-config-path`.
   * @default - no pre-shared key
   */
  readonly psk?: PskSecret;
  /**
   * Wireguard only: persistent keepalive in seconds (`Backend.PersistentKeepaliveInterval`).
   * @default 0 (off)
   */
  readonly keepaliveInterval?: number;
  /**
   * Where the CNI plugin binaries live on the node (the install-cni-plugin hostPath).
   * @default - the distribution's (kubeadm: /opt/cni/bin)
   */
  readonly cniBinDir?: string;
  /**
   * Where the container runtime reads CNI configuration on the node (the install-cni hostPath).
   * @default - the distribution's (kubeadm: /etc/cni/net.d)
   */
  readonly cniConfDir?: string;
  /**
   * Leave out the install-cni init container, for clusters whose CNI config is written by something
   * else. That config must then carry the pod MTU itself (`delegate.mtu` in cni-conf.json).
   * @default false
   */
  readonly skipCNIConfigInstallation?: boolean;
  /**
   * net-conf.json `EnableNFTables`: flanneld writes its masquerade and forward rules with nftables.
   * @default false
   */
  readonly enableNFTables?: boolean;
  /**
   * Extra flanneld arguments, each `--flag` or `--flag=value`, appended after the ones flannel-mtu
   * sets (`--ip-masq`, `--kube-subnet-mgr`, `--healthz-port`, the iface flags, `--net-config-path`),
   * which may not be repeated here.
   * @default - none
   */
  readonly args?: readonly string[];
  /**
   * Resources of the kube-flannel container.
   * @default - upstream's: requests cpu 100m, memory 50Mi
   */
  readonly resources?: ContainerResources;
  /**
   * Tolerations of the flannel pods.
   * @default - upstream kube-flannel.yml's: [{ operator: Exists, effect: NoSchedule }]
   */
  readonly tolerations?: readonly Toleration[];
  /**
   * Node labels the flannel DaemonSet is restricted to (`flannel.nodeSelector` of the chart). In
   * per-path mode each cloud's own nodeSelector is added to it.
   * @default - every Linux node
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * flanneld's health port (`--healthz-port`, the container port and the liveness and readiness
   * probes); 0 turns all of them off.
   * @default 8081
   */
  readonly healthzPort?: number;
  /**
   * The CNI plugins chained after flannel in cni-conf.json, each a plugin config with a `type`.
   * Setting it replaces the default: list portmap too to keep hostPort support.
   * @default - [{ type: portmap, capabilities: { portMappings: true } }]
   */
  readonly cniPlugins?: readonly CniPlugin[];
}

/** A wireguard pre-shared key kept in a Secret. */
export interface PskSecret {
  /** Name of the Secret in namespace kube-flannel. */
  readonly secretName: string;
  /**
   * The key in the Secret whose value is the base64 WireGuard key (`wg genpsk`).
   * @default 'psk'
   */
  readonly key?: string;
}

/** Kubernetes resource requests and limits (cpu, memory, ephemeral-storage quantities). */
export interface ContainerResources {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

/** A Kubernetes toleration. */
export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

/** One CNI plugin config in the conflist (`type` names the binary in cniBinDir). */
export interface CniPlugin {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface Cloud extends InterfaceSelection {
  /** Cloud (site) name, a lowercase DNS label. */
  readonly name: string;
  /** MTU of the underlay NIC of every node in this cloud. */
  readonly nicMtu: number;
  /**
   * Path MTU between two nodes inside this cloud, when the cloud's fabric carries less than
   * its NICs (some clouds' overlays do).
   * @default - nicMtu
   */
  readonly fabricMtu?: number;
  /**
   * Labels that select this cloud's nodes.
   * @default - none
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * Node addresses. The path-MTU probe measures toward the first of each family; otherwise
   * documentation. When the cloud declares `nodeCidrs`, every address must lie in one of them.
   * @default - none
   */
  readonly nodes?: readonly string[];
  /**
   * Underlay subnets of this cloud's nodes (IPv4 and/or IPv6), in canonical form. When every
   * cloud declares them, node-to-node TCP between clouds is MSS-clamped to the link's path MTU,
   * and a node finds its cloud by matching its host IP against them.
   * @default - none (no underlay clamp)
   */
  readonly nodeCidrs?: readonly string[];
}

export interface Link {
  /** The two clouds this link joins. */
  readonly between: readonly [string, string];
  /**
   * A name for reports.
   * @default - `<a>~<b>`
   */
  readonly name?: string;
  /** IPv4 path MTU across the link: measured, or the link MTU minus the encapsulation overhead. */
  readonly pathMtu: number;
  /**
   * IPv6 path MTU across the link, when it differs.
   * @default - pathMtu
   */
  readonly pathMtuV6?: number;
}

export interface MssClampSettings {
  /**
   * Install the TCPMSS clamp on every node. When false the clamp init container still runs, to
   * remove a clamp an earlier version installed.
   * @default true
   */
  readonly enabled?: boolean;
}

export interface RolloutSettings {
  /**
   * Generate the rollout-restart Job (and its RBAC). When false nothing is generated, and a GitOps
   * tool prunes a Job generated earlier.
   * @default true (when the `rollout` section is present)
   */
  readonly enabled?: boolean;
  /**
   * Namespaces whose Deployments, StatefulSets and DaemonSets are restarted, one namespace at a
   * time, in this order. Required when enabled: there is no all-namespaces mode, because that
   * needs a ClusterRole that can patch every workload's pod template (cluster-admin in effect).
   * @default - none (required when enabled)
   */
  readonly namespaces?: readonly string[];
  /**
   * Label selector restricting the workloads restarted in those namespaces: comma-separated
   * `key`, `!key`, `key=value` or `key!=value` terms.
   * @default - every Deployment, StatefulSet and DaemonSet in the namespaces
   */
  readonly selector?: string;
  /**
   * How long the Job waits for flannel's DaemonSet, and then for each restarted workload, to roll out.
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * Allow `kube-system` and `kube-flannel` in `namespaces`. Off by default: the Job's Role there
   * can patch the pod template of kube-proxy, CoreDNS or flannel's own DaemonSet, which run as
   * root (or privileged) on every node.
   * @default false
   */
  readonly allowSystemNamespaces?: boolean;
}

export interface ProbeSettings {
  /**
   * Generate a path-MTU probe DaemonSet per cloud (needs every cloud's nodeSelector and at least
   * one address in `nodes` of every cloud it measures toward).
   * @default true (when the `probe` section is present)
   */
  readonly enabled?: boolean;
  /**
   * Seconds between measurement rounds.
   * @default 300
   */
  readonly intervalSeconds?: number;
  /**
   * Bytes a measured path MTU may exceed the declared one before it is reported as wasted.
   * @default 10
   */
  readonly marginBytes?: number;
  /**
   * Write Prometheus metrics (measured and declared path MTU, status and time of the last round,
   * per link and family) after every round, as a node-exporter textfile in `textfileDirectory`.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * The directory on each node that node-exporter's textfile collector reads
   * (`--collector.textfile.directory`); the probe mounts it (hostPath, created if missing) and
   * replaces `flannel-mtu-probe.prom` in it.
   * @default '/var/lib/node_exporter/textfile_collector'
   */
  readonly textfileDirectory?: string;
}

/**
 * Packetization-layer path-MTU discovery (RFC 4821) in every pod: `net.ipv4.tcp_mtu_probing`,
 * set in each pod's network namespace by the CNI `tuning` plugin chained in cni-conf.json.
 * `blackhole` (1): TCP keeps its MSS until full-size segments time out repeatedly (an ICMP
 * blackhole, e.g. an SD-WAN path that shrank), then probes down from `baseMss` and back up, so the
 * connection recovers instead of hanging. `always` (2): probes on every connection (costly with
 * many short-lived connections). `off`: no tuning plugin in the conflist; pods keep the kernel
 * default 0.
 */
export type PmtudMode = 'blackhole' | 'always' | 'off';
export const PMTUD_MODES: readonly PmtudMode[] = ['blackhole', 'always', 'off'];

export interface PmtudSettings {
  /**
   * `net.ipv4.tcp_mtu_probing` in every pod: blackhole = 1, always = 2, off = no tuning plugin.
   * @default 'blackhole'
   */
  readonly mode?: PmtudMode;
  /**
   * `net.ipv4.tcp_base_mss` in every pod: the MSS a connection falls back to when probing starts,
   * at most the planned MSS. Pod traffic only: host-network sockets use the node's sysctls.
   * @default - not written; the kernel's default (1024) applies
   */
  readonly baseMss?: number;
}

/**
 * `uniform`: one pod MTU for the whole cluster, the smallest path's. `per-path`: each cloud's pods
 * get that cloud's own maximum and routes to other clouds' pod subnets carry the link's MTU.
 */
export type MtuMode = 'uniform' | 'per-path';

export interface Images {
  /** @default 'ghcr.io/flannel-io/flannel:v0.28.9' */
  readonly flannel?: string;
  /** @default 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3' */
  readonly flannelCniPlugin?: string;
  /**
   * The official kubectl image for the rollout Job; pin its minor to the cluster's (kubectl
   * supports +/-1 minor of skew).
   * @default 'registry.k8s.io/kubectl:v1.33.4'
   */
  readonly kubectl?: string;
  /**
   * A static busybox whose `sh` runs the rollout Job's script inside the shell-less kubectl image.
   * @default 'docker.io/library/busybox:1.37.0-musl'
   */
  readonly busybox?: string;
}

export interface Environment {
  /** Environment name, a lowercase DNS label; names the output. In a file it defaults to the file name. */
  readonly name: string;
  readonly flannel: FlannelSettings;
  readonly clouds: readonly Cloud[];
  /**
   * Every pair of clouds needs exactly one link.
   * @default - none (one cloud)
   */
  readonly links?: readonly Link[];
  /** @default - the clamp enabled */
  readonly mssClamp?: MssClampSettings;
  /** @default - upstream v0.28.9's images */
  readonly images?: Images;
  /**
   * Restart overlay workloads after flannel rolled out a changed MTU (see `RolloutRestart`).
   * @default - no rollout Job
   */
  readonly rollout?: RolloutSettings;
  /** @default - no probe */
  readonly probe?: ProbeSettings;
  /** @default 'uniform' */
  readonly mtuMode?: MtuMode;
  /** @default - mode blackhole (tcp_mtu_probing=1 in every pod), tcp_base_mss left at the kernel's */
  readonly pmtud?: PmtudSettings;
  /**
   * Names of Secrets in namespace kube-flannel to pull the images with (the chart's
   * `global.imagePullSecrets`), on every pod flannel-mtu generates.
   * @default - none
   */
  readonly imagePullSecrets?: readonly string[];
  /**
   * The Kubernetes distribution the cluster runs: what differs for flannel is where the node's CNI
   * plugins are (see `DISTRIBUTIONS`). k3s and RKE2 must be started without their own CNI.
   * @default 'kubeadm'
   */
  readonly distribution?: Distribution;
  /**
   * NetworkPolicy enforcement next to flanneld, as the chart's `netpol`: a kube-network-policies
   * container in every flannel pod, and the RBAC it needs.
   * @default - none
   */
  readonly netpol?: NetpolSettings;
}

/** The chart's `netpol` values: kube-network-policies (sigs.k8s.io) in the flannel pods. */
export interface NetpolSettings {
  /** @default true (when the `netpol` section is present) */
  readonly enabled?: boolean;
  /**
   * Its arguments.
   * @default - the chart's: ["--hostname-override=$(MY_NODE_NAME)", "--v=2"]
   */
  readonly args?: readonly string[];
  /**
   * Its image (the chart's `netpol.image.repository` and `tag`).
   * @default 'registry.k8s.io/networking/kube-network-policies:v1.0.0'
   */
  readonly image?: string;
}

/** The chart v0.28.9's netpol defaults. */
export const DEFAULT_NETPOL = {
  args: ['--hostname-override=$(MY_NODE_NAME)', '--v=2'],
  image: 'registry.k8s.io/networking/kube-network-policies:v1.0.0',
} as const;

/** Distributions flannel-mtu knows how to install flannel on. */
export type Distribution = 'kubeadm' | 'k3s' | 'rke2';

/** What differs per distribution, with where each fact comes from. */
export interface DistributionFacts {
  /** The container runtime's CNI plugin and config directories when the distribution runs no CNI of its own. */
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  /** Where the distribution keeps CNI plugins of its own on the node, newest layout first, to link into cniBinDir. */
  readonly bundledPluginDirs: readonly string[];
}

export const DISTRIBUTIONS: Readonly<Record<Distribution, DistributionFacts>> = {
  // kubeadm: the kubernetes-cni package and the container runtimes' defaults.
  kubeadm: { cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', bundledPluginDirs: [] },
  // k3s --flannel-backend=none: k3s sets containerd's CNI dirs only for its own flannel
  // (pkg/executor/embed/embed.go), so containerd's defaults apply; its plugins stay in its data dir.
  k3s: { cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', bundledPluginDirs: ['/var/lib/rancher/k3s/data/cni', '/var/lib/rancher/k3s/data/current/bin'] },
  // RKE2 cni: none: RKE2 runs k3s's agent with flannel-backend none (pkg/cli/defaults/defaults.go);
  // each of its CNI charts brings its own plugins (hardened-cni-plugins), so with none there are none.
  rke2: { cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', bundledPluginDirs: [] },
};
export const DISTRIBUTION_NAMES: readonly Distribution[] = ['kubeadm', 'k3s', 'rke2'];

/** `FlannelSettings` with its defaults filled in; `tunnelMode` is filled in for wireguard only. */
export type ResolvedFlannelSettings = FlannelSettings & {
  readonly backend: BackendType;
  readonly vni: number;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly skipCNIConfigInstallation: boolean;
  readonly enableNFTables: boolean;
  readonly args: readonly string[];
  readonly resources: ContainerResources;
  readonly tolerations: readonly Toleration[];
  readonly healthzPort: number;
  readonly cniPlugins: readonly CniPlugin[];
};


/** `RolloutSettings` with its defaults filled in. */
export type ResolvedRolloutSettings = RolloutSettings & {
  readonly enabled: boolean;
  readonly namespaces: readonly string[];
  readonly timeoutSeconds: number;
};

/**
 * An `Environment` with every default filled in, as `resolveEnvironment` returns it (after
 * validating it): what the plan, the constructs and the report read.
 */
export interface ResolvedEnvironment extends Environment {
  readonly flannel: ResolvedFlannelSettings;
  readonly links: readonly Link[];
  readonly mssClamp: Required<MssClampSettings>;
  readonly images: Required<Pick<Images, 'flannel' | 'flannelCniPlugin'>> & Images;
  readonly rollout?: ResolvedRolloutSettings;
  readonly probe: Required<ProbeSettings>;
  readonly mtuMode: MtuMode;
  readonly pmtud: PmtudSettings & { readonly mode: PmtudMode };
  readonly imagePullSecrets: readonly string[];
  readonly distribution: Distribution;
  readonly netpol?: Required<NetpolSettings>;
}

export const DEFAULT_IMAGES: Required<Pick<Images, 'flannel' | 'flannelCniPlugin'>> = {
  flannel: 'ghcr.io/flannel-io/flannel:v0.28.9',
  flannelCniPlugin: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3',
};

/** Images of the rollout Job, used where `Images` leaves them out. */
export const DEFAULT_ROLLOUT_IMAGES: Required<Pick<Images, 'kubectl' | 'busybox'>> = {
  kubectl: 'registry.k8s.io/kubectl:v1.33.4',
  busybox: 'docker.io/library/busybox:1.37.0-musl',
};

/** `rollout.timeoutSeconds` when the file leaves it out. */
export const DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 600;

/** The VXLAN network identifier when `flannel.vni` is left out. */
export const DEFAULT_VNI = 1;

/** The probe when an environment has no `probe` section. */
export const DEFAULT_PROBE: Required<ProbeSettings> = { enabled: false, intervalSeconds: 300, marginBytes: 10, metrics: true, textfileDirectory: '/var/lib/node_exporter/textfile_collector' };

/** `pmtud.mode` when the file leaves it out: probing after a blackhole, as Cilium does by default. */
export const DEFAULT_PMTUD_MODE: PmtudMode = 'blackhole';
/** Upstream kube-flannel.yml v0.28.9's flanneld resources. */
export const DEFAULT_FLANNEL_RESOURCES: ContainerResources = { requests: { cpu: '100m', memory: '50Mi' } };
/** Upstream kube-flannel.yml v0.28.9's tolerations (the chart adds NoExecute; the manifest does not). */
export const DEFAULT_TOLERATIONS: readonly Toleration[] = [{ operator: 'Exists', effect: 'NoSchedule' }];
/** flanneld's health port in upstream kube-flannel.yml. */
export const DEFAULT_HEALTHZ_PORT = 8081;
/** The plugins upstream chains after flannel. */
export const DEFAULT_CNI_PLUGINS: readonly CniPlugin[] = [{ type: 'portmap', capabilities: { portMappings: true } }];
/** CNI directories of a kubeadm node (the kubernetes-cni package and the container runtimes' defaults). */
export const DEFAULT_CNI_DIRS = { cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d' } as const;

/** The name reports use for a link. */
export function linkName(link: Link): string {
  return link.name ?? `${link.between[0]}~${link.between[1]}`;
}
