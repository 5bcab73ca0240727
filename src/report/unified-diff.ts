/**
 * A unified diff (`diff -u` format) of two texts, line by line, with `context` lines around each
 * change; empty when they are equal. For environment files (tens of lines): a plain LCS table.
 */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3): string {
  if (oldText === newText) return '';
  // Lines without their newline; a text without a final newline keeps its last line as it is.
  const split = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n');
  const a = split(oldText);
  const b = split(newText);
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  // Each op with the number of lines of a and b before it, for the hunk headers.
  const ops: Array<{ op: ' ' | '-' | '+'; text: string; aBefore: number; bBefore: number }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const at = { aBefore: i, bBefore: j };
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ op: ' ', text: a[i++], ...at });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ op: '-', text: a[i++], ...at });
    else ops.push({ op: '+', text: b[j++], ...at });
  }
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].op === ' ') {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // One hunk while the next change is within 2 x context unchanged lines.
    for (;;) {
      while (end < ops.length && ops[end].op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next].op === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    end = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, end);
    const oldLen = hunk.filter((o) => o.op !== '+').length;
    const newLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${hunk[0].aBefore + (oldLen > 0 ? 1 : 0)},${oldLen} +${hunk[0].bBefore + (newLen > 0 ? 1 : 0)},${newLen} @@`);
    out.push(...hunk.map((o) => `${o.op}${o.text}`));
    k = end;
  }
  return `${out.join('\n')}\n`;
}
