/**
 * Typed driver for `lab/mtulab.sh`, the network-namespace lab that reproduces the MTU incident
 * on a real kernel (see the header of mtulab.sh and shared/reference/netns-lab-notes.md).
 *
 * Every call runs the script synchronously with `spawnSync` (no shell), passes the lab's numbers
 * as environment variables and parses the one-JSON-object-per-line output. Needs root.
 *
 * A lab started with `up()` is torn down by `down()`; if this process dies first, the watchdog
 * that mtulab.sh starts for `LAB_OWNER_PID` (this process) tears it down within about a second.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

/** Absolute path of the engine script. */
export const MTULAB_SCRIPT = path.join(__dirname, 'mtulab.sh');

/** A place a check runs from: a pod or a node (hostNetwork) on either side of the SD-WAN. */
export type Endpoint = 'podA' | 'nodeA' | 'podB' | 'nodeB';
/**
 * A check target: an endpoint, or a node's underlay address (`*-ul`, reachable from nodes only);
 * with `ipv6` also the pods' IPv6 addresses (`podA6`, `podB6`, from pods) and the nodes' IPv6
 * underlay addresses (`nodeA-ul6`, `nodeB-ul6`, from nodes).
 */
export type Target = Endpoint | 'nodeA-ul' | 'nodeB-ul' | 'podA6' | 'podB6' | 'nodeA-ul6' | 'nodeB-ul6';
/** The flannel backend whose devices the lab builds. */
export type LabBackend = 'vxlan' | 'wireguard';
/**
 * flannel's wireguard `Mode` as the lab builds it: `separate` (flannel-wg over IPv4, flannel-wg-v6
 * over IPv6), or one flannel-wg for both families over the `ipv4` or `ipv6` underlay (what `auto`
 * picks per peer).
 */
export type WgLabMode = 'separate' | 'ipv4' | 'ipv6';
/** How the WAN loses large packets; see the header of mtulab.sh. */
export type WanModel = 'icmp' | 'frags' | 'open';
/** What happened to one check. `hang` means the client timed out. */
export type CheckResult = 'ok' | 'hang' | 'fail' | 'error';
/** Which iptables backend the clamp run should find in use on the node. */
export type IptablesBackend = 'legacy' | 'nft' | 'none';

/** The lab's numbers: the underlay, and the overlay as flannel would set it up. */
export interface LabTopology {
  /** NIC MTU of node A (eth0 and the router end of its link). @default 1400 */
  readonly nicMtuA?: number;
  /** NIC MTU of node B. @default 1400 */
  readonly nicMtuB?: number;
  /** MTU of the SD-WAN link between the two routers. @default 1380 */
  readonly pathMtu?: number;
  /** How the WAN loses packets too big for it. @default 'icmp' */
  readonly wanModel?: WanModel;
  /** Whether both routers drop the ICMP "fragmentation needed" they generate. @default true */
  readonly icmpBlackhole?: boolean;
  /** MTU of flannel.<vni> (wireguard: flannel-wg and flannel-wg-v6) on node A. @default - nicMtuA - 50 (wireguard: - 80), as flannel does */
  readonly overlayMtuA?: number;
  /** MTU of the overlay devices on node B. @default - nicMtuB - 50 (wireguard: - 80) */
  readonly overlayMtuB?: number;
  /** MTU of cni0, the pod veth and pod eth0 on node A (FLANNEL_MTU via the CNI plugin). @default - overlayMtuA */
  readonly podMtuA?: number;
  /** MTU of cni0, the pod veth and pod eth0 on node B. @default - overlayMtuB */
  readonly podMtuB?: number;
  /** `mtu` on node A's route to node B's pod subnet via flannel (per-path mode). @default - no route MTU */
  readonly routeMtuA?: number;
  /** `mtu` on node B's route to node A's pod subnet via flannel. @default - no route MTU */
  readonly routeMtuB?: number;
  /** VXLAN network identifier; the device is named flannel.<vni>. Fixed at `up()`. @default 1 */
  readonly vni?: number;
  /** VXLAN UDP port. Fixed at `up()`. @default 8472 */
  readonly vxlanPort?: number;
  /** The overlay devices: VXLAN, or WireGuard (wireguard-go). Fixed at `up()`. @default 'vxlan' */
  readonly backend?: LabBackend;
  /** Which WireGuard devices and underlay family (backend wireguard). Fixed at `up()`. @default 'separate' */
  readonly wgMode?: WgLabMode;
  /** Dual-stack: IPv6 on the underlay and the pods (backend wireguard). Fixed at `up()`. @default false */
  readonly ipv6?: boolean;
  /** IPv6 MTU of the SD-WAN link, at most pathMtu. @default - pathMtu */
  readonly pathMtuV6?: number;
}

