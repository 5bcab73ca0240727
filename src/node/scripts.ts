import * as fs from 'fs';
import * as path from 'path';

/** Read once per process: every chart uses the same scripts. */
const texts = new Map<string, string>();

/** The text of `scripts/<name>` beside the module in `dir` (src/ in this repository, lib/src/ in the package). */
export function shippedScript(dir: string, name: string): string {
  const file = path.join(dir, 'scripts', name);
  let text = texts.get(file);
  if (text === undefined) texts.set(file, (text = fs.readFileSync(file, 'utf8')));
  return text;
}

/**
 * The text of a node-side script shipped in `src/node/scripts/`. The scripts are constant: every
 * number and device name reaches them through environment variables set from the plan, and the
 * scripts validate those values before any command sees them.
 */
export function nodeScript(name: 'install-cni.sh' | 'apply-node-mtu.sh' | 'tcp-mss-clamp.sh' | 'path-mtu-probe.sh' | 'route-mtu-keeper.sh' | 'net-conf-psk.sh' | 'link-cni-plugins.sh'): string {
  return shippedScript(__dirname, name);
}
