import { BackendType, Environment, Link, linkName, MtuMode, PmtudMode, WireguardTunnelMode } from '../model/environment';
import { InputError, Problem, YamlPath } from '../model/errors';
import { resolveEnvironment } from '../model/validate';
import { BACKEND_OVERHEADS, CNI_BRIDGE, MAX_DEVICE_NAME, overlayDevices } from './backends';

export type IpFamily = 'ipv4' | 'ipv6';

/** IPv4 hosts must accept 576-byte datagrams (RFC 791); IPv6 links must carry 1280 (RFC 8200). */
export const MIN_POD_MTU: Readonly<Record<IpFamily, number>> = { ipv4: 576, ipv6: 1280 };
/** TCP/IP header bytes between an MTU and its MSS. */
export const TCP_IP_HEADERS: Readonly<Record<IpFamily, number>> = { ipv4: 40, ipv6: 60 };

/** One underlay limit the plan had to respect. */
export interface Constraint {
  readonly kind: 'cloud' | 'link';
  /** Cloud name, or link name (`<a>~<b>` unless the link is named). */
  readonly name: string;
  readonly family: IpFamily;
  /** The underlay path MTU this constraint allows. */
  readonly mtu: number;
  /** Where it was declared in the environment. */
  readonly path: YamlPath;
}

/** An underlay path that carries overlay traffic: inside one cloud (from = to) or across a link. */
export interface PathPlan {
  readonly from: string;
  readonly to: string;
  readonly kind: 'cloud' | 'link';
  readonly name: string;
  /** IPv4 path MTU: the smallest of the path and the NICs at its ends. */
  readonly pathMtu: number;
  /** Bytes this path could carry beyond the largest overlay packet over IPv4 (0 on the binding path). */
  readonly headroom: number;
  readonly pathMtuV6: number | null;
  readonly headroomV6: number | null;
}

/**
 * One cloud's own numbers: what its flannel DaemonSet writes and applies. In uniform mode they are
 * the cluster's; in per-path mode they are the largest that fit the paths inside the cloud, and
 * traffic to other clouds is held to each link's `overlayMtu` by route MTUs.
 */
export interface CloudPlan {
  readonly name: string;
  readonly nicMtu: number;
  /** Pod MTU of this cloud's nodes: flannel.1, cni0 and pod eth0 (the same everywhere in uniform mode). */
  readonly podMtu: number;
  /** `Backend.MTU` of this cloud's net-conf.json, or null where flannel takes none (host-gw). */
  readonly backendMtu: number | null;
  /** podMtu - 40. */
  readonly mss: number;
  /** podMtu - 60, or null when single-stack. */
  readonly mssV6: number | null;
  /** Planned MTU of every device flannel-mtu makes consistent on this cloud's nodes, sorted by name. */
  readonly deviceMtus: Readonly<Record<string, number>>;
  /** The smallest NIC MTU this cloud's nodes need: podMtu + the encapsulation of the costliest family in use. */
  readonly nicMtuNeeded: number;
  /** The constraint that sets podMtu: the cluster's binding in uniform mode, this cloud's own NIC or fabric in per-path mode. */
  readonly binding: Constraint;
  /** Underlay subnets of this cloud's nodes, when declared. */
  readonly nodeCidrs: readonly string[];
}

/** The overlay MTU across one link: what a pod packet between the two clouds may be. */
export interface LinkPlan {
  readonly name: string;
  readonly between: readonly [string, string];
  /**
   * Per-path mode: the largest inner packet that fits the link's path (the link and the NICs and
   * fabrics at both ends) in every family in use; the MTU set on routes between the two clouds.
   * Uniform mode: the cluster pod MTU (every packet is that small anyway).
   */
  readonly overlayMtu: number;
  /** overlayMtu - 40. */
  readonly mss: number;
  /** overlayMtu - 60, or null when single-stack. */
  readonly mssV6: number | null;
}

/**
 * A TCPMSS rule for node-to-node TCP that does not use the overlay (kubelet, API server, etcd,
 * hostNetwork workloads): installed on the nodes of `cloud`, for packets to `cidr` in cloud `to`.
 */
