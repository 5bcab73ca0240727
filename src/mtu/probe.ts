import { linkName, ResolvedEnvironment } from '../model/environment';
import { isIpv4, isIpv6 } from '../model/net';
import { MtuPlan } from './plan';

/** One path-MTU measurement a probe in cloud `from` makes. */
export interface ProbeTarget {
  readonly from: string;
  readonly to: string;
  readonly link: string;
  readonly family: 4 | 6;
  /**
   * Every declared node of `to` with an address of this family, in the file's order (each address once). Each probing
   * node starts at its own one (picked from its node name) and moves on only past peers that do not answer.
   */
  readonly peers: readonly string[];
  /** The path MTU the plan assumed for this link and family. */
  readonly declaredMtu: number;
  /** Upper bound of the search: the smaller NIC MTU of the two clouds. */
  readonly maxMtu: number;
}

/**
 * What each cloud's path-MTU probe measures: for every other cloud and address family, toward the
 * declared nodes of that family, with the link's planned path MTU. Clouds without a node of a family
 * are not probed over it.
 */
export function probeTargets(env: ResolvedEnvironment, plan: MtuPlan): ProbeTarget[] {
  const nic = new Map(env.clouds.map((c) => [c.name, c.nicMtu]));
  const nodes = new Map(env.clouds.map((c) => [c.name, c.nodes ?? []]));
  const targets: ProbeTarget[] = [];
  for (const from of env.clouds) {
    for (const link of env.links.filter((l) => l.between.includes(from.name))) {
      const to = link.between[0] === from.name ? link.between[1] : link.between[0];
      const path = plan.paths.find((p) => p.kind === 'link' && p.name === linkName(link))!;
      const families: Array<[4 | 6, (ip: string) => boolean, number | null]> = [[4, isIpv4, path.pathMtu], [6, isIpv6, path.pathMtuV6]];
      for (const [family, isFamily, declaredMtu] of families) {
        const peers = [...new Set(nodes.get(to)!.filter(isFamily))];
        if (peers.length === 0 || declaredMtu === null) continue;
        targets.push({ from: from.name, to, link: linkName(link), family, peers, declaredMtu, maxMtu: Math.min(nic.get(from.name)!, nic.get(to)!) });
      }
    }
  }
  return targets;
}
