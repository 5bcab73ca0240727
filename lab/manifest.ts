/**
 * What the lab applies, read from a synthesized manifest (dist/<env>/<env>.k8s.yaml), never recomputed:
 * Backend.MTU from net-conf.json (flannel.1 = Backend.MTU - 50, as flannel's vxlan backend does),
 * the pod MTU from cni-conf.json's delegate.mtu, the devices' MTUs from the apply-node-mtu init
 * container, and the clamp script and its rules from the tcp-mss-clamp init container.
 * The underlay (NICs, link path MTU) comes from the environment file: it is the world the lab builds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { linkName, ResolvedEnvironment } from '../src/model/environment';
import { loadEnvironmentFile } from '../src/config/load';
import { manifestPath } from '../src/cli/synth';
import { synthFiles } from '../src/synth';
import { writeOutput } from '../src/synth-write';

/** flannel v0.28.9's vxlan backend: flannel.1 = Backend.MTU - 50 (pkg/backend/vxlan/device.go L63). */
export const FLANNEL_VXLAN_SUBTRACTS = 50;
/** flannel v0.28.9's wireguard backend: flannel-wg(-v6) = Backend.MTU - 80 (pkg/backend/wireguard/device.go, `overhead = 80`). */
export const FLANNEL_WIREGUARD_SUBTRACTS = 80;

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
  readonly backend: 'vxlan' | 'wireguard';
  /** net-conf.json's `EnableIPv6`. */
  readonly dualStack: boolean;
  /** wireguard: net-conf.json's `Backend.Mode`, flannel's default `separate` when absent. */
  readonly tunnelMode: string;
  readonly nicMtuA: number;
  readonly nicMtuB: number;
  readonly pathMtu: number;
  /** The link's IPv6 path MTU (pathMtuV6, else pathMtu). */
  readonly pathMtuV6: number;
  readonly backendMtu: number;
  /** What flannel subtracts from Backend.MTU for this backend. */
  readonly flannelSubtracts: number;
  /** flannel.1's (flannel-wg's) MTU as flannel derives it from Backend.MTU. */
  readonly overlayMtu: number;
  /** cni0, veths and pod eth0: cni-conf.json delegate.mtu. */
  readonly podMtu: number;
  readonly deviceMtus: Readonly<Record<string, number>>;
  readonly clamp: ScriptContainer;
  /** The MSS the clamp sets, read from its rules. */
  readonly mss: number;
  /** The IPv6 MSS, or null when the clamp has no IPv6 rule. */
  readonly mssV6: number | null;
  /** The devices the clamp's rules match (`-o`), IPv4 and IPv6. */
  readonly clampDevices: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** cni-conf.json, the conflist every pod is created with. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly conflist: any;
  /** The apply-node-mtu init container (script and env). */
  readonly applyNodeMtu: ScriptContainer;
  /** The first cloud's path-MTU probe container, when the environment has a probe. */
  readonly probe?: ScriptContainer;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

function scriptContainer(daemonSet: Obj, name: string): ScriptContainer {
  const c = daemonSet.spec.template.spec.initContainers.find((x: Obj) => x.name === name);
  if (!c) throw new Error(`init container ${name} not found`);
  return { script: c.args[0], env: Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? ''])) };
}

/** Writes the manifests of `files` into `dir` as `flannel-mtu synth` writes dist/ (`<dir>/<env>/<env>.k8s.yaml`); returns `dir`. */
export function synthInto(dir: string, files: readonly string[]): string {
  writeOutput(dir, synthFiles(files).map((m) => ({ path: manifestPath(m), content: m.yaml })));
  return dir;
}