export interface UnderlayClamp {
  readonly cloud: string;
  readonly to: string;
  readonly link: string;
  readonly family: IpFamily;
  readonly cidr: string;
  /** The path MTU between the two clouds for this family: the link, and both clouds' NICs or fabrics. */
  readonly pathMtu: number;
  /** pathMtu - 40 (IPv4) or - 60 (IPv6). */
  readonly mss: number;
}

/** Packetization-layer PMTUD in every pod: the sysctls the CNI tuning plugin writes at pod creation. */
export interface PmtudPlan {
  readonly mode: PmtudMode;
  /** `net.ipv4.tcp_mtu_probing`: 1 (blackhole), 2 (always), 0 (off: no tuning plugin, the kernel default). */
  readonly tcpMtuProbing: 0 | 1 | 2;
  /** `net.ipv4.tcp_base_mss`, or null where the kernel default (1024) applies. */
  readonly baseMss: number | null;
  /** What the tuning plugin writes in every pod's network namespace, sorted by key; empty when off. */
  readonly sysctls: Readonly<Record<string, string>>;
}

/** tcp_mtu_probing per mode (Documentation/networking/ip-sysctl.rst). */
const TCP_MTU_PROBING: Readonly<Record<PmtudMode, 0 | 1 | 2>> = { off: 0, blackhole: 1, always: 2 };

export interface MtuPlan {
  readonly environment: string;
  /** `uniform`: one pod MTU for every node. `per-path`: each cloud at its own maximum, links at theirs. */
  readonly mtuMode: MtuMode;
  readonly backend: BackendType;
  /** wireguard's `Backend.Mode`, or null for other backends. */
  readonly tunnelMode: WireguardTunnelMode | null;
  /** wireguard: each device, the families it carries and its fit (the padding cliff's edge); else empty. */
  readonly wireguardTunnels: readonly WireguardTunnel[];
  readonly dualStack: boolean;
  /** Smallest IPv4 underlay path MTU between any two nodes. */
  readonly underlayMtu: number;
  /** Smallest IPv6 underlay path MTU, or null when single-stack. */
  readonly underlayMtuV6: number | null;
  /** `Backend.MTU` for net-conf.json (flannel subtracts its overhead from it), or null where flannel takes none (host-gw). */
  readonly backendMtu: number | null;
  /** What flannel subtracts from Backend.MTU. */
  readonly flannelOverhead: number;
  /** Real encapsulation cost per family. */
  readonly encapOverhead: number;
  readonly encapOverheadV6: number | null;
  /**
   * MTU of flannel.1 (or flannel-wg), flannel-v6.1, cni0 and every pod's eth0: the largest that
   * fits every path. In per-path mode the smallest MTU any pod packet is held to (see `clouds`
   * and `links` for what each cloud and link really gets).
   */
  readonly podMtu: number;
  /**
   * TCP MSS for IPv4 overlay traffic: podMtu - 40; for wireguard the largest multiple of 16 not
   * above podMtu and IPv4's fit, - 40 (see `wireguardTcpPacket`).
   */
  readonly mss: number;
  /** TCP MSS for IPv6 overlay traffic: podMtu (wireguard: aligned as for IPv4) - 60, or null when single-stack. */
  readonly mssV6: number | null;
  /** The constraint that sets podMtu. */
  readonly binding: Constraint;
  /** Every underlay path; headroom is measured against the overlay MTU the path carries in this mode. */
  readonly paths: readonly PathPlan[];
  /** Per cloud, in file order. */
  readonly clouds: readonly CloudPlan[];
  /** Per link, in file order. */
  readonly links: readonly LinkPlan[];
  /** Underlay clamps per cloud and destination subnet, when every cloud declares nodeCidrs; else empty. */
  readonly underlayClamps: readonly UnderlayClamp[];
  /** Overlay devices by family and the CNI bridge. */
  readonly devices: { readonly overlay: string | null; readonly overlayV6: string | null; readonly bridge: string };
  /** Planned MTU of every device flannel-mtu makes consistent on a node, sorted by name. */
  readonly deviceMtus: Readonly<Record<string, number>>;
  /**
   * The smallest NIC MTU a node needs for this plan: podMtu + the encapsulation of the costliest
   * family in use (vxlan 50, or 70 when dual-stack). The node init container refuses a smaller NIC.
   */
  readonly nicMtuNeeded: number;
  /** Packetization-layer PMTUD in every pod (CNI tuning plugin). */
  readonly pmtud: PmtudPlan;
  /** The derivation, one sentence a line, for people reviewing a change. */
  readonly reasoning: readonly string[];
  /** Things that are allowed but probably wrong, with their location. */
  readonly warnings: readonly Problem[];
}

