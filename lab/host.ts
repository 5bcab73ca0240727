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

/**
 * Calls `onLine` with each non-empty line of a stream, whole: a read may end in the middle of a
 * line, whose rest comes with the next read (or is the last line at the end of the stream).
 */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) if (line.length > 0) onLine(line);
  });
  stream.on('end', () => {
    if (partial.length > 0) onLine(partial);
    partial = '';
  });
}
