/** A YAML path such as `['clouds', 1, 'nicMtu']`, printed as `clouds[1].nicMtu`. */
export type YamlPath = ReadonlyArray<string | number>;

/** One thing wrong with an input, with where it is when that is known. */
export interface Problem {
  readonly message: string;
  readonly path?: YamlPath;
  /** Locate the key at the end of `path` rather than its value (for unknown keys). */
  readonly atKey?: boolean;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** Longest text of an echoed value (a key, a string) in an error message; longer ones are cut. */
export const MAX_ECHOED_CHARS = 64;

/** `text`, cut to MAX_ECHOED_CHARS with a note of its full length: a 10 MB name must not give a 10 MB line. */
export function clip(text: string): string {
  return text.length <= MAX_ECHOED_CHARS ? text : `${text.slice(0, MAX_ECHOED_CHARS)}... (${text.length} characters)`;
}

export function formatYamlPath(path: YamlPath | undefined): string {
  if (!path || path.length === 0) return '(document)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? clip(p) : `.${clip(p)}`)).join('');
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ` : '';
  const path = p.path ? `${formatYamlPath(p.path)}: ` : '';
  return `${where}${path}${p.message}`;
}

/**
 * The one error type for bad input (environment files, typed environments, plans that cannot work).
 * It carries every problem found, each with its location; only the CLI turns it into an exit code.
 */
export class InputError extends Error {
  constructor(public readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }

  /** The same problems, located in a file by `locate` (which maps a YAML path to a line). */
  public locatedIn(file: string, locate: (path: YamlPath, atKey?: boolean) => { line: number; column: number } | undefined): InputError {
    return new InputError(
      this.problems.map(({ atKey, ...p }) => ({ ...p, file: p.file ?? file, ...(p.line || !p.path ? {} : locate(p.path, atKey)) })),
    );
  }
}

/** A string quoted as JSON, cut to MAX_ECHOED_CHARS first. */
export function quote(text: string): string {
  return text.length <= MAX_ECHOED_CHARS ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, MAX_ECHOED_CHARS))}... (${text.length} characters)`;
}

/** Describes a bad value for an error message: `"1400" (a string)`, `1400.5`, `null`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `${quote(value)} (a string)`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