/**
 * Derives every MTU and MSS of an environment from its underlay.
 *
 * The largest pod MTU P that fits every path: for each family f in use and each path p,
 * P + encap(f) <= pathMtu(p, f). Backend.MTU is then P + what flannel subtracts, so flannel itself
 * arrives at P. Validates `environment` and fills its defaults first (`resolveEnvironment`).
 * Throws InputError when the environment is invalid or no pod MTU can work.
 */
export function planMtu(environment: Environment): MtuPlan {
  const env = resolveEnvironment(environment);
  const { backend, podNetworkV6, vni } = env.flannel;
  const dualStack = podNetworkV6 !== undefined;
  const overhead = BACKEND_OVERHEADS[backend];
  const families: IpFamily[] = dualStack ? ['ipv4', 'ipv6'] : ['ipv4'];
  const encap = (f: IpFamily) => (f === 'ipv4' ? overhead.ipv4 : overhead.ipv6);
  // resolving fills tunnelMode in for wireguard
  const tunnelMode = backend === 'wireguard' ? env.flannel.tunnelMode ?? null : null;

  if (backend === 'host-gw' && env.clouds.length > 1) {
    throw new InputError([{ path: ['flannel', 'backend'], message: `host-gw routes pod traffic unencapsulated and needs every node on one L2 segment; ${env.clouds.length} clouds joined by links are not: use vxlan or wireguard` }]);
  }

  // flannel names its VXLAN devices flannel.<vni> and flannel-v6.<vni>; the kernel refuses names over 15 characters.
  const devices = overlayDevices(backend, vni, dualStack, tunnelMode ?? undefined);
  const tooLong = [devices.v4, devices.v6].filter((d): d is string => d !== null && d.length > MAX_DEVICE_NAME);
  if (tooLong.length > 0) {
    throw new InputError([{
      path: ['flannel', 'vni'],
      message: `vni ${vni} makes flannel name its device${tooLong.length > 1 ? 's' : ''} ${tooLong.join(' and ')}, over Linux's ${MAX_DEVICE_NAME}-character limit (IFNAMSIZ), so no node could create ${tooLong.length > 1 ? 'them' : 'it'}: use a vni below ${dualStack ? 10 ** (MAX_DEVICE_NAME - 'flannel-v6.'.length) : 10 ** (MAX_DEVICE_NAME - 'flannel.'.length)}`,
    }]);
  }

  const nic = new Map(env.clouds.map((c) => [c.name, c.nicMtu]));
  const cloudIndex = new Map(env.clouds.map((c, i) => [c.name, i]));
  const constraints: Constraint[] = [];
  for (const family of families) {
    env.clouds.forEach((c, i) => {
      const limitedByFabric = c.fabricMtu !== undefined && c.fabricMtu < c.nicMtu;
      constraints.push({ kind: 'cloud', name: c.name, family, mtu: c.fabricMtu ?? c.nicMtu, path: ['clouds', i, limitedByFabric ? 'fabricMtu' : 'nicMtu'] });
    });
    env.links.forEach((l, i) => {
      const useV6 = family === 'ipv6' && l.pathMtuV6 !== undefined;
      constraints.push({ kind: 'link', name: linkName(l), family, mtu: useV6 ? l.pathMtuV6! : l.pathMtu, path: ['links', i, useV6 ? 'pathMtuV6' : 'pathMtu'] });
    });
  }
  // The first constraint with the smallest room for a pod packet binds; ties go to clouds, then to
  // links in file order, then to IPv4, so the same file always names the same binding constraint.
  const room = (c: Constraint) => c.mtu - encap(c.family);
  const binding = constraints.reduce((best, c) => (room(c) < room(best) ? c : best));
  const podMtu = room(binding);
  const underlay = (f: IpFamily) => Math.min(...constraints.filter((c) => c.family === f).map((c) => c.mtu));

  const minimum = dualStack ? { family: 'IPv6', mtu: MIN_POD_MTU.ipv6 } : { family: 'IPv4', mtu: MIN_POD_MTU.ipv4 };
  if (podMtu < minimum.mtu) {
    throw new InputError([{
      path: binding.path,
      message: `pod MTU would be ${podMtu} (${describe(binding)} ${binding.mtu} - ${backend} overhead ${encap(binding.family)} over ${familyName(binding.family)}), below ${minimum.family}'s minimum MTU ${minimum.mtu}${dualStack ? ' (the cluster is dual-stack)' : ''}`,
    }]);
  }

  const warnings: Problem[] = [];
  env.links.forEach((l, i) => {
    const ends = Math.min(nic.get(l.between[0])!, nic.get(l.between[1])!);
    if (l.pathMtu > ends) {
      warnings.push({ path: ['links', i, 'pathMtu'], message: `path MTU ${l.pathMtu} exceeds the NICs it joins (${l.between.map((n) => `${n} ${nic.get(n)}`).join(', ')}): a path carries no more than its ends, so ${ends} is used; was it measured?` });
    }
  });

  const cloudMtu = (family: IpFamily, name: string) =>
    constraints.find((c) => c.family === family && c.kind === 'cloud' && c.name === name)!.mtu;
  const linkMtu = (family: IpFamily, l: Link) => (family === 'ipv6' ? l.pathMtuV6 ?? l.pathMtu : l.pathMtu);
  const perPath = env.mtuMode === 'per-path';
  const wireguard = tunnelMode !== null ? wireguardTunnels(tunnelMode, families, underlay, encap, devices) : [];
  const tcpPacket = (f: IpFamily) => (tunnelMode !== null ? wireguardTcpPacket(wireguard, f, podMtu) : podMtu);
  const mss = tcpPacket('ipv4') - TCP_IP_HEADERS.ipv4;
  const mssV6 = dualStack ? tcpPacket('ipv6') - TCP_IP_HEADERS.ipv6 : null;
  const nicMtuNeededFor = (mtu: number) => mtu + Math.max(...families.map(encap));
  const deviceMtusFor = (mtu: number) => Object.fromEntries(
    [devices.v4, devices.v6, CNI_BRIDGE].filter((d): d is string => d !== null).sort().map((d) => [d, mtu]),
  );

  // Per cloud: in per-path mode the largest pod MTU that fits the paths inside the cloud, bound by
  // the first of its own constraints with the least room (IPv4 first on ties, as for the cluster).
  const clouds: CloudPlan[] = env.clouds.map((c) => {
    const cloudBinding = perPath ? constraints.filter((k) => k.kind === 'cloud' && k.name === c.name).reduce((best, k) => (room(k) < room(best) ? k : best)) : binding;
    const mtu = perPath ? room(cloudBinding) : podMtu;
    return {
      name: c.name,
      nicMtu: c.nicMtu,
      podMtu: mtu,
      backendMtu: overhead.acceptsMtu ? mtu + overhead.flannelSubtracts : null,
      mss: perPath ? mtu - TCP_IP_HEADERS.ipv4 : mss,
      mssV6: !dualStack ? null : perPath ? mtu - TCP_IP_HEADERS.ipv6 : mssV6,
      deviceMtus: deviceMtusFor(mtu),
      nicMtuNeeded: nicMtuNeededFor(mtu),
      binding: cloudBinding,
      nodeCidrs: c.nodeCidrs ?? [],
    };
  });
  const cloudPodMtu = new Map(clouds.map((c) => [c.name, c.podMtu]));

  const rawPaths = [
    ...env.clouds.map((c) => ({ from: c.name, to: c.name, kind: 'cloud' as const, name: c.name, ends: [c.name], own: (f: IpFamily) => cloudMtu(f, c.name) })),
    ...env.links.map((l) => ({ from: l.between[0], to: l.between[1], kind: 'link' as const, name: linkName(l), ends: [...l.between], own: (f: IpFamily) => linkMtu(f, l) })),
  ].map(({ ends, own, ...p }) => {
    const effective = (family: IpFamily) => Math.min(own(family), ...ends.map((e) => cloudMtu(family, e)));
    return { ...p, v4: effective('ipv4'), v6: dualStack ? effective('ipv6') : null };
  });

  // Per link, by position (never by name): the largest inner packet that fits its path in every family in use.
  const linkPaths = rawPaths.filter((x) => x.kind === 'link');
  const links: LinkPlan[] = env.links.map((l, i) => {
    const p = linkPaths[i];
    const mtu = perPath ? Math.min(p.v4 - encap('ipv4'), ...(p.v6 !== null ? [p.v6 - encap('ipv6')] : [])) : podMtu;
    return { name: linkName(l), between: [l.between[0], l.between[1]] as const, overlayMtu: mtu, mss: perPath ? mtu - TCP_IP_HEADERS.ipv4 : mss, mssV6: !dualStack ? null : perPath ? mtu - TCP_IP_HEADERS.ipv6 : mssV6 };
  });

  // Headroom against what the path carries: the cluster pod MTU in uniform mode; in per-path mode
  // the cloud's own pod MTU inside a cloud and the link's overlay MTU across a link.
  const carried = (p: { kind: 'cloud' | 'link'; name: string }, i: number) =>
    !perPath ? podMtu : p.kind === 'cloud' ? cloudPodMtu.get(p.name)! : links[i - env.clouds.length].overlayMtu;
  const paths: PathPlan[] = rawPaths.map(({ v4, v6, ...p }, i) => ({
    ...p,
    pathMtu: v4,
    headroom: v4 - (carried(p, i) + encap('ipv4')),
    pathMtuV6: v6,
    headroomV6: v6 === null ? null : v6 - (carried(p, i) + encap('ipv6')),
  }));
  paths.sort((a, b) => (a.kind === b.kind ? (cloudIndex.get(a.from)! - cloudIndex.get(b.from)!) || (cloudIndex.get(a.to)! - cloudIndex.get(b.to)!) : a.kind === 'cloud' ? -1 : 1));

  const underlayClamps: UnderlayClamp[] = [];
  for (const cloud of env.clouds) {
    for (const link of env.links.filter((l) => l.between.includes(cloud.name))) {
      const to = env.clouds.find((c) => c.name !== cloud.name && link.between.includes(c.name))!;
      for (const cidr of to.nodeCidrs ?? []) {
        const family: IpFamily = cidr.includes(':') ? 'ipv6' : 'ipv4';
        // Node-to-node TCP crosses both clouds' fabrics as well as the link.
        const pathMtu = Math.min(linkMtu(family, link), cloud.fabricMtu ?? cloud.nicMtu, to.fabricMtu ?? to.nicMtu);
        underlayClamps.push({ cloud: cloud.name, to: to.name, link: linkName(link), family, cidr, pathMtu, mss: pathMtu - TCP_IP_HEADERS[family] });
      }
    }
  }

  const deviceMtus = deviceMtusFor(podMtu);
  const backendMtu = overhead.acceptsMtu ? podMtu + overhead.flannelSubtracts : null;
  const underlayMtu = underlay('ipv4');
  const underlayMtuV6 = dualStack ? underlay('ipv6') : null;

  const pmtud = pmtudPlan(env.pmtud.mode, env.pmtud.baseMss, Math.min(mss, ...(mssV6 !== null ? [mssV6] : [])));

  const reasoning = [
    `underlay IPv4 MTU ${underlayMtu}: the smallest of ${env.clouds.length} cloud NIC/fabric MTUs and ${env.links.length} link path MTUs`,
    ...(underlayMtuV6 !== null ? [`underlay IPv6 MTU ${underlayMtuV6}`] : []),
    perPath
      ? `smallest path: ${describe(binding)} (${familyName(binding.family)}) at ${binding.mtu}; ${backend} costs ${encap(binding.family)} bytes over ${familyName(binding.family)}, so no pod packet is held below ${binding.mtu} - ${encap(binding.family)} = ${podMtu}`
      : `binding constraint: ${describe(binding)} (${familyName(binding.family)}) at ${binding.mtu}; ${backend} costs ${encap(binding.family)} bytes over ${familyName(binding.family)}, so pods get ${binding.mtu} - ${encap(binding.family)} = ${podMtu}`,
    ...(dualStack && backend !== 'host-gw'
      ? [`dual-stack: ${backend} over IPv6 costs ${overhead.ipv6}, so the IPv6 overlay needs ${podMtu} + ${overhead.ipv6} = ${podMtu + overhead.ipv6} <= ${underlayMtuV6}`]
      : []),
    ...(perPath ? [] : [
      backendMtu !== null
        ? `Backend.MTU ${backendMtu} = ${podMtu} + ${overhead.flannelSubtracts}: flannel subtracts ${overhead.flannelSubtracts} from it for ${backend}, whatever the family`
        : `${backend} takes no Backend.MTU; cni-conf.json sets the pod MTU ${podMtu} explicitly`,
      `MSS ${mss} = ${tcpPacket('ipv4')} - 40 (IPv4 + TCP headers)${mssV6 !== null ? `; IPv6 MSS ${mssV6} = ${tcpPacket('ipv6')} - 60` : ''}`,
    ]),
    ...wireguardReasoning(wireguard, podMtu, tcpPacket, families),
    ...(env.flannel.directRouting && backend === 'vxlan'
      ? [`directRouting: between nodes on one subnet pods talk without VXLAN, still at pod MTU ${podMtu} (cni0 and pod eth0), so those packets leave the ${encap('ipv4')} encapsulation bytes of the NIC unused; traffic between subnets is VXLAN as planned`]
      : []),
    ...(underlayClamps.length > 0
      ? ['node-to-node TCP between clouds (outside the overlay) is clamped to each link\'s path MTU - 40 (IPv4) / - 60 (IPv6), by destination subnet']
      : []),
    ...(perPath ? perPathReasoning(clouds, links, paths, backend, encap, families) : []),
    pmtudReasoning(pmtud),
  ];

  return {
    environment: env.name,
    mtuMode: env.mtuMode,
    backend,
    tunnelMode,
    wireguardTunnels: wireguard,
    dualStack,
    underlayMtu,
    underlayMtuV6,
    backendMtu,
    flannelOverhead: overhead.flannelSubtracts,
    encapOverhead: overhead.ipv4,
    encapOverheadV6: dualStack ? overhead.ipv6 : null,
    podMtu,
    mss,
    mssV6,
    binding,
    paths,
    clouds,
    links,
    underlayClamps,
    devices: { overlay: devices.v4, overlayV6: devices.v6, bridge: CNI_BRIDGE },
    deviceMtus,
    nicMtuNeeded: nicMtuNeededFor(podMtu),
    pmtud,
    reasoning,
    warnings,
  };
}

