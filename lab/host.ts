// Small helpers for code that drives network namespaces from the host (the lab and the root tests).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Absolute path of a system binary, so a test's own PATH cannot shadow it. */
export function findBinary(name: string): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found in /usr/sbin, /sbin, /usr/bin, /bin`);
}

/** Whether a process exists (EPERM means it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fills `dir` (to be used as the whole PATH) like the flannel image: busybox applets for everything,
 * iproute2's `ip` and `bridge`.
 */
export function linkImageTools(dir: string): void {
  const busybox = findBinary('busybox');
  const r = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${busybox} --list failed: ${r.stderr}`);
  for (const a of r.stdout.split('\n').filter((l) => /^[a-z0-9._-]+$/.test(l))) {
    if (a !== 'ip' && a !== 'bridge') fs.symlinkSync(busybox, path.join(dir, a));
  }
  fs.symlinkSync(findBinary('ip'), path.join(dir, 'ip'));
  fs.symlinkSync(findBinary('bridge'), path.join(dir, 'bridge'));
}
