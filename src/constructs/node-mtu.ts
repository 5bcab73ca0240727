import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { MtuPlan } from '../mtu/plan';
import { nodeScript } from '../node/scripts';
import { nodeScriptContainer } from './node-script-container';

export interface NodeMtuProps {
  /** The MTU plan; the devices and their MTUs come from `plan.deviceMtus`. */
  readonly plan: MtuPlan;
  /** Image with busybox sh and iproute2. Reuse the flannel image so nodes pull nothing new. */
  readonly image: string;
}

/**
 * An init container that makes a changed MTU real on the node before flanneld starts.
 *
 * flanneld reuses an existing flannel.1 without comparing its MTU (vxlanLinksIncompat ignores MTU,
 * flannel issue #1775) and the bridge plugin reuses cni0, so without this a new Backend.MTU only
 * takes effect after a reboot. The script sets each device's MTU when it differs and does nothing
 * when all match. Pod veths keep their MTU until pods are recreated: that is RolloutRestart's job.
 */
export class NodeMtu extends Construct {
  /** The init container to pass to `FlannelNetwork` as a node init container. */
  public readonly container: k8s.Container;

  constructor(scope: Construct, id: string, props: NodeMtuProps) {
    super(scope, id);
    const deviceMtus = Object.entries(props.plan.deviceMtus).map(([device, mtu]) => `${device}=${mtu}`).join(' ');
    this.container = nodeScriptContainer({
      name: 'apply-node-mtu',
      image: props.image,
      script: nodeScript('apply-node-mtu.sh'),
      env: { DEVICE_MTUS: deviceMtus },
      capabilities: ['NET_ADMIN'],
    });
  }
}