/** The pods' PMTUD sysctls; a base MSS above the smallest planned MSS could never be a fallback. */
function pmtudPlan(mode: PmtudMode, baseMss: number | undefined, smallestMss: number): PmtudPlan {
  if (baseMss !== undefined && baseMss > smallestMss) {
    throw new InputError([{ path: ['pmtud', 'baseMss'], message: `expected at most the planned MSS ${smallestMss}: probing falls back to tcp_base_mss, so it must be smaller than what the path carries, got ${baseMss}` }]);
  }
  const tcpMtuProbing = TCP_MTU_PROBING[mode];
  const sysctls: Record<string, string> = mode === 'off' ? {} : {
    ...(baseMss !== undefined && { 'net.ipv4.tcp_base_mss': String(baseMss) }),
    'net.ipv4.tcp_mtu_probing': String(tcpMtuProbing),
  };
  return { mode, tcpMtuProbing, baseMss: baseMss ?? null, sysctls };
}

function pmtudReasoning(p: PmtudPlan): string {
  if (p.mode === 'off') return 'pmtud off: pods keep tcp_mtu_probing 0 (no CNI tuning plugin), so TCP hangs where a path shrinks below the plan and ICMP is lost';
  const base = p.baseMss === null ? 'tcp_base_mss 1024 (kernel default)' : `tcp_base_mss ${p.baseMss}`;
  return p.mode === 'blackhole'
    ? `pods get tcp_mtu_probing=1 (CNI tuning plugin): after repeated timeouts of full-size segments TCP probes from ${base} instead of hanging`
    : `pods get tcp_mtu_probing=2 (CNI tuning plugin): every connection probes its path MTU from ${base}`;
}