/** Reads the lab's numbers from `dist/<name>/<name>.k8s.yaml`, refusing a manifest that a fresh synth would change. */
export function labInputs(envFile: string, distDir = 'dist'): LabInputs {
  const manifest = synthFiles([envFile])[0];
  const manifestFile = path.join(distDir, manifest.environment, manifest.fileName);
  if (!fs.existsSync(manifestFile) || fs.readFileSync(manifestFile, 'utf8') !== manifest.yaml) {
    throw new Error(`${manifestFile} is missing or out of date for ${envFile}: run \`npm run synth\` first`);
  }
  return labInputsFromManifest(envFile, loadEnvironmentFile(envFile).environment, manifestFile, fs.readFileSync(manifestFile, 'utf8'));
}

/** The lab's numbers from a synthesized manifest's text (labInputs checks it is dist/'s). */
export function labInputsFromManifest(envFile: string, environment: ResolvedEnvironment, manifestFile: string, yaml: string): LabInputs {
  const { backend, podNetworkV6 } = environment.flannel;
  if (backend === 'host-gw' || (backend === 'vxlan' && podNetworkV6 !== undefined)) {
    throw new Error(`${envFile}: the lab models vxlan (single-stack) and wireguard, not ${backend}${podNetworkV6 ? ' dual-stack' : ''}`);
  }
  if (environment.clouds.length < 2) throw new Error(`${envFile}: the lab needs two clouds`);
  const [a, b] = environment.clouds;
  const link = environment.links.find((l) => l.between.includes(a.name) && l.between.includes(b.name))!;

  const objects: Obj[] = parseAllDocuments(yaml).map((d) => d.toJS());
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-flannel-cfg');
  const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'kube-flannel-ds');
  const netConf = JSON.parse(cm.data['net-conf.json']);
  const backendMtu = netConf.Backend.MTU;
  const flannelSubtracts = backend === 'wireguard' ? FLANNEL_WIREGUARD_SUBTRACTS : FLANNEL_VXLAN_SUBTRACTS;
  const podMtu = JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu;
  const apply = scriptContainer(ds, 'apply-node-mtu');
  const deviceMtus = Object.fromEntries(apply.env.DEVICE_MTUS.split(' ').map((p) => [p.split('=')[0], Number(p.split('=')[1])]));
  const clamp = scriptContainer(ds, 'tcp-mss-clamp');
  const mss = Number(/--set-mss (\d+)/.exec(clamp.env.MSS_RULES_V4)?.[1]);
  const mss6 = /--set-mss (\d+)/.exec(clamp.env.MSS_RULES_V6 ?? '');
  const devicesOf = (rules: string | undefined) => [...(rules ?? '').matchAll(/-o (\S+)/g)].map((m) => m[1]);
  for (const [what, value] of Object.entries({ backendMtu, podMtu, mss })) {
    if (!Number.isInteger(value)) throw new Error(`${manifestFile}: no ${what} found`);
  }
  const probeDs = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === `flannel-mtu-probe-${a.name}`);
  const probeC = probeDs?.spec.template.spec.containers.find((x: Obj) => x.name === 'probe');
  return {
    environment: environment.name,
    manifestFile,
    clouds: [a.name, b.name],
    link: linkName(link),
    backend,
    dualStack: netConf.EnableIPv6 === true,
    tunnelMode: netConf.Backend.Mode ?? 'separate',
    nicMtuA: a.nicMtu,
    nicMtuB: b.nicMtu,
    pathMtu: link.pathMtu,
    pathMtuV6: link.pathMtuV6 ?? link.pathMtu,
    backendMtu,
    flannelSubtracts,
    overlayMtu: backendMtu - flannelSubtracts,
    podMtu,
    deviceMtus,
    clamp,
    mss,
    mssV6: mss6 ? Number(mss6[1]) : null,
    clampDevices: { v4: devicesOf(clamp.env.MSS_RULES_V4), v6: devicesOf(clamp.env.MSS_RULES_V6) },
    conflist: JSON.parse(cm.data['cni-conf.json']),
    applyNodeMtu: apply,
    ...(probeC && { probe: { script: probeC.args[0], env: Object.fromEntries((probeC.env ?? []).map((e: Obj) => [e.name, e.value ?? ''])) } }),
  };

}
