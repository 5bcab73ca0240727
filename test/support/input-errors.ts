import { parseEnvironment } from '../../src/config';
import { InputError } from '../../src/model';
import { planText } from '../../src/synth';

/** The smallest seed-like environment file: two 1400-byte clouds joined by a 1380 link. */
export const SEED_TEXT = `name: seed-dev
flannel:
  podNetwork: 10.244.0.0/16
clouds:
  - name: cloud-a
    nicMtu: 1400
  - name: cloud-b
    nicMtu: 1400
links:
  - between: [cloud-a, cloud-b]
    pathMtu: 1380
`;

/** The error lines `f` throws as one InputError, as the CLI prints them; fails the test if it does not throw. */
export function errorLines(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message.split('\n');
  }
  throw new Error('expected an InputError');
}

/** The error lines an environment file produces, as the CLI prints them; fails the test if it parses. */
export function inputErrors(text: string, file = 'environments/dev.yaml'): string[] {
  return errorLines(() => parseEnvironment(text, file));
}

/** The error lines of planning an environment file (reading and the plan's own refusals). */
export function planErrors(text: string, file = 'environments/dev.yaml'): string[] {
  return errorLines(() => planText(text, file));
}