/** WireGuard pads every packet to a multiple of this many bytes, but never beyond the device MTU. */
export const WIREGUARD_PADDING = 16;

const floorPadding = (n: number) => n - (n % WIREGUARD_PADDING);

/** The smallest packet a wireguard device above its `fit` loses although it fits: floorPadding(fit) + 1. */
export function paddingCliffStart(fit: number): number {
  return floorPadding(fit) + 1;
}

/** The device MTU flannel gives a backend's devices when `Backend.MTU` is left out: the NIC minus what it subtracts. */
export function upstreamDeviceMtu(backend: BackendType, nicMtu: number): number {
  return nicMtu - BACKEND_OVERHEADS[backend].flannelSubtracts;
}

/** One flannel wireguard device: the inner families it carries and the underlay families it may use. */
export interface WireguardTunnel {
  readonly device: string;
  readonly carries: readonly IpFamily[];
  readonly underlays: readonly IpFamily[];
  /**
   * The largest packet the device can carry on every path (smallest underlay MTU - 60 over IPv4,
   * - 80 over IPv6, over each underlay it may use). A device MTU above it carries only
   * floorPadding(fit)-byte packets: WireGuard pads the rest past the path (the padding cliff).
   */
  readonly fit: number;
}

/** The wireguard devices of a tunnel mode (pkg/backend/wireguard/wireguard.go, RegisterNetwork). */
function wireguardTunnels(
  mode: WireguardTunnelMode,
  families: readonly IpFamily[],
  underlay: (f: IpFamily) => number,
  encap: (f: IpFamily) => number,
  devices: { v4: string | null; v6: string | null },
): WireguardTunnel[] {
  const fit = (underlays: readonly IpFamily[]) => Math.min(...underlays.map((u) => underlay(u) - encap(u)));
  // auto: one device, over IPv4 or IPv6 chosen per peer, so it must fit both
  if (mode === 'auto') return [{ device: devices.v4!, carries: families, underlays: families, fit: fit(families) }];
  return families.map((f) => ({ device: (f === 'ipv4' ? devices.v4 : devices.v6)!, carries: [f], underlays: [f], fit: fit([f]) }));
}

