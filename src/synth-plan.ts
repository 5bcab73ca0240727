// Loading and planning environment files: what `plan`, `explain` and `diff` need, without cdk8s
// (the CLI loads cdk8s only for commands that synthesize).
import { InputError, Problem } from './model/errors';
import { LoadedEnvironment, loadEnvironmentFile, parseEnvironment } from './config/load';
import { MtuPlan, planMtu } from './mtu/plan';

/** A planned environment file; `warnings` are the plan's warnings located in the file. */
export interface PlannedFile {
  readonly loaded: LoadedEnvironment;
  readonly plan: MtuPlan;
  readonly warnings: readonly Problem[];
}

/** Loads and plans an environment file, with plan errors located in the file like schema errors. */
export function planFile(file: string): PlannedFile {
  return planLoaded(loadEnvironmentFile(file));
}

/** Parses and plans environment YAML text named `file` (for example a file at a git revision). */
export function planText(text: string, file: string): PlannedFile {
  return planLoaded(parseEnvironment(text, file));
}

function planLoaded(loaded: LoadedEnvironment): PlannedFile {
  const file = loaded.file;
  let plan: MtuPlan;
  try {
    plan = planMtu(loaded.environment);
  } catch (e) {
    throw e instanceof InputError ? e.locatedIn(file, loaded.locate) : e;
  }
  const warnings = plan.warnings.length === 0 ? [] : new InputError(plan.warnings).locatedIn(file, loaded.locate).problems;
  return { loaded, plan, warnings };
}
