import { formatProblem } from '../model/errors';
import { MtuPlan } from '../mtu/plan';
import { renderMermaid } from './mermaid';
import { FieldChange, OutputDiff } from './output-diff';
import { Change, CloudChange, DeviceChange, DiffReport, PerPathDiff, PlanDiff, RiskLevel } from './plan-diff';

/** First line of every diff comment: lets CI find and update its own earlier comment on a pull request. */
export const DIFF_COMMENT_MARKER = '<!-- flannel-mtu-diff -->';

const LEVELS: Readonly<Record<RiskLevel, string>> = {
  'none': 'no change',
  'lower': 'pod MTU lowered',
  'raise': 'pod MTU raised',
  'same-mtu': 'plan changed, pod MTU unchanged',
  'output-only': 'output changed, MTU plan unchanged',
  'mode-switch': 'mtuMode switched',
  'new': 'new environment',
  'removed': 'environment removed',
};

/** Per-path: pod MTUs and link overlay MTUs move separately, so the labels say "MTU". */
const PER_PATH_LEVELS: Partial<Record<RiskLevel, string>> = {
  'lower': 'MTU lowered',
  'raise': 'MTU raised',
  'same-mtu': 'plan changed, MTUs unchanged',
};

function level(e: PlanDiff): string {
  return (e.perPath !== undefined ? PER_PATH_LEVELS[e.risk.level] : undefined) ?? LEVELS[e.risk.level];
}

/**
 * The diff as a pull-request comment: a summary table of every environment, then for each one that
 * changed the numbers, the binding constraint, every path's headroom, what merging does, the risk,
 * the topology and the derivation.
 */
export function renderDiffMarkdown(report: DiffReport): string {
  const changed = report.environments.filter((e) => e.status !== 'unchanged');
  const out: string[] = [DIFF_COMMENT_MARKER, '## flannel-mtu: MTU plan changes', ''];
  const of = `${changed.length} of ${report.environments.length} environment${report.environments.length === 1 ? '' : 's'} changed`;
  out.push(report.base === null ? `${of}.` : `Compared with \`${report.base}\`: ${of}.`, '');
  out.push(
    ...markdownTable(
      ['environment', 'change', 'pod MTU', 'Backend.MTU', 'TCP MSS'],
      report.environments.map((e) => {
        const n = (key: string) => e.numbers.find((c) => c.key === key) ?? { old: null, new: null };
        const pp = e.perPath;
        if (pp !== undefined) {
          // Per-path: each cloud's own numbers; the cluster-wide ones are only the smallest.
          const perCloud = (f: (c: CloudChange) => string) => pp.clouds.map((c) => `${c.cloud} ${f(c)}`).join(', ');
          return [`\`${e.environment}\``, level(e), perCloud((c) => cell(c.podMtu)), perCloud((c) => cell(c.backendMtu)), perCloud((c) => cell(c.mss, c.mssV6))];
        }
        return [`\`${e.environment}\``, level(e), cell(n('podMtu')), cell(n('backendMtu')), cell(n('mss'), n('mssV6'))];
      }),
    ),
  );
  for (const e of changed) out.push('', ...section(e));
  return `${out.join('\n')}\n`;
}