export interface MtuLabOptions {
  /** Lab id; namespaces are `<labId>-podA` etc. Must start with `fmlab-`. @default `fmlab-<pid>-<n>` */
  readonly labId?: string;
  /** curl `-m` for post/get, seconds. @default 3 */
  readonly postTimeoutSeconds?: number;
  /** ping `-W` per DF probe, seconds. @default 0.3 */
  readonly pingWaitSeconds?: number;
  /** iperf3 `-t`, seconds. @default 2 */
  readonly iperfSeconds?: number;
  /** Leave GSO on for iperf3 (the kernel default moves 64 KB packets and hides the MTU). @default false */
  readonly iperfGso?: boolean;
  /** Directory for the lab's state (pids, logs). @default '/run/fmlab' */
  readonly stateRoot?: string;
  /** Progress on stderr. @default false */
  readonly verbose?: boolean;
}

export interface LabConfigEvent {
  readonly event: 'up' | 'reconfig';
  readonly lab_id: string;
  readonly seconds: number;
  readonly nic_mtu_a: number;
  readonly nic_mtu_b: number;
  readonly path_mtu: number;
  readonly wan_model: WanModel;
  readonly icmp_blackhole: boolean;
  readonly overlay_mtu_a: number;
  readonly overlay_mtu_b: number;
  readonly pod_mtu_a: number;
  readonly pod_mtu_b: number;
  readonly vni: number;
  readonly vxlan_port: number;
  readonly route_mtu_a: number | null;
  readonly route_mtu_b: number | null;
  readonly backend: LabBackend;
  readonly ipv6: boolean;
  readonly path_mtu_v6: number | null;
  /** The overlay devices on each node, e.g. `["flannel-wg", "flannel-wg-v6"]`. */
  readonly overlay_devices: string[];
  readonly wg_mode?: WgLabMode;
}
export interface DownEvent {
  readonly event: 'down';
  readonly lab_id: string;
  readonly namespaces_removed: number;
  readonly processes_killed: number;
  readonly seconds: number;
}
export interface HttpResult {
  readonly check: 'post' | 'get';
  readonly from: Endpoint;
  readonly to: Target;
  readonly size: number;
  readonly result: CheckResult;
  readonly http_code: number;
  readonly curl_rc: number;
  readonly seconds: number;
  readonly detail?: string;
}
export interface DfPingResult {
  readonly check: 'dfping';
  readonly from: Endpoint;
  readonly to: Target;
  /** IP packet size in bytes (ICMP payload + 28). */
  readonly size: number;
  readonly result: 'ok' | 'fail';
  /** reply | no_reply | local_mtu (bigger than the sender's own MTU) | frag_needed | error */
  readonly reason: string;
  readonly reported_mtu: number | null;
  readonly seconds: number;
}
export interface PmtuSearchResult {
  readonly check: 'pmtu-search';
  readonly from: Endpoint;
  readonly to: Target;
  /** Largest IP packet, in bytes, that a DF ping got a reply for (0: none). */
  readonly bytes: number;
  /** The sender's own route MTU, the search's upper bound. */
  readonly upper_bound: number;
  readonly probes: number;
  readonly seconds: number;
}
export interface IperfResult {
  readonly check: 'iperf';
  readonly from: Endpoint;
  readonly to: Target;
  readonly result: CheckResult;
  readonly mbps_sent: number;
  readonly mbps_received: number;
  readonly retransmits: number;
  readonly duration: number;
  readonly gso: 'on' | 'off';
  readonly rc: number;
  readonly seconds: number;
}
export interface ClampResult {
  readonly check: 'clamp';
  readonly node: 'nodeA' | 'nodeB';
  readonly result: 'ok' | 'fail';
  readonly rc: number;
  readonly ipt_backend: IptablesBackend;
  readonly tcpmss_rules_legacy: number;
  readonly tcpmss_rules_nft: number;
  readonly tcpmss_rules6_legacy: number;
  readonly tcpmss_rules6_nft: number;
  readonly seconds: number;
  readonly detail?: string;
}
export interface CountersResult {
  readonly check: 'counters';
  readonly icmp_frag_needed_dropped_wanA: number;
  readonly icmp_frag_needed_dropped_wanB: number;
  readonly fragments_dropped_wanA: number;
  readonly fragments_dropped_wanB: number;
}

