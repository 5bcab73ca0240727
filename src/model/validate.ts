import { clip, describeValue, InputError, Problem, quote, YamlPath } from './errors';
import {
  BACKEND_TYPES,
  BackendType,
  Cloud,
  CniPlugin,
  ContainerResources,
  DEFAULT_NETPOL,
  DISTRIBUTION_NAMES,
  DISTRIBUTIONS,
  Distribution,
  DEFAULT_CNI_PLUGINS,
  DEFAULT_FLANNEL_RESOURCES,
  DEFAULT_HEALTHZ_PORT,
  DEFAULT_IMAGES,
  DEFAULT_TOLERATIONS,
  DEFAULT_PROBE,
  DEFAULT_ROLLOUT_TIMEOUT_SECONDS,
  DEFAULT_TUNNEL_MODE,
  DEFAULT_VNI,
  Environment,
  InterfaceSelection,
  Link,
  MtuMode,
  NetpolSettings,
  PMTUD_MODES,
  DEFAULT_PMTUD_MODE,
  ResolvedEnvironment,
  ResolvedFlannelSettings,
  ResolvedRolloutSettings,
  Toleration,
  WIREGUARD_TUNNEL_MODES,
  WireguardTunnelMode,
} from './environment';
import { Cidr, cidrProblem, cidrsOverlap, isIpv4, isIpv4Compatible, isIpv6, parseCidr } from './net';

/** Smallest and largest underlay MTU: IPv4's minimum datagram, and the largest jumbo frame NICs support (the node scripts refuse more). */
export const MIN_UNDERLAY_MTU = 576;
export const MAX_UNDERLAY_MTU = 9216;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Label keys and values, as POSIX EREs: the rollout Job's script matches selectors with the same text.
const LABEL_KEY_ERE = '([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const LABEL_VALUE_ERE = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const LABEL_KEY = new RegExp(`^${LABEL_KEY_ERE}$`);
const LABEL_VALUE = new RegExp(`^(${LABEL_VALUE_ERE})?$`);
/**
 * One selector term, `key`, `!key`, `key=value`, `key==value` or `key!=value`, as a POSIX ERE. The
 * rollout Job's script carries this exact text (a test holds them equal), so the loader and the
 * script accept the same selectors.
 */
