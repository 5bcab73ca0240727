// src/config/plain-yaml.ts reads plain block YAML without yaml's node tree. Whatever it returns must
// be exactly what yaml's parseDocument(text).toJS() gives for a text yaml reads without an error or
// a warning; for anything else it must return undefined (the loader then uses yaml, which gives the
// located error). Checked on every environment file in the repository, on generated environment
// documents as yaml writes them, and on random documents in every style it reads and many it
// must leave alone, with random corruptions.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isDeepStrictEqual } from 'util';
import * as fc from 'fast-check';
import { parseDocument } from 'yaml';
import { readPlainYaml } from '../../src/config/plain-yaml';
import { mutatedDocument, toYaml, validDocument } from '../support/arbitrary-environment';

const REPO = path.resolve(__dirname, '..', '..');

/** yaml's value for `text`, or undefined when yaml reports an error or a warning. */
function yamlValue(text: string): unknown {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && doc.warnings.length === 0 ? doc.toJS() : undefined;
}

const stats = { read: 0, leftToYaml: 0 };
/** The property: a value from the plain reader is yaml's value, to the type of every scalar. */
function agrees(text: string): boolean {
  const plain = readPlainYaml(text);
  if (plain === undefined) {
    stats.leftToYaml++;
    return true;
  }
  stats.read++;
  const expected = yamlValue(text);
  if (expected === undefined || !isDeepStrictEqual(plain, expected)) {
    throw new Error(`plain reader and yaml disagree on:\n${JSON.stringify(text)}\nplain: ${JSON.stringify(plain)}\nyaml:  ${JSON.stringify(expected)}`);
  }
  return true;
}

/** Scalars that yaml's core schema resolves to something else than a string, or that are not plain. */
const SCALARS = [
  '1', '-1', '+1', '007', '0o17', '0o8', '0x1F', '0xg', '1.5', '.5', '5.', '1e3', '-1E-3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '9007199254740993',
  'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'on', 'null', 'Null', 'NULL', '~', '', 'a b', 'a  b', 'a#b', 'a #b', 'a:b', 'a: b', 'a:', ':a',
  '-a', '- a', '-', '-1.5', '?a', '? a', '@a', '`a', '%a', '!a', '!!str a', '&a a', '*a', '|', '>', '|-', "'q'", '"q"', "'it''s'", "'a'b'", '"a\\nb"',
  '"a # b"', "'a # b'", '"a" b', '"a"#b', '[a, b]', '[a, [b]]', '[]', '{}', '{a: b}', '{a: b, a: c}', '{a:b}', '[a: b]', '["a", \'b\']', '[a,]', '[,a]',
  '[a b, c]', '[1, true, ~, x]', '2001:db8::1', '"2001:db8::1"', '[10.0.0.1, "2001:db8::1"]', 'http://x/y', '10.0.0.0/8', 'é', 'naïve ✓', 'nbsp\u00a0', '\u00a0lead', 'ideographic\u3000space', '---',
  '...', 'a,b', 'a]', 'a}', '1_000', '0775', '12:30', '2001-12-14', 'a\\b', "a'b", 'a"b', '[a # c]', '[x"y, z"]', "[x'y, z']", '{a: [b]}', '{ topology.kubernetes.io/zone: eu-1a }',
];
/** Scalars it must read (most values in environment files look like these). */
const EASY_SCALARS = ['vxlan', '1380', '9001', 'true', 'false', '~', '', '10.244.0.0/16', 'fd00:10::/56', '"2001:db8::1"', "'x'", 'eu-west-1', 'a b', '0x10', '1.5'];
const scalarValue = fc.oneof({ arbitrary: fc.constantFrom(...EASY_SCALARS), weight: 15 }, { arbitrary: fc.constantFrom(...SCALARS), weight: 1 });
const EASY_KEYS = ['a', 'name', 'b-c', 'd.e', 'f/g', 'x_1', 'nicMtu', 'between', '1a'];
const HARD_KEYS = ['1', 'true', 'null', '~', '__proto__', 'a b', '"q"', "'q'", 'a:b', '-a', '?', '.inf'];
const key = fc.oneof({ arbitrary: fc.constantFrom(...EASY_KEYS), weight: 12 }, { arbitrary: fc.constantFrom(...HARD_KEYS), weight: 1 });
const SPACES = ['', ' ', '   '];
const COMMENTS = ['', '', '', ' # comment', '  #c', '#not-a-comment'];

type Tree = string | Tree[] | { [key: string]: Tree };
const tree: fc.Arbitrary<Tree> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarValue, tie('seq'), tie('map')),
  seq: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
  map: fc.dictionary(key, tie('node'), { minKeys: 1, maxKeys: 3 }),
})).node as fc.Arbitrary<Tree>;

