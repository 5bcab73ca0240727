import { describeValue, InputError, Problem, YamlPath } from './errors';
import {
  BACKEND_TYPES,
  BackendType,
  Cloud,
  DEFAULT_IMAGES,
  DEFAULT_PROBE,
  DEFAULT_ROLLOUT_TIMEOUT_SECONDS,
  DEFAULT_TUNNEL_MODE,
  DEFAULT_VNI,
  Environment,
  Link,
  MtuMode,
  PMTUD_MODES,
  DEFAULT_PMTUD_MODE,
  ResolvedEnvironment,
  ResolvedFlannelSettings,
  ResolvedRolloutSettings,
  WIREGUARD_TUNNEL_MODES,
  WireguardTunnelMode,
} from './environment';
import { Cidr, cidrProblem, cidrsOverlap, isIpv4, isIpv6, parseCidr } from './net';

/** Smallest and largest underlay MTU: IPv4's minimum datagram, and the largest jumbo frame NICs support (the node scripts refuse more). */
export const MIN_UNDERLAY_MTU = 576;
export const MAX_UNDERLAY_MTU = 9216;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const IMAGE_REF = /^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

type Json = unknown;
type Obj = Record<string, Json>;

/** Collects problems while reading an untyped document into typed values. */
class Reader {
  public readonly problems: Problem[] = [];