export const SELECTOR_TERM_ERE = `(!${LABEL_KEY_ERE}|${LABEL_KEY_ERE}((==|=|!=)${LABEL_VALUE_ERE})?)`;
const SELECTOR_TERM = new RegExp(`^${SELECTOR_TERM_ERE}$`);
// At most 512 characters (a 255-character name, a 128-character tag and a digest fit): the pattern
// backtracks quadratically, and a megabyte-long reference would take minutes to refuse.
const IMAGE_REF = /^(?=.{1,512}$)[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/s;

/**
 * Bounds on the work one environment can cause: reading stops after LIMITS.problems problems, and
 * lists and mappings longer than these are refused. clouds and nodeCidrsPerCloud also bound what is
 * generated: every node's clamp carries the other clouds' subnets, and at 16 clouds of 8 subnets
 * the largest DaemonSet is about 320 kB, well below the 1.5 MB etcd stores per object.
 */
export const LIMITS = {
  problems: 50,
  clouds: 16,
  nodesPerCloud: 256,
  nodeCidrsPerCloud: 8,
  nodeSelectorLabels: 32,
  namespaces: 100,
  selectorChars: 1024,
  /** Any other list. */
  listEntries: 256,
} as const;

/** Namespaces the rollout Job may only restart with `rollout.allowSystemNamespaces`. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-flannel'];

/** Longest cloud name in per-path mode: `kube-flannel-ds-<cloud>` must stay a 63-character DNS label. */
export const MAX_PER_PATH_CLOUD_NAME = 63 - 'kube-flannel-ds-'.length;

type Json = unknown;
type Obj = Record<string, Json>;

/** Collects problems while reading an untyped document into typed values. */
class Reader {
  public readonly problems: Problem[] = [];

  public fail(path: YamlPath, message: string): undefined {
    this.add({ path, message });
    return undefined;
  }

  /** Records a problem; past LIMITS.problems it stops reading (with the problems so far). */
  public add(problem: Problem): void {
    this.problems.push(problem);
    if (this.problems.length >= LIMITS.problems) {
      throw new InputError([...this.problems, { path: [], message: `stopped after ${LIMITS.problems} problems; fix these first` }]);
    }
  }

  /** A mapping with only the given keys; unknown keys are errors (flannel would silently ignore them). */
  // Every reader returns undefined for a missing value without a second message: `required` said it.
  public mapping(value: Json, path: YamlPath, keys: readonly string[]): Obj | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.fail(path, `expected a mapping, got ${describeValue(value)}`);
    }
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) {
        const hint = closest(key, keys);
        this.add({ path: [...path, key], atKey: true, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${keys.join(', ')}` });
      }
    }
    return value as Obj;
  }

  public list(value: Json, path: YamlPath, max: number = LIMITS.listEntries): Json[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.fail(path, `expected a list, got ${describeValue(value)}`);
    if (value.length > max) return this.fail(path, `expected at most ${max} entries, got ${value.length}`);
    return value;
  }

  public integer(value: Json, path: YamlPath, min: number, max: number, what = 'an integer'): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(path, `expected ${what} between ${min} and ${max}, got ${describeValue(value)}`);
    }
    return value;
  }

  public string(value: Json, path: YamlPath, pattern: RegExp, expected: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) {
      return this.fail(path, `expected ${expected}, got ${describeValue(value)}`);
    }
    return value;
  }

  public boolean(value: Json, path: YamlPath): boolean | undefined {
    if (typeof value !== 'boolean') return this.fail(path, `expected true or false, got ${describeValue(value)}`);
    return value;
  }

  public required(obj: Obj, key: string, path: YamlPath): Json {
    if (!(key in obj)) this.fail(path, `missing required key "${key}"`);
    return obj[key];
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined; // no key is that long, and the distance is O(length)
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0];
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = d[j];
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = tmp;
      }
    }
    return d[b.length];
  };
  const best = [...candidates].sort((a, b) => distance(word, a) - distance(word, b))[0];
  return best !== undefined && distance(word, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

const MTU = (r: Reader, v: Json, p: YamlPath) => r.integer(v, p, MIN_UNDERLAY_MTU, MAX_UNDERLAY_MTU);

function readNetpol(r: Reader, value: Json): Required<NetpolSettings> | undefined {
  if (value === undefined) return undefined;
  const path = ['netpol'];
  const obj = r.mapping(value, path, ['enabled', 'args', 'image']);
  if (!obj) return undefined;
  const enabled = ('enabled' in obj ? r.boolean(obj.enabled, [...path, 'enabled']) : undefined) ?? true;
  const image = ('image' in obj ? r.string(obj.image, [...path, 'image'], IMAGE_REF, 'an image reference with a tag or digest') : undefined) ?? DEFAULT_NETPOL.image;
  let args: string[] = [...DEFAULT_NETPOL.args];
  if ('args' in obj) {
    args = [];
    (r.list(obj.args, [...path, 'args']) ?? []).forEach((a, i) => {
      if (typeof a !== 'string' || !/^--?[A-Za-z0-9]/.test(a) || /[\n\r\0]/.test(a)) r.fail([...path, 'args', i], `expected a flag such as "--v=2" on one line, got ${describeValue(a)}`);
      else args.push(a);
    });
  }
  return { enabled, args, image };
}

function readDistribution(r: Reader, value: Json): Distribution {
  if (value === undefined) return 'kubeadm';
  if (typeof value === 'string' && (DISTRIBUTION_NAMES as readonly string[]).includes(value)) return value as Distribution;
  return r.fail(['distribution'], `expected one of ${DISTRIBUTION_NAMES.join(', ')}, got ${describeValue(value)}`) ?? 'kubeadm';
}

function readFlannel(r: Reader, value: Json, distribution: Distribution): Partial<ResolvedFlannelSettings> {
  const path = ['flannel'];
  const obj = r.mapping(value, path, [
    'backend', 'podNetwork', 'podNetworkV6', 'vni', 'port', 'backendPort', 'backendPortv6', 'GBP', 'directRouting',
    'psk', 'tunnelMode', 'keepaliveInterval', 'cniBinDir', 'cniConfDir', 'skipCNIConfigInstallation', 'enableNFTables',
    'args', 'resources', 'tolerations', 'nodeSelector', 'healthzPort', 'cniPlugins', ...INTERFACE_KEYS,
  ]);
  if (!obj) return {};
  let backend: BackendType | undefined = 'vxlan';
  if ('backend' in obj) {
    const b = obj.backend;
    if (b === 'udp' || b === 'ipip' || b === 'ipsec' || b === 'alloc' || b === 'extension') {
      backend = r.fail([...path, 'backend'], `backend "${b}" is not supported: flannel takes no MTU for it, so no derived MTU could reach the nodes; use vxlan or wireguard`);
    } else if (typeof b !== 'string' || !(BACKEND_TYPES as readonly string[]).includes(b)) {
      backend = r.fail([...path, 'backend'], `expected one of ${BACKEND_TYPES.join(', ')}, got ${describeValue(b)}`);
    } else {
      backend = b as BackendType;
    }
  }
  const cidr = (key: string, family: 'ipv4' | 'ipv6'): string | undefined => {
    const v = obj[key];
    if (typeof v !== 'string') return r.fail([...path, key], `expected a CIDR string, got ${describeValue(v)}`);
    const problem = cidrProblem(v, family);
    return problem ? r.fail([...path, key], problem) : v;
  };
  const podNetwork = 'podNetwork' in obj ? cidr('podNetwork', 'ipv4') : r.fail(path, 'missing required key "podNetwork"');
  const podNetworkV6 = 'podNetworkV6' in obj ? cidr('podNetworkV6', 'ipv6') : undefined;
  const vni = 'vni' in obj ? r.integer(obj.vni, [...path, 'vni'], 1, 16777215) : DEFAULT_VNI;
  const port = 'port' in obj ? r.integer(obj.port, [...path, 'port'], 1, 65535) : undefined;
  if (backend !== 'vxlan') {
    // vni: 1 is what resolving fills in for every backend, so a resolved environment validates again.
    for (const key of ['vni', 'port']) if (key in obj && !(key === 'vni' && obj.vni === DEFAULT_VNI)) r.fail([...path, key], `only applies to the vxlan backend, not ${backend}`);
  }
  const tunnelMode = readTunnelMode(r, obj, backend);
  return { backend, podNetwork, ...(podNetworkV6 !== undefined && { podNetworkV6 }), vni, ...(port !== undefined && { port }), ...(tunnelMode !== undefined && { tunnelMode }), ...readChartValues(r, obj, backend, distribution) };
}

const PORT = (r: Reader, v: Json, p: YamlPath) => r.integer(v, p, 1, 65535, 'a port');
/**
 * A directory on the node for a hostPath: absolute, plain characters, a trailing slash allowed; no
 * `..` segment (Kubernetes refuses such a hostPath, and install-cni such a directory) and not `/`.
 * One segment per `/`, so matching is linear (`(seg/?)*` backtracked exponentially).
 */
const HOST_PATH = /^(?!.*\/\.\.(\/|$))\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/;
/** A DNS subdomain of at most 253 characters: no Secret can have a longer name, so a pod naming one never starts. */
const SECRET_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/s;
/** A Secret data key as Kubernetes takes it (IsConfigMapKey): not `.`, and not starting with `..`. */
const SECRET_KEY = /^(?!\.$)(?!\.\.)[-._a-zA-Z0-9]{1,253}$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
/** What install-cni and link-cni-plugins accept as a binary name (lowercase: they refuse any other name on every node). */
const CNI_TYPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * flanneld v0.28.9's flags (main.go) and the klog ones it copies; a typo would make flanneld exit
 * on every node (flag.ExitOnError).
 */
const FLANNELD_FLAGS = [
  'etcd-endpoints', 'etcd-prefix', 'etcd-keyfile', 'etcd-certfile', 'etcd-cafile', 'etcd-username', 'etcd-password',
  'iface', 'iface-regex', 'iface-can-reach', 'subnet-file', 'public-ip', 'public-ipv6', 'subnet-lease-renew-margin',
  'ip-masq', 'ip-masq-fully-random-disable', 'kube-subnet-mgr', 'kube-api-url', 'kube-annotation-prefix', 'kubeconfig-file',
  'version', 'healthz-ip', 'healthz-port', 'iptables-resync', 'iptables-forward-rules', 'ip-blackhole-route',
  'net-config-path', 'set-node-network-unavailable', 'v', 'vmodule', 'log_backtrace_at',
];
/** Flags flannel-mtu sets itself, and the environment key that controls each. */
const OWNED_FLAGS: Readonly<Record<string, string>> = {
  'ip-masq': 'always set',
  'kube-subnet-mgr': 'always set',
  'healthz-port': 'use flannel.healthzPort',
  'iface': 'use flannel.iface',
  'iface-regex': 'use flannel.ifaceRegex',
  'iface-can-reach': 'use flannel.ifaceCanReach',
  'net-config-path': 'set by flannel-mtu (wireguard psk reads a generated copy)',
  'version': 'flanneld would print its version and exit',
};

/** The chart's `flannel.*` values beyond backend, networks and VNI, each checked against the backend it applies to. */
function readChartValues(r: Reader, obj: Obj, backend: BackendType | undefined, distribution: Distribution): Partial<ResolvedFlannelSettings> {
  const path = ['flannel'];
  const at = (key: string) => [...path, key];
  const only = (key: string, backends: readonly BackendType[]) => {
    if (key in obj && backend !== undefined && !backends.includes(backend)) r.fail(at(key), `only applies to the ${backends.join(' or ')} backend, not ${backend}`);
  };
  only('GBP', ['vxlan']);
  only('directRouting', ['vxlan']);
  for (const key of ['backendPortv6', 'psk', 'keepaliveInterval']) only(key, ['wireguard']);
  only('backendPort', ['vxlan', 'wireguard']);
  if ('backendPort' in obj && 'port' in obj) r.fail(at('backendPort'), 'give backendPort or port (its older name), not both');
  const bool = (key: string, fallback: boolean) => (key in obj ? r.boolean(obj[key], at(key)) : fallback);
  const out: Record<string, unknown> = {};
  if ('backendPort' in obj) out.backendPort = PORT(r, obj.backendPort, at('backendPort'));
  if ('backendPortv6' in obj) out.backendPortv6 = PORT(r, obj.backendPortv6, at('backendPortv6'));
  for (const key of ['GBP', 'directRouting']) if (key in obj) out[key] = bool(key, false);
  if ('psk' in obj) {
    const p = typeof obj.psk === 'string'
      ? r.fail(at('psk'), 'expected { secretName, key }: the pre-shared key is read from a Secret in namespace kube-flannel, never written into the environment or the ConfigMap')
      : r.mapping(obj.psk, at('psk'), ['secretName', 'key']);
    if (p) {
      const secretName = r.string(r.required(p, 'secretName', at('psk')), [...at('psk'), 'secretName'], SECRET_NAME, 'a Secret name (lowercase DNS subdomain of at most 253 characters)');
      const key = 'key' in p ? r.string(p.key, [...at('psk'), 'key'], SECRET_KEY, 'a Secret data key (letters, digits and -._, not . or starting with ..)') : undefined;
      if (secretName !== undefined) out.psk = { secretName, ...(key !== undefined && { key }) };
    }
  }
  if ('keepaliveInterval' in obj) out.keepaliveInterval = r.integer(obj.keepaliveInterval, at('keepaliveInterval'), 0, 65535, 'a number of seconds');
  for (const key of ['cniBinDir', 'cniConfDir'] as const) {
    out[key] = key in obj ? r.string(obj[key], at(key), HOST_PATH, 'an absolute directory path on the node (letters, digits and ._-, without .., not /)') : DISTRIBUTIONS[distribution][key];
  }
  out.skipCNIConfigInstallation = bool('skipCNIConfigInstallation', false);
  out.enableNFTables = bool('enableNFTables', false);
  out.args = 'args' in obj ? readArgs(r, obj.args, at('args')) : [];
  out.resources = 'resources' in obj ? readResources(r, obj.resources, at('resources')) : DEFAULT_FLANNEL_RESOURCES;
  out.tolerations = 'tolerations' in obj ? readTolerations(r, obj.tolerations, at('tolerations')) : DEFAULT_TOLERATIONS;
  if ('nodeSelector' in obj) out.nodeSelector = readLabels(r, obj.nodeSelector, at('nodeSelector'));
  out.healthzPort = 'healthzPort' in obj ? r.integer(obj.healthzPort, at('healthzPort'), 0, 65535, 'a port (0 turns the health server off)') : DEFAULT_HEALTHZ_PORT;
  out.cniPlugins = 'cniPlugins' in obj ? readCniPlugins(r, obj.cniPlugins, at('cniPlugins')) : DEFAULT_CNI_PLUGINS;
  Object.assign(out, readInterfaceSelection(r, obj, path));
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<ResolvedFlannelSettings>;
}

const INTERFACE_KEYS = ['iface', 'ifaceRegex', 'ifaceCanReach'] as const;
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
/** Regex syntax Go's RE2 (flanneld) and awk's ERE (the node's NIC check) do not share. */
const NOT_ERE = /\\[dDwWsSbBAzQE]|\(\?|[*+?}]\?|[\n\r]/;

/** flanneld's `--iface`, `--iface-regex` and `--iface-can-reach`, for the cluster or one cloud. */
function readInterfaceSelection(r: Reader, obj: Obj, path: YamlPath): InterfaceSelection {
  const at = (key: string, ...rest: (string | number)[]) => [...path, key, ...rest];
  const out: { iface?: string[]; ifaceRegex?: string[]; ifaceCanReach?: string } = {};
  const list = (key: 'iface' | 'ifaceRegex', check: (v: string, i: number) => boolean): string[] | undefined => {
    const items = r.list(obj[key], at(key));
    if (!items) return undefined;
    if (items.length === 0) r.fail(at(key), 'expected at least one entry, or leave the key out');
    const seen = new Map<string, number>();
    const values: string[] = [];
    items.forEach((v, i) => {
      if (typeof v !== 'string') { r.fail(at(key, i), `expected a string, got ${describeValue(v)}`); return; }
      if (seen.has(v)) { r.fail(at(key, i), `${quote(v)} is already listed at ${key}[${seen.get(v)}]`); return; }
      seen.set(v, i);
      if (check(v, i)) values.push(v);
    });
    return values;
  };
  if ('iface' in obj) {
    out.iface = list('iface', (v, i) => IFNAME.test(v) || isIpv4(v) || isIpv6(v) || r.fail(at('iface', i), `expected an interface name such as eth0 or ens5, or one of its addresses, got ${quote(v)}`) === true);
  }
  if ('ifaceRegex' in obj) {
    out.ifaceRegex = list('ifaceRegex', (v, i) => {
      if (v === '' || NOT_ERE.test(v)) {
        return r.fail(at('ifaceRegex', i), `expected a non-empty POSIX extended regular expression (flanneld matches it with Go's RE2 and the node's NIC check with awk, so use [0-9] rather than \\d, and no (?...) groups or lazy quantifiers), got ${quote(v)}`) === true;
      }
      try {
        new RegExp(v);
      } catch (e) {
        return r.fail(at('ifaceRegex', i), `invalid regular expression ${quote(v)}: ${(e as Error).message}`) === true;
      }
      return true;
    });
  }
  if ('ifaceCanReach' in obj) {
    const v = obj.ifaceCanReach;
    if (Array.isArray(v)) r.fail(at('ifaceCanReach'), 'expected one address: flanneld takes one --iface-can-reach (given twice, the last wins)');
    else if (typeof v !== 'string' || !(isIpv4(v) || isIpv6(v))) r.fail(at('ifaceCanReach'), `expected an IPv4 or IPv6 address, got ${describeValue(v)}`);
    else out.ifaceCanReach = v;
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

function readArgs(r: Reader, value: Json, path: YamlPath): string[] {
  const list = r.list(value, path) ?? [];
  const seen = new Map<string, number>();
  const args: string[] = [];
  list.forEach((item, i) => {
    const m = typeof item === 'string' ? /^--?([A-Za-z0-9_-]+)(=.*)?$/s.exec(item) : null;
    if (m === null) {
      r.fail([...path, i], `expected a flanneld flag such as "--iface-regex=..." or "--v=2" (a value goes in the same item, after "="), got ${describeValue(item)}`);
      return;
    }
    const flag = m[1];
    if (!FLANNELD_FLAGS.includes(flag)) {
      r.fail([...path, i], `flanneld v0.28.9 has no flag --${flag}: it would exit on every node`);
    } else if (flag in OWNED_FLAGS) {
      r.fail([...path, i], `--${flag} is set by flannel-mtu (${OWNED_FLAGS[flag]}); leave it out of args`);
    } else if (flag.startsWith('etcd-')) {
      r.fail([...path, i], `--${flag} has no effect: flannel-mtu runs flanneld with --kube-subnet-mgr`);
    } else if (seen.has(flag)) {
      r.fail([...path, i], `--${flag} is already given at args[${seen.get(flag)}]`);
    } else if (/[\n\r\0]/.test(item as string)) {
      r.fail([...path, i], 'expected one line without control characters');
    } else {
      args.push(item as string);
    }
    seen.set(flag, i);
  });
  return args;
}

function readLabels(r: Reader, value: Json, path: YamlPath): Record<string, string> | undefined {
  const sel = r.mapping(value, path, Object.keys((value as Obj) ?? {}));
  if (!sel) return undefined;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel)) {
    if (!LABEL_KEY.test(k)) r.fail([...path, k], `expected a Kubernetes label key, got ${quote(k)}`);
    const val = r.string(v, [...path, k], LABEL_VALUE, 'a Kubernetes label value');
    if (val !== undefined) labels[k] = val;
  }
  return labels;
}

function readResources(r: Reader, value: Json, path: YamlPath): ContainerResources | undefined {
  const obj = r.mapping(value, path, ['requests', 'limits']);
  if (!obj) return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const kind of ['requests', 'limits'] as const) {
    if (!(kind in obj)) continue;
    const q = r.mapping(obj[kind], [...path, kind], ['cpu', 'memory', 'ephemeral-storage']);
    if (!q) continue;
    out[kind] = {};
    for (const [k, v] of Object.entries(q)) {
      const text = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? String(v) : v;
      const ok = r.string(text, [...path, kind, k], QUANTITY, 'a Kubernetes quantity such as 100m, 50Mi or 1');
      if (ok !== undefined) out[kind][k] = ok;
    }
  }
  return out;
}

function readTolerations(r: Reader, value: Json, path: YamlPath): Toleration[] {
  const list = r.list(value, path) ?? [];
  const out: Toleration[] = [];
  list.forEach((item, i) => {
    const at = [...path, i];
    const t = r.mapping(item, at, ['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
    if (!t) return;
    const operator = 'operator' in t ? t.operator : 'Equal';
    if (operator !== 'Exists' && operator !== 'Equal') r.fail([...at, 'operator'], `expected Exists or Equal, got ${describeValue(operator)}`);
    if ('effect' in t && t.effect !== 'NoSchedule' && t.effect !== 'PreferNoSchedule' && t.effect !== 'NoExecute') {
      r.fail([...at, 'effect'], `expected NoSchedule, PreferNoSchedule or NoExecute, got ${describeValue(t.effect)}`);
    }
    const key = 'key' in t ? r.string(t.key, [...at, 'key'], LABEL_KEY, 'a taint key') : undefined;
    const val = 'value' in t ? r.string(t.value, [...at, 'value'], LABEL_VALUE, 'a taint value') : undefined;
    if (operator === 'Exists' && 'value' in t) r.fail([...at, 'value'], 'a toleration with operator Exists takes no value');
    if (operator === 'Equal' && !('key' in t)) r.fail(at, 'operator Equal needs a key (use operator Exists to tolerate every taint)');
    if ('tolerationSeconds' in t && t.effect !== 'NoExecute') r.fail([...at, 'tolerationSeconds'], 'only applies to effect NoExecute');
    const seconds = 'tolerationSeconds' in t ? r.integer(t.tolerationSeconds, [...at, 'tolerationSeconds'], 0, 2 ** 31 - 1, 'a number of seconds') : undefined;
    out.push({
      ...(key !== undefined && { key }),
      ...('operator' in t && { operator: operator as Toleration['operator'] }),
      ...(val !== undefined && { value: val }),
      ...('effect' in t && { effect: t.effect as Toleration['effect'] }),
      ...(seconds !== undefined && { tolerationSeconds: seconds }),
    });
  });
  return out;
}

/**
 * The plugins chained after flannel. flannel itself and tuning belong to flannel-mtu (the pod MTU
 * and the tcp_mtu_probing sysctl), and a type may appear once.
 */
function readCniPlugins(r: Reader, value: Json, path: YamlPath): CniPlugin[] {
  const list = r.list(value, path) ?? [];
  const seen = new Map<string, number>();
  const out: CniPlugin[] = [];
  list.forEach((item, i) => {
    const at = [...path, i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      r.fail(at, `expected a CNI plugin config (a mapping with "type"), got ${describeValue(item)}`);
      return;
    }
    const type = r.string(r.required(item as Obj, 'type', at), [...at, 'type'], CNI_TYPE, 'a CNI plugin binary name such as portmap or bandwidth (lowercase letters, digits and ._-)');
    if (type === undefined) return;
    if (type === 'flannel') r.fail([...at, 'type'], 'flannel is the first plugin already (flannel-mtu writes it with the pod MTU)');
    else if (seen.has(type)) r.fail([...at, 'type'], `plugin "${type}" is already listed at cniPlugins[${seen.get(type)}]`);
    else out.push(item as CniPlugin);
    seen.set(type, i);
  });
  return out;
}

function readTunnelMode(r: Reader, obj: Obj, backend: BackendType | undefined): WireguardTunnelMode | undefined {
  const path = ['flannel', 'tunnelMode'];
  if (backend !== 'wireguard') {
    if ('tunnelMode' in obj) r.fail(path, `only applies to the wireguard backend, not ${backend}`);
    return undefined;
  }
  if (!('tunnelMode' in obj)) return DEFAULT_TUNNEL_MODE;
  const m = obj.tunnelMode;
  if (m === 'ipv4' || m === 'ipv6') {
    return r.fail(path, `tunnelMode "${m}" is not supported: flannel-mtu plans separate (one tunnel per family) and auto (one tunnel, over IPv4 or IPv6 per peer, so the pod MTU fits both)`);
  }
  if (typeof m !== 'string' || !(WIREGUARD_TUNNEL_MODES as readonly string[]).includes(m)) {
    return r.fail(path, `expected one of ${WIREGUARD_TUNNEL_MODES.join(', ')}, got ${describeValue(m)}`);
  }
  return m as WireguardTunnelMode;
}


/** The clouds, and every cloud name that was readable (so one bad nicMtu does not make links fail too). */
function readClouds(r: Reader, value: Json): { clouds: Cloud[]; names: string[] } {
  const list = r.list(value, ['clouds'], LIMITS.clouds);
  if (!list) return { clouds: [], names: [] };
  if (list.length === 0) r.fail(['clouds'], 'expected at least one cloud');
  const seen = new Map<string, number>();
  const clouds: Cloud[] = [];
  const names: string[] = [];
  const cidrs: Array<{ cidr: Cidr; where: string }> = [];
  list.forEach((item, i) => {
    const path = ['clouds', i];
    const obj = r.mapping(item, path, ['name', 'nicMtu', 'fabricMtu', 'nodeSelector', 'nodes', 'nodeCidrs', ...INTERFACE_KEYS]);
    if (!obj) return;
    const name = r.string(r.required(obj, 'name', path), [...path, 'name'], DNS_LABEL, 'a lowercase DNS label such as "cloud-a"');
    if (name !== undefined) {
      names.push(name);
      if (seen.has(name)) r.fail([...path, 'name'], `duplicate cloud name ${quote(name)} (first at clouds[${seen.get(name)}])`);
      seen.set(name, i);
    }
    const nicMtu = MTU(r, r.required(obj, 'nicMtu', path), [...path, 'nicMtu']);
    const fabricMtu = 'fabricMtu' in obj ? MTU(r, obj.fabricMtu, [...path, 'fabricMtu']) : undefined;
    if (fabricMtu !== undefined && nicMtu !== undefined && fabricMtu > nicMtu) {
      r.fail([...path, 'fabricMtu'], `expected at most nicMtu (${nicMtu}): a path cannot carry more than the NICs at its ends, got ${fabricMtu}`);
    }
    let nodeSelector: Record<string, string> | undefined;
    if ('nodeSelector' in obj) {
      const at = [...path, 'nodeSelector'];
      const sel = obj.nodeSelector;
      if (sel === null || typeof sel !== 'object' || Array.isArray(sel)) {
        r.fail(at, `expected a mapping of node labels, got ${describeValue(sel)}`);
      } else if (Object.keys(sel).length > LIMITS.nodeSelectorLabels) {
        r.fail(at, `expected at most ${LIMITS.nodeSelectorLabels} labels, got ${Object.keys(sel).length}`);
      } else {
        nodeSelector = {};
        for (const [k, v] of Object.entries(sel as Obj)) {
          if (!LABEL_KEY.test(k)) r.fail([...path, 'nodeSelector', k], `expected a Kubernetes label key, got ${quote(k)}`);
          const val = r.string(v, [...path, 'nodeSelector', k], LABEL_VALUE, 'a Kubernetes label value');
          if (val !== undefined) nodeSelector[k] = val;
        }
      }
    }
    let nodes: string[] | undefined;
    if ('nodes' in obj) {
      const l = r.list(obj.nodes, [...path, 'nodes'], LIMITS.nodesPerCloud);
      nodes = (l ?? []).filter((n, j): n is string => {
        const ok = typeof n === 'string' && (isIpv4(n) || isIpv6(n));
        if (!ok) r.fail([...path, 'nodes', j], `expected an IPv4 or IPv6 address, got ${describeValue(n)}`);
        return ok;
      });
    }
    let nodeCidrs: string[] | undefined;
    if ('nodeCidrs' in obj) {
      const listed = r.list(obj.nodeCidrs, [...path, 'nodeCidrs'], LIMITS.nodeCidrsPerCloud);
      if (listed?.length === 0) r.fail([...path, 'nodeCidrs'], 'expected at least one CIDR, or leave nodeCidrs out');
      const l = listed ?? [];
      nodeCidrs = [];
      const own: Cidr[] = [];
      l.forEach((c, j) => {
        const at = [...path, 'nodeCidrs', j];
        const parsed = typeof c === 'string' ? parseCidr(c) : undefined;
        if (parsed === undefined) {
          const loose = typeof c === 'string' ? looseCidr(c) : undefined;
          r.fail(at, loose ? `${quote(c as string)} has host bits set; did you mean ${loose}?` : `expected an IPv4 or IPv6 CIDR such as 10.119.96.0/24, got ${describeValue(c)}`);
          return;
        }
        // What the node scripts could not verify in iptables-save's output: it leaves /0 out, and
        // glibc prints ::a.b.c.d where musl prints hex.
        if (parsed.prefix === 0) return r.fail(at, `${parsed.text} matches every address: give the cloud's node subnets`);
        if (parsed.family === 'ipv6' && isIpv4Compatible(parsed)) return r.fail(at, `${clip(c as string)} is in the deprecated IPv4-compatible range ::/96, which iptables prints differently on glibc and musl: give a real node subnet`);
        own.push(parsed);
        for (const seen of cidrs) {
          if (cidrsOverlap(seen.cidr, parsed)) r.fail(at, `${parsed.text} overlaps ${seen.cidr.text} of ${seen.where}: a node address must match exactly one cloud`);
        }
        cidrs.push({ cidr: parsed, where: `clouds[${i}] (${typeof obj.name === 'string' ? clip(obj.name) : '?'})` });
        nodeCidrs!.push(parsed.text);
      });
      // A declared node outside its cloud's subnets would fail on that node ("in no cloud's node subnets").
      (nodes ?? []).forEach((n, j) => {
        const address = parseCidr(`${n}/${n.includes(':') ? 128 : 32}`);
        if (own.length > 0 && address && !own.some((c) => cidrsOverlap(c, address))) {
          r.fail([...path, 'nodes', j], `node ${n} is in none of this cloud's nodeCidrs (${own.map((c) => c.text).join(', ')}): its underlay clamp could not find its cloud`);
        }
      });
    }
    const interfaces = readInterfaceSelection(r, obj, path);
    if (name !== undefined && nicMtu !== undefined) {
      clouds.push({ name, nicMtu, ...(fabricMtu !== undefined && { fabricMtu }), ...(nodeSelector && { nodeSelector }), ...(nodes && { nodes }), ...(nodeCidrs && { nodeCidrs }), ...interfaces });
    }
  });
  const declaring = list.filter((c) => c !== null && typeof c === 'object' && 'nodeCidrs' in (c as Obj)).length;
  if (declaring > 0 && declaring < list.length) {
    r.fail(['clouds'], `${declaring} of ${list.length} clouds declare nodeCidrs: declare them for every cloud or none, or nodes of the others could not find their cloud`);
  }
  return { clouds, names: [...new Set(names)] };
}

