// The fuzz suite of issue 16, through the public API: random valid environment files and files
// broken in one place either plan, synthesize and keep every invariant below, or are refused with
// an InputError whose every problem names file, line and YAML path. Never another error, never a
// hang. The number of cases run is printed.
//
// Invariants of an accepted file, each derived independently of the plan (vxlan costs 50 bytes
// over IPv4 and 70 over IPv6, wireguard 60 and 80; flannel subtracts 50 or 80 from Backend.MTU):
//   - the pod MTU plus the encapsulation fits every path, per family, and is the largest that does
//     (uniform: one MTU for all; per-path: each cloud's own, and each link's on its routes);
//   - node-to-node clamps: path MTU = min(link, both clouds' NIC or fabric), MSS = that - 40 / - 60;
//   - Backend.MTU = pod MTU + what flannel subtracts, in the plan and in every net-conf.json;
//     MSS = pod MTU - 40 / - 60 (vxlan; wireguard's may be lower), and the clamp's rules carry it;
//   - every device name is one Linux accepts (at most 15 characters);
//   - the same file gives the same bytes twice, and under another locale (one child process under
//     cs_CZ.UTF-8 synthesizes every accepted file again);
//   - below its header the manifest is byte for byte cdk8s's Yaml.stringify of its objects;
// and, read from the file itself (not the resolved environment) with the README's defaults:
//   - distribution: the link-cni-plugins init container is in every flannel DaemonSet exactly for
//     k3s, linking from k3s's two plugin directories (data/cni, data/current/bin) through k3s's data
//     dir mounted read-only, every binary the conflist runs and loopback, before install-cni;
//     every distribution keeps /opt/cni/bin and /etc/cni/net.d unless cniBinDir / cniConfDir say;
//   - psk (wireguard only; with another backend the file is refused): no ConfigMap holds a key, the
//     net-conf-psk init container exists exactly when a psk is set, the Secret volume names the
//     file's Secret and key (default psk), flanneld reads the copy through --net-config-path, and the
//     script as synthesized writes the ConfigMap's net-conf.json plus Backend.PSK and nothing else;
//   - cniPlugins: the conflist is flannel, the file's plugins (default portmap) in order, then tuning
//     unless pmtud is off; install-cni checks exactly those binaries plus bridge and host-local, and
//     its script as synthesized installs the conflist byte for byte when they are all there and
//     refuses, installing nothing, when one is missing;
//   - imagePullSecrets: every pod template (DaemonSets and Jobs) carries exactly the file's Secrets;
//   - the chart's values: net-conf.json Backend ports, GBP, DirectRouting, keepalive, EnableNFTables;
//     flanneld's args end with the file's; healthz port, tolerations, nodeSelector, resources, images,
//     the netpol container, the rollout Job and the probe's textfile directory as the file says.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import * as fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import * as api from '../../src';
import { mutatedDocument, toYaml, validDocument } from '../support/arbitrary-environment';
import { BUSYBOX, PREFIX } from '../support/netns';

const REPO = path.resolve(__dirname, '..', '..');
const SOURCE = 'environments/fuzz.yaml';
const DEVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
/** A hang detector, not a benchmark: one file planned and synthesized twice. */
const CASE_BOUND_MS = 10_000;
const RUNS = { valid: 25, mutated: 150 };

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Json = unknown;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const accepted: Array<{ text: string; hash: string }> = [];
const counts = { accepted: 0, refused: 0 };

