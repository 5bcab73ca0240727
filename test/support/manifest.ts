// Take node scripts out of the synthesized manifest, so root tests test what ships.
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { fixtureFile, fixtureManifest } from './dist';

export interface InitContainerScript {
  /** args[0] of the init container whose command is ['/bin/sh', '-c'] */
  script: string;
  /** plain `value` env entries (valueFrom entries are left out); a missing value is "" */
  env: Record<string, string>;
}

export type NodeScriptName = 'apply-node-mtu' | 'tcp-mss-clamp';

/** Seed numbers of the seed-dev fixture's manifest: path 1380 minus VXLAN 50; MSS = MTU - 40 (v4) / - 60 (v6). */
export const SEED = {
  podMtu: 1330,
  mssV4: 1290,
  mssV6: 1270,
} as const;

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function mssRule(dev: string, mss: number): string {
  return `-o ${dev} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${mss}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Find the init container `containerName` in the DaemonSet(s) of a multi-document YAML.
 * If several DaemonSets carry it (e.g. one per cloud), pass `daemonSetName`.
 */
export function initContainerFromYaml(
  yamlText: string,
  containerName: string,
  daemonSetName?: string,
): InitContainerScript {
  const found: { ds: string; c: Obj }[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors[0].message}`);
    const o: unknown = doc.toJS();
    if (!isObj(o) || o.kind !== 'DaemonSet') continue;
    const name = isObj(o.metadata) ? String(o.metadata.name) : '?';
    if (daemonSetName !== undefined && name !== daemonSetName) continue;
    const podSpec = isObj(o.spec) && isObj(o.spec.template) ? o.spec.template.spec : undefined;
    const inits = isObj(podSpec) && Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [];
    for (const c of inits) {
      if (isObj(c) && c.name === containerName) found.push({ ds: name, c });
    }
  }
  if (found.length === 0) {
    throw new Error(`no DaemonSet${daemonSetName ? ` ${daemonSetName}` : ''} has init container ${containerName}`);
  }
  if (found.length > 1) {
    throw new Error(
      `init container ${containerName} is in several DaemonSets (${found.map((f) => f.ds).join(', ')}); pass daemonSetName`,
    );
  }
  const c = found[0].c;
  const cmd = c.command;
  if (!Array.isArray(cmd) || cmd.length !== 2 || cmd[0] !== '/bin/sh' || cmd[1] !== '-c') {
    throw new Error(`${containerName}: command is ${JSON.stringify(cmd)}, want ["/bin/sh","-c"]`);
  }
  if (!Array.isArray(c.args) || typeof c.args[0] !== 'string') {
    throw new Error(`${containerName}: args[0] (the script) is missing`);
  }
  const env: Record<string, string> = {};
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (!isObj(e) || typeof e.name !== 'string' || e.valueFrom !== undefined) continue;
    env[e.name] = e.value === undefined || e.value === null ? '' : String(e.value);
  }
  return { script: c.args[0], env };
}

/**
 * The script and env the root tests run: from the seed-dev fixture's synthesized manifest.
 */
export function loadInitContainer(name: NodeScriptName): InitContainerScript & { source: string } {
  return { ...initContainerFromYaml(fixtureManifest('seed-dev'), name), source: `${fixtureFile('seed-dev', false)} (synthesized)` };
}
