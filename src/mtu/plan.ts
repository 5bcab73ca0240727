import { BackendType, Environment, linkName } from '../config/environment';
import { InputError, Problem, YamlPath } from '../config/errors';
import { BACKEND_OVERHEADS, CNI_BRIDGE, overlayDevices } from './backends';

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

export interface CloudPlan {
  readonly name: string;
  readonly nicMtu: number;
  /** Pod MTU of this cloud's nodes (the same everywhere in uniform mode). */
  readonly podMtu: number;
  /** Underlay subnets of this cloud's nodes, when declared. */
  readonly nodeCidrs: readonly string[];
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
  /** The path MTU between the two clouds for this family: the link and both NICs. */
  readonly pathMtu: number;
  /** pathMtu - 40 (IPv4) or - 60 (IPv6). */
  readonly mss: number;
}

export interface MtuPlan {
  readonly environment: string;
  readonly backend: BackendType;
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
  /** MTU of flannel.1 (or flannel-wg), flannel-v6.1, cni0 and every pod's eth0. */
  readonly podMtu: number;
  /** TCP MSS for IPv4 overlay traffic: podMtu - 40. */
  readonly mss: number;
  /** TCP MSS for IPv6 overlay traffic: podMtu - 60, or null when single-stack. */
  readonly mssV6: number | null;
  /** The constraint that sets podMtu. */
  readonly binding: Constraint;
  readonly paths: readonly PathPlan[];
  readonly clouds: readonly CloudPlan[];
  /** Underlay clamps per cloud and destination subnet, when every cloud declares nodeCidrs; else empty. */
  readonly underlayClamps: readonly UnderlayClamp[];
  /** Overlay devices by family and the CNI bridge. */
  readonly devices: { readonly overlay: string | null; readonly overlayV6: string | null; readonly bridge: string };
  /** Planned MTU of every device flannel-mtu makes consistent on a node, sorted by name. */
  readonly deviceMtus: Readonly<Record<string, number>>;
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
 * arrives at P. Throws InputError when no pod MTU can work.
 */
export function planMtu(env: Environment): MtuPlan {
  const { backend, podNetworkV6, vni } = env.flannel;
  const dualStack = podNetworkV6 !== undefined;
  const overhead = BACKEND_OVERHEADS[backend];
  const families: IpFamily[] = dualStack ? ['ipv4', 'ipv6'] : ['ipv4'];
  const encap = (f: IpFamily) => (f === 'ipv4' ? overhead.ipv4 : overhead.ipv6);

  if (backend === 'host-gw' && env.clouds.length > 1) {
    throw new InputError([{ path: ['flannel', 'backend'], message: `host-gw routes pod traffic unencapsulated and needs every node on one L2 segment; ${env.clouds.length} clouds joined by links are not: use vxlan or wireguard` }]);
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

  const pathMtuOf = (family: IpFamily, kind: 'cloud' | 'link', name: string) =>
    constraints.find((c) => c.family === family && c.kind === kind && c.name === name)!.mtu;
  const headroom = (family: IpFamily, mtu: number) => mtu - (podMtu + encap(family));
  const paths: PathPlan[] = [
    ...env.clouds.map((c) => ({ from: c.name, to: c.name, kind: 'cloud' as const, name: c.name, ends: [c.name] })),
    ...env.links.map((l) => ({ from: l.between[0], to: l.between[1], kind: 'link' as const, name: linkName(l), ends: [...l.between] })),
  ].map(({ ends, ...p }) => {
    const effective = (family: IpFamily) => Math.min(pathMtuOf(family, p.kind, p.name), ...ends.map((e) => pathMtuOf(family, 'cloud', e)));
    const v6 = dualStack ? effective('ipv6') : null;
    return { ...p, pathMtu: effective('ipv4'), headroom: headroom('ipv4', effective('ipv4')), pathMtuV6: v6, headroomV6: v6 === null ? null : headroom('ipv6', v6) };
  });
  paths.sort((a, b) => (a.kind === b.kind ? (cloudIndex.get(a.from)! - cloudIndex.get(b.from)!) || (cloudIndex.get(a.to)! - cloudIndex.get(b.to)!) : a.kind === 'cloud' ? -1 : 1));

  const underlayClamps: UnderlayClamp[] = [];
  for (const cloud of env.clouds) {
    for (const link of env.links.filter((l) => l.between.includes(cloud.name))) {
      const to = env.clouds.find((c) => c.name !== cloud.name && link.between.includes(c.name))!;
      for (const cidr of to.nodeCidrs ?? []) {
        const family: IpFamily = cidr.includes(':') ? 'ipv6' : 'ipv4';
        const linkMtu = family === 'ipv6' ? link.pathMtuV6 ?? link.pathMtu : link.pathMtu;
        const pathMtu = Math.min(linkMtu, cloud.nicMtu, to.nicMtu);
        underlayClamps.push({ cloud: cloud.name, to: to.name, link: linkName(link), family, cidr, pathMtu, mss: pathMtu - TCP_IP_HEADERS[family] });
      }
    }
  }

  const devices = overlayDevices(backend, vni, dualStack);
  const deviceMtus = Object.fromEntries(
    [devices.v4, devices.v6, CNI_BRIDGE].filter((d): d is string => d !== null).sort().map((d) => [d, podMtu]),
  );
  const backendMtu = overhead.acceptsMtu ? podMtu + overhead.flannelSubtracts : null;
  const underlayMtu = underlay('ipv4');
  const underlayMtuV6 = dualStack ? underlay('ipv6') : null;

  const reasoning = [
    `underlay IPv4 MTU ${underlayMtu}: the smallest of ${env.clouds.length} cloud NIC/fabric MTUs and ${env.links.length} link path MTUs`,
    ...(underlayMtuV6 !== null ? [`underlay IPv6 MTU ${underlayMtuV6}`] : []),
    `binding constraint: ${describe(binding)} (${familyName(binding.family)}) at ${binding.mtu}; ${backend} costs ${encap(binding.family)} bytes over ${familyName(binding.family)}, so pods get ${binding.mtu} - ${encap(binding.family)} = ${podMtu}`,
    ...(dualStack && backend !== 'host-gw'
      ? [`dual-stack: ${backend} over IPv6 costs ${overhead.ipv6}, so the IPv6 overlay needs ${podMtu} + ${overhead.ipv6} = ${podMtu + overhead.ipv6} <= ${underlayMtuV6}`]
      : []),
    backendMtu !== null
      ? `Backend.MTU ${backendMtu} = ${podMtu} + ${overhead.flannelSubtracts}: flannel subtracts ${overhead.flannelSubtracts} from it for ${backend}, whatever the family`
      : `${backend} takes no Backend.MTU; cni-conf.json sets the pod MTU ${podMtu} explicitly`,
    `MSS ${podMtu - TCP_IP_HEADERS.ipv4} = ${podMtu} - 40 (IPv4 + TCP headers)${dualStack ? `; IPv6 MSS ${podMtu - TCP_IP_HEADERS.ipv6} = ${podMtu} - 60` : ''}`,
    ...(underlayClamps.length > 0
      ? ['node-to-node TCP between clouds (outside the overlay) is clamped to each link\'s path MTU - 40 (IPv4) / - 60 (IPv6), by destination subnet']
      : []),
  ];

  return {
    environment: env.name,
    backend,
    dualStack,
    underlayMtu,
    underlayMtuV6,
    backendMtu,
    flannelOverhead: overhead.flannelSubtracts,
    encapOverhead: overhead.ipv4,
    encapOverheadV6: dualStack ? overhead.ipv6 : null,
    podMtu,
    mss: podMtu - TCP_IP_HEADERS.ipv4,
    mssV6: dualStack ? podMtu - TCP_IP_HEADERS.ipv6 : null,
    binding,
    paths,
    clouds: env.clouds.map((c) => ({ name: c.name, nicMtu: c.nicMtu, podMtu, nodeCidrs: c.nodeCidrs ?? [] })),
    underlayClamps,
    devices: { overlay: devices.v4, overlayV6: devices.v6, bridge: CNI_BRIDGE },
    deviceMtus,
    reasoning,
    warnings,
  };
}

export function familyName(f: IpFamily): string {
  return f === 'ipv4' ? 'IPv4' : 'IPv6';
}

function describe(c: Constraint): string {
  return c.kind === 'cloud' ? `cloud ${c.name} ${c.path[2] === 'fabricMtu' ? 'fabric' : 'NIC'} MTU` : `link ${c.name} path MTU`;
}
