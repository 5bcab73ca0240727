// What the lab's healing and MTU-change scenarios run besides mtulab.sh's own tools (it checks
// those): the real CNI plugins for the conflist's chain, busybox for the shipped node scripts, nft
// for the overlay-ICMP variant, util-linux's unshare. Fails naming every missing one.
import * as fs from 'fs';

export const HEALING_TOOLS = ['/usr/lib/cni/portmap', '/usr/lib/cni/tuning', '/usr/bin/unshare', '/usr/sbin/nft', '/usr/bin/busybox'] as const;

export function requireTools(tools: readonly string[] = HEALING_TOOLS): void {
  const missing = tools.filter((t) => !fs.existsSync(t));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: install containernetworking-plugins, util-linux, nftables and busybox (.ci/run does)`);
}
