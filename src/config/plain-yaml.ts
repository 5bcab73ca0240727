/**
 * A fast reader for the plain block YAML environment files are written in: block maps and
 * sequences, plain scalars, simple quoted strings, flow sequences of scalars, comments. It
 * returns what yaml's `parseDocument(text).toJS()` returns, or undefined for any text that uses
 * anything else or is not valid: the caller then parses with yaml, which gives the errors with
 * their lines. Parsing each file with yaml was the largest cost of synthesizing one more
 * environment (yaml builds a node tree with source ranges; it is read again only to locate a
 * problem). Scalars are resolved by yaml's own core schema tags. test/config/plain-yaml.test.ts
 * compares both on every fixture and on random documents.
 */
import { Document, isScalar } from 'yaml';

type Value = unknown;
interface Line {
  readonly indent: number;
  /** The line without its indent, a trailing CR or trailing spaces. */
  readonly text: string;
}

/** Thrown inside the reader for text it leaves to yaml; never escapes this module. */
class NotPlain extends Error {}
const notPlain = (): never => {
  throw new NotPlain();
};

const { schema, options: parseOptions } = new Document();
/** Keys that are plain words (`podNetwork`, `nicMtu`, `ifaceCanReach`, `kube-flannel`). */
const PLAIN_KEY_ERE = '[A-Za-z0-9_][A-Za-z0-9_./-]*';
const PLAIN_KEY = new RegExp(`^${PLAIN_KEY_ERE}$`);
/** A sequence item that opens a map: `- key: value` or `- key:`. */
const ITEM_MAP = new RegExp(`^${PLAIN_KEY_ERE}:( |$)`);
/** Characters that start something other than a plain scalar (flow, alias, tag, block scalar, directive...). */
const INDICATOR = /^[-?:,[\]{}#&*!|>'"%@`]/;
/**
 * What only yaml reads: tabs, BOM, NUL and other controls, NEL and the Unicode line separators, and
 * the other characters JavaScript's trim() takes for white space where YAML sees content (NBSP...).
 */
const NOT_PLAIN_TEXT = /[\t\ufeff\u0085\u2028\u2029\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/;

/** A plain scalar as yaml's core schema resolves it (`42`, `true`, `~`, `0x1f`, `1e3`, or a string). */
function resolvePlain(text: string): Value {
  for (const tag of schema.tags) {
    if (tag.default === true && 'test' in tag && tag.test?.test(text)) {
      let failed = false;
      // Some tags resolve to a node (booleans keep their source form): its value is what toJS gives.
      const resolved = tag.resolve(text, () => (failed = true), parseOptions);
      return failed ? notPlain() : isScalar(resolved) ? resolved.value : resolved;
    }
  }
  return text;
}

/** A scalar that ends the line (a trailing ` # comment` is dropped); `inFlow` for an item of `[a, b]`. */
function scalar(text: string, inFlow: boolean): Value {
  if (text === '') return null;
  if (text[0] === '"') {
    const end = text.indexOf('"', 1);
    if (end < 0 || text.slice(1, end).includes('\\')) notPlain();
    if (!isEnd(text.slice(end + 1))) notPlain();
    return text.slice(1, end);
  }
  if (text[0] === "'") {
    let end = 1;
    for (;;) {
      end = text.indexOf("'", end);
      if (end < 0) notPlain();
      if (text[end + 1] !== "'") break;
      end += 2;
    }
    if (!isEnd(text.slice(end + 1))) notPlain();
    return text.slice(1, end).replace(/''/g, "'");
  }
  const comment = text.indexOf(' #');
  const plain = (comment < 0 ? text : text.slice(0, comment)).trimEnd();
  if (INDICATOR.test(plain) && !/^-[^\s]/.test(plain)) notPlain();
  if (plain.includes(': ') || plain.endsWith(':') || (inFlow && /[[\]{},]/.test(plain))) notPlain();
  return resolvePlain(plain);
}

/** What may follow a quoted scalar on its line: nothing, or a comment. */
function isEnd(rest: string): boolean {
  return rest.trim() === '' || /^ +#/.test(rest);
}

/** A value on the line of its key or dash: a one-line flow sequence or map of scalars, or a scalar. */
function inlineValue(text: string): Value {
  if (text[0] !== '[' && text[0] !== '{') return scalar(text, false);
  const { items, rest } = flowItems(text);
  if (!isEnd(rest)) notPlain();
  if (text[0] === '[') return items.map((item) => scalar(item, true));
  const map: Record<string, Value> = {};
  for (const item of items) {
    const colon = item.indexOf(': ');
    if (colon < 0) notPlain();
    map[plainKey(item.slice(0, colon), map)] = scalar(item.slice(colon + 2).trim(), true);
  }
  return map;
}

/**
 * The items of the flow collection `text` opens, and what follows its end on the line. A quote
 * may only open an item or the value of a `key: value` item; no collection may be nested.
 */
function flowItems(text: string): { items: string[]; rest: string } {
  const end = text[0] === '[' ? ']' : '}';
  const items: string[] = [];
  let item = '';
  let quote = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      item += c;
      if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") item += text[++i];
        else quote = '';
      }
    } else if (c === ',' || c === end) {
      items.push(item.trim());
      item = '';
      if (c === end) {
        if (items.length === 1 && items[0] === '') return { items: [], rest: text.slice(i + 1) };
        if (items.some((x) => x === '')) notPlain();
        return { items, rest: text.slice(i + 1) };
      }
    } else if (c === '"' || c === "'") {
      if (item.trim() !== '' && !/: *$/.test(item)) notPlain();
      quote = c;
      item += c;
    } else if ('[]{}#'.includes(c)) {
      notPlain();
    } else {
      item += c;
    }
  }
  return notPlain();
}

