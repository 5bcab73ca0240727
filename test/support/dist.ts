import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

export const REPO = path.resolve(__dirname, '..', '..');
export const ENVIRONMENTS_DIR = path.join(REPO, 'environments');
export const DIST_DIR = path.join(REPO, 'dist');

/** Every example environment file, relative to the repo as `npm run synth` names them. */
export function exampleEnvironmentFiles(): string[] {
  return fs.readdirSync(ENVIRONMENTS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `environments/${f}`);
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
