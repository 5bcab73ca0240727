import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { MtuPlan, UnderlayClamp } from '../mtu/plan';
import { nodeScript } from '../node/scripts';
import { XTABLES_LOCK_MOUNT } from './flannel-network';
import { nodeScriptContainer } from './node-script-container';

export interface TcpMssClampProps {
  /** The MTU plan; the MSS values and overlay devices come from it. */
  readonly plan: MtuPlan;
  /** Image with busybox sh and iptables (legacy and nft). Reuse the flannel image. */
  readonly image: string;
  /**
   * Install the clamp. When false the container still runs, with no rules, and removes a clamp
   * installed earlier: a node keeps iptables rules after the container that made them is gone.
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * The TCPMSS rules for the overlay, as `iptables` rule specs without the chain.
 *
 * Uniform mode: `--set-mss <pod MTU - 40>` (`- 60` for IPv6), one MSS for every flow. Per-path
 * mode: `--clamp-mss-to-pmtu`, because there the routes to other clouds carry the link's overlay
 * MTU (RouteMtuKeeper), so the kernel clamps each SYN to its own destination's route MTU - 40: the
 * link's MSS toward another cloud, the full in-cloud MSS inside it (measured: netns lab notes,
 * addendum). Without route MTUs this target would clamp to flannel.1's own MTU and change nothing.
 */
export function overlayMssRules(plan: MtuPlan): { v4: string[]; v6: string[] } {
  const target = (mss: number) => (plan.mtuMode === 'per-path' ? '--clamp-mss-to-pmtu' : `--set-mss ${mss}`);
  const rule = (device: string, mss: number) => `-o ${device} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS ${target(mss)}`;
  return {
    v4: plan.devices.overlay !== null ? [rule(plan.devices.overlay, plan.mss)] : [],
    v6: plan.devices.overlayV6 !== null && plan.mssV6 !== null ? [rule(plan.devices.overlayV6, plan.mssV6)] : [],
  };
}

/**
 * The TCPMSS rules for node-to-node TCP outside the overlay, as `<cloud> <rule spec>` lines: a
 * node installs the lines of its own cloud, which name only other clouds' node subnets. Numbers
 * and subnets come from `plan.underlayClamps`.
 */
export function underlayMssRules(plan: MtuPlan): { v4: string[]; v6: string[] } {
  const rule = (c: UnderlayClamp) => `${c.cloud} -d ${c.cidr} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${c.mss}`;
  return {
    v4: plan.underlayClamps.filter((c) => c.family === 'ipv4').map(rule),
    v6: plan.underlayClamps.filter((c) => c.family === 'ipv6').map(rule),
  };
}

/** Every cloud's node subnets as `<cloud> <cidr>` lines, for a node to find its own cloud by its address. */
export function nodeCidrLines(plan: MtuPlan): string[] {
  return plan.clouds.flatMap((c) => c.nodeCidrs.map((cidr) => `${c.name} ${cidr}`));
}

/**
 * An init container that clamps the TCP MSS of every connection through the overlay device, on
 * every node, so TCP works even where an MTU is still wrong (pods not yet restarted, a path that
 * shrank).
 *
 * The rule sits in POSTROUTING `-o flannel.1`: it rewrites the SYN and SYN-ACK a node sends into
 * the overlay, and the SYN-ACK toward a data sender is what limits that sender's segments. That
 * is why it must be on every node (measured in the netns lab: a clamp on the sending node alone
 * does not fix an upload). `--clamp-mss-to-pmtu` would not help: the node never learns the path
 * MTU behind the VXLAN, so it would clamp to flannel.1's own MTU. The rules live in their own chain
 * and are replaced atomically, so a new MSS replaces the old one instead of stacking.
 *
 * Where clouds declare `nodeCidrs`, the same container also clamps node-to-node TCP that does not
 * use the overlay (kubelet <-> API server, etcd, hostNetwork workloads) to each link's path MTU:
 * chain `FLANNEL-MTU-UNDERLAY`, `-d <other cloud's cidr> ... --set-mss <path MTU - 40/60>`. The
 * node finds its cloud by matching `HOST_IP` (downward API `status.hostIP`) against `NODE_CIDRS`;
 * traffic inside a cloud is left alone.
 */
export class TcpMssClamp extends Construct {
  /** The init container to pass to `FlannelNetwork` as a node init container. */
  public readonly container: k8s.Container;
  public readonly rules: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** Underlay rules as `<cloud> <rule spec>` lines; empty when the clamp is disabled or no cloud declares nodeCidrs. */
  public readonly underlayRules: { readonly v4: readonly string[]; readonly v6: readonly string[] };

  constructor(scope: Construct, id: string, props: TcpMssClampProps) {
    super(scope, id);
    this.rules = props.enabled === false ? { v4: [], v6: [] } : overlayMssRules(props.plan);
    this.underlayRules = props.enabled === false ? { v4: [], v6: [] } : underlayMssRules(props.plan);
    const container = nodeScriptContainer({
      name: 'tcp-mss-clamp',
      image: props.image,
      script: nodeScript('tcp-mss-clamp.sh'),
      env: {
        MSS_RULES_V4: this.rules.v4.join('\n'),
        MSS_RULES_V6: this.rules.v6.join('\n'),
        UNDERLAY_RULES_V4: this.underlayRules.v4.join('\n'),
        UNDERLAY_RULES_V6: this.underlayRules.v6.join('\n'),
        NODE_CIDRS: nodeCidrLines(props.plan).join('\n'),
      },
      // iptables-legacy (libiptc) talks to the kernel through a raw socket: NET_RAW as well as NET_ADMIN.
      capabilities: ['NET_ADMIN', 'NET_RAW'],
      volumeMounts: [XTABLES_LOCK_MOUNT],
    });
    // The node's address, for finding its cloud among NODE_CIDRS.
    this.container = { ...container, env: [...(container.env ?? []), { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }] };
  }
}