/** `flannel-mtu explain`: the topology diagram and the derivation of one plan. */
export function renderExplainMarkdown(plan: MtuPlan): string {
  const stack = plan.dualStack ? 'dual-stack' : 'IPv4';
  const mtus = plan.mtuMode === 'per-path'
    ? `per-path, pod MTU ${plan.clouds.map((c) => `${c.name} ${c.podMtu}`).join(', ')}; overlay MTU ${plan.links.map((l) => `${l.name} ${l.overlayMtu}`).join(', ')}`
    : `pod MTU ${plan.podMtu}`;
  return `${[
    `### \`${plan.environment}\`: ${mtus} (${plan.backend}, ${stack})`,
    '',
    ...mermaidFence(renderMermaid(plan)),
    '',
    ...plan.reasoning.map((r) => `- ${r}`),
    ...warnings(plan.warnings.map(formatProblem)),
  ].join('\n')}\n`;
}

function section(e: PlanDiff): string[] {
  const out = [`### \`${e.environment}\`: ${level(e)}`, ''];
  if (e.source.old !== null || e.source.new !== null) {
    const src = (file: string | null, absent: boolean) => `${file === null ? '(none)' : `\`${file}\``}${absent ? ' (absent)' : ''}`;
    out.push(`${src(e.source.old, e.status === 'added')} -> ${src(e.source.new, e.status === 'removed')}`, '');
  }
  const settingName = { backend: 'backend', dualStack: 'dual-stack', mtuMode: 'mtuMode' } as const;
  for (const s of e.settings) out.push(`- ${settingName[s.key]}: ${s.old ?? '-'} -> ${s.new ?? '-'}`);
  if (e.settings.length > 0) out.push('');
  if (e.perPath !== undefined) {
    out.push(...perPathNumbers(e.perPath));
    out.push(`**Smallest path** (no pod packet is held below it; each cloud's pod MTU is bound inside the cloud): ${e.binding.why}.`, '');
  } else {
    const numbers = e.numbers.filter((c) => c.changed);
    if (numbers.length > 0) {
      out.push(...markdownTable(['', 'before', 'after'], numbers.map((c) => [c.label, dash(c.old), dash(c.new)]), ['---', '---:', '---:']), '');
    }
    out.push(`**Binding constraint:** ${e.binding.why}.`, '');
  }
  const families = e.paths.some((p) => p.pathMtuV6.old !== null || p.pathMtuV6.new !== null) ? ' (IPv4 / IPv6)' : '';
  out.push(
    `**Headroom**, the bytes each path could carry beyond the largest overlay packet${families}:`,
    '',
    ...markdownTable(
      ['path', 'between', 'path MTU', 'headroom'],
      e.paths.map((p) => [
        `${p.kind} \`${p.name}\`${p.binding ? (e.perPath !== undefined ? ' (smallest)' : ' (binding)') : ''}`,
        p.from === p.to ? `inside ${p.from}` : `${p.from} <-> ${p.to}`,
        cell(p.pathMtu, p.pathMtuV6),
        cell(p.headroom, p.headroomV6),
      ]),
      ['---', '---', '---:', '---:'],
    ),
    '',
  );
  if (e.perPath !== undefined) out.push(...routeMtus(e.perPath));
  out.push(...underlayClamps(e));
  out.push('**When merged:**', '', ...(e.perPath !== undefined ? perPathEffects(e, e.perPath) : effects(e)), '');
  out.push(`**Risk:** ${e.risk.text}.`);
  out.push(...warnings(e.warnings), '');
  if (e.output !== undefined) out.push(...outputChanges(e.output));
  out.push(...mermaidFence(e.mermaid), '');
  out.push(`<details><summary>How the ${e.status === 'removed' ? 'old' : 'new'} numbers are derived</summary>`, '', ...e.reasoning.map((r) => `- ${r}`), '', '</details>');
  return out;
}

/** The underlay clamps that change (node-to-node TCP between clouds, chain FLANNEL-MTU-UNDERLAY), or nothing. */
function underlayClamps(e: PlanDiff): string[] {
  const changed = e.underlayClamps.filter((c) => c.status !== 'unchanged');
  if (changed.length === 0) return [];
  const mss = (c: (typeof changed)[number]) =>
    c.status === 'added' ? `new, ${c.mss.new}` : c.status === 'removed' ? `${c.mss.old}, removed` : c.mss.old === c.mss.new ? String(c.mss.new) : `${c.mss.old} -> ${c.mss.new}`;
  return [
    '**Underlay MSS clamp**, node-to-node TCP between clouds outside the overlay (kubelet, API server, hostNetwork), path MTU - 40 (IPv4) / - 60 (IPv6):',
    '',
    ...markdownTable(
      ['on nodes of', 'to', 'destination', 'path MTU', 'MSS'],
      changed.map((c) => [c.cloud, `${c.to} (link \`${c.link}\`)`, `\`${c.cidr}\``, cell(c.pathMtu), mss(c)]),
      ['---', '---', '---', '---:', '---:'],
    ),
    '',
  ];
}

