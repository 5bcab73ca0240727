import { Command } from 'commander';
import { formatProblem, formatYamlPath, InputError, Problem } from '../model/errors';
import { MtuPlan } from '../mtu/plan';
import { PlannedFile, planFile } from '../synth-plan';
import { formatTable } from './table';

/** The plan as machine-readable JSON (`plan --json`): plain values, YAML paths as strings. */
export function planToJson(plan: MtuPlan, warnings: readonly Problem[] = plan.warnings): Record<string, unknown> {
  return {
    environment: plan.environment,
    mtuMode: plan.mtuMode,
    backend: plan.backend,
    dualStack: plan.dualStack,
    underlayMtu: plan.underlayMtu,
    underlayMtuV6: plan.underlayMtuV6,
    backendMtu: plan.backendMtu,
    flannelOverhead: plan.flannelOverhead,
    encapOverhead: plan.encapOverhead,
    encapOverheadV6: plan.encapOverheadV6,
    podMtu: plan.podMtu,
    mss: plan.mss,
    mssV6: plan.mssV6,
    binding: { ...plan.binding, path: formatYamlPath(plan.binding.path) },
    paths: plan.paths,
    clouds: plan.clouds.map((c) => ({ ...c, binding: { ...c.binding, path: formatYamlPath(c.binding.path) } })),
    links: plan.links,
    underlayClamps: plan.underlayClamps,
    devices: plan.devices,
    deviceMtus: plan.deviceMtus,
    nicMtuNeeded: plan.nicMtuNeeded,
    pmtud: plan.pmtud,
    reasoning: plan.reasoning,
    warnings: warnings.map(formatProblem),
  };
}

function pmtudText(p: MtuPlan['pmtud']): string {
  if (p.mode === 'off') return 'pod PMTUD: off (no tuning plugin; pods keep tcp_mtu_probing 0)';
  return `pod PMTUD: ${p.mode} (tcp_mtu_probing=${p.tcpMtuProbing}, tcp_base_mss ${p.baseMss ?? '1024, the kernel default'}; set in every pod by the CNI tuning plugin)`;
}

/** The plan for people: the numbers, every path's headroom, and the derivation. */
export function planToText(plan: MtuPlan): string {
  const v6 = (v: number | null) => (plan.dualStack ? ` / ${v}` : '');
  const family = plan.dualStack ? 'IPv4 / IPv6' : 'IPv4';
  const lines = [
    `${plan.environment}: ${plan.backend}, ${plan.dualStack ? 'dual-stack' : 'IPv4'}${plan.mtuMode === 'per-path' ? ', mtuMode per-path' : ''}`,
    '',
    formatTable(
      ['', family, ''],
      [
        ['underlay MTU', `${plan.underlayMtu}${v6(plan.underlayMtuV6)}`, `bound by ${plan.binding.kind} ${plan.binding.name} (${plan.binding.family === 'ipv4' ? 'IPv4' : 'IPv6'} ${plan.binding.mtu})`],
        ...(plan.mtuMode === 'per-path'
          ? [['smallest MTU', String(plan.podMtu), 'no pod packet is held below it; per cloud and per link below']]
          : [
            ['Backend.MTU', plan.backendMtu === null ? '-' : String(plan.backendMtu), plan.backendMtu === null ? `${plan.backend} takes none` : `net-conf.json; flannel subtracts ${plan.flannelOverhead}`],
            ['pod MTU', String(plan.podMtu), Object.keys(plan.deviceMtus).join(', ') + ', pod eth0'],
          ]),
        ...(plan.mtuMode === 'per-path' ? [] : [['TCP MSS', `${plan.mss}${v6(plan.mssV6)}`, plan.tunnelMode !== null ? 'pod MTU held to a multiple of 16 within each fit (wireguard padding), - 40 (IPv4), - 60 (IPv6)' : 'pod MTU - 40 (IPv4), - 60 (IPv6)']]),
      ],
    ),
    pmtudText(plan.pmtud),
    '',
    formatTable(
      ['path', 'between', `path MTU (${family})`, 'headroom'],
      plan.paths.map((p) => [
        `${p.kind} ${p.name}`,
        p.from === p.to ? `inside ${p.from}` : `${p.from} <-> ${p.to}`,
        `${p.pathMtu}${v6(p.pathMtuV6)}`,
        `${p.headroom}${v6(p.headroomV6)}${p.kind === plan.binding.kind && p.name === plan.binding.name ? '  <- binding' : ''}`,
      ]),
    ),
    ...(plan.mtuMode === 'per-path'
      ? [
        '',
        formatTable(
          ['cloud', 'pod MTU', 'Backend.MTU', 'TCP MSS', 'bound by'],
          plan.clouds.map((c) => [c.name, String(c.podMtu), c.backendMtu === null ? '-' : String(c.backendMtu), `${c.mss}${v6(c.mssV6)}`, `${c.binding.kind} ${c.binding.name} (${c.binding.family === 'ipv4' ? 'IPv4' : 'IPv6'} ${c.binding.mtu})`]),
        ),
        '',
        formatTable(
          ['link', 'between', 'overlay MTU', 'TCP MSS', ''],
          plan.links.map((l) => [l.name, `${l.between[0]} <-> ${l.between[1]}`, String(l.overlayMtu), `${l.mss}${v6(l.mssV6)}`, 'route MTU between the clouds\' pod subnets']),
        ),
      ]
      : []),
    ...(plan.underlayClamps.length > 0
      ? [
        '',
        formatTable(
          ['underlay clamp on', 'to', 'destination', 'path MTU', 'MSS'],
          plan.underlayClamps.map((u) => [u.cloud, `${u.to} (link ${u.link})`, u.cidr, String(u.pathMtu), String(u.mss)]),
        ),
      ]
      : []),
    '',
    'why:',
    ...plan.reasoning.map((r) => `  - ${r}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function planCommand(): Command {
  return new Command('plan')
    .description('derive and explain the MTU plan of environment files')
    .argument('<files...>', 'environment YAML files')
    .option('--json', 'print JSON for machines: one object for one file, an array for several')
    .addHelpText('after', '\nWarnings go to stderr, with the file. Exit codes: 0 planned, 1 a file is bad (every bad file is reported).')
    .action((files: string[], opts: { json?: boolean }) => {
      const planned: PlannedFile[] = [];
      const problems: Problem[] = [];
      for (const file of files) {
        try {
          planned.push(planFile(file));
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          problems.push(...e.problems);
        }
      }
      if (problems.length > 0) throw new InputError(problems);
      for (const w of planned.flatMap((p) => p.warnings)) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      if (opts.json) {
        const json = planned.map((p) => planToJson(p.plan, p.warnings));
        process.stdout.write(`${JSON.stringify(json.length === 1 ? json[0] : json, null, 2)}\n`);
      } else {
        process.stdout.write(planned.map((p) => planToText(p.plan)).join('\n'));
      }
    });
}