/**
 * The largest TCP packet (MSS + headers) for a family over wireguard: the largest multiple of 16
 * not above the pod MTU and the fit of the device that carries the family. TCP clamped to it
 * crosses every path even through a device whose MTU is above its fit (a node still on a larger
 * Backend.MTU during a rollout, or a hand-set one), where WireGuard's padding would push a
 * fit-sized packet past the path. It costs at most 15 bytes per segment.
 */
export function wireguardTcpPacket(tunnels: readonly WireguardTunnel[], family: IpFamily, podMtu: number): number {
  const t = tunnels.find((x) => x.carries.includes(family))!;
  return Math.min(podMtu, floorPadding(t.fit));
}

/** What the padding cliff means for each wireguard device of the plan, and for the MSS. */
function wireguardReasoning(tunnels: readonly WireguardTunnel[], podMtu: number, tcpPacket: (f: IpFamily) => number, families: readonly IpFamily[]): string[] {
  const over = (t: WireguardTunnel) => t.underlays.map((u) => familyName(u)).join(' or ');
  const lines = tunnels.map((t) => {
    const where = podMtu === t.fit
      ? `exactly its fit over ${over(t)}`
      : `${t.fit - podMtu} below its fit ${t.fit} over ${over(t)}, so a path up to ${t.fit - podMtu} bytes smaller than declared still carries every pod packet`;
    const cliff = t.fit % WIREGUARD_PADDING === 0
      ? `loses only the packets above ${t.fit} (${t.fit} is a multiple of 16)`
      : `blackholes every packet from ${floorPadding(t.fit) + 1} bytes up, not only those above ${t.fit}`;
    return `${t.device} at ${podMtu} is ${where}; wireguard pads every packet to a multiple of 16 bytes but never beyond the device MTU, so a ${t.device} MTU above ${t.fit} (a larger Backend.MTU: upstream's NIC - 80, a hand-set one, a node not yet rolled) ${cliff}`;
  });
  const held = families.filter((f) => tcpPacket(f) < podMtu);
  if (held.length > 0) {
    lines.push(`TCP is held to ${held.map((f) => `${tcpPacket(f)} (${familyName(f)})`).join(' and ')}, the largest multiple of 16 within the fit, so the MSS clamp alone carries TCP across such a device too (at most 15 bytes per segment)`);
  }
  return lines;
}