export interface ClampOptions {
  /** POSIX sh script run in each node's namespace. */
  readonly script: string;
  /**
   * File of NAME=value lines passed to the script's environment (write it with {@link envFileText}
   * for values with newlines). The lab adds NODE_NAME and HOST_IP (the node's underlay address, as
   * the downward API's `status.hostIP`); a non-empty HOST_IP line in the file wins. @default - none
   */
  readonly envFile?: string;
  /** Backend kubelet's hint chains are created with before the script runs. @default 'none' */
  readonly backend?: IptablesBackend;
  /** Nodes to clamp. @default ['nodeA', 'nodeB'] */
  readonly nodes?: ReadonlyArray<'nodeA' | 'nodeB'>;
  /** Seconds before a clamp run is killed. @default 15 */
  readonly timeoutSeconds?: number;
}

/** Environment variables for mtulab.sh's config. Unset props become '' (the script's default). */
export function topologyEnv(t: LabTopology): Record<string, string> {
  const s = (v: number | undefined): string => (v === undefined ? '' : String(v));
  return {
    NIC_MTU_A: s(t.nicMtuA),
    NIC_MTU_B: s(t.nicMtuB),
    PATH_MTU: s(t.pathMtu),
    WAN_MODEL: t.wanModel ?? '',
    ICMP_BLACKHOLE: t.icmpBlackhole === undefined ? '' : t.icmpBlackhole ? '1' : '0',
    OVERLAY_MTU_A: s(t.overlayMtuA),
    OVERLAY_MTU_B: s(t.overlayMtuB),
    POD_MTU_A: s(t.podMtuA),
    POD_MTU_B: s(t.podMtuB),
    ROUTE_MTU_A: s(t.routeMtuA),
    ROUTE_MTU_B: s(t.routeMtuB),
    VNI: s(t.vni),
    VXLAN_PORT: s(t.vxlanPort),
    BACKEND: t.backend ?? '',
    WG_MODE: t.wgMode ?? '',
    IPV6: t.ipv6 === undefined ? '' : t.ipv6 ? '1' : '0',
    PATH_MTU_V6: s(t.pathMtuV6),
  };
}

/**
 * An env file for {@link ClampOptions.envFile}: one `NAME="value"` line per entry, with newlines,
 * backslashes and quotes escaped (`\n`, `\\`, `\"`) so multi-line values (rule lists) survive.
 */
export function envFileText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`env file: bad name ${JSON.stringify(k)}`);
      if (/[\r\0]/.test(v)) throw new Error(`env file: ${k} holds a carriage return or NUL`);
      return `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"\n`;
    })
    .join('');
}

/** The error thrown when mtulab.sh exits non-zero. */
export class MtuLabError extends Error {
  constructor(
    message: string,
    public readonly status: number | null,
    public readonly stderr: string,
  ) {
    super(message);
    this.name = 'MtuLabError';
  }
}

