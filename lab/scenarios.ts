/**
 * The end-to-end proof, on a real kernel: the incident with upstream's numbers, then the numbers
 * flannel-mtu generated (read from dist/ by labInputs), then the generated clamp alone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Endpoint, envFileText, IptablesBackend, LabTopology, MtuLab, Target, WanModel } from './engine';
import { LabInputs } from './manifest';

/** The body size of the request that hung in the incident. */
export const INCIDENT_BODY = 1616;

export interface Check {
  readonly scenario: string;
  readonly what: string;
  readonly expected: 'ok' | 'hang' | 'fail';
  readonly actual: string;
  readonly pass: boolean;
}

export interface ThroughputRow {
  readonly config: string;
  readonly podMtu: number;
  readonly mbps: number;
}

export interface LabReport {
  readonly inputs: LabInputs;
  readonly checks: readonly Check[];
  readonly throughput: readonly ThroughputRow[];
}

/** The lab's node subnets: node A's cloud, node B's cloud. */
const LAB_NODE_CIDRS = ['192.168.100.0/24', '192.168.200.0/24'];

/**
 * The clamp's env from the manifest with the two clouds' node subnets (documentation addresses,
 * never targets) replaced by the lab's; every MSS stays as the manifest has it, and rules for other
 * clouds are dropped. HOST_IP is left to the lab, which passes each node's own underlay address as
 * the downward API would.
 */
export function labClampEnv(env: Readonly<Record<string, string>>, clouds: readonly [string, string]): Record<string, string> {
  const { HOST_IP: _hostIp, NODE_CIDRS: nodeCidrs, UNDERLAY_RULES_V4: underlay, ...rest } = env;
  if (nodeCidrs === undefined || underlay === undefined) return rest;
  const labCidr = new Map(clouds.map((c, i) => [c, LAB_NODE_CIDRS[i]]));
  const cloudOf = new Map(nodeCidrs.split('\n').filter(Boolean).map((l) => [l.split(' ')[1], l.split(' ')[0]]));
  const rules = underlay.split('\n').filter(Boolean).flatMap((line) => {
    const [cloud, ...spec] = line.split(' ');
    const target = /^-d (\S+) /.exec(spec.join(' '))?.[1];
    const to = target === undefined ? undefined : labCidr.get(cloudOf.get(target) ?? '');
    return labCidr.has(cloud) && to !== undefined ? [`${cloud} ${spec.join(' ').replace(`-d ${target} `, `-d ${to} `)}`] : [];
  });
  return {
    ...rest,
    NODE_CIDRS: clouds.map((c) => `${c} ${labCidr.get(c)}`).join('\n'),
    UNDERLAY_RULES_V4: [...new Set(rules)].join('\n'),
  };
}