/** Per-path mode's extra lines: each cloud's own pod MTU, and each link's route MTU. */

function perPathReasoning(clouds: readonly CloudPlan[], links: readonly LinkPlan[], paths: readonly PathPlan[], backend: BackendType, encap: (f: IpFamily) => number, families: readonly IpFamily[]): string[] {
  const flannelSubtracts = BACKEND_OVERHEADS[backend].flannelSubtracts;
  return [
    'mtuMode per-path: each cloud\'s pods get the largest MTU that fits inside their cloud, and the routes to another cloud\'s pod subnets carry the link\'s overlay MTU',
    ...clouds.map((c) => `cloud ${c.name}: ${describe(c.binding)} ${c.binding.mtu} - ${encap(c.binding.family)} (${familyName(c.binding.family)}) = pod MTU ${c.podMtu}, Backend.MTU ${c.backendMtu ?? '-'}${c.backendMtu !== null ? ` (${c.podMtu} + ${flannelSubtracts})` : ''}, MSS ${c.mss}${c.mssV6 !== null ? `/${c.mssV6}` : ''}`),
    ...links.map((l) => {
      const p = paths.find((x) => x.kind === 'link' && x.name === l.name)!;
      const terms = families.map((f) => `${f === 'ipv4' ? p.pathMtu : p.pathMtuV6} - ${encap(f)}`).join(', ');
      return `link ${l.name} (${l.between[0]} <-> ${l.between[1]}): overlay MTU ${l.overlayMtu} = min(${terms}) on the routes between the two clouds' pod subnets; TCP is clamped to it (MSS ${l.mss}${l.mssV6 !== null ? `/${l.mssV6}` : ''}) by --clamp-mss-to-pmtu`;
    }),
  ];
}