/** Runs mtulab.sh once and returns the JSON objects it printed. */
export function runMtulab(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Array<Record<string, unknown>> {
  const r = spawnSync('bash', [MTULAB_SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGTERM',
    maxBuffer: 16 * 1024 * 1024,
  });
  const stderr = r.stderr ?? '';
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`;
    throw new MtuLabError(`mtulab.sh ${args.join(' ')}: ${why}: ${stderr.trim()}`, r.status, stderr);
  }
  return (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Namespaces on this host whose name starts with `<labId>-`. */
export function labNamespaces(labId: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`${labId}-`))
    .sort();
}

let labCounter = 0;

/** One lab: six namespaces (podA, nodeA, wanA, wanB, nodeB, podB). */
export class MtuLab {
  public readonly labId: string;
  private readonly options: MtuLabOptions;
  private fixed: Pick<LabTopology, 'vni' | 'vxlanPort' | 'backend' | 'wgMode' | 'ipv6'> = {};

  constructor(options: MtuLabOptions = {}) {
    this.options = options;
    this.labId = options.labId ?? `fmlab-${process.pid}-${labCounter++}`;
  }

  /** Builds the lab with these numbers. */
  public up(topology: LabTopology = {}): LabConfigEvent {
    this.fixed = { vni: topology.vni, vxlanPort: topology.vxlanPort, backend: topology.backend, wgMode: topology.wgMode, ipv6: topology.ipv6 };
    return this.one('up', [], topologyEnv(topology), 30_000) as unknown as LabConfigEvent;
  }

  /**
   * Sets the whole topology in place (ip link set mtu, vxlan df, router rules), then flushes route
   * caches and TCP metrics. Declarative: a prop left out goes back to its default, not to its
   * previous value. vni, vxlanPort, backend, wgMode and ipv6 keep their `up()` values.

   */
  public reconfig(topology: LabTopology): LabConfigEvent {
    const env = topologyEnv({ ...topology, ...this.fixed });
    return this.one('reconfig', [], env, 30_000) as unknown as LabConfigEvent;
  }

  /** Kills the lab's processes and deletes its namespaces and state. Safe to call twice. */
  public down(): DownEvent {
    return this.one('down', [], {}, 30_000) as unknown as DownEvent;
  }

  /** HTTP POST of a `size`-byte JSON body from `from` to the receiver at `to`. */
  public post(size: number, from: Endpoint, to: Target): HttpResult {
    return this.one('post', [String(size), from, to], {}, this.httpBudgetMs()) as unknown as HttpResult;
  }

  /** HTTP GET of `size` bytes from the receiver at `to` (data flows to -> from). */
  public get(size: number, from: Endpoint, to: Target): HttpResult {
    return this.one('get', [String(size), from, to], {}, this.httpBudgetMs()) as unknown as HttpResult;
  }

  /** One DF ping of a `size`-byte IP packet. */
  public dfping(from: Endpoint, to: Target, size: number): DfPingResult {
    return this.one('dfping', [from, to, String(size)], {}, 15_000) as unknown as DfPingResult;
  }

  /** Largest DF ping that gets a reply (binary search). */
  public pmtuSearch(from: Endpoint, to: Target): PmtuSearchResult {
    return this.one('pmtu-search', [from, to], {}, 60_000) as unknown as PmtuSearchResult;
  }

  /** iperf3 goodput from -> to. */
  public iperf(from: Endpoint, to: Target): IperfResult {
    const secs = this.options.iperfSeconds ?? 2;
    return this.one('iperf', [from, to], {}, (secs + 20) * 1000) as unknown as IperfResult;
  }

  /** Runs a clamp script in the node namespaces; one result per node. */
  public clamp(o: ClampOptions): ClampResult[] {
    const env: Record<string, string> = {
      CLAMP_SCRIPT: path.resolve(o.script),
      CLAMP_ENV: o.envFile ? path.resolve(o.envFile) : '',
      IPT_BACKEND: o.backend ?? 'none',
      CLAMP_NODES: (o.nodes ?? ['nodeA', 'nodeB']).join(','),
      CLAMP_TIMEOUT: String(o.timeoutSeconds ?? 15),
    };
    return this.run(['clamp'], env, ((o.timeoutSeconds ?? 15) * 2 + 10) * 1000) as unknown as ClampResult[];
  }

  /** Flushes every iptables (legacy and nft) rule on the nodes. */
  public unclamp(): Array<Record<string, unknown>> {
    return this.run(['unclamp'], {}, 30_000);
  }

  /** Packets the WAN dropped since the last up/reconfig. */
  public counters(): CountersResult {
    return this.one('counters', [], {}, 15_000) as unknown as CountersResult;
  }

  /** The pod as the CNI recreates it with a new MTU (eth0 and host veth; node devices stay). */
  public repod(pod: 'podA' | 'podB', mtu: number): Record<string, unknown> {
    return this.one('repod', [pod, String(mtu)], {}, 15_000);
  }

  /** The nodes drop (or pass again) ICMP "fragmentation needed" arriving over the overlay; returns how many were dropped so far. */
  public overlayIcmp(mode: 'drop' | 'pass'): { dropped_before: number } {
    return this.one('overlay-icmp', [mode], {}, 15_000) as unknown as { dropped_before: number };
  }

  /** This lab's namespaces currently on the host. */
  public namespaces(): string[] {
    return labNamespaces(this.labId);
  }

  private httpBudgetMs(): number {
    return ((this.options.postTimeoutSeconds ?? 3) + 15) * 1000;
  }

  private baseEnv(): Record<string, string> {
    const o = this.options;
    const env: Record<string, string> = {
      LAB_ID: this.labId,
      LAB_OWNER_PID: String(process.pid),
      POST_TIMEOUT: String(o.postTimeoutSeconds ?? 3),
      PING_WAIT: String(o.pingWaitSeconds ?? 0.3),
      IPERF_SECONDS: String(o.iperfSeconds ?? 2),
      IPERF_GSO: o.iperfGso ? 'on' : 'off',
      LAB_VERBOSE: o.verbose ? '1' : '0',
    };
    if (o.stateRoot) env.LAB_STATE_ROOT = o.stateRoot;
    return env;
  }

  private run(args: string[], env: Record<string, string>, timeoutMs: number): Array<Record<string, unknown>> {
    return runMtulab(args, { ...this.baseEnv(), ...env }, timeoutMs);
  }

  private one(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Record<string, unknown> {
    const out = this.run([cmd, ...args], env, timeoutMs);
    if (out.length !== 1) {
      throw new MtuLabError(`mtulab.sh ${cmd}: expected one JSON line, got ${out.length}`, 0, '');
    }
    return out[0];
  }
}
