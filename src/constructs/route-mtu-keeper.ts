import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { MtuPlan, peerLinks } from '../mtu/plan';
import { nodeScript } from '../node/scripts';
import { nodeScriptContainer } from './node-script-container';

export interface RouteMtuKeeperProps {
  /** The MTU plan (per-path mode); the link MTUs, node CIDRs and overlay devices come from it. */
  readonly plan: MtuPlan;
  /** The cloud whose nodes run this keeper (one flannel DaemonSet per cloud). */
  readonly cloud: string;
  /** Image with busybox sh and iproute2 (`ip`, `bridge`): the flannel image. */
  readonly image: string;
  /**
   * Seconds between full checks of every route (route changes are handled as they happen).
   * @default 30
   */
  readonly recheckSeconds?: number;
}

/** Where the keeper's ready file and its table dumps live (an in-memory emptyDir). */
export const ROUTE_MTU_KEEPER_STATUS_DIR = '/run/route-mtu-keeper';
/**
 * The volume behind ROUTE_MTU_KEEPER_STATUS_DIR, for the DaemonSet's volumes. It holds two dumps
 * of the route, neighbour and fdb tables at most (the last one that needed nothing, and the
 * current one): about 140 bytes per remote node and IP family, so 1.4 MB for 5000 nodes on one
 * family and 2.9 MB on two.
 */
export const ROUTE_MTU_KEEPER_VOLUME: k8s.Volume = {
  name: 'route-mtu-keeper',
  emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') },
};

/**
 * A sidecar in a per-path flannel pod that keeps the link's overlay MTU on flannel's routes to
 * other clouds' pod subnets: `ip route change <flannel's route> mtu <link overlay MTU>`.
 *
 * In per-path mode flannel.1, cni0 and the pods run at their own cloud's maximum; only the route
 * holds traffic to another cloud to the link's MTU, so that the node tells its own pods
 * ("fragmentation needed", locally: no WAN ICMP needed) and `--clamp-mss-to-pmtu` clamps each TCP
 * flow to its destination (netns lab notes, addendum). flanneld rewrites these routes without an
 * MTU on lease events, so the keeper watches route changes (`ip monitor route`) and re-checks
 * periodically. It finds each route's remote node through flannel's own trail (gateway -> `ip
 * neigh` lladdr -> `bridge fdb` dst), its cloud through `nodeCidrs`, changes only the mtu attribute,
 * leaves routes inside its own cloud alone, and is Ready only while every route carries its MTU.
 * A pass is linear in the routes (each table read once, one awk join, one `ip -force -batch`);
 * `npm run bench:node` measures it up to 5000 nodes.
 */
export class RouteMtuKeeper extends Construct {
  /** The sidecar to pass to `FlannelNetwork` for this cloud. */
  public readonly container: k8s.Container;
  /** `<cloud> <overlay MTU>` for every peer cloud, sorted by cloud. */
  public readonly linkMtus: readonly string[];
  /** `<cloud> <cidr>` for every cloud, this one first, then in file order. */
  public readonly nodeCidrs: readonly string[];

  constructor(scope: Construct, id: string, props: RouteMtuKeeperProps) {
    super(scope, id);
    const { plan, cloud } = props;
    if (plan.mtuMode !== 'per-path') throw new Error(`${this.node.path}: a route-MTU keeper belongs to mtuMode per-path, the plan of ${plan.environment} is ${plan.mtuMode}`);
    if (plan.devices.overlay === null) throw new Error(`${this.node.path}: backend ${plan.backend} has no overlay device to keep routes on`);
    const own = plan.clouds.find((c) => c.name === cloud);
    if (own === undefined) throw new Error(`${this.node.path}: cloud "${cloud}" is not in the plan (clouds: ${plan.clouds.map((c) => c.name).join(', ')})`);
    const withoutCidrs = plan.clouds.filter((c) => c.nodeCidrs.length === 0).map((c) => c.name);
    if (withoutCidrs.length > 0) throw new Error(`${this.node.path}: clouds ${withoutCidrs.join(', ')} declare no nodeCidrs: the keeper could not tell which cloud a route leads to`);

    this.linkMtus = peerLinks(plan, cloud)
      .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))
      .map(({ peer, link }) => `${peer} ${link.overlayMtu}`);
    this.nodeCidrs = [own, ...plan.clouds.filter((c) => c.name !== cloud)].flatMap((c) => c.nodeCidrs.map((cidr) => `${c.name} ${cidr}`));
    const recheck = props.recheckSeconds ?? 30;
    if (!Number.isInteger(recheck) || recheck < 1 || recheck > 3600) throw new Error(`${this.node.path}: recheckSeconds: expected an integer between 1 and 3600, got ${recheck}`);

    const container = nodeScriptContainer({
      name: 'route-mtu-keeper',
      image: props.image,
      script: nodeScript('route-mtu-keeper.sh'),
      env: {
        CLOUD: cloud,
        LINK_MTUS: this.linkMtus.join('\n'),
        NODE_CIDRS: this.nodeCidrs.join('\n'),
        OVERLAY_DEVICES: [plan.devices.overlay, plan.devices.overlayV6].filter((d) => d !== null).join(' '),
        STATUS_DIR: ROUTE_MTU_KEEPER_STATUS_DIR,
        RECHECK_SECONDS: String(recheck),
      },
      // ip route change; reading routes, neighbours and the fdb and `ip monitor` need nothing.
      capabilities: ['NET_ADMIN'],
      volumeMounts: [{ name: ROUTE_MTU_KEEPER_VOLUME.name, mountPath: ROUTE_MTU_KEEPER_STATUS_DIR }],
    });
    this.container = {
      ...container,
      readinessProbe: {
        exec: { command: ['grep', '-qx', 'ready', `${ROUTE_MTU_KEEPER_STATUS_DIR}/ready`] },
        periodSeconds: 10,
      },
    };
  }
}