/**
 * One cloud's view of the plan: the plan with the cluster-wide pod MTU, Backend.MTU, MSS, device
 * MTUs and binding replaced by the cloud's own, and the underlay MTU by the path MTU inside the
 * cloud. What one cloud's flannel DaemonSet renders from; in uniform mode it is the plan itself.
 */
export function cloudView(plan: MtuPlan, cloud: string): MtuPlan {
  const c = plan.clouds.find((x) => x.name === cloud);
  if (c === undefined) throw new Error(`cloudView: no cloud "${cloud}" in the plan of ${plan.environment} (clouds: ${plan.clouds.map((x) => x.name).join(', ')})`);
  if (plan.mtuMode === 'uniform') return { ...plan };
  const inside = plan.paths.find((p) => p.kind === 'cloud' && p.name === cloud)!;
  return {
    ...plan,
    underlayMtu: inside.pathMtu,
    underlayMtuV6: inside.pathMtuV6,
    podMtu: c.podMtu,
    backendMtu: c.backendMtu,
    mss: c.mss,
    mssV6: c.mssV6,
    deviceMtus: c.deviceMtus,
    nicMtuNeeded: c.nicMtuNeeded,
    binding: c.binding,
  };
}

/** The links of `cloud`, each with the cloud at its other end. */
export function peerLinks(plan: MtuPlan, cloud: string): Array<{ peer: string; link: LinkPlan }> {
  return plan.links
    .filter((l) => l.between.includes(cloud))
    .map((link) => ({ peer: link.between[0] === cloud ? link.between[1] : link.between[0], link }));
}

export function familyName(f: IpFamily): string {
  return f === 'ipv4' ? 'IPv4' : 'IPv6';
}

function describe(c: Constraint): string {
  return c.kind === 'cloud' ? `cloud ${c.name} ${c.path[2] === 'fabricMtu' ? 'fabric' : 'NIC'} MTU` : `link ${c.name} path MTU`;
}
