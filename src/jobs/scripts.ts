import * as fs from 'fs';
import * as path from 'path';

/** Read once per process: every chart uses the same scripts. */
const texts = new Map<string, string>();

/**
 * The text of a Job script shipped in `src/jobs/scripts/`. Like the node scripts, the scripts are
 * constant: namespaces, selector and timeouts reach them through environment variables, and the
 * scripts validate those values before any command sees them.
 */
export function jobScript(name: 'rollout-restart.sh'): string {
  let text = texts.get(name);
  if (text === undefined) texts.set(name, (text = fs.readFileSync(path.join(__dirname, 'scripts', name), 'utf8')));
  return text;
}
