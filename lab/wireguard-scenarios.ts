/**
 * The wireguard proof, on real WireGuard encapsulation (wireguard-go in the mtulab.sh lab): upstream's
 * default and the hand "fix" against the numbers flannel-mtu generated (read from the synthesized
 * manifest by labInputs), the padding cliff one byte above the generated device MTU, the generated
 * clamp alone, and what each underlay family costs.
 *
 * Expectations come from the wire, not from the plan: WireGuard costs 60 bytes over IPv4 and 80 over
 * IPv6 (outer IP 20 | 40, UDP 8, header 16, auth tag 16) and pads every packet to a multiple of 16
 * bytes but never beyond the device MTU. So a device of MTU M on a path whose fit is F = path -
 * cost carries M-byte packets when M <= F, and only floor16(F)-byte packets when M > F.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Endpoint, envFileText, IptablesBackend, LabTopology, MtuLab, Target, WanModel, WgLabMode } from './engine';
import { LabInputs } from './manifest';
import { Check, INCIDENT_BODY, labClampEnv, LabReport } from './scenarios';

/** WireGuard's cost per underlay family and its padding unit (see the header). */
const COST = { ipv4: 60, ipv6: 80 } as const;
const PADDING = 16;
const floor16 = (n: number) => n - (n % PADDING);

type Family = keyof typeof COST;

/** One measured row of the summary table: what a configuration's devices carry, per family. */
export interface WireguardRow {
  readonly environment: string;
  readonly lab: string;
  readonly config: string;
  readonly deviceMtu: number;
  readonly family: Family;
  /** The fit of the device carrying this family on this lab's underlay. */
  readonly fit: number;
  /** Largest DF ping podA -> podB (or podB6) that got a reply; null for the clamp rows. */
  readonly largest: number | null;
  readonly post: string;
}

export interface WireguardReport extends LabReport {
  readonly rows: readonly WireguardRow[];
}

/** The lab modes an environment's tunnelMode needs: auto picks IPv4 or IPv6 per peer, so both. */
export function labModes(inputs: LabInputs): WgLabMode[] {
  if (inputs.tunnelMode === 'auto') return inputs.dualStack ? ['ipv4', 'ipv6'] : ['ipv4'];
  if (inputs.tunnelMode !== 'separate') throw new Error(`${inputs.manifestFile}: wireguard Mode ${inputs.tunnelMode} is not one the lab builds`);
  return ['separate'];
}

/** Runs every wireguard scenario, one lab per lab mode; tears each down whatever happens. */
export function runWireguardScenarios(inputs: LabInputs, options: { log?: (line: string) => void; modes?: readonly WgLabMode[] } = {}): WireguardReport {
  if (inputs.backend !== 'wireguard') throw new Error(`${inputs.manifestFile}: not a wireguard environment`);
  const log = options.log ?? (() => undefined);
  const checks: Check[] = [];
  const rows: WireguardRow[] = [];
  const clampDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-wgclamp-'));
  try {
    const script = path.join(clampDir, 'tcp-mss-clamp.sh');
    fs.writeFileSync(script, inputs.clamp.script);
    const clampEnv = labClampEnv(inputs.clamp.env, inputs.clouds);
    const generatedEnv = path.join(clampDir, 'clamp.env');
    fs.writeFileSync(generatedEnv, envFileText(clampEnv));
    // the MSS an unaligned plan would set (pod MTU - 40 / - 60), for the control below
    const naiveEnv = path.join(clampDir, 'naive.env');
    fs.writeFileSync(naiveEnv, envFileText({
      ...clampEnv,
      MSS_RULES_V4: clampEnv.MSS_RULES_V4.replace(/--set-mss \d+/, `--set-mss ${inputs.podMtu - 40}`),
      MSS_RULES_V6: (clampEnv.MSS_RULES_V6 ?? '').replace(/--set-mss \d+/, `--set-mss ${inputs.podMtu - 60}`),
    }));
    for (const mode of options.modes ?? labModes(inputs)) {
      runMode(inputs, mode, { script, generatedEnv, naiveEnv }, checks, rows, log);
    }
  } finally {
    fs.rmSync(clampDir, { recursive: true, force: true });
  }
  return { inputs, checks, throughput: [], rows };
}