  public fail(path: YamlPath, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
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
        this.problems.push({ path: [...path, key], atKey: true, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${keys.join(', ')}` });
      }
    }
    return value as Obj;
  }

  public list(value: Json, path: YamlPath): Json[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.fail(path, `expected a list, got ${describeValue(value)}`);
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

function readFlannel(r: Reader, value: Json): Partial<ResolvedFlannelSettings> {
  const path = ['flannel'];
  const obj = r.mapping(value, path, ['backend', 'podNetwork', 'podNetworkV6', 'vni', 'port', 'tunnelMode']);
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
  return { backend, podNetwork, ...(podNetworkV6 !== undefined && { podNetworkV6 }), vni, ...(port !== undefined && { port }), ...(tunnelMode !== undefined && { tunnelMode }) };
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
  const list = r.list(value, ['clouds']);
  if (!list) return { clouds: [], names: [] };
  if (list.length === 0) r.fail(['clouds'], 'expected at least one cloud');
  const seen = new Map<string, number>();
  const clouds: Cloud[] = [];
  const names: string[] = [];
  const cidrs: Array<{ cidr: Cidr; where: string }> = [];
  list.forEach((item, i) => {
    const path = ['clouds', i];
    const obj = r.mapping(item, path, ['name', 'nicMtu', 'fabricMtu', 'nodeSelector', 'nodes', 'nodeCidrs']);
    if (!obj) return;
    const name = r.string(r.required(obj, 'name', path), [...path, 'name'], DNS_LABEL, 'a lowercase DNS label such as "cloud-a"');
    if (name !== undefined) {
      names.push(name);
      if (seen.has(name)) r.fail([...path, 'name'], `duplicate cloud name "${name}" (first at clouds[${seen.get(name)}])`);
      seen.set(name, i);
    }
    const nicMtu = MTU(r, r.required(obj, 'nicMtu', path), [...path, 'nicMtu']);
    const fabricMtu = 'fabricMtu' in obj ? MTU(r, obj.fabricMtu, [...path, 'fabricMtu']) : undefined;
    if (fabricMtu !== undefined && nicMtu !== undefined && fabricMtu > nicMtu) {
      r.fail([...path, 'fabricMtu'], `expected at most nicMtu (${nicMtu}): a path cannot carry more than the NICs at its ends, got ${fabricMtu}`);
    }
    let nodeSelector: Record<string, string> | undefined;
    if ('nodeSelector' in obj) {
      const sel = r.mapping(obj.nodeSelector, [...path, 'nodeSelector'], Object.keys((obj.nodeSelector as Obj) ?? {}));
      if (sel) {
        nodeSelector = {};
        for (const [k, v] of Object.entries(sel)) {
          if (!LABEL_KEY.test(k)) r.fail([...path, 'nodeSelector', k], `expected a Kubernetes label key, got ${JSON.stringify(k)}`);
          const val = r.string(v, [...path, 'nodeSelector', k], LABEL_VALUE, 'a Kubernetes label value');
          if (val !== undefined) nodeSelector[k] = val;
        }
      }
    }
    let nodes: string[] | undefined;
    if ('nodes' in obj) {
      const l = r.list(obj.nodes, [...path, 'nodes']);
      nodes = (l ?? []).filter((n, j): n is string => {
        const ok = typeof n === 'string' && (isIpv4(n) || isIpv6(n));
        if (!ok) r.fail([...path, 'nodes', j], `expected an IPv4 or IPv6 address, got ${describeValue(n)}`);
        return ok;
      });
    }
    let nodeCidrs: string[] | undefined;
    if ('nodeCidrs' in obj) {
      const l = r.list(obj.nodeCidrs, [...path, 'nodeCidrs']) ?? [];
      if (l.length === 0) r.fail([...path, 'nodeCidrs'], 'expected at least one CIDR, or leave nodeCidrs out');
      nodeCidrs = [];
      l.forEach((c, j) => {
        const at = [...path, 'nodeCidrs', j];
        const parsed = typeof c === 'string' ? parseCidr(c) : undefined;
        if (parsed === undefined) {
          const loose = typeof c === 'string' ? looseCidr(c) : undefined;
          r.fail(at, loose ? `${JSON.stringify(c)} has host bits set; did you mean ${loose}?` : `expected an IPv4 or IPv6 CIDR such as 10.119.96.0/24, got ${describeValue(c)}`);
          return;
        }
        for (const seen of cidrs) {
          if (cidrsOverlap(seen.cidr, parsed)) r.fail(at, `${parsed.text} overlaps ${seen.cidr.text} of ${seen.where}: a node address must match exactly one cloud`);
        }
        cidrs.push({ cidr: parsed, where: `clouds[${i}] (${String(obj.name)})` });
        nodeCidrs!.push(parsed.text);
      });
    }
    if (name !== undefined && nicMtu !== undefined) {
      clouds.push({ name, nicMtu, ...(fabricMtu !== undefined && { fabricMtu }), ...(nodeSelector && { nodeSelector }), ...(nodes && { nodes }), ...(nodeCidrs && { nodeCidrs }) });
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
  const list = value === undefined ? [] : r.list(value, ['links']);
  if (!list) return [];
  const links: Link[] = [];
  const pairs = new Map<string, number>();
  list.forEach((item, i) => {
    const path = ['links', i];
    const obj = r.mapping(item, path, ['between', 'name', 'pathMtu', 'mtu', 'overhead', 'pathMtuV6']);
    if (!obj) return;
    let between: [string, string] | undefined;
    const b = r.required(obj, 'between', path);
    if (!Array.isArray(b) || b.length !== 2 || b.some((x) => typeof x !== 'string')) {
      r.fail([...path, 'between'], `expected a list of two cloud names, got ${Array.isArray(b) ? `a list of ${b.length}` : describeValue(b)}`);
    } else if (b[0] === b[1]) {
      r.fail([...path, 'between'], `a link joins two different clouds, got "${b[0]}" twice`);
    } else {
      b.forEach((n, j) => {
        if (!cloudNames.includes(n)) r.fail([...path, 'between', j], `unknown cloud "${n}"; clouds are: ${cloudNames.join(', ')}`);
      });
      between = [b[0], b[1]];
      const key = [...between].sort().join('\u0000');
      if (pairs.has(key)) r.fail([...path, 'between'], `clouds "${b[0]}" and "${b[1]}" are already joined by links[${pairs.get(key)}]; give exactly one link per pair`);
      pairs.set(key, i);
    }
    const name = 'name' in obj ? r.string(obj.name, [...path, 'name'], DNS_LABEL, 'a lowercase DNS label') : undefined;
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
  const terms = selector.split(',');
  for (const term of terms) {
    const m = /^(!?)([^=!]+)(?:(==|=|!=)(.*))?$/.exec(term);
    const ok = m !== null && LABEL_KEY.test(m[2]) && (m[3] === undefined ? true : m[1] === '' && m[4] !== '' && LABEL_VALUE.test(m[4]));
    if (!ok) {
      return `expected a label selector of comma-separated key, !key, key=value or key!=value terms (set-based "in"/"notin" terms are not supported), got ${JSON.stringify(selector)}${terms.length > 1 ? ` (bad term ${JSON.stringify(term)})` : ''}`;
    }
  }
  return undefined;
}

function readRollout(r: Reader, value: Json): ResolvedRolloutSettings | undefined {
  if (value === undefined) return undefined;
  const path = ['rollout'];
  const obj = r.mapping(value, path, ['enabled', 'namespaces', 'selector', 'timeoutSeconds']);
  if (!obj) return undefined;
  const enabled = 'enabled' in obj ? r.boolean(obj.enabled, [...path, 'enabled']) : true;
  const namespaces: string[] = [];
  if ('namespaces' in obj) {
    const list = r.list(obj.namespaces, [...path, 'namespaces']);
    if (list && list.length === 0 && enabled) r.fail([...path, 'namespaces'], 'expected at least one namespace');
    const seen = new Map<string, number>();
    (list ?? []).forEach((item, i) => {
      const ns = r.string(item, [...path, 'namespaces', i], DNS_LABEL, 'a namespace name (a lowercase DNS label such as "ingress-nginx")');
      if (ns === undefined) return;
      if (seen.has(ns)) r.fail([...path, 'namespaces', i], `duplicate namespace "${ns}" (first at rollout.namespaces[${seen.get(ns)}])`);
      else namespaces.push(ns);
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
  };
}

/** A directory on the node (hostPath): absolute, plain characters, no `..` segment, not `/` itself. */
const HOST_DIRECTORY = /^(?!.*\/\.\.(\/|$))\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

function readProbe(r: Reader, value: Json, clouds: readonly Cloud[]): ResolvedEnvironment['probe'] {
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
    clouds.forEach((c, i) => {
      if (!c.nodeSelector) r.fail(['clouds', i], `probe.enabled needs a nodeSelector on cloud "${c.name}", to place its probe on its nodes`);
      if (!c.nodes?.length) r.fail(['clouds', i], `probe.enabled needs at least one address in nodes of cloud "${c.name}", for the other clouds' probes to measure toward`);
    });
  }
  return probe;
}

