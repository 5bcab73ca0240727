import * as k8s from '../../imports/k8s';
import { nodeScript } from '../node/scripts';
import { nodeScriptContainer } from './node-script-container';

/** Where the DaemonSet mounts the node's CNI plugin directory (hostPath `cni-plugin`). */
export const CNI_BIN_MOUNT = '/opt/cni/bin';
/** The conflist in the ConfigMap, and where the container runtime reads it. */
export const CNI_CONF_SRC = '/etc/kube-flannel/cni-conf.json';
export const CNI_CONF_DEST = '/etc/cni/net.d/10-flannel.conflist';

/**
 * The plugin binaries a conflist runs, sorted: every entry's `type`, and for flannel's entry what
 * flannel delegates to: `delegate.type` (default bridge) and its IPAM, host-local
 * (flannel-io/cni-plugin flannel_linux.go doCmdAdd and getDelegateIPAM).
 */
export function cniPluginBinaries(conflist: Record<string, unknown>): string[] {
  const names = new Set<string>();
  for (const entry of conflist.plugins as Array<Record<string, unknown>>) {
    names.add(String(entry.type));
    if (entry.type === 'flannel') {
      const delegate = (entry.delegate ?? {}) as Record<string, unknown>;
      const ipam = (entry.ipam ?? {}) as Record<string, unknown>;
      names.add(String(delegate.type ?? 'bridge'));
      names.add(String(ipam.type ?? 'host-local'));
    }
  }
  return [...names].sort();
}

export interface InstallCniProps {
  /** The flannel image (busybox sh, cp, mv). */
  readonly image: string;
  /** The conflist the ConfigMap carries as cni-conf.json; the plugins to check come from it. */
  readonly conflist: Record<string, unknown>;
  /**
   * The node's CNI plugin directory, for messages (the `cni-plugin` hostPath volume).
   * @default '/opt/cni/bin'
   */
  readonly cniBinDirOnHost?: string;
}

/**
 * The `install-cni` init container: upstream's copies cni-conf.json into /etc/cni/net.d with
 * flannel's install-conf; this one first checks that every plugin binary the conflist runs is in
 * the node's CNI bin dir and fails naming the missing paths otherwise, so a conflist that would
 * make every pod creation fail (a `tuning` entry on a node without the tuning plugin) is never
 * installed. No capabilities: root writes the root-owned directory it mounts.
 */
export function installCniContainer(props: InstallCniProps): k8s.Container {
  return nodeScriptContainer({
    name: 'install-cni',
    image: props.image,
    script: nodeScript('install-cni.sh'),
    env: {
      CNI_CONF_SRC,
      CNI_CONF_DEST,
      CNI_BIN_DIR: CNI_BIN_MOUNT,
      CNI_BIN_DIR_HOST: props.cniBinDirOnHost ?? CNI_BIN_MOUNT,
      CNI_PLUGINS: cniPluginBinaries(props.conflist).join(' '),
    },
    capabilities: [],
    volumeMounts: [
      { name: 'cni', mountPath: '/etc/cni/net.d' },
      { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
      { name: 'cni-plugin', mountPath: CNI_BIN_MOUNT, readOnly: true },
    ],
  });
}