function runMode(
  inputs: LabInputs,
  mode: WgLabMode,
  files: { script: string; generatedEnv: string; naiveEnv: string },
  checks: Check[],
  rows: WireguardRow[],
  log: (line: string) => void,
): void {
  const dual = inputs.dualStack;
  const families: Family[] = dual ? ['ipv4', 'ipv6'] : ['ipv4'];
  const nic = Math.min(inputs.nicMtuA, inputs.nicMtuB);
  const path4 = Math.min(nic, inputs.pathMtu);
  const path6 = Math.min(nic, inputs.pathMtuV6);
  // which underlay carries each family: its own in separate mode, the mode's in a single tunnel
  const underlayOf = (f: Family): Family => (mode === 'separate' ? f : mode);
  const fit = (f: Family) => (underlayOf(f) === 'ipv4' ? path4 : path6) - COST[underlayOf(f)];
  const target = (f: Family): Target => (f === 'ipv4' ? 'podB' : 'podB6');
  const back = (f: Family): Target => (f === 'ipv4' ? 'podA' : 'podA6');
  const labName = mode === 'separate' ? 'separate' : `${inputs.tunnelMode} over ${mode === 'ipv4' ? 'IPv4' : 'IPv6'}`;
  const device = (f: Family) => (mode === 'separate' && f === 'ipv6' ? 'flannel-wg-v6' : 'flannel-wg');

  const lab = new MtuLab({ postTimeoutSeconds: 2, pingWaitSeconds: 0.3 });
  const underlay: LabTopology = { backend: 'wireguard', wgMode: mode, ipv6: dual, nicMtuA: inputs.nicMtuA, nicMtuB: inputs.nicMtuB, pathMtu: inputs.pathMtu, ...(dual && { pathMtuV6: inputs.pathMtuV6 }) };
  const record = (scenario: string, what: string, expected: Check['expected'], actual: string) => {
    const check = { scenario: `[${labName}] ${scenario}`, what, expected, actual, pass: actual === expected };
    checks.push(check);
    log(`${check.pass ? 'pass' : 'FAIL'}  ${check.scenario}: ${what}: ${actual}${check.pass ? '' : ` (expected ${expected})`}`);
  };
  const post = (scenario: string, from: Endpoint, to: Target, expected: Check['expected']) =>
    record(scenario, `POST ${INCIDENT_BODY} B ${from} -> ${to}`, expected, lab.post(INCIDENT_BODY, from, to).result);
  const set = (deviceMtu: number, podMtu: number, wan: { wanModel?: WanModel; icmpBlackhole?: boolean } = {}) =>
    lab.reconfig({ ...underlay, ...wan, overlayMtuA: deviceMtu, overlayMtuB: deviceMtu, podMtuA: podMtu, podMtuB: podMtu });
  // the largest DF packet that crosses, and whether the 1616-byte POST does: one summary row per family
  const measure = (config: string, deviceMtu: number) => {
    for (const f of families) {
      const largest = lab.pmtuSearch('podA', target(f)).bytes;
      const result = lab.post(INCIDENT_BODY, 'podA', target(f)).result;
      rows.push({ environment: inputs.environment, lab: labName, config, deviceMtu, family: f, fit: fit(f), largest, post: result });
      // what the wire model says: M fits -> M crosses; M too big -> floor16(fit) crosses, the POST's full-size segments do not
      const fits = deviceMtu <= fit(f);
      record(config, `largest DF packet podA -> ${target(f)} through ${device(f)} ${deviceMtu}`, 'ok', largest === (fits ? deviceMtu : floor16(fit(f))) ? 'ok' : `${largest}`);
      record(config, `POST ${INCIDENT_BODY} B podA -> ${target(f)}`, fits ? 'ok' : 'hang', result);
    }
  };

  try {
    lab.up({ ...underlay, overlayMtuA: inputs.overlayMtu, overlayMtuB: inputs.overlayMtu, podMtuA: inputs.podMtu, podMtuB: inputs.podMtu });

    // the underlay itself: both families' path MTUs, so each family's cost is measured, not assumed
    record('underlay', `largest DF packet nodeA -> nodeB-ul (expected ${path4})`, 'ok', okIf(lab.pmtuSearch('nodeA', 'nodeB-ul').bytes, path4));
    if (dual) record('underlay', `largest DF packet nodeA -> nodeB-ul6 (expected ${path6})`, 'ok', okIf(lab.pmtuSearch('nodeA', 'nodeB-ul6').bytes, path6));

    // 1. upstream: flannel's default Backend.MTU = NIC, so devices and pods get NIC - 80; and the hand "fix" NIC - 60
    for (const [config, mtu] of [[`1. upstream NIC - 80 = ${nic - 80}`, nic - 80], [`1. hand fix NIC - 60 = ${nic - 60}`, nic - 60]] as const) {
      set(mtu, mtu);
      measure(config, mtu);
    }

    // 2. generated: device = Backend.MTU - 80 as flannel sets it, pods from cni-conf.json, in both WAN models
    const gen = `2. generated Backend.MTU ${inputs.backendMtu} -> devices ${inputs.overlayMtu}, pods ${inputs.podMtu}`;
    set(inputs.overlayMtu, inputs.podMtu);
    measure(gen, inputs.overlayMtu);
    for (const wan of [{ wanModel: 'icmp' }, { wanModel: 'frags', icmpBlackhole: false }] as const) {
      set(inputs.overlayMtu, inputs.podMtu, wan);
      const s = `${gen}, ${wan.wanModel === 'icmp' ? 'WAN drops ICMP frag-needed' : 'WAN drops fragments'}`;
      const flows: Array<[Endpoint, Target]> = [['podA', 'podB'], ['podB', 'podA'], ['nodeA', 'podB'], ...(dual ? [['podA', 'podB6'], ['podB', 'podA6']] as Array<[Endpoint, Target]> : [])];
      for (const [from, to] of flows) post(s, from, to, 'ok');
    }

    // 3. the padding cliff: one byte more on the device. Where the device is at its fit, every size
    // from floor16(fit) + 1 up to the device MTU is blackholed, not only the one above the fit.
    const more = inputs.overlayMtu + 1;
    const s3 = `3. one byte more: devices and pods ${more}`;
    set(more, more);
    measure(s3, more);
    for (const f of families) {
      if (more <= fit(f)) continue; // below its fit (dual-stack's roomier family): nothing to see
      const edge = floor16(fit(f));
      record(s3, `DF ping of ${edge} B podA -> ${target(f)} (the fit ${fit(f)} rounded down to 16)`, 'ok', lab.dfping('podA', target(f), edge).result);
      const failed = [];
      for (let size = edge + 1; size <= more; size++) if (lab.dfping('podA', target(f), size).result !== 'ok') failed.push(size);
      record(s3, `DF pings of ${edge + 1}..${more} B podA -> ${target(f)}: every one lost (${more - edge} sizes, ${fit(f) - edge} of them within the fit)`, 'fail', failed.length === more - edge ? 'fail' : `lost only ${failed.length}`);
    }

    // 4. the generated clamp alone, devices and pods left where upstream or the hand fix breaks them
    const broken = families.every((f) => nic - 80 > fit(f)) ? nic - 80 : nic - 60;
    for (const backend of ['legacy', 'nft'] as IptablesBackend[]) {
      set(broken, broken);
      lab.unclamp();
      const s4 = `4. generated clamp alone (MSS ${inputs.mss}${inputs.mssV6 !== null ? `/${inputs.mssV6}` : ''} on ${[...new Set([...inputs.clampDevices.v4, ...inputs.clampDevices.v6])].join(', ')}), devices and pods at ${broken}, iptables-${backend}`;
      const runs = lab.clamp({ script: files.script, envFile: files.generatedEnv, backend });
      record(s4, 'clamp script on both nodes', 'ok', runs.every((r) => r.result === 'ok') ? 'ok' : 'fail');
      for (const f of families) {
        const result = lab.post(INCIDENT_BODY, 'podA', target(f)).result;
        record(s4, `POST ${INCIDENT_BODY} B podA -> ${target(f)}`, 'ok', result);
        post(s4, 'podB', back(f), 'ok');
        const mss = f === 'ipv4' ? inputs.mss : inputs.mssV6;
        if (backend === 'nft') rows.push({ environment: inputs.environment, lab: labName, config: `generated clamp alone (MSS ${mss}), devices and pods at ${broken}`, deviceMtu: broken, family: f, fit: fit(f), largest: null, post: result });
      }
      if (backend === 'nft') {
        // control: the MSS without wireguard's padding (pod MTU - 40 / - 60), where that differs
        lab.unclamp();
        const naive = families.filter((f) => (f === 'ipv4' ? inputs.podMtu - 40 !== inputs.mss : inputs.podMtu - 60 !== inputs.mssV6));
        if (naive.length > 0) {
          lab.clamp({ script: files.script, envFile: files.naiveEnv, backend });
          const s4b = `4b. control: MSS pod MTU - 40${dual ? ' / - 60' : ''} (${inputs.podMtu - 40}${dual ? `/${inputs.podMtu - 60}` : ''}, not padding-aware), devices at ${broken}`;
          // full-size segments are pod MTU bytes, padded past the path whenever that exceeds floor16(fit)
          for (const f of naive) {
            const result = lab.post(INCIDENT_BODY, 'podA', target(f)).result;
            record(s4b, `POST ${INCIDENT_BODY} B podA -> ${target(f)}`, inputs.podMtu > floor16(fit(f)) ? 'hang' : 'ok', result);
            rows.push({ environment: inputs.environment, lab: labName, config: `clamp with MSS pod MTU - ${f === 'ipv4' ? 40 : 60} = ${inputs.podMtu - (f === 'ipv4' ? 40 : 60)} (not padding-aware), devices at ${broken}`, deviceMtu: broken, family: f, fit: fit(f), largest: null, post: result });
          }
        }
      }
    }
    lab.unclamp();
  } finally {
    lab.down();
  }
}

function okIf(measured: number, expected: number): string {
  return measured === expected ? 'ok' : `${measured}`;
}

/** The summary table of one or more runs: per lab mode, configuration and family, the largest packet that crosses and the POST. */
export function renderWireguardTable(reports: readonly WireguardReport[]): string {
  const lines = [
    '| environment | tunnel | configuration | family | fit | largest DF packet | POST 1616 B podA -> podB |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...reports.flatMap((report) => report.rows.map((r) =>
      `| ${r.environment} | ${r.lab} | ${r.config.replace(/^\d+\. /, '')} | ${r.family === 'ipv4' ? 'IPv4' : 'IPv6'} | ${r.fit} | ${r.largest ?? '-'} | ${r.post} |`)),
  ];
  return `${lines.join('\n')}\n`;
}