function readMtuMode(r: Reader, value: Json, clouds: readonly Cloud[], backend: unknown): MtuMode {
  if (value === undefined) return 'uniform';
  if (value !== 'uniform' && value !== 'per-path') return r.fail(['mtuMode'], `expected uniform or per-path, got ${describeValue(value)}`) ?? 'uniform';
  if (value === 'per-path') {
    // The route-MTU keeper finds a route's remote node through VXLAN's neighbour and fdb entries;
    // wireguard routes carry no such trail (and host-gw runs in one cloud only).
    if (backend !== undefined && backend !== 'vxlan') r.fail(['mtuMode'], `mtuMode per-path needs the vxlan backend (its route-MTU keeper finds each route's remote node through flannel.<vni>'s fdb), got ${describeValue(backend)}`);
    clouds.forEach((c, i) => {
      if (!c.nodeSelector) r.fail(['clouds', i], `mtuMode per-path needs a nodeSelector on cloud "${c.name}": each cloud gets its own flannel DaemonSet`);
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
  return toEnvironment(environment);
}

/**
 * Reads an untyped document (parsed YAML, or an object built in code) into a resolved environment.
 * Throws one InputError listing every problem, each with its YAML path.
 */
export function toEnvironment(document: Json, defaultName?: string): ResolvedEnvironment {
  const doc = withoutUndefined(document);
  const r = new Reader();
  const root = r.mapping(doc, [], ['name', 'flannel', 'clouds', 'links', 'mssClamp', 'images', 'rollout', 'probe', 'mtuMode', 'pmtud']);
  if (!root) throw new InputError(r.problems);
  let name: string | undefined;
  if ('name' in root) {
    name = r.string(root.name, ['name'], DNS_LABEL, 'a lowercase DNS label such as "seed-dev"');
  } else if (defaultName === undefined || !DNS_LABEL.test(defaultName)) {
    r.fail([], `missing "name", and the file name ${JSON.stringify(defaultName ?? '')} is not a lowercase DNS label to default to`);
  } else {
    name = defaultName;
  }
  const flannel = readFlannel(r, r.required(root, 'flannel', []));
  const { clouds, names } = readClouds(r, r.required(root, 'clouds', []));
  const links = readLinks(r, root.links, names);
  const mssClamp = readMssClamp(r, root.mssClamp);
  const images = readImages(r, root.images);
  const rollout = readRollout(r, root.rollout);
  const probe = readProbe(r, root.probe, clouds);
  const mtuMode = readMtuMode(r, root.mtuMode, clouds, flannel.backend);
  const pmtud = readPmtud(r, root.pmtud);
  if (r.problems.length > 0) throw new InputError(r.problems);
  return { name: name!, flannel: flannel as ResolvedFlannelSettings, clouds, links, mssClamp, images, ...(rollout && { rollout }), probe, mtuMode, pmtud };
}
