// Network-namespace lab for root tests.
//
// Every namespace is named `fmtu-<pid>-<role>-<n>`, is created empty (only `lo`) and is
// only ever linked to other lab namespaces: nothing is moved into or linked to the host
// namespace, so no lab traffic or rule can reach the real network.
// Call `lab.destroy()` from afterAll/afterEach; it deletes everything this process created
// and also leftovers of earlier test processes that are no longer alive.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findBinary, forEachLine, linkImageTools, pidAlive } from '../../lab/host';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}


export const IP = findBinary('ip');
export const BUSYBOX = findBinary('busybox');
export const PREFIX = `fmtu-${process.pid}-`;
const HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export function run(argv: string[], opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input ?? '',
    env: opts.env ?? { PATH: HOST_PATH },
    encoding: 'utf8',
    timeout: 30000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function must(argv: string[], opts: { input?: string; env?: Record<string, string> } = {}): string {
  const r = run(argv, opts);
  if (r.status !== 0) {
    throw new Error(`command failed (${r.status}): ${argv.join(' ')}\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/**
 * A long-running process with its stdout and stderr collected as whole lines. `closed` settles once the process has exited and both streams are drained: its
 * 'exit' event can come before its last output is read, so a test that checks the last words
 * of a process must wait for `closed`, not for `exitCode`.
 */
export class Background {
  readonly child: ChildProcess;
  /** Every complete line so far, stdout and stderr in the order they were read. */
  readonly lines: string[] = [];
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(argv: string[], env: Record<string, string>) {
    this.child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) forEachLine(stream, (line) => this.lines.push(line));
    this.closed = new Promise((resolve) => this.child.on('close', (code, signal) => {
      this.done = true;
      resolve({ code, signal });
    }));
  }

  /** True once `closed` has settled. */
  get isClosed(): boolean {
    return this.done;
  }

  /** The lines from index `from` on, joined. */
  text(from = 0): string {
    return this.lines.slice(from).join('\n');
  }
}

/** Which iptables binaries a toolbox offers (the flannel image has both). */
export type Xtables = 'both' | 'legacy' | 'nft';

/**
 * A directory to use as the whole PATH, laid out like the flannel image: busybox applets for
 * everything, iproute2's `ip` and `bridge`, and the explicit {ip,ip6}tables-{legacy,nft}[-save|-restore]
 * binaries of the chosen backends (no plain `iptables`).
 */
export function imageLikePath(xtables: Xtables = 'both'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}bin-`));
  linkImageTools(dir);
  const backends = xtables === 'both' ? ['legacy', 'nft'] : [xtables];
  for (const fam of ['iptables', 'ip6tables']) {
    for (const b of backends) {
      for (const suffix of ['', '-save', '-restore']) {
        const name = `${fam}-${b}${suffix}`;
        fs.symlinkSync(findBinary(name), path.join(dir, name));
      }
    }
  }
  return dir; // the directory is the whole PATH
}


export function listNamespaces(): string[] {
  return must([IP, 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.length > 0);
}

// Module-wide, so two labs in one process (jest may run files in band) never collide.
let seq = 0;
// Toolboxes take ~0.3 s to build, so they are shared by all labs of this process and
// removed when it exits.
const toolboxes = new Map<Xtables, string>();
process.on('exit', () => {
  for (const dir of toolboxes.values()) fs.rmSync(dir, { recursive: true, force: true });
});
/** The toolbox directory shared by this process's labs (see imageLikePath). */
export function toolbox(xtables: Xtables = 'both'): string {
  let dir = toolboxes.get(xtables);
  if (!dir) {
    dir = imageLikePath(xtables);
    toolboxes.set(xtables, dir);
  }
  return dir;
}

export class Lab {
  private readonly created: string[] = [];

  constructor() {
    // Leftovers of earlier, dead test processes (e.g. killed mid-run).
    const dead = (name: string): boolean => {
      const m = /^fmtu-(\d+)-/.exec(name);
      return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
    };
    for (const ns of listNamespaces().filter(dead)) run([IP, 'netns', 'del', ns]);
    for (const d of fs.readdirSync(os.tmpdir()).filter(dead)) {
      fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
  }

  /** Create an empty namespace; returns its name. */
  ns(role: string): string {
    if (!/^[a-z0-9]{1,12}$/.test(role)) throw new Error(`bad role ${role}`);
    const name = `${PREFIX}${role}-${++seq}`;
    must([IP, 'netns', 'add', name]);
    this.created.push(name);
    must([IP, '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Run argv inside the namespace. */
  exec(ns: string, argv: string[], opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
    this.assertOwn(ns);
    return run([IP, 'netns', 'exec', ns, ...argv], opts);
  }

  mustExec(ns: string, argv: string[], opts: { input?: string } = {}): string {
    const r = this.exec(ns, argv, opts);
    if (r.status !== 0) {
      throw new Error(`in ${ns}: ${argv.join(' ')} failed (${r.status})\n${r.stderr}${r.stdout}`);
    }
    return r.stdout;
  }

  /** `ip -n ns ...` */
  ip(ns: string, ...args: string[]): string {
    this.assertOwn(ns);
    return must([IP, '-n', ns, ...args]);
  }

  /**
   * Run a script the way the image does: `busybox sh -c "$script"`, with only PATH and the
   * given env (like a container: nothing inherited from the test process). `before` is a
   * directory searched before the toolbox (for wrappers around one of its commands).
   */
  sh(ns: string, script: string, env: Record<string, string>, xtables: Xtables = 'both', before?: string): RunResult {
    const PATH = before === undefined ? toolbox(xtables) : `${before}:${toolbox(xtables)}`;
    return this.exec(ns, [BUSYBOX, 'sh', '-c', script], { env: { ...env, PATH } });
  }

  /** Read an integer from /sys/class/net/<dev>/<attr> inside the namespace. */
  sysNet(ns: string, dev: string, attr = 'mtu'): number {
    return Number(this.mustExec(ns, ['cat', `/sys/class/net/${dev}/${attr}`]).trim());
  }

  destroy(): void {
    const errors: string[] = [];
    for (const ns of this.created.splice(0).reverse()) {
      // a test that failed half-way may leave a process behind (a keeper's `ip monitor`, whose
      // open pipes would keep jest waiting): a namespace is deleted with nothing left running in it
      for (const pid of run([IP, 'netns', 'pids', ns]).stdout.split('\n').filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      const r = run([IP, 'netns', 'del', ns]);
      if (r.status !== 0) errors.push(`${ns}: ${r.stderr}`);
    }
    if (errors.length > 0) throw new Error(`netns cleanup failed:\n${errors.join('\n')}`);
  }

  private assertOwn(ns: string): void {
    if (!this.created.includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
  }
}
