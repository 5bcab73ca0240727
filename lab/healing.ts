/**
 * Self-healing on a real kernel (README "Self-healing"): the lab's WAN path shrinks under live
 * traffic, 80 bytes below what the environment declares, with ICMP lost, in both WAN models. The
 * nodes carry the generated MTUs and clamp (from dist/); the pods get tcp_mtu_probing from the
 * conflist's chain (the real tuning plugin, lab/cni.ts) or keep the kernel's 0. Measured: the
 * stall of a long-lived stream, the fate of new connections during the shrink, and how soon the
 * shipped path-MTU probe says too-small.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chainAdd } from './cni';
import { envFileText, MtuLab, WanModel } from './engine';
import { findBinary, forEachLine } from './host';
import { resolveEnvironment } from '../src/model/validate';
import { loadEnvironmentFile } from '../src/config/load';
import { synthEnvironments } from '../src/synth';
import { LabInputs, labInputsFromManifest } from './manifest';
import { labClampEnv } from './scenarios';

const IP = findBinary('ip');
const NODE = process.execPath;
const TRAFFIC = path.join(__dirname, 'traffic.js');
/** The sink's port in every lab pod and node (the lab's HTTP servers use 8888). */
export const SINK_PORT = 9000;
const HTTP_PORT = 8888;
/** The lab's addresses (lab/mtulab.sh ADDR). */
export const LAB_ADDR = { podA: '10.245.1.2', nodeA: '10.245.1.0', podB: '10.245.2.2', nodeB: '10.245.2.0', nodeBUnderlay: '192.168.200.2' } as const;
/** How far below the declared path MTU the WAN shrinks (issue 14). */
export const SHRINK_BYTES = 80;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One traffic.js process inside a lab namespace; `stop()` ends it and returns what it printed. */
export class Traffic {
  private readonly child: ChildProcess;
  private out = '';
  private err = '';
  private readonly closed: Promise<number | null>;