/** The network a CIDR with host bits set belongs to, for a "did you mean" hint. */
function looseCidr(text: string): string | undefined {
  const [addr, len] = text.split('/');
  const family = addr.includes(':') ? 'ipv6' : 'ipv4';
  if (cidrProblem(text, family) !== undefined) return undefined;
  const masked = maskAddress(addr, Number(len), family);
  return masked === undefined ? undefined : parseCidr(`${masked}/${len}`)?.text;
}

function maskAddress(addr: string, prefix: number, family: 'ipv4' | 'ipv6'): string | undefined {
  if (family === 'ipv4') {
    const n = addr.split('.').reduce((v, p) => (v << 8n) | BigInt(Number(p)), 0n) & ~((1n << BigInt(32 - prefix)) - 1n);
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  }
  const full = parseCidr(`${addr}/128`);
  if (!full) return undefined;
  const n = full.network & ~((1n << BigInt(128 - prefix)) - 1n);
  return parseCidr(`${Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':')}/128`)?.text.split('/')[0];
}

function readLinks(r: Reader, value: Json, cloudNames: readonly string[]): Link[] {
  const list = value === undefined ? [] : r.list(value, ['links'], (LIMITS.clouds * (LIMITS.clouds - 1)) / 2);
  if (!list) return [];
  const links: Link[] = [];
  const pairs = new Map<string, number>();
  const names = new Map<string, number>();
  list.forEach((item, i) => {
    const path = ['links', i];
    const obj = r.mapping(item, path, ['between', 'name', 'pathMtu', 'mtu', 'overhead', 'pathMtuV6']);
    if (!obj) return;
    let between: [string, string] | undefined;
    const b = r.required(obj, 'between', path);
    if (!Array.isArray(b) || b.length !== 2 || b.some((x) => typeof x !== 'string')) {
      r.fail([...path, 'between'], `expected a list of two cloud names, got ${Array.isArray(b) ? `a list of ${b.length}` : describeValue(b)}`);
    } else if (b[0] === b[1]) {
      r.fail([...path, 'between'], `a link joins two different clouds, got ${quote(b[0])} twice`);
    } else {
      b.forEach((n, j) => {
        if (!cloudNames.includes(n)) r.fail([...path, 'between', j], `unknown cloud ${quote(n)}; clouds are: ${cloudNames.join(', ')}`);
      });
      between = [b[0], b[1]];
      const key = [...between].sort().join('\u0000');
      if (pairs.has(key)) r.fail([...path, 'between'], `clouds ${quote(b[0])} and ${quote(b[1])} are already joined by links[${pairs.get(key)}]; give exactly one link per pair`);
      pairs.set(key, i);
    }
    const name = 'name' in obj ? r.string(obj.name, [...path, 'name'], DNS_LABEL, 'a lowercase DNS label') : undefined;
    // Reports, the probe and the keeper tell links apart by name: two links named alike would swap MTUs.
    const shown = name ?? (between ? `${between[0]}~${between[1]}` : undefined);
    if (shown !== undefined) {
      if (names.has(shown)) r.fail(name !== undefined ? [...path, 'name'] : path, `duplicate link name ${quote(shown)} (first at links[${names.get(shown)}]); give each link its own name`);
      else names.set(shown, i);
    }
    let pathMtu: number | undefined;
    if ('pathMtu' in obj) {
      if ('mtu' in obj || 'overhead' in obj) r.fail(path, 'give either pathMtu, or mtu and overhead, not both');
      pathMtu = MTU(r, obj.pathMtu, [...path, 'pathMtu']);
    } else if ('mtu' in obj || 'overhead' in obj) {
      const mtu = MTU(r, r.required(obj, 'mtu', path), [...path, 'mtu']);
      const overhead = r.integer(r.required(obj, 'overhead', path), [...path, 'overhead'], 0, 1024, 'a byte count');
      if (mtu !== undefined && overhead !== undefined) {
        pathMtu = mtu - overhead;
        if (pathMtu < MIN_UNDERLAY_MTU) pathMtu = r.fail(path, `mtu ${mtu} - overhead ${overhead} = ${pathMtu}, below the smallest usable underlay MTU ${MIN_UNDERLAY_MTU}`);
      }
    } else {
      r.fail(path, 'missing the path MTU: give pathMtu (measured), or mtu and overhead');
    }
    const pathMtuV6 = 'pathMtuV6' in obj ? MTU(r, obj.pathMtuV6, [...path, 'pathMtuV6']) : undefined;
    if (between && pathMtu !== undefined) {
      links.push({ between, pathMtu, ...(name !== undefined && { name }), ...(pathMtuV6 !== undefined && { pathMtuV6 }) });
    }
  });
  for (let i = 0; i < cloudNames.length; i++) {
    for (let j = i + 1; j < cloudNames.length; j++) {
      const key = [cloudNames[i], cloudNames[j]].sort().join('\u0000');
      if (!pairs.has(key)) {
        r.fail(['links'], `no link joins clouds "${cloudNames[i]}" and "${cloudNames[j]}"; every pair of clouds needs one (declare its measured pathMtu)`);
      }
    }
  }
  return links;
}

