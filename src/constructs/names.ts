/** Upstream kube-flannel.yml names, kept so that our output replaces an upstream install in place. */
export const FLANNEL_NAMESPACE = 'kube-flannel';
export const FLANNEL_SERVICE_ACCOUNT = 'flannel';
export const FLANNEL_CLUSTER_ROLE = 'flannel';
export const FLANNEL_CONFIG_MAP = 'kube-flannel-cfg';
export const FLANNEL_DAEMON_SET = 'kube-flannel-ds';

/** The flannel DaemonSet: `kube-flannel-ds`, or in mtuMode per-path `kube-flannel-ds-<cloud>`. */
export function flannelDaemonSetName(cloud?: string): string {
  return cloud === undefined ? FLANNEL_DAEMON_SET : `${FLANNEL_DAEMON_SET}-${cloud}`;
}

/** The flannel ConfigMap: `kube-flannel-cfg`, or in mtuMode per-path `kube-flannel-cfg-<cloud>`. */
export function flannelConfigMapName(cloud?: string): string {
  return cloud === undefined ? FLANNEL_CONFIG_MAP : `${FLANNEL_CONFIG_MAP}-${cloud}`;
}
/** Prefix of the labels and annotations flannel-mtu owns. */
export const ANNOTATION_PREFIX = 'flannel-mtu.io';
