import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InterfaceSelection } from '../model/environment';
import { MtuPlan } from '../mtu/plan';
import { nodeScript } from '../node/scripts';
import { nodeScriptContainer } from './node-script-container';

export interface NodeMtuProps {
  /** The MTU plan (or one cloud's view of it); the devices and MTUs come from `plan.deviceMtus`, the NIC floor from `plan.nicMtuNeeded`. */
  readonly plan: MtuPlan;
  /** Image with busybox sh and iproute2. Reuse the flannel image so nodes pull nothing new. */
  readonly image: string;
  /**
   * How flanneld picks its interface (`--iface`, `--iface-regex`, `--iface-can-reach`): the NIC
   * check follows the same rules, so the NIC it checks is the one flanneld uses.
   * @default - the interface that holds the node's address (status.hostIP)
   */
  readonly interfaces?: InterfaceSelection;
}

/**
 * An init container that makes a changed MTU real on the node before flanneld starts.
 *
 * First it checks the NIC flanneld will use against the plan: a NIC smaller than the plan's pod MTU
 * plus encapsulation fails the container (naming node, interface and both numbers), so the
 * DaemonSet's rolling update stops at that node; a larger NIC is logged with its unused headroom.
 * Then it sets each planned device's MTU where it differs: flanneld reuses an existing
 * flannel.1 without comparing its MTU (vxlanLinksIncompat ignores MTU, flannel issue #1775) and
 * the bridge plugin reuses cni0, so without this a new Backend.MTU only takes effect after a
 * reboot. Pod veths keep their MTU until pods are recreated: that is RolloutRestart's job.
 */
export class NodeMtu extends Construct {
  /** The init container to pass to `FlannelNetwork` as a node init container. */
  public readonly container: k8s.Container;

  constructor(scope: Construct, id: string, props: NodeMtuProps) {
    super(scope, id);
    const { plan } = props;
    const deviceMtus = Object.entries(plan.deviceMtus).map(([device, mtu]) => `${device}=${mtu}`).join(' ');
    const sel = props.interfaces ?? {};
    const container = nodeScriptContainer({
      name: 'apply-node-mtu',
      image: props.image,
      script: nodeScript('apply-node-mtu.sh'),
      env: {
        DEVICE_MTUS: deviceMtus,
        NIC_MTU_NEEDED: String(plan.nicMtuNeeded),
        ...(sel.iface?.length && { FLANNEL_IFACES: sel.iface.join(' ') }),
        ...(sel.ifaceRegex?.length && { FLANNEL_IFACE_REGEXES: sel.ifaceRegex.join('\n') }),
        ...(sel.ifaceCanReach !== undefined && { FLANNEL_IFACE_CAN_REACH: sel.ifaceCanReach }),
      },
      capabilities: ['NET_ADMIN'],
    });
    const fieldEnv = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    this.container = { ...container, env: [...(container.env ?? []), fieldEnv('NODE_NAME', 'spec.nodeName'), fieldEnv('HOST_IP', 'status.hostIP')] };
  }
}
