// Input-side refusals of the loader (issue 16): every one names the file and, where there is one,
// the line; none hangs, throws a foreign error or echoes a huge value.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadEnvironmentFile, MAX_ENVIRONMENT_BYTES, parseEnvironment } from '../../src/config';
import { InputError, resolveEnvironment } from '../../src/model';
import { errorLines, inputErrors, SEED_TEXT } from '../support/input-errors';

const SEED = SEED_TEXT;

/** The error lines of loading a file, as the CLI prints them. */
const loadErrors = (file: string) => errorLines(() => loadEnvironmentFile(file));

describe('loadEnvironmentFile: only a bounded regular file is read', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `fmtu-${process.pid}-load-`));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('fails on a FIFO instead of waiting for a writer', () => {
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(loadErrors(fifo)).toEqual([`${fifo}: not a regular file (a FIFO): an environment file must be a regular YAML file`]);
  });

  test('fails on a link to /dev/zero instead of reading forever', () => {
    const zero = path.join(dir, 'zero.yaml');
    fs.symlinkSync('/dev/zero', zero);
    expect(loadErrors(zero)).toEqual([`${zero}: not a regular file (a character device): an environment file must be a regular YAML file`]);
  });

  test('fails on a directory named like an environment file', () => {
    const d = path.join(dir, 'dir.yaml');
    fs.mkdirSync(d);
    expect(loadErrors(d)).toEqual([`${d}: not a regular file (a directory): an environment file must be a regular YAML file`]);
  });

  test(`fails on a file over ${MAX_ENVIRONMENT_BYTES} bytes without parsing it`, () => {
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `${SEED}#${'x'.repeat(MAX_ENVIRONMENT_BYTES)}\n`);
    expect(loadErrors(big)).toEqual([`${big}: the file has ${SEED.length + MAX_ENVIRONMENT_BYTES + 2} bytes, more than the ${MAX_ENVIRONMENT_BYTES} an environment file may have`]);
  });

  test('fails on a missing file with its error code', () => {
    expect(loadErrors(path.join(dir, 'missing.yaml'))).toEqual([`${path.join(dir, 'missing.yaml')}: cannot read the environment file: ENOENT`]);
  });

  test('reads a regular file as before', () => {
    const ok = path.join(dir, 'seed-dev.yaml');
    fs.writeFileSync(ok, SEED);
    expect(loadEnvironmentFile(ok).environment.name).toBe('seed-dev');
  });
});

