import { parseEnvironment } from '../../src/config';
import { InputError } from '../../src/model';

/** The error lines an environment file produces, as the CLI prints them; fails the test if it parses. */
export function inputErrors(text: string, file = 'environments/dev.yaml'): string[] {
  try {
    parseEnvironment(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message.split('\n');
  }
  throw new Error('expected an InputError');
}
