import * as fs from 'fs';
import * as path from 'path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { clip, InputError, Problem, YamlPath } from '../model/errors';
import { ResolvedEnvironment } from '../model/environment';
import { toEnvironment } from '../model/validate';
import { readPlainYaml } from './plain-yaml';

/** An environment read from a file, with a way back from YAML paths to lines. */
export interface LoadedEnvironment {
  readonly file: string;
  readonly environment: ResolvedEnvironment;
  /** Line and column of the node at `path`, or of its nearest existing parent. */
  readonly locate: (path: YamlPath, atKey?: boolean) => { line: number; column: number } | undefined;
}

/** Largest environment file read: a real one is a few kilobytes. */
export const MAX_ENVIRONMENT_BYTES = 1024 * 1024;

/** Parses environment YAML text; `file` names it in errors and gives the default name. */
export function parseEnvironment(text: string, file: string): LoadedEnvironment {
  if (text.length > MAX_ENVIRONMENT_BYTES) {
    throw new InputError([{ file, message: `the file has ${text.length} characters, more than the ${MAX_ENVIRONMENT_BYTES} an environment file may have` }]);
  }
  // The YAML library counts lines by LF only, so a file with classic Mac line endings would be
  // reported as one long line: refuse it where the first lone CR is.
  const cr = /\r(?!\n)/.exec(text);
  if (cr) {
    const before = text.slice(0, cr.index);
    const line = (before.match(/\r\n|\r|\n/g) ?? []).length + 1;
    const column = cr.index - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
    throw new InputError([{ file, line, column, message: 'line ends in a lone carriage return (CR): save the file with LF or CRLF line endings' }]);
  }
  const defaultName = path.basename(file).replace(/\.ya?ml$/, '');
  // Most files are plain block YAML, read without building yaml's node tree; the tree is built
  // only to locate a problem, or when the text is anything else (see plain-yaml.ts).
  const plain = readPlainYaml(text);
  if (plain !== undefined) {
    let located: ReturnType<typeof parseLocated> | undefined;
    const locate: LoadedEnvironment['locate'] = (yamlPath, atKey) => (located ??= parseLocated(text, file)).locate(yamlPath, atKey);
    try {
      return { file, environment: toEnvironment(plain, defaultName), locate };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // Refused: read again below, where the error gets its line.
    }
  }
  const { value, locate } = parseLocated(text, file);
  try {
    return { file, environment: toEnvironment(value, defaultName), locate };
  } catch (e) {
    throw e instanceof InputError ? e.locatedIn(file, locate) : e;
  }
}

/** The document's value with yaml, with a way back from YAML paths to lines; YAML-level problems are thrown located. */
function parseLocated(text: string, file: string): { value: unknown; locate: LoadedEnvironment['locate'] } {
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below with a Set: the library's own check is quadratic in the keys of a map.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new InputError(doc.errors.slice(0, 10).map((e) => ({ file, ...at(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0].slice(0, 200)}` })));
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new InputError([{ file, line: 1, column: 1, message: 'the file holds no environment (it is empty or only comments): expected a mapping with name, flannel and clouds' }]);
  }
  // Aliases are refused outright: nothing in an environment needs them, and expanding them is how
  // a small file becomes a huge document (the yaml library would throw a bare ReferenceError).
  const problems: Problem[] = [];
  const where = (node: { range?: [number, number, number] | null } | null | undefined) => (node?.range ? at(node.range[0]) : { line: 1, column: 1 });
  visit(doc, {
    Alias: (_key, node) => {
      problems.push({ file, ...where(node), message: 'YAML aliases (*name) are not supported in environment files: write the value out' });
      if (problems.length >= 10) return visit.BREAK;
      return undefined;
    },
    Map: (_key, map) => {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) problems.push({ file, ...where(isNode(pair.key) ? pair.key : undefined), message: `invalid YAML: Map keys must be unique (${clip(String(key))} is given twice)` });
        seen.add(key);
      }
      return problems.length >= 10 ? visit.BREAK : undefined;
    },
  });
  if (problems.length > 0) throw new InputError(problems);
  const locate = (yamlPath: YamlPath, atKey = false) => {
    if (atKey && yamlPath.length > 0) {
      const parent = doc.getIn(yamlPath.slice(0, -1), true);
      const last = yamlPath[yamlPath.length - 1];
      const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === last) : undefined;
      if (pair && isNode(pair.key) && pair.key.range) return at(pair.key.range[0]);
    }
    for (let n = yamlPath.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(yamlPath.slice(0, n), true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return undefined;
  };
  return { value: doc.toJS(), locate };
}

/**
 * Reads and parses an environment file. Only a regular file is read, and at most
 * MAX_ENVIRONMENT_BYTES of it: a FIFO or a link to /dev/zero in environments/ must not hang synth.
 */
export function loadEnvironmentFile(file: string): LoadedEnvironment {
  return parseEnvironment(readEnvironmentText(file), file);
}

/** The text of an environment file, read as `loadEnvironmentFile` does (regular files of at most MAX_ENVIRONMENT_BYTES). */
export function readEnvironmentText(file: string): string {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new InputError([{ file, message: `not a regular file (${kind(stat)}): an environment file must be a regular YAML file` }]);
    if (stat.size > MAX_ENVIRONMENT_BYTES) throw new InputError([{ file, message: `the file has ${stat.size} bytes, more than the ${MAX_ENVIRONMENT_BYTES} an environment file may have` }]);
    // Read in chunks until EOF, never more than one byte past the bound: the size stat gives may be
    // stale or 0 (a file that grows, a procfs file), and zeroing 1 MiB per file would cost more than
    // parsing it.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, MAX_ENVIRONMENT_BYTES + 1 - length));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > MAX_ENVIRONMENT_BYTES) throw new InputError([{ file, message: `the file has more than the ${MAX_ENVIRONMENT_BYTES} bytes an environment file may have` }]);
    }
    text = Buffer.concat(chunks, length).toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError([{ file, message: `cannot read the environment file: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return text;
}

function kind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'another kind of file';
}

/** Every `*.yaml` / `*.yml` file in a directory, sorted, so output order never depends on the file system. */
export function environmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