function readMssClamp(r: Reader, value: Json): ResolvedEnvironment['mssClamp'] {
  if (value === undefined) return { enabled: true };
  const obj = r.mapping(value, ['mssClamp'], ['enabled']);
  const enabled = obj && 'enabled' in obj ? r.boolean(obj.enabled, ['mssClamp', 'enabled']) : true;
  return { enabled: enabled ?? true };
}

function readImages(r: Reader, value: Json): ResolvedEnvironment['images'] {
  if (value === undefined) return DEFAULT_IMAGES;
  const obj = r.mapping(value, ['images'], ['flannel', 'flannelCniPlugin', 'kubectl', 'busybox']);
  const image = (key: 'flannel' | 'flannelCniPlugin'): string =>
    obj && key in obj ? r.string(obj[key], ['images', key], IMAGE_REF, 'an image reference with a tag or digest') ?? DEFAULT_IMAGES[key] : DEFAULT_IMAGES[key];
  // The rollout Job's images are optional: absent means the default, and they stay absent here.
  const optional = (key: 'kubectl' | 'busybox') => {
    const v = obj && key in obj ? r.string(obj[key], ['images', key], IMAGE_REF, 'an image reference with a tag or digest') : undefined;
    return v !== undefined ? { [key]: v } : {};
  };
  return { flannel: image('flannel'), flannelCniPlugin: image('flannelCniPlugin'), ...optional('kubectl'), ...optional('busybox') };
}

