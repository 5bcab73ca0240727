import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A `kubectl` stand-in for running the rollout Job's script: it records every call (one line,
 * arguments separated by \x1f) and answers like kubectl would:
 * - `get ... -n NS`: the canned lines of `workloads[NS]` (the script's jsonpath output format);
 * - `rollout status TARGET -n NS`: fails for `NS/TARGET` listed in `failStatus`;
 * - `rollout restart TARGET -n NS`: succeeds.
 */
const STANDIN = `#!/bin/sh
{ for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\n'; } >>"$KUBECTL_LOG"
ns=
prev=
for a in "$@"; do
	[ "$prev" = -n ] && ns=$a
	prev=$a
done
case "$1 $2" in
"rollout status")
	if grep -qxF "$ns/$3" "$KUBECTL_FIXTURES/fail-status"; then
		echo "error: timed out waiting for the condition" >&2
		exit 1
	fi
	echo "$3 successfully rolled out"
	;;
"rollout restart") echo "$3 restarted" ;;
get\\ *)
	[ -f "$KUBECTL_FIXTURES/ns-$ns" ] && cat "$KUBECTL_FIXTURES/ns-$ns"
	;;
*) echo "kubectl stand-in: unexpected call: $*" >&2; exit 99 ;;
esac
`;

export interface Workload {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  readonly name: string;
  readonly hostNetwork?: boolean;
  readonly updateStrategy?: 'RollingUpdate' | 'OnDelete';
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every kubectl call, as its argument vector. */
  readonly calls: string[][];
}

/** The shells the script is run with: /bin/sh, and busybox sh when installed. */
export function shells(): Array<{ name: string; argv: string[] }> {
  const found = [{ name: '/bin/sh', argv: ['/bin/sh'] }];
  for (const p of ['/usr/bin/busybox', '/bin/busybox']) {
    if (fs.existsSync(p)) {
      found.push({ name: 'busybox sh', argv: [p, 'sh'] });
      break;
    }
  }
  return found;
}

/** Runs `script` the way the Job's container does (`sh -c SCRIPT rollout-restart`), with kubectl replaced. */
export function runScript(opts: {
  readonly shell: readonly string[];
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly workloads?: Readonly<Record<string, readonly Workload[]>>;
  readonly failStatus?: readonly string[];
}): RunResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-rollout-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'fixtures'));
    fs.writeFileSync(path.join(dir, 'bin', 'kubectl'), STANDIN, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'fixtures', 'fail-status'), (opts.failStatus ?? []).map((l) => `${l}\n`).join(''));
    for (const [ns, list] of Object.entries(opts.workloads ?? {})) {
      // What kubectl prints for the script's jsonpath: Kind|name|hostNetwork|updateStrategy per item.
      const text = list.map((w) => `${w.kind}|${w.name}|${w.hostNetwork === undefined ? '' : String(w.hostNetwork)}|${w.updateStrategy ?? ''}\n`).join('');
      fs.writeFileSync(path.join(dir, 'fixtures', `ns-${ns}`), text);
    }
    fs.writeFileSync(path.join(dir, 'calls'), '');
    const [cmd, ...pre] = opts.shell;
    const r = spawnSync(cmd, [...pre, '-c', opts.script, 'rollout-restart'], {
      env: {
        ...opts.env,
        HOME: dir,
        PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
        KUBECTL_LOG: path.join(dir, 'calls'),
        KUBECTL_FIXTURES: path.join(dir, 'fixtures'),
      },
      cwd: dir,
      encoding: 'utf8',
      timeout: 20000,
    });
    const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\x1f').slice(0, -1));
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Canned workloads of ingress-nginx and default, the namespaces environments/seed-dev.yaml lists.
// Every kind is restarted in each namespace (the RBAC test relies on it) and each namespace has a
// hostNetwork DaemonSet that must be skipped.
export const SEED_WORKLOADS: Readonly<Record<string, readonly Workload[]>> = {
  'ingress-nginx': [
    { kind: 'Deployment', name: 'ingress-nginx-controller' },
    { kind: 'StatefulSet', name: 'geoip-cache', updateStrategy: 'RollingUpdate' },
    { kind: 'DaemonSet', name: 'ingress-nginx-hostport', hostNetwork: true, updateStrategy: 'RollingUpdate' },
    { kind: 'DaemonSet', name: 'edge-proxy', hostNetwork: false, updateStrategy: 'RollingUpdate' },
  ],
  'default': [
    { kind: 'Deployment', name: 'web' },
    { kind: 'Deployment', name: 'orders-api' },
    { kind: 'StatefulSet', name: 'db', updateStrategy: 'RollingUpdate' },
    { kind: 'DaemonSet', name: 'node-exporter', hostNetwork: true, updateStrategy: 'RollingUpdate' },
    { kind: 'DaemonSet', name: 'log-agent', updateStrategy: 'RollingUpdate' },
  ],
};
