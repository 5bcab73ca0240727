import * as fs from 'fs';
import * as path from 'path';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { InputError, YamlPath } from '../model/errors';
import { ResolvedEnvironment } from '../model/environment';
import { toEnvironment } from '../model/validate';

/** An environment read from a file, with a way back from YAML paths to lines. */
export interface LoadedEnvironment {
  readonly file: string;
  readonly environment: ResolvedEnvironment;
  /** Line and column of the node at `path`, or of its nearest existing parent. */
  readonly locate: (path: YamlPath, atKey?: boolean) => { line: number; column: number } | undefined;
}

/** Parses environment YAML text; `file` names it in errors and gives the default name. */
export function parseEnvironment(text: string, file: string): LoadedEnvironment {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new InputError(doc.errors.map((e) => ({ file, ...at(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0]}` })));
  }
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
  const defaultName = path.basename(file).replace(/\.ya?ml$/, '');
  try {
    return { file, environment: toEnvironment(doc.toJS(), defaultName), locate };
  } catch (e) {
    throw e instanceof InputError ? e.locatedIn(file, locate) : e;
  }
}

export function loadEnvironmentFile(file: string): LoadedEnvironment {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError([{ file, message: `cannot read the environment file: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
  }
  return parseEnvironment(text, file);
}

/** Every `*.yaml` / `*.yml` file in a directory, sorted, so output order never depends on the file system. */
export function environmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