/** Smallest and largest `rollout.timeoutSeconds`. */
const MIN_ROLLOUT_TIMEOUT_SECONDS = 10;
const MAX_ROLLOUT_TIMEOUT_SECONDS = 86400;

/**
 * Why `selector` is not a selector the rollout Job accepts, or undefined when it is: comma-separated
 * `key`, `!key`, `key=value`, `key==value` or `key!=value` terms with Kubernetes label keys and
 * non-empty values. Set-based terms (`in (...)`) are left out on purpose: the Job's script only
 * accepts a charset without spaces and parentheses.
 */
export function selectorProblem(selector: string): string | undefined {
  if (selector.length > LIMITS.selectorChars) return `expected a label selector of at most ${LIMITS.selectorChars} characters, got ${selector.length}`;
  const terms = selector.split(',');
  for (const term of terms) {
    if (!SELECTOR_TERM.test(term)) {
      return `expected a label selector of comma-separated key, !key, key=value or key!=value terms (set-based "in"/"notin" terms are not supported), got ${quote(selector)}${terms.length > 1 ? ` (bad term ${quote(term)})` : ''}`;
    }
  }
  return undefined;
}

function readRollout(r: Reader, value: Json): ResolvedRolloutSettings | undefined {
  if (value === undefined) return undefined;
  const path = ['rollout'];
  const obj = r.mapping(value, path, ['enabled', 'namespaces', 'selector', 'timeoutSeconds', 'allowSystemNamespaces']);
  if (!obj) return undefined;
  const enabled = 'enabled' in obj ? r.boolean(obj.enabled, [...path, 'enabled']) : true;
  const allowSystem = 'allowSystemNamespaces' in obj ? r.boolean(obj.allowSystemNamespaces, [...path, 'allowSystemNamespaces']) : false;
  const namespaces: string[] = [];
  if ('namespaces' in obj) {
    const list = r.list(obj.namespaces, [...path, 'namespaces'], LIMITS.namespaces);
    if (list && list.length === 0 && enabled) r.fail([...path, 'namespaces'], 'expected at least one namespace');
    const seen = new Map<string, number>();
    (list ?? []).forEach((item, i) => {
      const ns = r.string(item, [...path, 'namespaces', i], DNS_LABEL, 'a namespace name (a lowercase DNS label such as "ingress-nginx")');
      if (ns === undefined) return;
      if (seen.has(ns)) r.fail([...path, 'namespaces', i], `duplicate namespace "${ns}" (first at rollout.namespaces[${seen.get(ns)}])`);
      else if (SYSTEM_NAMESPACES.includes(ns) && allowSystem !== true) {
        r.fail([...path, 'namespaces', i], `${ns} is refused unless rollout.allowSystemNamespaces is true: the Job could then patch the DaemonSets there (kube-proxy, flannel itself), which run as root on every node`);
      } else namespaces.push(ns);
      seen.set(ns, i);
    });
  } else if (enabled !== false) {
    r.fail(path, 'missing required key "namespaces": list the namespaces whose workloads are restarted, in order (there is no all-namespaces mode)');
  }
  let selector: string | undefined;
  if ('selector' in obj) {
    if (typeof obj.selector !== 'string') {
      r.fail([...path, 'selector'], `expected a label selector string, got ${describeValue(obj.selector)}`);
    } else {
      const problem = selectorProblem(obj.selector);
      if (problem) r.fail([...path, 'selector'], problem);
      else selector = obj.selector;
    }
  }
  const timeoutSeconds = 'timeoutSeconds' in obj
    ? r.integer(obj.timeoutSeconds, [...path, 'timeoutSeconds'], MIN_ROLLOUT_TIMEOUT_SECONDS, MAX_ROLLOUT_TIMEOUT_SECONDS, 'a number of seconds')
    : DEFAULT_ROLLOUT_TIMEOUT_SECONDS;
  return {
    enabled: enabled ?? true,
    namespaces,
    ...(selector !== undefined && { selector }),
    timeoutSeconds: timeoutSeconds ?? DEFAULT_ROLLOUT_TIMEOUT_SECONDS,
    ...(allowSystem === true && { allowSystemNamespaces: true }),
  };
}

