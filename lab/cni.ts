/**
 * Runs a CNI conflist's chain with real plugin binaries (Debian's containernetworking-plugins in
 * /usr/lib/cni), the way a container runtime does, for the lab and the root tests.
 *
 * Chaining follows libcni (containernetworking/cni libcni/api.go, buildOneConfig): each plugin
 * entry gets the list's `name` and `cniVersion`, the previous plugin's result as `prevResult`,
 * and `runtimeConfig` for the capabilities it declares and the runtime was given; DEL runs the
 * plugins in reverse order.
 *
 * The first entry, `type: flannel`, is flannel's meta-plugin, which is not packaged: its ADD is
 * reproduced here from flannel-io/cni-plugin (flannel_linux.go doCmdAdd, getDelegateIPAM) and it
 * hands the resulting delegate to the real `bridge` (+ `host-local`) binary, as flannel does.
 *
 * Plugins run inside the node's network namespace (they create cni0 and the veth there) and in a
 * private mount namespace whose /var/lib is a per-run directory, so host-local's leases
 * (/var/lib/cni/networks/<name>) never touch the host's.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { findBinary } from './host';

/** Where Debian's containernetworking-plugins installs the plugins. */
export const DEBIAN_CNI_BIN_DIR = '/usr/lib/cni';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** /run/flannel/subnet.env as flanneld writes it for one node. */
export interface SubnetEnv {
  /** FLANNEL_NETWORK: the cluster pod network (net-conf.json Network). */
  readonly network: string;
  /** FLANNEL_SUBNET: the node's pod subnet with the gateway address, e.g. 10.244.1.1/24. */
  readonly subnet: string;
  /** FLANNEL_MTU: flannel.1's MTU (Backend.MTU - 50 for vxlan). */
  readonly mtu: number;
  /** FLANNEL_IPMASQ: true when flanneld runs with --ip-masq (the generated DaemonSet does). */
  readonly ipMasq: boolean;
}

/** The text flanneld writes to /run/flannel/subnet.env. */
export function subnetEnvText(e: SubnetEnv): string {
  return `FLANNEL_NETWORK=${e.network}\nFLANNEL_SUBNET=${e.subnet}\nFLANNEL_MTU=${e.mtu}\nFLANNEL_IPMASQ=${e.ipMasq}\n`;
}