describe('parseEnvironment: refusals with file and line', () => {
  test.each([
    ['an empty file', ''],
    ['a comment-only file', '# nothing here yet\n\n# still nothing\n'],
    ['a document marker only', '---\n'],
  ])('fails on %s at line 1 (before issue 16: no line)', (_label, text) => {
    expect(inputErrors(text)).toEqual([
      'environments/dev.yaml:1:1: the file holds no environment (it is empty or only comments): expected a mapping with name, flannel and clouds',
    ]);
  });

  test('fails on CR-only line endings at the first lone CR (before: errors on "line 1" of a one-line file)', () => {
    expect(inputErrors(SEED.replace(/\n/g, '\r'))).toEqual([
      'environments/dev.yaml:1:15: line ends in a lone carriage return (CR): save the file with LF or CRLF line endings',
    ]);
    // line 3, column 29: the CR after "podNetwork: 10.244.0.0/16" once two CRLF lines came first
    const mixed = SEED.split('\n').map((l, i) => (i < 2 ? `${l}\r\n` : i === 2 ? `${l}\r` : `${l}\n`)).join('');
    expect(inputErrors(mixed)).toEqual(['environments/dev.yaml:3:28: line ends in a lone carriage return (CR): save the file with LF or CRLF line endings']);
  });

  test('CRLF line endings are fine', () => {
    expect(parseEnvironment(SEED.replace(/\n/g, '\r\n'), 'x.yaml').environment.clouds).toHaveLength(2);
  });

  test.each([
    ['an alias to an anchor', SEED.replace('nicMtu: 1400\n  - name: cloud-b\n    nicMtu: 1400', 'nicMtu: &mtu 1400\n  - name: cloud-b\n    nicMtu: *mtu'), ['environments/dev.yaml:8:13: YAML aliases (*name) are not supported in environment files: write the value out']],
    ['an undefined alias (the yaml library threw a bare ReferenceError)', SEED.replace('name: cloud-b', 'name: *nowhere'), ['environments/dev.yaml:7:11: YAML aliases (*name) are not supported in environment files: write the value out']],
  ])('fails on %s, located', (_label, text, expected) => {
    expect(inputErrors(text)).toEqual(expected);
  });

  test('fails on a billion-laughs document quickly, listing the first 10 aliases', () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const lines = inputErrors(`${laughs.join('\n')}\n`);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('environments/dev.yaml:2:8: YAML aliases (*name) are not supported in environment files: write the value out');
  });

  test('a long value is echoed cut to 64 characters with its length (a 10 MB name gave a 10 MB line)', () => {
    const huge = 'A'.repeat(1_000_000);
    expect(inputErrors(SEED.replace('name: cloud-a', `name: ${huge}`))).toEqual([
      `environments/dev.yaml:5:11: clouds[0].name: expected a lowercase DNS label such as "cloud-a", got "${'A'.repeat(64)}"... (1000000 characters) (a string)`,
      'environments/dev.yaml:10:15: links[0].between[0]: unknown cloud "cloud-a"; clouds are: cloud-b',
    ]);
    // typed input has no file size bound: the 10 MB name of the issue, through the library
    const typed = parseEnvironment(SEED, 'x.yaml').environment;
    expect(() => resolveEnvironment({ ...typed, clouds: [{ name: 'B'.repeat(10_000_000), nicMtu: 1400 }] })).toThrow(
      new InputError([{ path: ['clouds', 0, 'name'], message: `expected a lowercase DNS label such as "cloud-a", got "${'B'.repeat(64)}"... (10000000 characters) (a string)` }]).message,
    );
  });

  test('a long unknown key is echoed cut, with no "did you mean" search over it', () => {
    // (YAML itself limits a plain key to 1024 characters)
    const key = 'k'.repeat(1000);
    const lines = inputErrors(`${SEED}${key}: 1\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^environments/dev\\.yaml:12:1: ${'k'.repeat(64)}\\.\\.\\. \\(1000 characters\\): unknown key; allowed: name, flannel, clouds, [a-zA-Z, ]+$`));
  });

  test('duplicate keys are still refused, located', () => {
    expect(inputErrors(SEED.replace('    nicMtu: 1400\n  - name: cloud-b', '    nicMtu: 1400\n    nicMtu: 1500\n  - name: cloud-b'))).toEqual([
      'environments/dev.yaml:7:5: invalid YAML: Map keys must be unique (nicMtu is given twice)',
    ]);
  });

  test('stops after 50 problems (50k unknown keys took 21 s, 200k over 5 minutes)', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}: 1`).join('\n');
    const lines = inputErrors(`${SEED}${keys}\n`);
    expect(lines).toHaveLength(51);
    expect(lines[49]).toMatch(/^environments\/dev\.yaml:61:1: k49: unknown key; allowed: name, flannel, clouds, [a-zA-Z, ]+$/);
    expect(lines[50]).toBe('environments/dev.yaml:1:1: (document): stopped after 50 problems; fix these first');
  });

  test('fails on 20k nodeSelector labels without reading them one by one (synth took 54 s)', () => {
    const labels = Array.from({ length: 20_000 }, (_, i) => `      l${i}: v`).join('\n');
    expect(inputErrors(SEED.replace('nicMtu: 1400\n  - name: cloud-b', `nicMtu: 1400\n    nodeSelector:\n${labels}\n  - name: cloud-b`))).toEqual([
      'environments/dev.yaml:8:7: clouds[0].nodeSelector: expected at most 32 labels, got 20000',
    ]);
  });

  test('fails on more clouds than the bound, at the list', () => {
    const clouds = Array.from({ length: 17 }, (_, i) => `  - { name: c${i}, nicMtu: 1400 }`).join('\n');
    expect(inputErrors(`name: x\nflannel: { podNetwork: 10.244.0.0/16 }\nclouds:\n${clouds}\n`)).toEqual([
      'environments/dev.yaml:4:3: clouds: expected at most 16 entries, got 17',
    ]);
  });

  test('fails on more node subnets per cloud than the bound', () => {
    const cidrs = Array.from({ length: 9 }, (_, i) => `10.1.${i}.0/24`).join(', ');
    expect(inputErrors(SEED.replace('nicMtu: 1400\n  - name: cloud-b\n    nicMtu: 1400', `nicMtu: 1400\n    nodeCidrs: [${cidrs}]\n  - name: cloud-b\n    nicMtu: 1400\n    nodeCidrs: [10.2.0.0/16]`))).toEqual([
      'environments/dev.yaml:7:16: clouds[0].nodeCidrs: expected at most 8 entries, got 9',
    ]);
  });
});
