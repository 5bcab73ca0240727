import { Command, CommanderError } from 'commander';
import { formatProblem, formatYamlPath, InputError, Problem } from '../model/errors';
import { SynthFailed } from './synth';
import { packageVersion } from './version';

/**
 * Exit codes, for every command: 0 success; 1 bad input, an unwritable output, a refused
 * overwrite or a usage error; 2 "changed" (`diff`: some plan changed; `synth --check`: stale output).
 */
export const EXIT_ERROR = 1;

/**
 * The commands, each loaded only when it runs (or for --help): `plan` must start without cdk8s,
 * which `synth`, `diff` and `drift` load.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Command> = {
  plan: () => (require('./plan') as typeof import('./plan')).planCommand(),
  synth: () => (require('./synth') as typeof import('./synth')).synthCommand(),
  init: () => (require('./init') as typeof import('./init')).initCommand(),
  diff: () => (require('./diff') as typeof import('./diff')).diffCommand(),
  drift: () => (require('./drift') as typeof import('./drift')).driftCommand(),
  explain: () => (require('./explain') as typeof import('./explain')).explainCommand(),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** A problem as `--json` prints it: every field present, the YAML path as a string. */
export function problemToJson(p: Problem): { file: string | null; line: number | null; column: number | null; path: string | null; message: string } {
  return {
    file: p.file ?? null,
    line: p.line ?? null,
    column: p.line ? (p.column ?? 1) : null,
    path: p.path ? formatYamlPath(p.path) : null,
    message: p.message,
  };
}

/** Runs the CLI; returns the exit code. Only here do errors become exit codes. */
export async function run(argv: readonly string[]): Promise<number> {
  const dashdash = argv.indexOf('--');
  const json = (dashdash < 0 ? argv : argv.slice(0, dashdash)).includes('--json');
  const program = new Command('flannel-mtu')
    .description('flannel manifests with every MTU and MSS derived from the underlay')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', '\nExit codes: 0 success, 1 bad input or output error (with --json: {"errors": [...]} on stdout), 2 changed (diff) or stale (synth --check).');
  const first = argv[0];
  const named = first === '--version' || first === '-V' ? [] : first !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  for (const name of named) {
    // addCommand() does not pass these on: without them a usage error in a subcommand calls process.exit.
    program.addCommand(COMMANDS[name]!().exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) }));
  }
  const fail = (e: InputError, note?: string): number => {
    if (json) process.stdout.write(`${JSON.stringify({ errors: e.problems.map(problemToJson), ...(note ? { note } : {}) }, null, 2)}\n`);
    else process.stderr.write(`${e.problems.map((p) => `error: ${formatProblem(p)}`).join('\n')}\n${note ? `${note}\n` : ''}`);
    return EXIT_ERROR;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof SynthFailed) return fail(e.error, e.note);
    if (e instanceof InputError) return fail(e);
    throw e;
  }
}