/** A directory on the node (hostPath): absolute, plain characters, no `..` segment, not `/` itself. */
const HOST_DIRECTORY = /^(?!.*\/\.\.(\/|$))\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

function readProbe(r: Reader, value: Json, clouds: readonly Cloud[], dualStack: boolean): ResolvedEnvironment['probe'] {
  const path = ['probe'];
  const defaults = DEFAULT_PROBE;
  if (value === undefined) return defaults;
  const obj = r.mapping(value, path, ['enabled', 'intervalSeconds', 'marginBytes', 'metrics', 'textfileDirectory']);
  if (!obj) return defaults;
  const probe: ResolvedEnvironment['probe'] = {
    enabled: ('enabled' in obj ? r.boolean(obj.enabled, [...path, 'enabled']) : undefined) ?? true,
    intervalSeconds: ('intervalSeconds' in obj ? r.integer(obj.intervalSeconds, [...path, 'intervalSeconds'], 10, 86400) : undefined) ?? defaults.intervalSeconds,
    marginBytes: ('marginBytes' in obj ? r.integer(obj.marginBytes, [...path, 'marginBytes'], 0, 1000, 'a byte count') : undefined) ?? defaults.marginBytes,
    metrics: ('metrics' in obj ? r.boolean(obj.metrics, [...path, 'metrics']) : undefined) ?? defaults.metrics,
    textfileDirectory: ('textfileDirectory' in obj ? r.string(obj.textfileDirectory, [...path, 'textfileDirectory'], HOST_DIRECTORY, 'an absolute directory path of letters, digits and ._-, without ..') : undefined) ?? defaults.textfileDirectory,
  };
  if (probe.enabled) {
    if (clouds.length === 1) r.fail([...path, 'enabled'], 'probe.enabled needs at least two clouds: the probe measures the links between clouds, and one cloud has none');
    clouds.forEach((c, i) => {
      if (!c.nodeSelector || Object.keys(c.nodeSelector).length === 0) r.fail(['clouds', i], `probe.enabled needs a nodeSelector on cloud "${c.name}", to place its probe on its nodes`);
      if (!c.nodes?.length) r.fail(['clouds', i], `probe.enabled needs at least one address in nodes of cloud "${c.name}", for the other clouds' probes to measure toward`);
      else if (!dualStack && !c.nodes.some(isIpv4)) r.fail(['clouds', i, 'nodes'], `probe.enabled needs an IPv4 address in nodes of cloud "${c.name}": a single-stack cluster's probe measures IPv4 paths only`);
    });
  }
  return probe;
}

