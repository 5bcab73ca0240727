import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { Cloud } from '../model/environment';
import { ProbeTarget } from '../mtu/probe';
import { nodeScript } from '../node/scripts';
import { FLANNEL_NAMESPACE } from './names';
import { nodeScriptContainer } from './node-script-container';

export interface PathMtuProbeProps {
  /** The cloud whose nodes run this probe; its `nodeSelector` places the DaemonSet. */
  readonly cloud: Cloud;
  /** What to measure from this cloud (from `probeTargets(environment, plan)`). */
  readonly targets: readonly ProbeTarget[];
  /** Image with busybox sh, ping and iproute2: the flannel image. */
  readonly image: string;
  /**
   * Seconds between measurement rounds.
   * @default 300
   */
  readonly intervalSeconds?: number;
  /**
   * Bytes a measured path MTU may exceed the declared one before it is reported as wasted.
   * @default 10
   */
  readonly marginBytes?: number;
  /**
   * Directory on the node that node-exporter's textfile collector reads: mounted (hostPath,
   * created if missing) so the probe replaces `flannel-mtu-probe.prom` there after every round.
   * @default - no metrics file, no hostPath
   */
  readonly textfileDirectory?: string;
}

const STATUS_DIR = '/run/path-mtu-probe';
/** Where the node's textfile collector directory appears in the container. */
const METRICS_DIR = '/run/path-mtu-probe-metrics';

/**
 * A DaemonSet on one cloud's nodes that measures the underlay path MTU to a node in every other
 * cloud (DF pings, binary search, at most ~30 packets per peer and round; each node picks its peer
 * among the declared ones by its node name, so the load spreads) and compares it with the
 * value the plan was derived from. It reports one JSON log line per link and round, and is Ready
 * only while every measured path carries at least what was declared, so an alert on unready pods
 * fires when an SD-WAN path shrinks. It never changes the network (NET_RAW only, for ping).
 */
export class PathMtuProbe extends Construct {
  public readonly daemonSet: k8s.KubeDaemonSet;

  constructor(scope: Construct, id: string, props: PathMtuProbeProps) {
    super(scope, id);
    if (!props.cloud.nodeSelector || Object.keys(props.cloud.nodeSelector).length === 0) {
      throw new Error(`${this.node.path}: cloud "${props.cloud.name}" needs a nodeSelector to place its path-MTU probe`);
    }
    const labels = { 'app': 'flannel-mtu-probe', 'flannel-mtu.io/cloud': props.cloud.name };
    const container = nodeScriptContainer({
      name: 'probe',
      image: props.image,
      script: nodeScript('path-mtu-probe.sh'),
      env: {
        PROBE_CLOUD: props.cloud.name,
        PROBE_TARGETS: props.targets.map((t) => `${t.link} ${t.to} ${t.family} ${t.peers.join(',')} ${t.declaredMtu} ${t.maxMtu}`).join('\n'),
        PROBE_MARGIN: String(props.marginBytes ?? 10),
        PROBE_INTERVAL: String(props.intervalSeconds ?? 300),
        PROBE_STATUS: `${STATUS_DIR}/status`,
        ...(props.textfileDirectory !== undefined && { PROBE_METRICS_DIR: METRICS_DIR }),
      },
      capabilities: ['NET_RAW'],
      volumeMounts: [{ name: 'status', mountPath: STATUS_DIR }, ...(props.textfileDirectory !== undefined ? [{ name: 'metrics', mountPath: METRICS_DIR }] : [])],
    });
    this.daemonSet = new k8s.KubeDaemonSet(this, 'daemon-set', {
      metadata: { name: `flannel-mtu-probe-${props.cloud.name}`, namespace: FLANNEL_NAMESPACE, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            nodeSelector: { ...props.cloud.nodeSelector, 'kubernetes.io/os': 'linux' },
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            automountServiceAccountToken: false,
            containers: [{
              ...container,
              // the node's name picks which of the peers it measures toward
              env: [...(container.env ?? []), { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              readinessProbe: {
                exec: { command: ['grep', '-qx', 'healthy', `${STATUS_DIR}/status`] },
                periodSeconds: 30,
              },
            }],
            volumes: [
              { name: 'status', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
              ...(props.textfileDirectory !== undefined ? [{ name: 'metrics', hostPath: { path: props.textfileDirectory, type: 'DirectoryOrCreate' } }] : []),
            ],
          },
        },
      },
    });
  }
}
