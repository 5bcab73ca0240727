import { Command, CommanderError } from 'commander';
import { formatProblem, InputError } from '../model/errors';
import { diffCommand } from './diff';
import { driftCommand } from './drift';
import { explainCommand } from './explain';
import { planCommand } from './plan';

/** Runs the CLI; returns the exit code. Only here do errors become exit codes. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = new Command('flannel-mtu')
    .description('flannel manifests with every MTU and MSS derived from the underlay')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addCommand(planCommand())
    .addCommand(diffCommand())
    .addCommand(driftCommand())
    .addCommand(explainCommand());
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof InputError) {
      process.stderr.write(`${e.problems.map((p) => `error: ${formatProblem(p)}`).join('\n')}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module || process.argv[1]?.endsWith('flannel-mtu')) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