function effects(e: PlanDiff): string[] {
  const fx = e.effects;
  if (e.status === 'removed') return ['- nothing is applied for this environment any more'];
  const podMtu = e.numbers.find((c) => c.key === 'podMtu')!.new;
  const config = e.numbers.filter((c) => c.changed && (c.key === 'backendMtu' || c.key === 'podMtu')).map((c) => `${c.label} ${change(c)}`);
  const ns = fx.rolloutNamespaces;
  const pods =
    ns === null || ns.length === 0
      ? `- pods must be recreated so that their eth0 gets ${podMtu}: this environment configures no rollout namespaces, so no rollout Job does it; recreate its overlay pods yourself`
      : `- the rollout Job recreates pods once the DaemonSet has rolled out, so that their eth0 gets ${podMtu}: workloads in the configured rollout namespaces, in order: ${ns.map((n) => `\`${n}\``).join(', ')}`;
  return [
    fx.daemonSetRolls
      ? `- the flannel DaemonSet \`${fx.daemonSet}\` ${e.status === 'added' ? 'is created' : config.length > 0 || e.output === undefined ? `rolls: the config checksum on its pod template changes${config.length > 0 ? ` (${config.join(', ')})` : ''}` : 'rolls: its pod template changes (every field below)'}`
      : `- the flannel DaemonSet \`${fx.daemonSet}\` does not roll: its configuration is unchanged`,
    fx.nodeMtus.length > 0
      ? `- on every node, the \`apply-node-mtu\` init container sets ${fx.nodeMtus.map((d) => `\`${d.device}\` ${change(d)}`).join(', ')}`
      : '- node device MTUs stay as they are',
    fx.podsRecreated ? pods : '- pods keep their MTU: nothing needs recreating',
    ...(e.underlayClamps.some((c) => c.status !== 'unchanged')
      ? ['- on every node, the `tcp-mss-clamp` init container replaces the underlay clamp rules of its cloud (chain `FLANNEL-MTU-UNDERLAY`); new node-to-node connections get the new MSS']
      : []),
  ];
}

/** Per-path: every cloud's own numbers and DaemonSet, and every link's overlay MTU. */
function perPathNumbers(pp: PerPathDiff): string[] {
  const uniformSide = pp.mtuMode.old === 'uniform' ? 'before' : pp.mtuMode.new === 'uniform' ? 'after' : null;
  return [
    `**Per cloud**, what each cloud's flannel DaemonSet gives its nodes and pods${uniformSide !== null ? ` (${uniformSide}: uniform, the cluster's numbers on every cloud)` : ''}:`,
    '',
    ...markdownTable(
      ['cloud', 'pod MTU', 'Backend.MTU', 'TCP MSS'],
      pp.clouds.map((c) => [c.cloud, cell(c.podMtu), cell(c.backendMtu), cell(c.mss, c.mssV6)]),
      ['---', '---:', '---:', '---:'],
    ),
    '',
    `**Per link**, the largest pod packet between the two clouds${uniformSide !== null ? ` (${uniformSide}: uniform, the cluster pod MTU)` : ''}:`,
    '',
    ...markdownTable(
      ['link', 'between', 'overlay MTU', 'TCP MSS'],
      pp.links.map((l) => [`\`${l.name}\``, `${l.between[0]} <-> ${l.between[1]}`, cell(l.overlayMtu), cell(l.mss, l.mssV6)]),
      ['---', '---', '---:', '---:'],
    ),
    '',
  ];
}

/** Per-path: the route MTUs the route-MTU keepers set, per cloud toward each peer (a uniform side has none). */
function routeMtus(pp: PerPathDiff): string[] {
  if (pp.routeMtus.length === 0) return [];
  return [
    '**Route MTUs** the route-MTU keeper (in each cloud\'s flannel pods) sets on the routes to the other cloud\'s pod subnets, the link\'s overlay MTU:',
    '',
    ...markdownTable(
      ['on nodes of', 'routes to pods of', 'link', 'route MTU'],
      pp.routeMtus.map((r) => [r.cloud, r.peer, `\`${r.link}\``, r.mtu.old === null ? `new, ${r.mtu.new}` : r.mtu.new === null ? `${r.mtu.old}, removed` : cell(r.mtu)]),
      ['---', '---', '---', '---:'],
    ),
    '',
  ];
}