/** An IPv4 CIDR's network, as Go's net.ParseCIDR returns it (10.244.1.1/24 -> 10.244.1.0/24). */
export function ipv4Network(cidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const len = Number(m[5]);
  const n = m.slice(1, 5).reduce((v, o) => v * 256 + Number(o), 0);
  const net = len === 0 ? 0 : Math.floor(n / 2 ** (32 - len)) * 2 ** (32 - len);
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${len}`;
}

/**
 * The delegate netconf flannel's meta-plugin builds from its conflist entry and subnet.env and
 * passes to the bridge plugin (flannel-io/cni-plugin flannel_linux.go doCmdAdd): name from the
 * list, type bridge, ipMasq = !FLANNEL_IPMASQ, mtu = FLANNEL_MTU unless the delegate sets it,
 * isGateway true, the list's cniVersion, and host-local IPAM over FLANNEL_SUBNET with a route to
 * FLANNEL_NETWORK.
 */
export function flannelDelegate(entry: Json, listName: string, cniVersion: string, env: SubnetEnv): Json {
  if (entry.type !== 'flannel') throw new Error(`flannelDelegate: expected a flannel entry, got type ${entry.type}`);
  const d: Json = { ...(entry.delegate ?? {}) };
  if ('name' in d || 'ipam' in d) throw new Error("flannel: 'delegate' must not have 'name' or 'ipam' (flannel sets them)");
  if (entry.runtimeConfig !== undefined) d.runtimeConfig = entry.runtimeConfig;
  d.name = listName;
  if (!('type' in d)) d.type = 'bridge';
  if (!('ipMasq' in d)) d.ipMasq = !env.ipMasq;
  if (!('mtu' in d)) d.mtu = env.mtu;
  if (d.type === 'bridge' && !('isGateway' in d)) d.isGateway = true;
  if (cniVersion !== '') d.cniVersion = cniVersion;
  const ipam: Json = { ...(entry.ipam ?? {}) };
  if (!('type' in ipam)) ipam.type = 'host-local';
  ipam.ranges = [[{ subnet: ipv4Network(env.subnet) }]];
  ipam.routes = [...(entry.ipam?.routes ?? []), { dst: ipv4Network(env.network) }];
  d.ipam = ipam;
  return d;
}

/** What a container runtime passes to every plugin of one pod's network. */
export interface CniInvocation {
  /** The node's network namespace (by name, under /run/netns): plugins run inside it. */
  readonly nodeNetns: string;
  /** The pod's network namespace path (CNI_NETNS). */
  readonly podNetnsPath: string;
  readonly containerId: string;
  /** @default 'eth0' */
  readonly ifName?: string;
  /** Directory of the plugin binaries (CNI_PATH). @default '/usr/lib/cni' */
  readonly binDir?: string;
  /** The private /var/lib of the plugins (host-local's leases live in its cni/networks/). */
  readonly varLibDir: string;
  /** Runtime values for the capabilities plugins declare, e.g. `{ portMappings: [...] }`. @default - none */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

/** One plugin's execution: its type, the config it was given and the result it printed. */
export interface PluginRun {
  readonly type: string;
  readonly config: Json;
  readonly result: Json;
}

/** The error thrown when a plugin exits non-zero; carries its CNI error object. */
export class CniError extends Error {
  constructor(message: string, public readonly cniError: Json) {
    super(message);
    this.name = 'CniError';
  }
}

const IP = findBinary('ip');
const UNSHARE = findBinary('unshare');
const SH = findBinary('sh');

/** Runs one plugin binary in the node netns with the CNI_* environment; returns its parsed stdout. */
export function execPlugin(command: 'ADD' | 'DEL' | 'CHECK', type: string, config: Json, inv: CniInvocation): Json {
  const binDir = inv.binDir ?? DEBIAN_CNI_BIN_DIR;
  const binary = path.join(binDir, type);
  if (!fs.existsSync(binary)) throw new Error(`CNI plugin ${type} not found at ${binary}`);
  const r = spawnSync(
    UNSHARE,
    ['--mount', '--propagation', 'private', '--', SH, '-c', 'mount --bind "$0" /var/lib && exec "$@"', inv.varLibDir,
      IP, 'netns', 'exec', inv.nodeNetns, binary],
    {
      input: JSON.stringify(config),
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: inv.containerId,
        CNI_NETNS: inv.podNetnsPath,
        CNI_IFNAME: inv.ifName ?? 'eth0',
        CNI_PATH: binDir,
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (r.error) throw r.error;
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0) {
    let err: Json = { msg: out || r.stderr };
    try { err = JSON.parse(out); } catch { /* not JSON */ }
    throw new CniError(`CNI ${command} ${type} failed (exit ${r.status}): ${err.msg ?? out}${err.details ? `: ${err.details}` : ''} ${r.stderr.trim()}`.trim(), err);
  }
  return out === '' ? null : JSON.parse(out);
}

/** libcni buildOneConfig: the entry with the list's name and version, prevResult and runtimeConfig. */
function oneConfig(entry: Json, list: Json, prevResult: Json, inv: CniInvocation): Json {
  const conf: Json = { ...entry, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== null) conf.prevResult = prevResult;
  const caps = Object.entries(entry.capabilities ?? {}).filter(([, on]) => on === true).map(([c]) => c);
  const rc: Json = {};
  for (const c of caps) if (inv.capabilityArgs && c in inv.capabilityArgs) rc[c] = inv.capabilityArgs[c];
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  return conf;
}

/** The state ADD leaves for DEL: each plugin's config (flannel's is the delegate it saved). */
export interface ChainState {
  readonly runs: readonly PluginRun[];
  /** The chain's final result, what the runtime caches. */
  readonly result: Json;
}

/**
 * ADD for every plugin of `conflist`, in order, as libcni AddNetworkList does. A `flannel` entry
 * runs as flannel's meta-plugin would: its delegate (see {@link flannelDelegate}) goes to the real
 * delegate binary. `from` skips the first entries (e.g. 1 to chain only what follows flannel onto
 * an existing pod, with `prevResult` describing it).
 */
export function chainAdd(conflist: Json, subnet: SubnetEnv, inv: CniInvocation, opts: { from?: number; prevResult?: Json } = {}): ChainState {
  const runs: PluginRun[] = [];
  let prev: Json = opts.prevResult ?? null;
  for (const entry of (conflist.plugins as Json[]).slice(opts.from ?? 0)) {
    if (entry.type === 'flannel') {
      const flannelConf = oneConfig(entry, conflist, prev, inv);
      const delegate = flannelDelegate(flannelConf, conflist.name, conflist.cniVersion, subnet);
      prev = execPlugin('ADD', delegate.type, delegate, inv);
      runs.push({ type: delegate.type, config: delegate, result: prev });
    } else {
      const conf = oneConfig(entry, conflist, prev, inv);
      prev = execPlugin('ADD', entry.type, conf, inv);
      runs.push({ type: entry.type, config: conf, result: prev });
    }
  }
  return { runs, result: prev };
}

/** DEL in reverse order (libcni DelNetworkList); for CNI < 0.4.0 without prevResult. */
export function chainDel(state: ChainState, inv: CniInvocation): void {
  for (const run of [...state.runs].reverse()) {
    const { prevResult: _p, ...conf } = run.config;
    execPlugin('DEL', run.type, conf, inv);
  }
}