function readMtuMode(r: Reader, value: Json, clouds: readonly Cloud[], backend: unknown): MtuMode {
  if (value !== 'per-path') {
    // One DaemonSet runs flanneld with one set of arguments: per-cloud interfaces need a DaemonSet per cloud.
    clouds.forEach((c, i) => {
      for (const key of INTERFACE_KEYS) if (c[key] !== undefined) r.fail(['clouds', i, key], `per-cloud ${key} needs mtuMode per-path (one flannel DaemonSet per cloud); in uniform mode set flannel.${key} for the whole cluster`);
    });
  }
  if (value === undefined) return 'uniform';
  if (value !== 'uniform' && value !== 'per-path') return r.fail(['mtuMode'], `expected uniform or per-path, got ${describeValue(value)}`) ?? 'uniform';
  if (value === 'per-path') {
    // The route-MTU keeper finds a route's remote node through VXLAN's neighbour and fdb entries;
    // wireguard routes carry no such trail (and host-gw runs in one cloud only).
    if (backend !== undefined && backend !== 'vxlan') r.fail(['mtuMode'], `mtuMode per-path needs the vxlan backend (its route-MTU keeper finds each route's remote node through flannel.<vni>'s fdb), got ${describeValue(backend)}`);
    clouds.forEach((c, i) => {
      if (c.name.length > MAX_PER_PATH_CLOUD_NAME) r.fail(['clouds', i, 'name'], `mtuMode per-path needs cloud names of at most ${MAX_PER_PATH_CLOUD_NAME} characters (kube-flannel-ds-<cloud> is a 63-character DNS label), got ${c.name.length}`);
      if (!c.nodeSelector || Object.keys(c.nodeSelector).length === 0) r.fail(['clouds', i], `mtuMode per-path needs a nodeSelector on cloud "${c.name}": each cloud gets its own flannel DaemonSet`);
      if (!c.nodeCidrs) r.fail(['clouds', i], `mtuMode per-path needs nodeCidrs on cloud "${c.name}": routes to other clouds get their link's MTU by the remote node's address`);
    });
  }
  return value;
}

