import { shippedScript } from '../node/scripts';

/**
 * The text of a Job script shipped in `src/jobs/scripts/`. Like the node scripts, the scripts are
 * constant: namespaces, selector and timeouts reach them through environment variables, and the
 * scripts validate those values before any command sees them.
 */
export function jobScript(name: 'rollout-restart.sh'): string {
  return shippedScript(__dirname, name);
}
