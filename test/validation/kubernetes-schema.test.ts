// validateObjects checks an object as synthesized (no undefined values) in place, and any other
// object through a copy without its undefined values (what a kubernetes-models instance is): both
// must find the same violations and neither may change the object.
import { validateObjects } from '../../src/validation/kubernetes-schema';
import { fixtureManifest, parseManifest } from '../support/dist';

const daemonSet = () => structuredClone(parseManifest(fixtureManifest('seed-dev')).find((o) => o.kind === 'DaemonSet')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('validateObjects', () => {
  test('every object of a fixture manifest passes, and is left as it was', () => {
    const objects = parseManifest(fixtureManifest('seed-dev'));
    const before = JSON.stringify(objects);
    expect(validateObjects(objects)).toEqual([]);
    expect(JSON.stringify(objects)).toBe(before);
  });

  test('a wrong type is found with or without undefined values elsewhere in the object', () => {
    const broken = daemonSet();
    broken.spec.template.spec.containers[0].ports = 'not-a-list';
    const withUndefined = daemonSet();
    withUndefined.spec.template.spec.containers[0].ports = 'not-a-list';
    withUndefined.metadata.annotations = { note: undefined };
    const [a] = validateObjects([broken]);
    const [b] = validateObjects([withUndefined]);
    expect(a.message).toMatch(/ports must be array/);
    expect(b).toEqual(a);
  });

  test('undefined values are dropped before validating, as kubernetes-models does', () => {
    const withUndefined = daemonSet();
    withUndefined.spec.template.spec.hostname = undefined;
    withUndefined.spec.template.spec.containers[0].args = [undefined].filter(Boolean);
    expect(validateObjects([withUndefined])).toEqual([]);
    expect(Object.hasOwn(withUndefined.spec.template.spec, 'hostname')).toBe(true);
  });
});
