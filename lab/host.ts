// Small helpers for code that drives network namespaces from the host (the lab and the root tests).
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
