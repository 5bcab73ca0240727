/** Upstream kube-flannel.yml names, kept so that our output replaces an upstream install in place. */
export const FLANNEL_NAMESPACE = 'kube-flannel';
export const FLANNEL_SERVICE_ACCOUNT = 'flannel';
export const FLANNEL_CLUSTER_ROLE = 'flannel';
export const FLANNEL_CONFIG_MAP = 'kube-flannel-cfg';
export const FLANNEL_DAEMON_SET = 'kube-flannel-ds';
/** Prefix of the labels and annotations flannel-mtu owns. */
export const ANNOTATION_PREFIX = 'flannel-mtu.io';
