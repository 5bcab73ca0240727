import { isMap, isScalar, Pair, parseDocument, Scalar, YAMLMap } from 'yaml';
import { linkName } from '../model/environment';
import { InputError } from '../model/errors';
import { parseEnvironment } from './load';

/** The path MTUs one link should declare; `v6` undefined: leave IPv6 as it is declared (or follows pathMtu). */
export interface LinkMtuEdit {
  /** Index in `links`. */
  readonly index: number;
  readonly v4: number;
  readonly v6?: number;
}

/** One change made to the text, for people. */
export interface TextEdit {
  /** `links[0].pathMtu` */
  readonly path: string;
  readonly line: number;
  readonly old: string | null;
  readonly new: string;
  readonly why?: string;
}

/**
 * Rewrites an environment file's link path MTUs in place: only the bytes of the numbers change
 * (or one `pathMtuV6` key is added next to them), so comments, key order, quoting and layout stay.
 * A link declared as `mtu` and `overhead` keeps its `mtu` (the link's own MTU, which a shrinking
 * path rarely changes: an added encapsulation does) and gets `overhead: mtu - path MTU`; a path
 * above the declared `mtu` cannot be said that way and is an error. The result is parsed and
 * resolved again and must declare exactly the requested numbers, everything else unchanged.
 */
export function editLinkMtus(text: string, file: string, edits: readonly LinkMtuEdit[]): { text: string; edits: TextEdit[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  const before = parseEnvironment(text, file).environment;
  const changes: Array<{ at: number; end: number; text: string; edit: TextEdit }> = [];
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;

  for (const e of edits) {
    const map = doc.getIn(['links', e.index], true);
    if (!isMap(map)) throw new InputError([{ file, path: ['links', e.index], message: 'expected a mapping' }]);
    const pair = (key: string) => (map as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Scalar, Scalar> | undefined;
    const replace = (key: string, value: number, why?: string) => {
      const p = pair(key)!;
      const range = p.value!.range!;
      const old = text.slice(range[0], range[1]);
      if (old !== String(value)) changes.push({ at: range[0], end: range[1], text: String(value), edit: { path: `links[${e.index}].${key}`, line: lineOf(range[0]), old, new: String(value), ...(why !== undefined && { why }) } });
    };
    const link = before.links[e.index];
    if (pair('pathMtu') !== undefined) {
      replace('pathMtu', e.v4);
    } else {
      const mtu = Number(pair('mtu')!.value!.value);
      const overhead = mtu - e.v4;
      if (overhead < 0) {
        throw new InputError([{ file, path: ['links', e.index, 'mtu'], message: `link ${linkName(link)}: the measured path MTU ${e.v4} exceeds the declared link mtu ${mtu}, so no overhead gives it; declare pathMtu: ${e.v4} instead of mtu and overhead` }]);
      }
      replace('overhead', overhead, `mtu ${mtu} stays; overhead ${mtu} - ${e.v4} = ${overhead} gives path MTU ${e.v4}`);
    }
    // IPv6 follows pathMtu unless pathMtuV6 is declared: a declared one is replaced, and a
    // measured IPv6 value that differs from the new pathMtu is added as pathMtuV6.
    if (pair('pathMtuV6') !== undefined) {
      if (e.v6 !== undefined) replace('pathMtuV6', e.v6);
    } else if (e.v6 !== undefined && e.v6 !== e.v4) {
      const last = pair('pathMtu') ?? pair('overhead')!;
      const valueEnd = last.value!.range![1];
      let at: number;
      let insert: string;
      if ((map as YAMLMap).flow) {
        at = valueEnd;
        insert = `, pathMtuV6: ${e.v6}`;
      } else {
        const keyStart = last.key!.range![0];
        const column = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
        const eol = text.indexOf('\n', valueEnd);
        at = eol < 0 ? text.length : eol;
        insert = `\n${' '.repeat(column)}pathMtuV6: ${e.v6}`;
      }
      changes.push({ at, end: at, text: insert, edit: { path: `links[${e.index}].pathMtuV6`, line: lineOf(at) + ((map as YAMLMap).flow ? 0 : 1), old: null, new: String(e.v6), why: `added: IPv6 would otherwise follow pathMtu (${e.v4})` } });
    }
  }

  changes.sort((a, b) => b.at - a.at);
  let out = text;
  for (const c of changes) out = out.slice(0, c.at) + c.text + out.slice(c.end);

  // The edit must say exactly what was asked, and nothing else may move.
  const after = parseEnvironment(out, file).environment;
  const expected = {
    ...before,
    links: before.links.map((l, i) => {
      const e = edits.find((x) => x.index === i);
      if (e === undefined) return l;
      const v6 = l.pathMtuV6 !== undefined ? e.v6 ?? l.pathMtuV6 : e.v6 !== undefined && e.v6 !== e.v4 ? e.v6 : undefined;
      return { ...l, pathMtu: e.v4, pathMtuV6: v6 };
    }),
  };
  if (canonical(after) !== canonical(expected)) {
    throw new Error(`editLinkMtus: the edited ${file} does not declare what was asked (a bug): ${canonical(after.links)} vs ${canonical(expected.links)}`);
  }
  return { text: out, edits: changes.map((c) => c.edit).sort((a, b) => a.line - b.line) };
}

/** JSON with sorted keys and without undefined members, for comparing environments. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).filter(([, y]) => y !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}