/** Writes a tree as block YAML, choosing a style at each node: indent width, indentless sequences, extra spaces, comments. */
const render = (root: { [key: string]: Tree }) =>
  fc.infiniteStream(fc.nat(1000)).map((choices) => {
    const it = choices[Symbol.iterator]();
    const pick = <T>(xs: readonly T[]): T => xs[it.next().value! % xs.length];
    const lines: string[] = [];
    const scalarText = (s: string) => `${s}${pick(COMMENTS)}`;
    function block(node: Tree, indent: number, first?: string): void {
      // `first`: the start of the first line (a dash and spaces), already indented.
      let prefix = first;
      const line = (text: string) => {
        lines.push(prefix !== undefined ? `${prefix}${text}` : `${' '.repeat(indent)}${text}`);
        prefix = undefined;
      };
      if (typeof node === 'string') return line(scalarText(node));
      if (Array.isArray(node)) {
        for (const item of node) {
          const after = pick([' ', ' ', '  ']);
          if (typeof item === 'string') line(`-${after}${scalarText(item)}`);
          else block(item, indent + 1 + after.length, `${prefix ?? ' '.repeat(indent)}-${after}`), (prefix = undefined);
          if (pick([0, 0, 0, 1])) lines.push(pick(['', '   ', '# between', '  # indented comment']));
        }
        return;
      }
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === 'string') line(`${key}:${pick(SPACES) || ' '}${scalarText(value)}`);
        else {
          line(`${key}:${pick(COMMENTS)}`);
          const step = pick([1, 2, 2, 4]);
          block(value, Array.isArray(value) && pick([0, 1]) ? indent : indent + step);
        }
      }
    }
    block(root, 0);
    const eol = pick(['\n', '\n', '\r\n']);
    return `${pick(['', '# header\n', '\n'])}${lines.join(eol)}${pick(['', eol, `${eol}${eol}`])}`;
  });

const document = fc.dictionary(key, tree, { minKeys: 1, maxKeys: 4 }).chain(render);
/** One character inserted, removed or replaced, or a line's indent changed. */
const corrupted = fc.tuple(document, fc.nat(), fc.constantFrom(' ', '\t', ':', '-', '#', '"', "'", '[', ']', '{', '}', ',', '\n', '&', '*', '|', 'x', '\ufeff', '\u2028', '\u00a0', '\u3000', '')).map(([text, at, c]) => {
  const i = at % (text.length + 1);
  return `${text.slice(0, i)}${c}${text.slice(i + (at % 3 === 0 ? 1 : 0))}`;
});

describe('the plain YAML reader gives what yaml gives, or leaves the text to yaml', () => {
  afterAll(() => process.stdout.write(`plain-yaml: ${stats.read} documents read by the plain reader, ${stats.leftToYaml} left to yaml\n`));

  test('every environment file in the repository: read, and equal to yaml', () => {
    const files = execFileSync('git', ['ls-files', '*.yaml'], { cwd: REPO, encoding: 'utf8' })
      .split('\n')
      .filter((f) => /(^|\/)environments\/[^/]+\.yaml$/.test(f) && !f.startsWith('dist/'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const text = fs.readFileSync(path.join(REPO, f), 'utf8');
      expect({ f, plain: readPlainYaml(text) }).toEqual({ f, plain: yamlValue(text) });
    }
  });

  test('generated environments, as yaml writes them: read, and equal', () => {
    let read = 0;
    fc.assert(
      fc.property(validDocument, (doc) => {
        const text = toYaml(doc);
        if (readPlainYaml(text) !== undefined) read++;
        return agrees(text);
      }),
      { numRuns: 200 },
    );
    // Most are plain block YAML; the others hold strings yaml writes quoted with escapes or as blocks.
    expect(read).toBeGreaterThan(100);
  });

  test('mutated environments (hostile values)', () => {
    fc.assert(fc.property(mutatedDocument, (doc) => agrees(toYaml(doc))), { numRuns: 300 });
  });

  test('random documents in many styles', () => {
    const before = stats.read;
    fc.assert(fc.property(document, agrees), { numRuns: 3000 });
    // Enough of them in what it reads for the comparison to mean something.
    expect(stats.read - before).toBeGreaterThan(400);
  });

  test('random documents, corrupted in one place', () => {
    fc.assert(fc.property(corrupted, agrees), { numRuns: 3000 });
  });

  test('what it leaves to yaml', () => {
    const leftAlone = [
      '', '# only a comment\n', '---\nname: a\n', 'name: a\n...\n', '%YAML 1.2\n---\na: 1\n', '- a\n', 'just a scalar\n', 'a: 1\na: 2\n',
      'a: &x 1\nb: *x\n', 'a: |\n  text\n', 'a: >\n  text\n', 'a: !!str 1\n', 'a:\n\tb: 1\n', '\ufeffa: 1\n', 'a: "esc\\n"\n', 'a: b\n  c\n',
      'a:\n  - b\n - c\n', 'a: [b,\n  c]\n', '? a\n: b\n', '"a": 1\n', 'a: {b: {c: d}}\n', 'a:\n-\n', 'a: [x"y, z"]\n', 'a: b\n  c\n', 'a:\n  b: x\n    c\n', '- a: x\n   b\n', 'a:\n  - x\n    y\n', '1: x\n', 'true: x\n', '__proto__: x\n', 'a: b\u00a0\n', '\u00a0a: b\n', `${'k'.repeat(1025)}: v\n`, `a: {${'k'.repeat(1025)}: v}\n`,
    ];
    for (const text of leftAlone) expect({ text, plain: readPlainYaml(text) }).toEqual({ text, plain: undefined });
    // ...and what it reads: indentless sequences, flow maps and sequences, quotes, comments, CRLF.
    const read = 'a:\n- b: 1\n  c: [x, "y, z"]\n- {k: v, n: 0x10}\nd: \'it\'\'s\' # c\r\ne: ~\n';
    expect(readPlainYaml(read)).toEqual({ a: [{ b: 1, c: ['x', 'y, z'] }, { k: 'v', n: 16 }], d: "it's", e: null });
    expect(yamlValue(read)).toEqual(readPlainYaml(read));
  });
});
