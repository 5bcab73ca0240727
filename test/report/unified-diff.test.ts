import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unifiedDiff } from '../../src/report/unified-diff';

/** GNU diff -u of the same two texts, with the file-name lines replaced (they carry times). */
function gnuDiff(a: string, b: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-udiff-'));
  try {
    fs.writeFileSync(path.join(dir, 'a'), a);
    fs.writeFileSync(path.join(dir, 'b'), b);
    const r = spawnSync('diff', ['-u', 'a', 'b'], { cwd: dir, encoding: 'utf8' });
    return r.stdout.replace(/^--- a\t.*\n\+\+\+ b\t.*\n/, '--- a\n+++ b\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('unifiedDiff', () => {
  test.each([
    ['one line changed in the middle', lines(20), lines(20).replace('line 10\n', 'line ten\n')],
    ['two changes far apart: two hunks', lines(30), lines(30).replace('line 3\n', 'line three\n').replace('line 25\n', 'line 25b\n')],
    ['two changes close together: one hunk', lines(30), lines(30).replace('line 10\n', 'x\n').replace('line 15\n', 'y\n')],
    ['a line added after the first', lines(10), lines(10).replace('line 1\n', 'line 1\nline 1b\n')],
    ['the last line changed', lines(5), lines(5).replace('line 5\n', 'line five\n')],
  ])('%s: as GNU diff -u prints it', (_name, a, b) => {
    expect(unifiedDiff(a, b, 'a', 'b')).toBe(gnuDiff(a, b));
  });

  test('nothing for equal texts', () => {
    expect(unifiedDiff(lines(3), lines(3), 'a', 'b')).toBe('');
  });
});
