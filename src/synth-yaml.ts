/**
 * The manifest YAML, byte for byte what cdk8s's `Yaml.stringify(...objects)` prints (yaml's
 * `stringify` with `{ keepUndefined: true, lineWidth: 0, version: '1.1' }`, documents joined by
 * `---`), in a fraction of its time: yaml builds a node tree of the whole document before printing
 * it, which was most of the cost of synthesizing one more environment.
 *
 * Only the layout is done here: block maps and sequences, two-space indent, `{}` and `[]` when
 * empty, as yaml lays out plain data. Every string, key or value, is quoted or not by yaml's own
 * `stringifyString`, with the context yaml would give it, so the YAML 1.1 rules (`"yes"`, `"0775"`,
 * `"1:20"`) and block scalars stay the library's. A document holding anything else than plain
 * objects, arrays, strings, booleans, null and safe integers, an object reached twice (yaml would
 * write an alias) or a key yaml would write in explicit `? ` form goes to yaml's `stringify` whole.
 * test/synth-yaml.test.ts compares both on every fixture, the fuzz corpus and random data.
 */
import { stringify } from 'yaml';
import { stringifyString, type StringifyContext } from 'yaml/util';

/** The options cdk8s's `Yaml.stringify` passes to yaml. */
const CDK8S_YAML_OPTIONS = { keepUndefined: true, lineWidth: 0, version: '1.1' } as const;

const INDENT_STEP = '  ';
/** yaml writes longer keys in explicit `? key` form. */
const MAX_IMPLICIT_KEY = 1024;

/** Thrown inside the emitter for a value it leaves to yaml; never escapes this module. */
class NotPlainData extends Error {}

/**
 * The context yaml's own `stringify` builds for these options (its createStringifyContext is not
 * exported), captured once through a custom tag, so every option default is the library's.
 */
function libraryContext(): StringifyContext {
  const probe = Symbol('flannel-mtu context probe');
  let captured: StringifyContext | undefined;
  stringify(probe, {
    ...CDK8S_YAML_OPTIONS,
    customTags: [{ tag: '!flannel-mtu-probe', identify: (v: unknown) => v === probe, resolve: () => probe, stringify: (_item, ctx) => ((captured = ctx), '') }],
  });
  if (!captured) throw new Error('yaml did not call the probe tag: cannot build its stringify context');
  return captured;
}

let context: StringifyContext | undefined;
/**
 * Each string's text per context (key or value, depth): the node scripts are the same strings in
 * every environment, and scanning a script for yaml's rules costs more than laying out the rest.
 */
const written: Array<Array<Map<string, string>>> = [[], []];
/** Bounds what a long-lived process (a test run, a server) keeps in `written`, in characters. */
const MAX_REMEMBERED_CHARS = 16 * 1024 * 1024;
let rememberedChars = 0;
const indents: string[] = [];
const indent = (depth: number) => (indents[depth] ??= INDENT_STEP.repeat(depth));

function stringText(value: string, depth: number, implicitKey: boolean): string {
  // '<<' is YAML 1.1's merge key, for which yaml picks another tag than the string's.
  if (value === '<<') throw new NotPlainData();
  const byDepth = written[implicitKey ? 1 : 0];
  const texts = (byDepth[depth] ??= new Map());
  let text = texts.get(value);
  if (text === undefined) {
    context ??= libraryContext();
    text = stringifyString({ value }, { ...context, indent: indent(depth), implicitKey, actualString: true });
    rememberedChars += value.length + text.length;
    if (rememberedChars > MAX_REMEMBERED_CHARS) {
      for (const maps of written) maps.length = 0;
      rememberedChars = value.length + text.length;
    }
    (byDepth[depth] ??= new Map()).set(value, text);
  }
  return text;
}

function scalar(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return stringText(value, depth, false);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw new NotPlainData();
      return String(value);
    default:
      if (value === null) return 'null';
      throw new NotPlainData();
  }
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  // Symbol keys need no check: yaml, like this file, writes what Object.keys lists.
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

function isEmptyCollection(value: object): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

/**
 * Appends the collection `value` at `depth` to `out`, as yaml writes a node whose context has that
 * indent: its first line unindented (the caller's line), the others indented by depth * 2 spaces,
 * one pair or item per line.
 */
function collection(value: object, depth: number, seen: Set<object>, out: string[]): void {
  if (seen.has(value)) throw new NotPlainData();
  seen.add(value);
  const newline = `\n${indent(depth)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return void out.push('[]');
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new NotPlainData();
      out.push(i === 0 ? '- ' : `${newline}- `);
      item(value[i], depth + 1, seen, out);
    }
    return;
  }
  if (!isPlainObject(value)) throw new NotPlainData();
  const keys = Object.keys(value);
  if (keys.length === 0) return void out.push('{}');
  for (let i = 0; i < keys.length; i++) {
    const key = stringText(keys[i], depth + 1, true);
    if (key.length > MAX_IMPLICIT_KEY) throw new NotPlainData();
    const v = value[keys[i]];
    if (v === undefined) throw new NotPlainData();
    if (i > 0) out.push(newline);
    out.push(key);
    if (typeof v === 'object' && v !== null) {
      // yaml writes an empty collection in flow style, on the key's line.
      out.push(isEmptyCollection(v) ? ': ' : `:${newline}${INDENT_STEP}`);
      collection(v, depth + 1, seen, out);
    } else {
      const text = scalar(v, depth + 1);
      out.push(text === '' || text[0] === '\n' ? ':' : ': ', text);
    }
  }
}

function item(value: unknown, depth: number, seen: Set<object>, out: string[]): void {
  if (typeof value === 'object' && value !== null) collection(value, depth, seen, out);
  else out.push(scalar(value, depth));
}

/**
 * The document `value` as laid out here, or undefined when it holds something left to yaml (see
 * the file comment). Exported for the tests, which check which path a value takes.
 */
export function plainDataYaml(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: string[] = [];
  try {
    collection(value, 0, new Set(), out);
  } catch (e) {
    if (e instanceof NotPlainData) return undefined;
    throw e;
  }
  out.push('\n');
  return out.join('');
}

/** One document, as yaml's `stringify(value, CDK8S_YAML_OPTIONS)` writes it. */
export function documentYaml(value: unknown): string {
  return plainDataYaml(value) ?? stringify(value, CDK8S_YAML_OPTIONS);
}

/** The objects as one multi-document YAML text, as cdk8s's `Yaml.stringify(...objects)` writes it. */
export function manifestYaml(objects: readonly unknown[]): string {
  return objects.map((o) => (o === undefined ? '\n' : documentYaml(o))).join('---\n');
}
