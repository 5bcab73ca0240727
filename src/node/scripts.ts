import * as fs from 'fs';
import * as path from 'path';

/** Read once per process: every chart uses the same scripts. */
const texts = new Map<string, string>();

/**
 * The text of a node-side script shipped in `src/node/scripts/`. The scripts are constant: every
 * number and device name reaches them through environment variables set from the plan, and the
 * scripts validate those values before any command sees them.
 */
export function nodeScript(name: 'install-cni.sh' | 'apply-node-mtu.sh' | 'tcp-mss-clamp.sh' | 'path-mtu-probe.sh' | 'route-mtu-keeper.sh' | 'net-conf-psk.sh' | 'link-cni-plugins.sh'): string {
  let text = texts.get(name);
  if (text === undefined) texts.set(name, (text = fs.readFileSync(path.join(__dirname, 'scripts', name), 'utf8')));
  return text;
}
