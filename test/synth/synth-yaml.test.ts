// src/synth-yaml.ts must print exactly what cdk8s's Yaml.stringify prints (the bytes users commit
// and `cdk8s synth` writes), on every manifest this package generates and on any other data: the
// fixtures object by object, random plain data with YAML's hard strings, and values the emitter
// leaves to yaml (which must then be yaml's output too).
import * as fs from 'fs';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import * as fc from 'fast-check';
import { synthFiles } from '../../src/synth';
import { documentYaml, manifestYaml, plainDataYaml } from '../../src/synth-yaml';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'environments');
const fixtureFiles = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(FIXTURES, f));

/** Strings each of which some YAML rule treats specially (YAML 1.1 words and numbers, indicators, block scalar edge cases). */
const HARD_STRINGS = [
  '', ' ', '  ', 'plain', 'with space', 'yes', 'No', 'ON', 'off', 'y', 'N', 'true', 'False', '~', 'null', 'Null', 'NULL',
  '0', '42', '-7', '+3', '0775', '0o17', '0x1F', '0b101', '1_000', '1:20', '190:20:30', '1.5', '.5', '1e3', '-.inf', '.NaN', '6.8523015e+5',
  '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '<<', '=', '-', '?', ':', '- a', '? a', 'a: b', 'a:b', 'a #b', 'a#b',
  '#c', '@x', '`x', '%x', '!tag', '&anchor', '*alias', '|', '>', '[a]', '{a: 1}', 'a, b', '"q"', "'q'", `"'`, 'it\'s', 'say "hi"', '\\',
  '---', '...', '--- x', '... x', '%YAML 1.1', 'x\n---\ny', 'x\n...', ' lead', 'trail ', 'trail:', 'tab\t', '\ttab',
  'multi\nline', 'multi\nline\n', 'multi\nline\n\n', 'multi\n\nline', '\nlead newline', '\n', '\n\n', ' indented\nblock\n', '  two\n  lines',
  'a\n b', 'space before newline \nx', 'x\n  ', 'x\n\t', '#!/bin/sh\nset -eu\necho "$X" # comment\n', 'é', 'naïve: ✓', '😀', '\u0085', '\u00a0',
  '\u2028', '\u2029', '\x00', '\x07', '\x1b', '\x7f', '\ud800', 'a\r\nb', 'k'.repeat(1030), `${'long '.repeat(40)}\n${'line '.repeat(30)}`,
];

const hardString = fc.oneof(fc.constantFrom(...HARD_STRINGS), fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', ' ', '\n', ':', '#', '-', '"', "'", '\t', '0', '.') }));

/** Plain data as toJson gives it (objects, arrays, strings, booleans, null, safe integers). */
const plainData = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hardString, fc.boolean(), fc.constant(null), fc.maxSafeInteger(), fc.integer({ min: -1000, max: 1000 }), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(hardString, tie('value'), { maxKeys: 4 }),
})).object;

const cdk8s = (...docs: unknown[]) => Yaml.stringify(...docs);

describe('manifest YAML is byte for byte what cdk8s prints', () => {
  test.each(fixtureFiles.map((f) => path.basename(f)))('fixture %s: every object, and the whole manifest', (name) => {
    const [manifest] = synthFiles([path.join(FIXTURES, name)]);
    for (const object of manifest.objects) {
      // Generated manifests never need yaml's own writer.
      expect(plainDataYaml(object)).toBe(cdk8s(object));
    }
    expect(manifestYaml(manifest.objects)).toBe(cdk8s(...manifest.objects));
    expect(manifest.yaml.endsWith(cdk8s(...manifest.objects))).toBe(true);
  });

  test('every hard string as a key, a value, a sequence item, at depth 1 to 3', () => {
    for (const s of HARD_STRINGS) {
      const doc = { [s]: s, list: [s, [s], { [s]: [s] }], nested: { deeper: { [s]: s } } };
      expect(documentYaml(doc)).toBe(cdk8s(doc));
    }
  });

  test('random plain data (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(plainData, { minLength: 1, maxLength: 3 }), (docs) => {
        expect(manifestYaml(docs)).toBe(cdk8s(...docs));
      }),
      { numRuns: 400 },
    );
  });

  test('values left to yaml come out as yaml writes them', () => {
    const shared = { a: 1 };
    const emptyShared: unknown[] = [];
    const cases: Array<[string, unknown]> = [
      ['an object reached twice (yaml writes an alias)', { x: shared, y: shared }],
      ['an empty array reached twice', { x: emptyShared, y: [emptyShared] }],
      ['a key over 1024 characters (explicit key)', { ['k'.repeat(1100)]: 'v' }],
      ['undefined values (kept as null)', { a: undefined, b: [undefined, 1] }],
      ['floats, -0, NaN, Infinity, unsafe integers', { f: 1.5, z: -0, n: NaN, i: -Infinity, big: 2 ** 60 }],
      ["the merge key '<<'", { '<<': 'x', v: '<<' }],
      ['a Date, a Map, a Set', { d: new Date(0), m: new Map([['k', 'v']]), s: new Set([1]) }],
      ['an object with toJSON', { t: { toJSON: () => 'json' } }],
      ['a class instance', { c: new (class Point { x = 1; })() }],
      ['a sparse array', { s: [1, , 3] }], // eslint-disable-line no-sparse-arrays
      ['top-level scalars and arrays', 'just a string'],
    ];
    for (const [what, value] of cases) {
      expect({ what, yaml: documentYaml(value) }).toEqual({ what, yaml: cdk8s(value) });
      if (what !== 'top-level scalars and arrays') expect({ what, emitted: plainDataYaml(value) }).toEqual({ what, emitted: undefined });
    }
    expect(manifestYaml([{ a: 1 }, undefined, { b: 2 }])).toBe(cdk8s({ a: 1 }, undefined, { b: 2 }));
    expect(documentYaml(['top', { level: ['seq'] }])).toBe(cdk8s(['top', { level: ['seq'] }]));
  });

  test('an object with a null prototype is plain data; symbol keys are left out, as yaml does', () => {
    const o = Object.assign(Object.create(null), { a: 'yes', b: { c: [] } });
    expect(plainDataYaml(o)).toBe(cdk8s({ a: 'yes', b: { c: [] } }));
    const withSymbol = { a: 1, [Symbol('s')]: 2 };
    expect(plainDataYaml(withSymbol)).toBe(cdk8s(withSymbol));
  });
});