/** Plans and synthesizes one file; checks the invariants, or that the refusal is located. */
function check(text: string): void {
  const started = Date.now();
  let planned: ReturnType<typeof api.planText>;
  try {
    planned = api.planText(text, SOURCE);
  } catch (e) {
    if (!(e instanceof api.InputError)) throw new Error(`not an InputError (${String(e)}) for:\n${text.slice(0, 2000)}`);
    for (const p of e.problems) {
      expect({ file: p.file, line: typeof p.line === 'number' && p.line > 0, path: p.path !== undefined }).toEqual({ file: SOURCE, line: true, path: true });
    }
    expect(e.message.length).toBeLessThan(60 * 400); // at most ~50 problems of bounded length
    counts.refused++;
    expect(Date.now() - started).toBeLessThan(CASE_BOUND_MS);
    return;
  }
  // What plan accepts must synthesize (a throw here fails the test with the file).
  const synth = () => api.synthEnvironments([{ environment: planned.loaded.environment, plan: planned.plan, source: SOURCE }])[0];
  const manifest = synth();
  expect(synth().yaml).toBe(manifest.yaml);
  try {
    invariants(planned.loaded.environment, planned.plan, manifest);
    knobInvariants(parse(text) as Obj, planned.loaded.environment, planned.plan, manifest);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nfor:\n${text.slice(0, 4000)}`);
  }
  // After its two header lines, the manifest is what cdk8s's own serializer prints (src/synth-yaml.ts).
  const headerEnd = manifest.yaml.indexOf('\n', manifest.yaml.indexOf('\n') + 1) + 1;
  expect(manifest.yaml.slice(headerEnd)).toBe(Yaml.stringify(...manifest.objects));
  accepted.push({ text, hash: sha(manifest.yaml) });
  counts.accepted++;
  expect(Date.now() - started).toBeLessThan(CASE_BOUND_MS);
}

function invariants(env: api.ResolvedEnvironment, plan: api.MtuPlan, manifest: api.Manifest): void {
  const dual = env.flannel.podNetworkV6 !== undefined;
  const families: Array<'ipv4' | 'ipv6'> = dual ? ['ipv4', 'ipv6'] : ['ipv4'];
  const cost = { wireguard: { ipv4: 60, ipv6: 80, flannel: 80 }, vxlan: { ipv4: 50, ipv6: 70, flannel: 50 }, 'host-gw': { ipv4: 0, ipv6: 0, flannel: 0 } }[env.flannel.backend];
  const inside = new Map(env.clouds.map((c) => [c.name, c.fabricMtu ?? c.nicMtu]));
  const linkPath = (l: api.Link, f: 'ipv4' | 'ipv6') => Math.min(f === 'ipv6' ? l.pathMtuV6 ?? l.pathMtu : l.pathMtu, inside.get(l.between[0])!, inside.get(l.between[1])!);
  const cloudRoom = (name: string) => Math.min(...families.map((f) => inside.get(name)! - cost[f]));
  const linkRoom = (l: api.Link) => Math.min(...families.map((f) => linkPath(l, f) - cost[f]));
  const all = [...env.clouds.map((c) => cloudRoom(c.name)), ...env.links.map(linkRoom)];

  // The largest pod MTU that fits every path, and nothing larger.
  if (plan.mtuMode === 'uniform') {
    expect(plan.podMtu).toBe(Math.min(...all));
  } else {
    expect(plan.clouds.map((c) => c.podMtu)).toEqual(env.clouds.map((c) => cloudRoom(c.name)));
    expect(plan.links.map((l) => l.overlayMtu)).toEqual(env.links.map(linkRoom));
  }
  for (const p of plan.paths) {
    expect(p.headroom).toBeGreaterThanOrEqual(0);
    if (dual) expect(p.headroomV6).toBeGreaterThanOrEqual(0);
  }
  // Node-to-node TCP between clouds: clamped to the link's path through both clouds' fabrics.
  for (const u of plan.underlayClamps) {
    const link = env.links.find((l) => l.between.includes(u.cloud) && l.between.includes(u.to))!;
    expect([u.pathMtu, u.mss]).toEqual([linkPath(link, u.family), linkPath(link, u.family) - (u.family === 'ipv4' ? 40 : 60)]);
  }
  // Backend.MTU and MSS, in the plan and in what ships.
  for (const c of plan.clouds) {
    expect(c.backendMtu).toBe(env.flannel.backend === 'host-gw' ? null : c.podMtu + cost.flannel); // host-gw: flannel takes no MTU
    if (env.flannel.backend === 'vxlan') expect([c.mss, c.mssV6]).toEqual([c.podMtu - 40, dual ? c.podMtu - 60 : null]);
    else expect(c.mss).toBeLessThanOrEqual(c.podMtu - 40);
  }
  const objects = parseAllDocuments(manifest.yaml).map((d) => d.toJS() as Obj);
  const netConfs = objects.filter((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith('kube-flannel-cfg')).map((o) => JSON.parse(o.data['net-conf.json']));
  expect(netConfs.map((n) => n.Backend.MTU ?? null).sort()).toEqual(plan.clouds.map((c) => c.backendMtu).filter((m, i, a) => plan.mtuMode === 'per-path' || a.indexOf(m) === i).sort());
  const inits = objects.filter((o) => o.kind === 'DaemonSet').flatMap((o) => o.spec.template.spec.initContainers ?? []);
  const env1 = (c: Obj, name: string) => (c.env as Obj[]).find((e) => e.name === name)?.value as string | undefined;
  for (const clamp of inits.filter((c: Obj) => c.name === 'tcp-mss-clamp')) {
    const v4 = env1(clamp, 'MSS_RULES_V4') ?? '';
    // host-gw has no tunnel device whose packets the encapsulation would enlarge: nothing to clamp
    if (!env.mssClamp.enabled || env.flannel.backend === 'host-gw') expect(v4).toBe('');
    else if (plan.mtuMode === 'uniform') expect(v4).toMatch(new RegExp(` --set-mss ${plan.mss}$`));
  }
  // Device names Linux accepts, in the plan and in every DEVICE_MTUS.
  for (const d of [plan.devices.overlay, plan.devices.overlayV6, plan.devices.bridge, ...Object.keys(plan.deviceMtus)]) if (d !== null) expect(d).toMatch(DEVICE);
  for (const c of inits.filter((x: Obj) => x.name === 'apply-node-mtu')) {
    for (const pair of (env1(c, 'DEVICE_MTUS') ?? '').split(' ').filter((x) => x !== '')) expect(pair.split('=')[0]).toMatch(DEVICE);
  }
}

const K3S_DATA = '/var/lib/rancher/k3s/data';
/** A WireGuard key as `wg genpsk` prints it: 32 bytes in base64, 44 characters ending in "=". */
const PSK = Buffer.alloc(32, 7).toString('base64');
const scriptRuns = { installCni: 0, netConfPsk: 0 };
let scratch: string;

/** The plain `value` env of a container. */
const envOf = (c: Obj): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, String(e.value)]));
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
/** A container's script as synthesized, run with busybox sh. */
const runScript = (c: Obj, env: Record<string, string>) => spawnSync(BUSYBOX, ['sh', '-c', c.args[0]], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });

/** The knobs beyond the MTU inputs, each checked against what the file says and the README's defaults. */
function knobInvariants(doc: Obj, env: api.ResolvedEnvironment, plan: api.MtuPlan, manifest: api.Manifest): void {
  const fl: Obj = doc.flannel;
  const objects = parseAllDocuments(manifest.yaml).map((d) => d.toJS() as Obj);
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o]));
  const flannelSets = objects.filter((o) => o.kind === 'DaemonSet' && /^kube-flannel-ds(-|$)/.test(o.metadata.name));
  expect(flannelSets.length).toBe(plan.mtuMode === 'per-path' ? env.clouds.length : 1);
  const distribution = doc.distribution ?? 'kubeadm';
  const psk: Obj | undefined = fl.psk;
  // a psk is accepted only with wireguard (README: backend-specific keys are refused for the others)
  if (psk !== undefined) expect(fl.backend).toBe('wireguard');
  const pmtudOff = doc.pmtud?.mode === 'off';
  // chart-style { name } entries or plain names
  const pullSecrets = ((doc.imagePullSecrets ?? []) as Json[]).map((s) => (typeof s === 'string' ? s : (s as Obj).name as string));

  // links given as mtu and overhead: the path MTU is their difference
  ((doc.links ?? []) as Obj[]).forEach((l, i) => expect(env.links[i].pathMtu).toBe(l.pathMtu ?? l.mtu - l.overhead));

  // No key, nor the word, in any ConfigMap: the key lives in the Secret only.
  for (const cm of configMaps.values()) for (const v of Object.values(cm.data ?? {})) expect(String(v)).not.toMatch(/PSK/i);

  for (const ds of flannelSets) {
    const spec = ds.spec.template.spec;
    const inits: Obj[] = spec.initContainers;
    const names = inits.map((c) => c.name);
    const init = (name: string) => inits.find((c) => c.name === name);
    const flanneld = (spec.containers as Obj[]).find((c) => c.name === 'kube-flannel')!;
    const volume = (name: string) => (spec.volumes as Obj[]).find((v) => v.name === name);
    const cm = configMaps.get(volume('flannel-cfg')!.configMap.name)!;
    const conflist = JSON.parse(cm.data['cni-conf.json']);
    const netConf = JSON.parse(cm.data['net-conf.json']);

    // cniPlugins: flannel, the file's plugins (README default: portmap) in order, then pmtud's tuning
    const given: Obj[] = fl.cniPlugins ?? [{ type: 'portmap', capabilities: { portMappings: true } }];
    expect(conflist.plugins.map((p: Obj) => p.type)).toEqual(['flannel', ...given.map((p) => p.type), ...(pmtudOff ? [] : ['tuning'])]);
    expect(conflist.plugins.slice(1, 1 + given.length)).toEqual(given);
    expect(conflist.plugins[0].delegate.mtu).toBe(plan.mtuMode === 'per-path' ? plan.clouds.find((c) => ds.metadata.name === `kube-flannel-ds-${c.name}`)!.podMtu : plan.podMtu);
    // what the conflist runs: every type, and bridge and host-local, which flannel delegates to
    const binaries = sorted([...conflist.plugins.map((p: Obj) => p.type as string), 'bridge', 'host-local']);

    // distribution: CNI dirs, and k3s's plugins linked in
    const binDir = fl.cniBinDir ?? '/opt/cni/bin';
    expect(volume('cni-plugin')!.hostPath.path).toBe(binDir);
    expect(volume('cni')?.hostPath.path).toBe(fl.skipCNIConfigInstallation === true ? undefined : fl.cniConfDir ?? '/etc/cni/net.d');
    expect(names.includes('link-cni-plugins')).toBe(distribution === 'k3s');
    const rancher = (spec.volumes as Obj[]).filter((v) => String(v.hostPath?.path).startsWith('/var/lib/rancher/k3s/data'));
    if (distribution === 'k3s') {
      const link = init('link-cni-plugins')!;
      expect(rancher.map((v) => [v.hostPath.path, v.hostPath.type])).toEqual([[K3S_DATA, 'Directory']]);
      expect(link.volumeMounts).toContainEqual({ name: rancher[0].name, mountPath: K3S_DATA, readOnly: true });
      expect(envOf(link)).toEqual({ CNI_BIN_DIR: '/opt/cni/bin', K3S_CNI_DIRS: `${K3S_DATA}/cni ${K3S_DATA}/current/bin`, CNI_PLUGINS: sorted([...binaries.filter((b) => b !== 'flannel'), 'loopback']).join(' ') });
      if (names.includes('install-cni')) expect(names.indexOf('link-cni-plugins')).toBeLessThan(names.indexOf('install-cni'));
    } else {
      expect(rancher).toEqual([]);
    }

    // install-cni checks exactly the binaries the conflist runs, and its script acts on that
    expect(names.includes('install-cni')).toBe(fl.skipCNIConfigInstallation !== true);
    const install = init('install-cni');
    if (install !== undefined) {
      expect(envOf(install).CNI_PLUGINS).toBe(binaries.join(' '));
      expect(envOf(install).CNI_BIN_DIR_HOST).toBe(binDir);
      installCniRuns(install, cm.data['cni-conf.json'], binaries);
    }

    // psk: the init container, the Secret volume, and flanneld reading the merged copy
    expect(names.includes('net-conf-psk')).toBe(psk !== undefined);
    const secretVolumes = (spec.volumes as Obj[]).filter((v) => v.secret !== undefined);
    const configPath = (flanneld.args as string[]).filter((a) => a.startsWith('--net-config-path='));
    if (psk !== undefined) {
      const merge = init('net-conf-psk')!;
      expect(secretVolumes.map((v) => v.secret.secretName)).toEqual([psk.secretName]);
      expect(secretVolumes[0].secret.items).toEqual([{ key: psk.key ?? 'psk', path: 'psk' }]);
      // only the merging container mounts the Secret; flanneld reads what it wrote
      const mounting = [...inits, ...spec.containers].filter((c: Obj) => (c.volumeMounts ?? []).some((m: Obj) => m.name === secretVolumes[0].name));
      expect(mounting.map((c: Obj) => c.name)).toEqual(['net-conf-psk']);
      const out = envOf(merge).NET_CONF_OUT;
      expect(configPath).toEqual([`--net-config-path=${out}`]);
      const outMount = (merge.volumeMounts as Obj[]).find((m) => out.startsWith(`${m.mountPath}/`))!;
      expect(flanneld.volumeMounts).toContainEqual({ name: outMount.name, mountPath: outMount.mountPath, readOnly: true });
      expect(volume(outMount.name)!.emptyDir.medium).toBe('Memory');
      netConfPskRuns(merge, cm.data['net-conf.json']);
    } else {
      expect([secretVolumes, configPath]).toEqual([[], []]);
    }

    // the chart's values, in net-conf.json (README "Coming from the upstream Helm chart")
    const port = fl.backendPort ?? fl.port;
    const backendExtras = fl.backend === 'wireguard'
      ? { ListenPort: port, ListenPortV6: fl.backendPortv6, PersistentKeepaliveInterval: fl.keepaliveInterval }
      : fl.backend === 'host-gw' ? {} : { Port: port, GBP: fl.GBP, DirectRouting: fl.directRouting };
    for (const [key, value] of Object.entries(backendExtras)) expect([key, netConf.Backend[key]]).toEqual([key, value]);
    expect(netConf.EnableNFTables).toBe(fl.enableNFTables ?? false);
    // flanneld: the file's args last, the health port (0: none), tolerations, nodeSelector, resources, images
    const args: string[] = fl.args ?? [];
    expect(flanneld.args.slice(flanneld.args.length - args.length)).toEqual(args);
    const healthz = fl.healthzPort ?? 8081;
    expect(flanneld.args.filter((a: string) => a.startsWith('--healthz-port='))).toEqual(healthz === 0 ? [] : [`--healthz-port=${healthz}`]);
    expect(flanneld.ports ?? []).toEqual(healthz === 0 ? [] : [{ name: 'healthz', containerPort: healthz, protocol: 'TCP' }]);
    expect(spec.tolerations).toEqual(fl.tolerations ?? [{ operator: 'Exists', effect: 'NoSchedule' }]);
    for (const [k, v] of Object.entries(fl.nodeSelector ?? {})) expect(spec.nodeSelector[k]).toBe(v);
    const resources = fl.resources ?? { requests: { cpu: '100m', memory: '50Mi' } };
    expect(flanneld.resources).toEqual(Object.fromEntries(Object.entries(resources).map(([k, q]) => [k, Object.fromEntries(Object.entries(q as Obj).map(([n, v]) => [n, String(v)]))])));
    expect(flanneld.image).toBe(doc.images?.flannel ?? 'ghcr.io/flannel-io/flannel:v0.28.9');
    expect(init('install-cni-plugin')!.image).toBe(doc.images?.flannelCniPlugin ?? 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3');
    const netpolOn = doc.netpol !== undefined && doc.netpol.enabled !== false;
    const netpol = (spec.containers as Obj[]).filter((c) => c.name === 'kube-network-policies');
    expect(netpol.map((c) => [c.image, c.args])).toEqual(netpolOn ? [[doc.netpol.image ?? 'registry.k8s.io/networking/kube-network-policies:v1.0.0', doc.netpol.args ?? ['--hostname-override=$(MY_NODE_NAME)', '--v=2']]] : []);
  }

  // every Secret the pods reference can exist: a DNS subdomain of at most 253 characters (Kubernetes' rule for object names)
  for (const name of [...pullSecrets, ...(psk !== undefined ? [psk.secretName as string] : [])]) {
    expect([name.length <= 253, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)]).toEqual([true, true]);
  }
  if (psk?.key !== undefined) {
    // a key a Secret can hold (Kubernetes' IsConfigMapKey: -._ letters and digits, not "." and not "..")
    expect([/^[-._a-zA-Z0-9]{1,253}$/.test(psk.key), psk.key === '.' || psk.key.startsWith('..')]).toEqual([true, false]);
  }
  // imagePullSecrets: every pod template, DaemonSets and Jobs alike, carries exactly the file's
  const templates = objects.filter((o) => o.spec?.template !== undefined);
  expect(templates.length).toBeGreaterThan(0);
  // every hostPath is one Kubernetes takes (absolute, no ".." segment) and not the node's root
  for (const v of templates.flatMap((o) => (o.spec.template.spec.volumes ?? []) as Obj[]).filter((x) => x.hostPath !== undefined)) {
    expect([v.name, v.hostPath.path.startsWith('/'), v.hostPath.path.split('/').includes('..'), v.hostPath.path === '/']).toEqual([v.name, true, false, false]);
  }
  for (const o of templates) expect([o.kind, o.metadata.name, o.spec.template.spec.imagePullSecrets]).toEqual([o.kind, o.metadata.name, pullSecrets.length > 0 ? pullSecrets.map((name) => ({ name })) : undefined]);

  // the rollout Job exists when the section is there and not disabled; its timeout and images
  const jobs = objects.filter((o) => o.kind === 'Job');
  const rollout = doc.rollout !== undefined && doc.rollout.enabled !== false;
  expect(jobs.length).toBe(rollout ? 1 : 0);
  if (rollout) {
    const images = [...jobs[0].spec.template.spec.initContainers ?? [], ...jobs[0].spec.template.spec.containers].map((c: Obj) => c.image);
    expect(sorted(images)).toEqual(sorted([doc.images?.kubectl ?? 'registry.k8s.io/kubectl:v1.33.4', doc.images?.busybox ?? 'docker.io/library/busybox:1.37.0-musl']));
    expect(JSON.stringify(jobs[0])).toContain(String(doc.rollout.timeoutSeconds ?? 600));
  }
  // the probe's metrics land in the file's textfile directory (a hostPath), or nowhere with metrics off
  const probes = objects.filter((o) => o.kind === 'DaemonSet' && String(o.metadata.name).startsWith('flannel-mtu-probe'));
  const probeOn = doc.probe !== undefined && doc.probe.enabled !== false;
  expect(probes.length).toBe(probeOn ? env.clouds.length : 0);
  for (const p of probes) {
    const dirs = (p.spec.template.spec.volumes ?? []).filter((v: Obj) => v.hostPath !== undefined).map((v: Obj) => v.hostPath.path);
    expect(dirs.includes(doc.probe.textfileDirectory ?? '/var/lib/node_exporter/textfile_collector')).toBe(doc.probe.metrics !== false);
  }
}

/**
 * install-cni's script as synthesized, on a scratch node: with a stand-in for every binary the
 * conflist runs it installs the ConfigMap's conflist byte for byte; with one missing it fails
 * naming that path and installs nothing.
 */
function installCniRuns(c: Obj, conflist: string, binaries: readonly string[]): void {
  const dir = fs.mkdtempSync(path.join(scratch, 'cni-'));
  for (const d of ['bin', 'net.d', 'cfg']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'cfg', 'cni-conf.json'), conflist);
  for (const b of binaries) fs.writeFileSync(path.join(dir, 'bin', b), '#!/bin/sh\n', { mode: 0o755 });
  const env = { ...envOf(c), CNI_CONF_SRC: path.join(dir, 'cfg', 'cni-conf.json'), CNI_CONF_DEST: path.join(dir, 'net.d', '10-flannel.conflist'), CNI_BIN_DIR: path.join(dir, 'bin') };
  // one missing: the last extra plugin the file chained, or tuning, or portmap, or bridge
  const gone = binaries.filter((b) => !['flannel', 'bridge', 'host-local'].includes(b)).pop() ?? 'bridge';
  fs.rmSync(path.join(dir, 'bin', gone));
  const refused = runScript(c, env);
  expect([refused.status !== 0, fs.readdirSync(path.join(dir, 'net.d'))]).toEqual([true, []]);
  expect(refused.stderr).toContain(`missing on this node: ${envOf(c).CNI_BIN_DIR_HOST}/${gone};`);
  fs.writeFileSync(path.join(dir, 'bin', gone), '#!/bin/sh\n', { mode: 0o755 });
  const r = runScript(c, env);
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(fs.readFileSync(env.CNI_CONF_DEST, 'utf8')).toBe(conflist);
  scriptRuns.installCni += 2;
}

/** net-conf-psk's script as synthesized: the ConfigMap's net-conf.json plus Backend.PSK, nothing else. */
function netConfPskRuns(c: Obj, netConf: string): void {
  const dir = fs.mkdtempSync(path.join(scratch, 'psk-'));
  fs.writeFileSync(path.join(dir, 'net-conf.json'), netConf);
  fs.writeFileSync(path.join(dir, 'psk'), PSK);
  const out = path.join(dir, 'out.json');
  const r = runScript(c, { NET_CONF: path.join(dir, 'net-conf.json'), PSK_FILE: path.join(dir, 'psk'), NET_CONF_OUT: out });
  expect([r.status, r.stderr]).toEqual([0, '']);
  const want = JSON.parse(netConf);
  want.Backend.PSK = PSK;
  expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(want);
  scriptRuns.netConfPsk++;
}

describe('fuzz: every environment file plans and synthesizes with the invariants, or is refused with file, line and YAML path', () => {
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}fuzz-`));
  });
  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    process.stdout.write(`fuzz: ${counts.accepted + counts.refused} cases (${RUNS.valid} valid-shaped, ${RUNS.mutated} mutated): ${counts.accepted} synthesized, ${counts.refused} refused; scripts run: install-cni ${scriptRuns.installCni}, net-conf-psk ${scriptRuns.netConfPsk}\n`);
  });

  test(`${RUNS.valid} valid-shaped files`, () => {
    fc.assert(fc.property(validDocument, (doc) => check(toYaml(doc))), { numRuns: RUNS.valid, seed: 16 });
  });

  test(`${RUNS.mutated} files broken in one place (wrong types, extremes, hostile strings, odd CIDRs)`, () => {
    fc.assert(fc.property(mutatedDocument, (doc) => check(toYaml(doc))), { numRuns: RUNS.mutated, seed: 1616 });
  });

  test('the accepted files give the same bytes under LC_ALL=cs_CZ.UTF-8, in a fresh process', () => {
    expect(accepted.length).toBeGreaterThan(10);
    const code = `const api = require(${JSON.stringify(path.join(REPO, 'src'))});
const { createHash } = require('crypto');
const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(texts.map((t) => { const { loaded, plan } = api.planText(t, ${JSON.stringify(SOURCE)});
  return createHash('sha256').update(api.synthEnvironments([{ environment: loaded.environment, plan, source: ${JSON.stringify(SOURCE)} }])[0].yaml).digest('hex'); })));`;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
      cwd: REPO, input: JSON.stringify(accepted.map((a) => a.text)), encoding: 'utf8', timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'cs_CZ.UTF-8', LANG: 'cs_CZ.UTF-8' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(accepted.map((a) => a.hash));
  }, 120_000);
});