/** Runs every scenario in one lab (built once, changed in place); tears it down whatever happens. */
export function runScenarios(inputs: LabInputs, options: { iperf?: boolean; log?: (line: string) => void } = {}): LabReport {
  const log = options.log ?? (() => undefined);
  const lab = new MtuLab({ postTimeoutSeconds: 3, iperfSeconds: 2 });
  const checks: Check[] = [];
  const throughput: ThroughputRow[] = [];
  const underlay = { nicMtuA: inputs.nicMtuA, nicMtuB: inputs.nicMtuB, pathMtu: inputs.pathMtu };
  const upstream = { overlayMtuA: inputs.nicMtuA - 50, overlayMtuB: inputs.nicMtuB - 50 };
  const generated = { overlayMtuA: inputs.overlayMtu, overlayMtuB: inputs.overlayMtu, podMtuA: inputs.podMtu, podMtuB: inputs.podMtu };
  const record = (scenario: string, what: string, expected: Check['expected'], actual: string) => {
    const check = { scenario, what, expected, actual, pass: actual === expected };
    checks.push(check);
    log(`${check.pass ? 'pass' : 'FAIL'}  ${scenario}: ${what}: ${actual}${check.pass ? '' : ` (expected ${expected})`}`);
  };
  const post = (scenario: string, size: number, from: Endpoint, to: Target, expected: Check['expected']) =>
    record(scenario, `POST ${size} B ${from} -> ${to}`, expected, lab.post(size, from, to).result);
  const set = (t: LabTopology, wanModel: WanModel = 'icmp') => lab.reconfig({ ...underlay, wanModel, ...t });

  const clampDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-clamp-'));
  try {
    lab.up({ ...underlay, ...upstream });
    for (const wanModel of ['icmp', 'frags'] as const) {
      const model = wanModel === 'icmp' ? 'WAN drops ICMP frag-needed' : 'WAN drops fragments';
      set(upstream, wanModel);
      const s1 = `1. upstream NIC - 50 = ${upstream.overlayMtuA}, ${model}`;
      post(s1, 200, 'podA', 'podB', 'ok');
      post(s1, INCIDENT_BODY, 'podA', 'podB', 'hang');
      if (wanModel === 'icmp') post(s1, INCIDENT_BODY, 'nodeA', 'nodeB-ul', 'hang'); // hostNetwork, no overlay: NIC 1400 > path
      set(generated, wanModel);
      const s2 = `2. generated pod MTU ${inputs.podMtu} (Backend.MTU ${inputs.backendMtu}), ${model}`;
      for (const [from, to] of [['podA', 'podB'], ['podB', 'podA'], ['nodeA', 'podB']] as Array<[Endpoint, Endpoint]>) {
        post(s2, INCIDENT_BODY, from, to, 'ok');
      }
    }

    set({ overlayMtuA: inputs.overlayMtu + 1, overlayMtuB: inputs.overlayMtu + 1, podMtuA: inputs.podMtu + 1, podMtuB: inputs.podMtu + 1 });
    const s3 = `3. one byte more: pod MTU ${inputs.podMtu + 1}`;
    post(s3, INCIDENT_BODY, 'podA', 'podB', 'hang');
    record(s3, `DF ping of ${inputs.podMtu} B podA -> podB`, 'ok', lab.dfping('podA', 'podB', inputs.podMtu).result);
    record(s3, `DF ping of ${inputs.podMtu + 1} B podA -> podB`, 'fail', lab.dfping('podA', 'podB', inputs.podMtu + 1).result);

    const script = path.join(clampDir, 'tcp-mss-clamp.sh');
    const envFile = path.join(clampDir, 'clamp.env');
    fs.writeFileSync(script, inputs.clamp.script);
    fs.writeFileSync(envFile, envFileText(labClampEnv(inputs.clamp.env, inputs.clouds)));
    for (const backend of ['legacy', 'nft'] as IptablesBackend[]) {
      set(upstream);
      lab.unclamp();
      const s4 = `4. generated clamp alone (MSS ${inputs.mss}), MTUs at upstream ${upstream.overlayMtuA}, iptables-${backend}`;
      const runs = lab.clamp({ script, envFile, backend });
      record(s4, 'clamp script on both nodes', 'ok', runs.every((r) => r.result === 'ok') ? 'ok' : 'fail');
      post(s4, INCIDENT_BODY, 'podA', 'podB', 'ok');
      post(s4, INCIDENT_BODY, 'nodeA', 'podB', 'ok');
      if (inputs.clamp.env.UNDERLAY_RULES_V4) post(s4, INCIDENT_BODY, 'nodeA', 'nodeB-ul', 'ok'); // the underlay clamp
    }
    lab.unclamp();

    if (options.iperf !== false) {
      const configs: Array<[string, number]> = [
        ['generated', inputs.podMtu],
        ['hand fix of the incident (Backend.MTU 1300)', 1300 - 50],
        ['1000', 1000],
      ];
      for (const [config, mtu] of configs) {
        set({ overlayMtuA: mtu, overlayMtuB: mtu });
        // Best of three short runs: the lab shares two cores with whatever else runs.
        const mbps = Math.max(...[1, 2, 3].map(() => lab.iperf('podA', 'podB').mbps_received));
        throughput.push({ config, podMtu: mtu, mbps });
        log(`iperf3 podA -> podB at ${mtu}: ${mbps} Mbit/s`);
      }
    }
  } finally {
    lab.down();
    fs.rmSync(clampDir, { recursive: true, force: true });
  }
  return { inputs, checks, throughput };
}

/** The report as Markdown, for the terminal and the README. */
export function renderReport(report: LabReport): string {
  const i = report.inputs;
  const lines = [
    `lab: ${i.environment} from ${i.manifestFile}: ${i.clouds[0]} (NIC ${i.nicMtuA}) <-> ${i.clouds[1]} (NIC ${i.nicMtuB}) over ${i.link} (path MTU ${i.pathMtu})`,
    `applied from the manifest: Backend.MTU ${i.backendMtu} -> ${i.backend === 'wireguard' ? `${[...new Set([...i.clampDevices.v4, ...i.clampDevices.v6])].join(', ')} (wireguard-go, Mode ${i.tunnelMode})` : 'flannel.1'} ${i.overlayMtu}; cni-conf pod MTU ${i.podMtu}; clamp MSS ${i.mss}${i.mssV6 !== null ? `/${i.mssV6}` : ''}`,
    '',
    '| scenario | check | expected | result |',
    '| --- | --- | --- | --- |',
    ...report.checks.map((c) => `| ${c.scenario} | ${c.what} | ${c.expected} | ${c.pass ? c.actual : `**${c.actual}**`} |`),
  ];
  if (report.throughput.length > 0) {
    const base = report.throughput[0].mbps;
    lines.push('', '| iperf3 podA -> podB, GSO off | pod MTU | Mbit/s | vs generated |', '| --- | --- | --- | --- |');
    for (const t of report.throughput) lines.push(`| ${t.config} | ${t.podMtu} | ${t.mbps.toFixed(0)} | ${base > 0 ? `${((t.mbps / base) * 100).toFixed(0)}%` : '-'} |`);
  }
  const failed = report.checks.filter((c) => !c.pass).length;
  lines.push('', `${report.checks.length - failed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