  constructor(namespace: string, args: readonly string[]) {
    this.child = spawn(IP, ['netns', 'exec', namespace, NODE, TRAFFIC, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => { this.out += d; });
    this.child.stderr!.on('data', (d) => { this.err += d; });
    this.closed = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Resolves once the process printed `listening` (sinks). */
  public async ready(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.out.includes('listening')) {
      if (Date.now() > until || this.child.exitCode !== null) throw new Error(`traffic.js did not start: ${this.err}`);
      await sleep(20);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  public async stop(): Promise<any> {
    this.child.kill('SIGTERM');
    const code = await this.closed;
    const line = this.out.split('\n').reverse().find((l) => l.startsWith('{'));
    if (code !== 0 || line === undefined) throw new Error(`traffic.js exited ${code}: ${this.err.trim()}`);
    return JSON.parse(line);
  }
}

/** A stream connection's delivery timeline, on the absolute clock: [ms, delivered bytes]. */
export interface StreamConnection {
  readonly delivered: number;
  readonly error: string | null;
  readonly ended: number | null;
  readonly timeline: ReadonlyArray<readonly [number, number]>;
}

/** The longest time without delivery progress after `from` (absolute ms), up to `until`. */
export function longestStall(c: StreamConnection, started: number, from: number, until: number): number {
  const points = c.timeline.map(([t, b]) => [started + t, b] as const);
  // the gap that spans `from` counts from the last delivery before it (100 ms samples)
  const before = points.filter(([t]) => t <= from).pop();
  let lastChange = before?.[0] ?? from;
  let longest = 0;
  let prev = before?.[1] ?? 0;
  for (const [t, b] of points) {
    if (t <= from || t > until) continue;
    if (b !== prev) {
      longest = Math.max(longest, t - lastChange);
      lastChange = t;
      prev = b;
    }
  }
  return Math.max(longest, until - lastChange);
}

/** Bytes delivered by absolute time `at`. */
export function deliveredAt(c: StreamConnection, started: number, at: number): number {
  return c.timeline.filter(([t]) => started + t <= at).pop()?.[1] ?? 0;
}

/** A directory that is the whole PATH of the shipped node scripts: busybox applets and iproute2's ip, as in the flannel image. */
export function busyboxToolbox(): string {
  const busybox = findBinary('busybox');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-toolbox-'));
  const applets = spawnText(busybox, ['--list']).split('\n').filter((a) => /^[a-z0-9._-]+$/.test(a) && a !== 'ip');
  for (const a of applets) fs.symlinkSync(busybox, path.join(dir, a));
  fs.symlinkSync(IP, path.join(dir, 'ip'));
  return dir;
}

function spawnText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Sets a sysctl in a lab namespace (what a pod created without the tuning entry has: the kernel default). */
export function setSysctl(namespace: string, key: string, value: string): void {
  spawnText(IP, ['netns', 'exec', namespace, 'sysctl', '-qw', `${key}=${value}`]);
}

export function readSysctl(namespace: string, key: string): string {
  return spawnText(IP, ['netns', 'exec', namespace, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`]).trim();
}

/**
 * Runs the conflist's entries after flannel (portmap, tuning) on an existing lab pod, as the
 * runtime does after flannel's ADD: prevResult describes the pod the lab built.
 */
export function chainAfterFlannel(inputs: LabInputs, labId: string, pod: 'podA' | 'podB', varLibDir: string): void {
  const node = pod === 'podA' ? 'nodeA' : 'nodeB';
  const podNs = `${labId}-${pod}`;
  const prevResult = {
    cniVersion: inputs.conflist.cniVersion,
    interfaces: [{ name: 'eth0', sandbox: `/run/netns/${podNs}` }],
    ips: [{ version: '4', interface: 0, address: `${LAB_ADDR[pod]}/24`, gateway: LAB_ADDR[pod].replace(/\.2$/, '.1') }],
  };
  chainAdd(inputs.conflist, { network: '10.245.0.0/16', subnet: `${LAB_ADDR[pod].replace(/\.2$/, '.1')}/24`, mtu: inputs.overlayMtu, ipMasq: true },
    { nodeNetns: `${labId}-${node}`, podNetnsPath: `/run/netns/${podNs}`, containerId: `${labId}-${pod}`, varLibDir }, { from: 1, prevResult });
}

/** PROBE_STATUS as the probe script accepts it (<dir>/path-mtu-probe/status, the directory existing). */
function probeStatusFile(dir: string): string {
  fs.mkdirSync(path.join(dir, 'path-mtu-probe'), { recursive: true });
  return path.join(dir, 'path-mtu-probe', 'status');
}

interface ProbeLine {
  readonly at: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** The shipped probe script in its loop (busybox sh, as in the image), its JSON lines timestamped as they arrive. */
function startProber(probe: { script: string; env: Readonly<Record<string, string>> }, namespace: string, toolbox: string, interval: number, status: string) {
  const targets = probe.env.PROBE_TARGETS.split('\n').map((l) => l.replace(/^(\S+ \S+ 4) \S+ /, `$1 ${LAB_ADDR.nodeBUnderlay} `)).join('\n');
  const child = spawn(IP, ['netns', 'exec', namespace, path.join(toolbox, 'sh'), '-c', probe.script], {
    // NODE_NAME stands in for the kubelet's spec.nodeName (one lab peer: any name picks it)
    env: { ...probe.env, NODE_NAME: 'lab-node-a', PROBE_TARGETS: targets, PROBE_INTERVAL: String(interval), PROBE_STATUS: status, PATH: toolbox },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const lines: ProbeLine[] = [];
  forEachLine(child.stdout!, (l) => {
    if (l.startsWith('{')) lines.push({ at: Date.now(), json: JSON.parse(l) });
  });
  let read = 0;
  return {
    /** The next line not yet returned, waiting up to timeoutMs; throws when none comes. */
    async next(timeoutMs: number): Promise<ProbeLine> {
      const until = Date.now() + timeoutMs;
      while (read >= lines.length) {
        if (Date.now() > until || child.exitCode !== null) {
          throw new Error(`path-mtu-probe: no line within ${timeoutMs} ms${child.exitCode !== null ? ` (exited ${child.exitCode})` : ''}: ${stderr.trim().slice(-300)}`);
        }
        await sleep(50);
      }
      return lines[read++];
    },
    stop(): void { child.kill('SIGTERM'); },
  };
}

export interface ShrinkRun {
  readonly wanModel: WanModel;
  readonly probing: boolean;
  /** tcp_mtu_probing read back from podA. */
  readonly podSysctl: string;
  readonly deliveredBeforeShrink: number;
  /** Bytes the stream delivered after the shrink (during the observation window). */
  readonly deliveredAfterShrink: number;
  /** The longest gap in delivery after the shrink; equals the window when the stream never resumed. */
  readonly stallMs: number;
  /** Whether the stream delivered again after the shrink and was still moving at the end. */
  readonly recovered: boolean;
  /** New connections (1616-byte POSTs) started after the shrink. */
  readonly posts: { readonly started: number; readonly ok: number; readonly msMin: number | null; readonly msMax: number | null };
}

export interface ShrinkReport {
  readonly declared: number;
  readonly shrunkTo: number;
  readonly windowMs: number;
  readonly runs: readonly ShrinkRun[];
  /** Per WAN model: when the shipped probe (its loop, a short lab interval) first said too-small, and when a round measured the shrunk path exactly. */
  readonly probe: ReadonlyArray<{
    readonly wanModel: WanModel;
    readonly secondsToTooSmall: number | null;
    readonly measured: number | null;
    readonly secondsToExact: number;
    /** How long the exact round took (the script's `seconds`). */
    readonly roundSeconds: number;
    /** Rounds reported after the shrink up to and including the exact one (1: the round in flight, 2: the next, one interval later). */
    readonly roundsAfterShrink: number;
    readonly intervalSeconds: number;
  }>;
}

export interface ShrinkOptions {
  /** Runs with probing per WAN model (best and worst are reported). @default 3 */
  readonly runsWithProbing?: number;
  /** WAN models to run, in order. @default ['icmp', 'frags'] */
  readonly wanModels?: readonly WanModel[];
  /** How long traffic is watched after the shrink. @default 8000 */
  readonly windowMs?: number;
  /** The probe's interval in the lab (the shipped one is the environment's probe.intervalSeconds). @default 5 */
  readonly probeIntervalSeconds?: number;
  readonly log?: (line: string) => void;
}

/** Part 2 of issue 14: the path shrinks by 80 under a stream and repeated POSTs, with and without probing. */
export async function runShrinkScenarios(inputs: LabInputs, options: ShrinkOptions = {}): Promise<ShrinkReport> {
  const log = options.log ?? (() => undefined);
  const windowMs = options.windowMs ?? 8000;
  const runsWithProbing = options.runsWithProbing ?? 3;
  const interval = options.probeIntervalSeconds ?? 5;
  const declared = inputs.pathMtu;
  const shrunkTo = declared - SHRINK_BYTES;
  const lab = new MtuLab({ postTimeoutSeconds: 3 });
  const ns = (r: string) => `${lab.labId}-${r}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-heal-'));
  const toolbox = busyboxToolbox();
  const generated = { nicMtuA: inputs.nicMtuA, nicMtuB: inputs.nicMtuB, overlayMtuA: inputs.overlayMtu, overlayMtuB: inputs.overlayMtu, podMtuA: inputs.podMtu, podMtuB: inputs.podMtu };
  const runs: ShrinkRun[] = [];
  const probe: Array<ShrinkReport['probe'][number]> = [];
  const sinks: Traffic[] = [];
  try {
    lab.up({ ...generated, pathMtu: declared });
    const script = path.join(tmp, 'tcp-mss-clamp.sh');
    const envFile = path.join(tmp, 'clamp.env');
    fs.writeFileSync(script, inputs.clamp.script);
    fs.writeFileSync(envFile, envFileText(labClampEnv(inputs.clamp.env, inputs.clouds)));
    const clamped = lab.clamp({ script, envFile });
    if (!clamped.every((c) => c.result === 'ok')) throw new Error(`clamp failed: ${JSON.stringify(clamped)}`);
    const sink = new Traffic(ns('podB'), ['sink', '--port', String(SINK_PORT)]);
    sinks.push(sink);
    await sink.ready();

    for (const wanModel of options.wanModels ?? ['icmp', 'frags']) {
      for (let i = 0; i <= runsWithProbing; i++) {
        const probing = i > 0;
        lab.reconfig({ ...generated, pathMtu: declared, wanModel });
        for (const pod of ['podA', 'podB'] as const) {
          if (probing) chainAfterFlannel(inputs, lab.labId, pod, tmp);
          else setSysctl(ns(pod), 'net.ipv4.tcp_mtu_probing', '0');
        }
        const podSysctl = readSysctl(ns('podA'), 'net.ipv4.tcp_mtu_probing');
        // the prober: the shipped script in node A's namespace, toward node B's underlay address;
        // its first round (healthy) is over before the traffic starts
        const prober = i === 1 && inputs.probe ? startProber(inputs.probe, ns('nodeA'), toolbox, interval, probeStatusFile(tmp)) : undefined;
        if (prober) await prober.next(60_000);
        const stream = new Traffic(ns('podA'), ['stream', '--host', LAB_ADDR.podB, '--port', String(SINK_PORT)]);
        const posts = new Traffic(ns('podA'), ['posts', '--host', LAB_ADDR.podB, '--port', String(HTTP_PORT), '--every-ms', '250', '--size', '1616', '--timeout-ms', '10000']);
        await sleep(2500);
        lab.reconfig({ ...generated, pathMtu: shrunkTo, wanModel });
        const shrinkAt = Date.now(); // the path is shrunk by now
        const remaining = shrinkAt + windowMs - Date.now();
        if (remaining > 0) await sleep(remaining);
        const end = Date.now();
        const s = await stream.stop();
        const p = await posts.stop();
        const c: StreamConnection = s.connections[0];
        const stallMs = longestStall(c, s.started, shrinkAt, end);
        const before = deliveredAt(c, s.started, shrinkAt);
        const after = c.delivered - before;
        const moving = deliveredAt(c, s.started, end - 1500) < c.delivered;
        const during = (p.attempts as Array<{ start: number; ms: number; result: string }>).filter((a) => p.started + a.start >= shrinkAt && p.started + a.start < end);
        const okMs = during.filter((a) => a.result === 'ok').map((a) => a.ms);
        const run: ShrinkRun = {
          wanModel, probing, podSysctl, deliveredBeforeShrink: before, deliveredAfterShrink: after, stallMs,
          recovered: after > 0 && moving,
          posts: { started: during.length, ok: okMs.length, msMin: okMs.length ? Math.min(...okMs) : null, msMax: okMs.length ? Math.max(...okMs) : null },
        };
        runs.push(run);
        log(`shrink ${wanModel} probing=${podSysctl}: stall ${stallMs} ms, delivered ${before} B before, ${after} B after; POSTs ${run.posts.ok}/${run.posts.started} ok (${run.posts.msMin}-${run.posts.msMax} ms)`);
        if (prober) {
          // wait for the round that measured the shrunk path; note the first too-small
          let first: ProbeLine | undefined;
          let exact: ProbeLine | undefined;
          let rounds = 0;
          while (exact === undefined) {
            const line = await prober.next((interval + 60) * 1000);
            if (line.at < shrinkAt) continue;
            rounds++;
            if (line.json.status === 'too-small') first = first ?? line;
            if (line.json.measured === shrunkTo) exact = line;
          }
          prober.stop();
          probe.push({ wanModel, secondsToTooSmall: first ? (first.at - shrinkAt) / 1000 : null, measured: first ? Number(first.json.measured) : null, secondsToExact: (exact.at - shrinkAt) / 1000, roundSeconds: Number(exact.json.seconds), roundsAfterShrink: rounds, intervalSeconds: interval });
          log(`probe ${wanModel}: too-small ${first ? `${((first.at - shrinkAt) / 1000).toFixed(1)} s after the shrink (measured ${first.json.measured})` : 'never'}, ${shrunkTo} measured after ${((exact.at - shrinkAt) / 1000).toFixed(1)} s`);
        }
      }
    }
  } finally {
    for (const s of sinks) await s.stop().catch(() => undefined);
    lab.down();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(toolbox, { recursive: true, force: true });
  }
  return { declared, shrunkTo, windowMs, runs, probe };
}

/** The shrink results as Markdown tables. */
export function renderShrinkReport(r: ShrinkReport): string {
  const lines = [
    `WAN path ${r.declared} -> ${r.shrunkTo} under load (ICMP lost), watched ${r.windowMs / 1000} s; stream podA -> podB, 1616-byte POSTs podA -> podB every 250 ms`,
    '',
    '| WAN model | pods | stream after the shrink | stall (ms) | new connections during the shrink |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const wanModel of ['icmp', 'frags'] as const) {
    for (const probing of [false, true]) {
      const rs = r.runs.filter((x) => x.wanModel === wanModel && x.probing === probing);
      if (rs.length === 0) continue;
      const model = wanModel === 'icmp' ? 'ICMP frag-needed dropped' : 'fragments dropped';
      const stalls = rs.map((x) => x.stallMs);
      const resumed = rs.some((x) => x.recovered);
      const stall = probing || rs.length > 1 ? `${Math.min(...stalls)} best, ${Math.max(...stalls)} worst of ${rs.length}` : `${stalls[0]}${resumed ? '' : ' (never resumed)'}`;
      const stream = rs.every((x) => x.recovered) ? 'recovered' : `stalled: ${rs.map((x) => `${x.deliveredAfterShrink} B`).join(', ')} delivered`;
      const ok = rs.reduce((n, x) => n + x.posts.ok, 0);
      const started = rs.reduce((n, x) => n + x.posts.started, 0);
      const ms = rs.flatMap((x) => (x.posts.msMin === null ? [] : [x.posts.msMin, x.posts.msMax!]));
      const conns = `${ok}/${started} ok${ms.length ? `, ${Math.min(...ms)}-${Math.max(...ms)} ms` : ''}`;
      lines.push(`| ${model} | tcp_mtu_probing=${rs[0].podSysctl}${probing ? ' (conflist tuning)' : ' (kernel default)'} | ${stream} | ${stall} | ${conns} |`);
    }
  }
  for (const p of r.probe) {
    lines.push('', `path-mtu probe from dist/ (${p.wanModel === 'icmp' ? 'ICMP frag-needed dropped' : 'fragments dropped'}; lab interval ${p.intervalSeconds} s): `
      + `${p.secondsToTooSmall === null ? 'no too-small' : `too-small ${p.secondsToTooSmall.toFixed(1)} s after the shrink (measured ${p.measured})`}, `
      + `a round measured ${r.shrunkTo} exactly after ${p.secondsToExact.toFixed(1)} s (the round took ${p.roundSeconds} s)`);
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ MTU change with traffic

/** The lab's numbers for the environment with its lab link's path MTU changed by `delta`, synthesized in memory by the same code as dist/. */
export function changedInputs(envFile: string, delta: number): LabInputs {
  const { environment } = loadEnvironmentFile(envFile);
  const [a, b] = environment.clouds;
  const links = environment.links.map((l) => (l.between.includes(a.name) && l.between.includes(b.name) ? { ...l, pathMtu: l.pathMtu + delta } : l));
  const changed = { ...environment, links };
  const [manifest] = synthEnvironments([{ environment: changed, source: `${envFile} (lab link ${delta > 0 ? '+' : ''}${delta})` }]);
  return labInputsFromManifest(envFile, resolveEnvironment(changed), `${manifest.fileName} (in memory)`, manifest.yaml);
}

/** Overlay ICMP delivered (the kernel default), dropped by the nodes, and dropped with the pods' probing off (pmtud off). */
export const CHANGE_VARIANTS = [
  { overlayIcmp: 'pass', probing: true },
  { overlayIcmp: 'drop', probing: true },
  { overlayIcmp: 'drop', probing: false },
] as const;

/** The four groups of long-lived connections: between the pods and between a node and a pod, each way. */
export const STREAM_GROUPS = [
  { from: 'podA', to: 'podB' },
  { from: 'podB', to: 'podA' },
  { from: 'nodeA', to: 'podB' },
  { from: 'podB', to: 'nodeA' },
] as const;

export interface StreamGroupResult {
  readonly from: string;
  readonly to: string;
  readonly connections: number;
  /** Connections with an error, or no delivery in the last 1.5 s before they were ended. */
  readonly hung: number;
  /** The longest gap without delivery on any of them, from the first node step on. */
  readonly longestStallMs: number;
}

export interface ChangePhase {
  readonly direction: 'lower' | 'raise';
  /** Whether the nodes dropped ICMP frag-needed arriving over the overlay. */
  readonly overlayIcmp: 'pass' | 'drop';
  /** Whether the pods had tcp_mtu_probing=1 (the conflist's tuning) or 0. */
  readonly probing: boolean;
  readonly fromPodMtu: number;
  readonly toPodMtu: number;
  /** What happened, in order, with ms since the phase started. */
  readonly steps: ReadonlyArray<{ readonly ms: number; readonly step: string }>;
  readonly groups: readonly StreamGroupResult[];
  /** New connections (a 1616-byte POST podA -> podB every 100 ms) started in this phase. */
  readonly newConnections: { readonly started: number; readonly failed: number; readonly msMax: number };
  /** ICMP frag-needed the nodes dropped in this phase (drop variant). */
  readonly icmpDropped: number;
}

export interface ChangeReport {
  readonly phases: readonly ChangePhase[];
}

/** A node script container's env as a file for the lab (an empty HOST_IP, a downward-API field, is left to the lab). */
function scriptEnvFile(dir: string, name: string, env: Readonly<Record<string, string>>): string {
  const file = path.join(dir, `${name}.env`);
  fs.writeFileSync(file, envFileText(env));
  return file;
}

/**
 * Issue 14 part 3: the environment's MTU lowered by 50 and raised back on a running lab, in the
 * order the generated objects produce it (the DaemonSet's rolling update, one node at a time:
 * apply-node-mtu then tcp-mss-clamp from the new manifest; then the rollout Job recreating the
 * pods), with 32 long-lived connections (8 per group in STREAM_GROUPS) and a new connection every
 * 100 ms; once with ICMP across the overlay delivered, once dropped by the nodes.
 */
export async function runMtuChangeScenario(envFile: string, high: LabInputs, options: { log?: (line: string) => void; perGroup?: number; nodeSpacingMs?: number } = {}): Promise<ChangeReport> {
  const log = options.log ?? (() => undefined);
  const perGroup = options.perGroup ?? 8;
  const nodeSpacingMs = options.nodeSpacingMs ?? 5000;
  const low = changedInputs(envFile, -50);
  const lab = new MtuLab({ postTimeoutSeconds: 3 });
  const ns = (r: string) => `${lab.labId}-${r}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-change-'));
  const phases: ChangePhase[] = [];
  const background: Traffic[] = [];
  const files = (plan: LabInputs, tag: string) => {
    fs.writeFileSync(path.join(tmp, `apply-${tag}.sh`), plan.applyNodeMtu.script);
    fs.writeFileSync(path.join(tmp, `clamp-${tag}.sh`), plan.clamp.script);
    // NODE_NAME as the downward API gives it (a DNS name; the lab's own role names are not)
    const apply = (n: string) => ({ script: path.join(tmp, `apply-${tag}.sh`), envFile: scriptEnvFile(tmp, `apply-${tag}-${n}`, { ...plan.applyNodeMtu.env, NODE_NAME: `lab-${n.toLowerCase()}` }) });
    return {
      apply: { nodeA: apply('nodeA'), nodeB: apply('nodeB') },
      clamp: { script: path.join(tmp, `clamp-${tag}.sh`), envFile: scriptEnvFile(tmp, `clamp-${tag}`, labClampEnv(plan.clamp.env, plan.clouds)) },
    };
  };
  const scripts = { high: files(high, 'high'), low: files(low, 'low') };
  try {
    lab.up({ nicMtuA: high.nicMtuA, nicMtuB: high.nicMtuB, pathMtu: high.pathMtu, overlayMtuA: high.overlayMtu, overlayMtuB: high.overlayMtu, podMtuA: high.podMtu, podMtuB: high.podMtu });
    for (const n of ['nodeA', 'nodeB'] as const) nodeStep(lab, scripts.high, n);
    for (const pod of ['podA', 'podB'] as const) chainAfterFlannel(high, lab.labId, pod, tmp);
    for (const r of ['podA', 'podB', 'nodeA']) {
      const sink = new Traffic(ns(r), ['sink', '--port', String(SINK_PORT)]);
      background.push(sink);
      await sink.ready();
    }
    const posts = new Traffic(ns('podA'), ['posts', '--host', LAB_ADDR.podB, '--port', String(HTTP_PORT), '--every-ms', '100', '--size', '1616', '--timeout-ms', '10000']);
    const phaseWindows: Array<{ start: number; end: number }> = [];
    for (const { overlayIcmp, probing } of CHANGE_VARIANTS) {
      lab.overlayIcmp(overlayIcmp);
      const podsProbe = () => {
        for (const pod of ['podA', 'podB'] as const) if (!probing) setSysctl(ns(pod), 'net.ipv4.tcp_mtu_probing', '0');
      };
      podsProbe();
      for (const [direction, from, to] of [['lower', high, low], ['raise', low, high]] as const) {
        const target = direction === 'lower' ? scripts.low : scripts.high;
        const t0 = Date.now();
        const steps: Array<{ ms: number; step: string }> = [];
        const step = (s: string) => { steps.push({ ms: Date.now() - t0, step: s }); log(`${direction} (overlay ICMP ${overlayIcmp}) +${Date.now() - t0} ms: ${s}`); };
        const streams = STREAM_GROUPS.map((g) => new Traffic(ns(g.from), ['stream', '--host', LAB_ADDR[g.to], '--port', String(SINK_PORT), '--count', String(perGroup), '--chunk', '2000', '--tick-ms', '20']));
        await sleep(2000);
        const firstStep = Date.now();
        // DaemonSet rolling update, one node at a time (maxUnavailable 1): the new pod's init containers
        for (const n of ['nodeA', 'nodeB'] as const) {
          nodeStep(lab, target, n);
          step(`${n}: apply-node-mtu + tcp-mss-clamp of the ${direction === 'lower' ? 'lowered' : 'raised'} manifest (pod MTU ${to.podMtu}, MSS ${to.mss})`);
          await sleep(nodeSpacingMs);
        }
        await sleep(1500);
        const results = await Promise.all(streams.map((s) => s.stop()));
        const stopped = Date.now();
        step('long-lived connections ended (the rollout Job recreates their pods next)');
        const groups: StreamGroupResult[] = STREAM_GROUPS.map((g, i) => {
          const conns: StreamConnection[] = results[i].connections;
          const started = results[i].started;
          return {
            ...g,
            connections: conns.length,
            hung: conns.filter((c) => c.error !== null || deliveredAt(c, started, stopped - 1500) >= c.delivered).length,
            longestStallMs: Math.max(...conns.map((c) => longestStall(c, started, firstStep, stopped))),
          };
        });
        // the rollout Job, after every node: pods recreated with the new conflist (MTU, tuning)
        for (const pod of ['podA', 'podB'] as const) {
          lab.repod(pod, to.podMtu);
          chainAfterFlannel(to, lab.labId, pod, tmp);
          podsProbe();
          step(`${pod} recreated: pod MTU ${to.podMtu}`);
          await sleep(1000);
        }
        const icmpDropped = overlayIcmp === 'drop' ? lab.overlayIcmp('drop').dropped_before : 0;
        phaseWindows.push({ start: t0, end: Date.now() });
        phases.push({ direction, overlayIcmp, probing, fromPodMtu: from.podMtu, toPodMtu: to.podMtu, steps, groups, newConnections: { started: 0, failed: 0, msMax: 0 }, icmpDropped });
      }
    }
    const p = await posts.stop();
    const attempts = p.attempts as Array<{ start: number; ms: number; result: string }>;
    phases.forEach((ph, i) => {
      const w = phaseWindows[i];
      const mine = attempts.filter((a) => p.started + a.start >= w.start && p.started + a.start < w.end);
      (ph as { newConnections: ChangePhase['newConnections'] }).newConnections = {
        started: mine.length,
        failed: mine.filter((a) => a.result !== 'ok').length,
        msMax: Math.max(0, ...mine.map((a) => a.ms ?? 0)),
      };
    });
  } finally {
    for (const s of background) await s.stop().catch(() => undefined);
    lab.down();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { phases };
}

/** One node's flannel pod restarting with a manifest: its apply-node-mtu, then its tcp-mss-clamp. */
type ScriptFiles = { script: string; envFile: string };
function nodeStep(lab: MtuLab, s: { apply: Record<'nodeA' | 'nodeB', ScriptFiles>; clamp: ScriptFiles }, node: 'nodeA' | 'nodeB'): void {
  for (const [what, c] of [['apply-node-mtu', s.apply[node]], ['tcp-mss-clamp', s.clamp]] as const) {
    const r = lab.clamp({ ...c, nodes: [node] });
    if (!r.every((x) => x.result === 'ok')) throw new Error(`${what} on ${node} failed: ${r.map((x) => x.detail ?? '').join(' ')}`);
  }
}

export function renderChangeReport(r: ChangeReport): string {
  const lines = [
    '| change | ICMP across the overlay | pods | long-lived connections hung | longest stall (ms): pod->pod, pod<-pod, node->pod, pod->node | new connections failed | slowest new connection (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of r.phases) {
    const hung = p.groups.reduce((n, g) => n + g.hung, 0);
    const total = p.groups.reduce((n, g) => n + g.connections, 0);
    lines.push(`| ${p.direction} pod MTU ${p.fromPodMtu} -> ${p.toPodMtu} | ${p.overlayIcmp === 'pass' ? 'delivered' : `dropped by the nodes (${p.icmpDropped} dropped)`} | tcp_mtu_probing=${p.probing ? 1 : 0} | ${hung}/${total} | ${p.groups.map((g) => g.longestStallMs).join(', ')} | ${p.newConnections.failed}/${p.newConnections.started} | ${p.newConnections.msMax} |`);
  }
  return `${lines.join('\n')}\n`;
}
