import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { manifestPath } from '../../src/cli/synth';
import { planText, synthEnvironments, synthFiles } from '../../src/synth';
import { writeOutput } from '../../src/synth-write';

export const REPO = path.resolve(__dirname, '..', '..');
/** The example environments (documentation: a fork may delete them; tests about them skip then). */
export const ENVIRONMENTS_DIR = path.join(REPO, 'environments');
export const DIST_DIR = path.join(REPO, 'dist');
/** The environments the tests use: copies of the examples, fixed here so the examples can change or go. */
export const FIXTURES_DIR = path.join(REPO, 'test', 'fixtures', 'environments');

export type FixtureName = 'seed-dev' | 'hybrid-prod' | 'jumbo-per-path';

/** test/fixtures/environments/<name>.yaml, relative to the repository (run tests with cwd = REPO) or absolute. */
export function fixtureFile(name: FixtureName, absolute = true): string {
  return absolute ? path.join(FIXTURES_DIR, `${name}.yaml`) : `test/fixtures/environments/${name}.yaml`;
}

const synthesized = new Map<string, string>();
/** A fixture's manifest, synthesized as `flannel-mtu synth` writes it (the YAML text). */
export function fixtureManifest(name: FixtureName): string {
  if (!synthesized.has(name)) {
    // named relative to the repository, as `flannel-mtu synth` run there names it, whatever the cwd
    const source = fixtureFile(name, false);
    const { loaded, plan, warnings } = planText(fs.readFileSync(fixtureFile(name), 'utf8'), source);
    synthesized.set(name, synthEnvironments([{ environment: loaded.environment, plan, source, warnings }])[0].yaml);
  }
  return synthesized.get(name)!;
}

/** Writes fixtures to `out` as `flannel-mtu synth` does (OUT/<env>/<env>.k8s.yaml); run with cwd = REPO. */
export function writeFixtures(out: string, names: readonly FixtureName[]): void {
  writeOutput(out, synthFiles(names.map((n) => fixtureFile(n, false))).map((m) => ({ path: manifestPath(m), content: m.yaml })));
}

/** Every example environment file, relative to the repo as `npm run synth` names them; none when environments/ is gone. */
export function exampleEnvironmentFiles(): string[] {
  if (!fs.existsSync(ENVIRONMENTS_DIR)) return [];
  return fs.readdirSync(ENVIRONMENTS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `environments/${f}`);
}

/** Where `flannel-mtu synth` writes an environment's manifest: OUT/<env>/<env>.k8s.yaml. */
export function distFile(env: string, out = DIST_DIR): string {
  return path.join(out, env, `${env}.k8s.yaml`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = any;

export function parseManifest(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''} in manifest`);
  return found;
}