/** The smallest `pmtud.baseMss`: the kernel's floor for a sent MSS (TCP_MIN_SND_MSS). */
export const MIN_BASE_MSS = 48;

function readPmtud(r: Reader, value: Json): ResolvedEnvironment['pmtud'] {
  const path = ['pmtud'];
  const obj = r.mapping(value, path, ['mode', 'baseMss']);
  if (!obj) return { mode: DEFAULT_PMTUD_MODE };
  let mode = DEFAULT_PMTUD_MODE;
  if ('mode' in obj) {
    if (typeof obj.mode === 'string' && (PMTUD_MODES as readonly string[]).includes(obj.mode)) mode = obj.mode as ResolvedEnvironment['pmtud']['mode'];
    else r.fail([...path, 'mode'], `expected one of ${PMTUD_MODES.join(', ')}, got ${describeValue(obj.mode)}`);
  }
  // The upper bound is the planned MSS, checked by the plan; here only what any plan refuses.
  const baseMss = 'baseMss' in obj ? r.integer(obj.baseMss, [...path, 'baseMss'], MIN_BASE_MSS, MAX_UNDERLAY_MTU - 40, 'an MSS in bytes') : undefined;
  if (mode === 'off' && 'baseMss' in obj) r.fail([...path, 'baseMss'], 'only applies when pmtud.mode is blackhole or always (mode off writes no sysctl)');
  return { mode, ...(baseMss !== undefined && { baseMss }) };
}

/** `imagePullSecrets`: Secret names, as the chart's `global.imagePullSecrets` ({ name } entries are accepted too). */
function readImagePullSecrets(r: Reader, value: Json): string[] {
  if (value === undefined) return [];
  const list = r.list(value, ['imagePullSecrets']) ?? [];
  const out: string[] = [];
  list.forEach((item, i) => {
    const name = item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 1 && 'name' in item ? (item as Obj).name : item;
    const ok = r.string(name, ['imagePullSecrets', i], SECRET_NAME, 'a Secret name in namespace kube-flannel (lowercase DNS subdomain of at most 253 characters)');
    if (ok === undefined) return;
    if (out.includes(ok)) r.fail(['imagePullSecrets', i], `Secret "${ok}" is listed twice`);
    else out.push(ok);
  });
  return out;
}

/** A copy without keys whose value is `undefined`: in code `{ port: undefined }` means no port, as in YAML. */
function withoutUndefined(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, withoutUndefined(v)]));
}

/**
 * Validates a typed `Environment` and fills in its defaults. Idempotent: a resolved environment
 * resolves to an equal one. Throws one InputError listing every problem, each with its YAML path.
 */
export function resolveEnvironment(environment: Environment): ResolvedEnvironment {
  // What this module returned is deeply frozen, so it is still what was validated: no second pass
  // (synth resolves each environment in the loader, the plan and the chart).
  if (RESOLVED.has(environment)) return environment as ResolvedEnvironment;
  return toEnvironment(environment);
}

const RESOLVED = new WeakSet<object>();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Reads an untyped document (parsed YAML, or an object built in code) into a resolved environment.
 * Throws one InputError listing every problem, each with its YAML path.
 */
export function toEnvironment(document: Json, defaultName?: string): ResolvedEnvironment {
  const doc = withoutUndefined(document);
  const r = new Reader();
  const root = r.mapping(doc, [], ['name', 'flannel', 'clouds', 'links', 'mssClamp', 'images', 'rollout', 'probe', 'mtuMode', 'pmtud', 'imagePullSecrets', 'distribution', 'netpol']);
  if (!root) throw new InputError(r.problems);
  let name: string | undefined;
  if ('name' in root) {
    name = r.string(root.name, ['name'], DNS_LABEL, 'a lowercase DNS label such as "seed-dev"');
  } else if (defaultName === undefined || !DNS_LABEL.test(defaultName)) {
    r.fail([], `missing "name", and the file name ${quote(defaultName ?? '')} is not a lowercase DNS label to default to`);
  } else {
    name = defaultName;
  }
  const distribution = readDistribution(r, root.distribution);
  const flannel = readFlannel(r, r.required(root, 'flannel', []), distribution);
  const { clouds, names } = readClouds(r, r.required(root, 'clouds', []));
  const links = readLinks(r, root.links, names);
  const mssClamp = readMssClamp(r, root.mssClamp);
  const images = readImages(r, root.images);
  const rollout = readRollout(r, root.rollout);
  const probe = readProbe(r, root.probe, clouds, flannel.podNetworkV6 !== undefined);
  const mtuMode = readMtuMode(r, root.mtuMode, clouds, flannel.backend);
  const pmtud = readPmtud(r, root.pmtud);
  const imagePullSecrets = readImagePullSecrets(r, root.imagePullSecrets);
  const netpol = readNetpol(r, root.netpol);
  if (pmtud.mode !== 'off') {
    (flannel.cniPlugins ?? []).forEach((p, i) => {
      if (p.type === 'tuning') r.fail(['flannel', 'cniPlugins', i, 'type'], 'flannel-mtu chains the tuning plugin itself for pmtud (set pmtud.mode: off to list your own)');
    });
  }
  if (r.problems.length > 0) throw new InputError(r.problems);
  // A copy, so that no object of the caller's is frozen along with it.
  const environment: ResolvedEnvironment = deepFreeze(structuredClone({ name: name!, flannel: flannel as ResolvedFlannelSettings, clouds, links, mssClamp, images, ...(rollout && { rollout }), probe, mtuMode, pmtud, imagePullSecrets, distribution, ...(netpol && { netpol }) }));
  RESOLVED.add(environment);
  return environment;
}
