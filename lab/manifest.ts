/**
 * What the lab applies, read from a synthesized manifest (dist/<env>.k8s.yaml), never recomputed:
 * Backend.MTU from net-conf.json (flannel.1 = Backend.MTU - 50, as flannel's vxlan backend does),
 * the pod MTU from cni-conf.json's delegate.mtu, the devices' MTUs from the apply-node-mtu init
 * container, and the clamp script and its rules from the tcp-mss-clamp init container.
 * The underlay (NICs, link path MTU) comes from the environment file: it is the world the lab builds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { linkName } from '../src/model/environment';
import { loadEnvironmentFile } from '../src/config/load';
import { synthFiles } from '../src/synth';

/** flannel v0.28.9's vxlan backend: flannel.1 = Backend.MTU - 50 (pkg/backend/vxlan/device.go L63). */
export const FLANNEL_VXLAN_SUBTRACTS = 50;

export interface ScriptContainer {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface LabInputs {
  readonly environment: string;
  readonly manifestFile: string;
  /** The lab's two clouds and the link between them (the environment's first two clouds). */
  readonly clouds: readonly [string, string];
  readonly link: string;
  readonly nicMtuA: number;
  readonly nicMtuB: number;
  readonly pathMtu: number;
  readonly backendMtu: number;
  /** flannel.1's MTU as flannel derives it from Backend.MTU. */
  readonly overlayMtu: number;
  /** cni0, veths and pod eth0: cni-conf.json delegate.mtu. */
  readonly podMtu: number;
  readonly deviceMtus: Readonly<Record<string, number>>;
  readonly clamp: ScriptContainer;
  /** The MSS the clamp sets, read from its rules. */
  readonly mss: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

function scriptContainer(daemonSet: Obj, name: string): ScriptContainer {
  const c = daemonSet.spec.template.spec.initContainers.find((x: Obj) => x.name === name);
  if (!c) throw new Error(`init container ${name} not found`);
  return { script: c.args[0], env: Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? ''])) };
}

/** Reads the lab's numbers from `dist/<name>.k8s.yaml`, refusing a manifest that a fresh synth would change. */
export function labInputs(envFile: string, distDir = 'dist'): LabInputs {
  const manifest = synthFiles([envFile])[0];
  const manifestFile = path.join(distDir, manifest.fileName);
  if (!fs.existsSync(manifestFile) || fs.readFileSync(manifestFile, 'utf8') !== manifest.yaml) {
    throw new Error(`${manifestFile} is missing or out of date for ${envFile}: run \`npm run synth\` first`);
  }
  const { environment } = loadEnvironmentFile(envFile);
  if (environment.flannel.backend !== 'vxlan' || environment.flannel.podNetworkV6 !== undefined) {
    throw new Error(`${envFile}: the lab models single-stack vxlan, not ${environment.flannel.backend}${environment.flannel.podNetworkV6 ? ' dual-stack' : ''}`);
  }
  if (environment.clouds.length < 2) throw new Error(`${envFile}: the lab needs two clouds`);
  const [a, b] = environment.clouds;
  const link = environment.links.find((l) => l.between.includes(a.name) && l.between.includes(b.name))!;

  const objects: Obj[] = parseAllDocuments(fs.readFileSync(manifestFile, 'utf8')).map((d) => d.toJS());
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-flannel-cfg');
  const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'kube-flannel-ds');
  const backendMtu = JSON.parse(cm.data['net-conf.json']).Backend.MTU;
  const podMtu = JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu;
  const apply = scriptContainer(ds, 'apply-node-mtu');
  const deviceMtus = Object.fromEntries(apply.env.DEVICE_MTUS.split(' ').map((p) => [p.split('=')[0], Number(p.split('=')[1])]));
  const clamp = scriptContainer(ds, 'tcp-mss-clamp');
  const mss = Number(/--set-mss (\d+)/.exec(clamp.env.MSS_RULES_V4)?.[1]);
  for (const [what, value] of Object.entries({ backendMtu, podMtu, mss })) {
    if (!Number.isInteger(value)) throw new Error(`${manifestFile}: no ${what} found`);
  }
  return {
    environment: manifest.environment,
    manifestFile,
    clouds: [a.name, b.name],
    link: linkName(link),
    nicMtuA: a.nicMtu,
    nicMtuB: b.nicMtu,
    pathMtu: link.pathMtu,
    backendMtu,
    overlayMtu: backendMtu - FLANNEL_VXLAN_SUBTRACTS,
    podMtu,
    deviceMtus,
    clamp,
    mss,
  };
}