/** yaml refuses longer implicit keys. */
const MAX_IMPLICIT_KEY = 1024;

/** A key as a plain word that yaml reads as this string, new in `map`. */
function plainKey(key: string, map: Record<string, Value>): string {
  if (key.length > MAX_IMPLICIT_KEY || !PLAIN_KEY.test(key) || key === '__proto__' || resolvePlain(key) !== key || Object.hasOwn(map, key)) notPlain();
  return key;
}

/** A `- item` line (a lone `-`, whose item is on the next lines, included). */
const isItem = (line: Line | undefined, indent: number): boolean => line !== undefined && line.indent === indent && (line.text.startsWith('- ') || line.text === '-');

class Reader {
  private next = 0;

  /** Content lines; a `- key: value` line is rewritten in place to its map's first line. */
  constructor(private readonly lines: Line[]) {}

  /** The block starting at the next line, which is indented by `indent`. */
  block(indent: number): Value {
    const line = this.peek();
    if (!line || line.indent !== indent) return notPlain();
    return isItem(line, indent) ? this.sequence(indent) : this.map(indent, line.text);
  }

  private peek(): Line | undefined {
    return this.lines[this.next];
  }

  /** `key: value` lines at `indent`; the first one's text may come after a `- ` (then `first`). */
  private map(indent: number, first: string): Record<string, Value> {
    const map: Record<string, Value> = {};
    let text: string | undefined = first;
    while (text !== undefined) {
      this.next++;
      const colon = text.indexOf(':');
      if (colon < 0) notPlain();
      const key = plainKey(text.slice(0, colon), map);
      const rest = text.slice(colon + 1);
      if (rest !== '' && rest[0] !== ' ') notPlain();
      const value = rest.trim();
      if (value === '' || value[0] === '#') {
        const child = this.peek();
        // A block below its key, or a sequence at the key's own indent (`key:` then `- item`).
        if (child && child.indent > indent) map[key] = this.block(child.indent);
        else if (isItem(child, indent)) map[key] = this.sequence(indent);
        else map[key] = null;
      } else {
        map[key] = inlineValue(value);
      }
      const line = this.peek();
      text = line && line.indent === indent && !isItem(line, indent) ? line.text : undefined;
    }
    return map;
  }

  /** `- item` lines at `indent`. */
  private sequence(indent: number): Value[] {
    const items: Value[] = [];
    for (let line = this.peek(); line && isItem(line, indent); line = this.peek()) {
      if (line.text === '-') notPlain();
      const content = line.text.slice(2);
      const spaces = content.length - content.trimStart().length;
      const item = content.trimStart();
      const column = indent + 2 + spaces;
      if (item === '' || item.startsWith('- ') || item === '-' || item[0] === '#') notPlain();
      if (ITEM_MAP.test(item)) {
        // `- key: value`: a map whose other keys line up with this one.
        this.lines[this.next] = { indent: column, text: item };
        items.push(this.map(column, item));
      } else {
        this.next++;
        items.push(inlineValue(item));
      }
    }
    return items;
  }

  /**
   * Every line read: a block takes only the lines at its own indent, so a line left over is one
   * yaml reads otherwise (a plain scalar continued on a more indented line, an odd indent).
   */
  get done(): boolean {
    return this.next >= this.lines.length;
  }
}

/** The lines that hold content: blank lines and comment lines carry nothing. */
function contentLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const body = line.trimStart();
    if (body === '' || body[0] === '#') continue;
    const indent = line.length - body.length;
    if (indent === 0 && (body.startsWith('---') || body.startsWith('...') || body[0] === '%')) notPlain();
    lines.push({ indent, text: body.trimEnd() });
  }
  return lines;
}

/** What yaml's `parseDocument(text).toJS()` gives for a plain block map document, or undefined (see the file comment). */
export function readPlainYaml(text: string): Record<string, Value> | undefined {
  if (NOT_PLAIN_TEXT.test(text) || /\r(?!\n)/.test(text)) return undefined;
  try {
    const reader = new Reader(contentLines(text));
    const value = reader.block(0);
    if (!reader.done || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return value as Record<string, Value>;
  } catch (e) {
    if (e instanceof NotPlain) return undefined;
    throw e;
  }
}