function perPathEffects(e: PlanDiff, pp: PerPathDiff): string[] {
  if (e.status === 'removed') return ['- nothing is applied for this environment any more'];
  const fx = e.effects;
  const ds = pp.daemonSets.map((d) => {
    const name = `\`${d.name}\``;
    if (d.status === 'created') return `- the flannel DaemonSet ${name} is created`;
    if (d.status === 'pruned') return `- the flannel DaemonSet ${name} is no longer generated: the GitOps tool deletes it when it prunes`;
    if (d.status === 'unchanged') return `- the flannel DaemonSet ${name} does not roll: its pod template is unchanged`;
    return `- the flannel DaemonSet ${name} rolls: its pod template changes (${d.reasons.join('; ')})`;
  });
  const byCloud = new Map<string, DeviceChange[]>();
  for (const d of fx.nodeMtus) byCloud.set(d.cloud ?? '', [...(byCloud.get(d.cloud ?? '') ?? []), d]);
  const devices = [...byCloud].map(([cloud, list]) => `- on the nodes of ${cloud}, the \`apply-node-mtu\` init container sets ${list.map((d) => `\`${d.device}\` ${change(d)}`).join(', ')}`);
  const routes = pp.routeMtus.filter((r) => r.changed && r.mtu.new !== null);
  const recreated = pp.clouds.filter((c) => c.podsRecreated);
  const ns = fx.rolloutNamespaces;
  const waits = pp.daemonSets.filter((d) => d.status !== 'pruned').map((d) => `\`${d.name}\``).join(', ');
  const newMtus = recreated.map((c) => `${c.cloud} ${c.podMtu.new}`).join(', ');
  const pods = recreated.length === 0
    ? '- pods keep their MTU: no cloud\'s pod MTU changes, nothing needs recreating'
    : ns === null || ns.length === 0
      ? `- pods must be recreated so that their eth0 gets their cloud's new pod MTU (${newMtus}): this environment configures no rollout namespaces, so no rollout Job does it; recreate its overlay pods yourself`
      : `- the rollout Job recreates pods once every flannel DaemonSet (${waits}) has rolled out, in order, so that their eth0 gets their cloud's new pod MTU (${newMtus}): workloads in the configured rollout namespaces, in order: ${ns.map((n) => `\`${n}\``).join(', ')}`;
  return [
    ...ds,
    ...(devices.length > 0 ? devices : ['- node device MTUs stay as they are']),
    ...(routes.length > 0
      ? [`- on every node, the \`route-mtu-keeper\` sidecar sets the new route MTUs (${routes.map((r) => `on ${r.cloud} toward ${r.peer} ${r.mtu.old === null ? '' : `${r.mtu.old} -> `}${r.mtu.new}`).join(', ')}); pods keep their eth0 MTU, and a packet above its route's MTU gets "fragmentation needed" from its own node`]
      : []),
    pods,
    ...(e.underlayClamps.some((c) => c.status !== 'unchanged')
      ? ['- on every node, the `tcp-mss-clamp` init container replaces the underlay clamp rules of its cloud (chain `FLANNEL-MTU-UNDERLAY`); new node-to-node connections get the new MSS']
      : []),
  ];
}

/**
 * Every change to the generated output, by what merging does; the fields of an item below it.
 * Nothing the synthesized bytes differ in is left out: what no group claims is under "Other changes".
 */
function outputChanges(output: OutputDiff): string[] {
  if (output.groups.length === 0) return [];
  const v = (x: string) => `\`${x.replace(/`/g, "'")}\``;
  const field = (f: FieldChange) => `  - \`${f.path}\`: ${f.old === null ? `added, ${v(f.new!)}` : f.new === null ? `${v(f.old)}, removed` : `${v(f.old)} -> ${v(f.new)}`}`;
  return [
    `**Every change to the generated output** (${output.objects.length} object${output.objects.length === 1 ? '' : 's'}), by what merging does:`,
    '',
    ...output.groups.flatMap((g) => [`- ${g.title}:`, ...g.items.flatMap((i) => [`  - ${i.text}`, ...i.fields.map((f) => `  ${field(f)}`)])]),
    '',
  ];
}

function warnings(list: readonly string[]): string[] {
  return list.length === 0 ? [] : ['', ...list.map((w) => `> warning: ${w}`)];
}

function mermaidFence(diagram: string): string[] {
  return ['```mermaid', ...diagram.trimEnd().split('\n'), '```'];
}

function dash(v: number | null): string {
  return v === null ? '-' : String(v);
}

/** `1380 -> 1360`, or `to 1360` for something new. */
function change(c: Change<number>): string {
  return c.old === null ? `to ${c.new}` : `${c.old} -> ${dash(c.new)}`;
}

/** One table cell: `1420 / 1410`, or `1420 / 1410 -> 1420 / 1380` when it changed; `-` where a side has none. */
function cell(v4: Change<number>, v6: Change<number> = { old: null, new: null }): string {
  const side = (a: number | null, b: number | null) => (a === null ? '-' : b === null ? String(a) : `${a} / ${b}`);
  const before = side(v4.old, v6.old);
  const after = side(v4.new, v6.new);
  return before === after ? after : `${before} -> ${after}`;
}

/** A Markdown table, one line per row; `align` defaults to `---` for every column. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly string[]): string[] {
  const line = (r: readonly string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(align ?? header.map(() => '---')), ...rows.map(line)];
}
