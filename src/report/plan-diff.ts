import { BackendType, MtuMode, ResolvedEnvironment } from '../model/environment';
import { formatProblem, formatYamlPath } from '../model/errors';
import { FLANNEL_DAEMON_SET, flannelDaemonSetName } from '../constructs/names';
import { Constraint, familyName, IpFamily, MtuPlan, paddingCliffStart, PathPlan, peerLinks, UnderlayClamp, upstreamDeviceMtu } from '../mtu/plan';
import { renderMermaid } from './mermaid';
import { diffOutputs, OutputDiff, OutputSide } from './output-diff';

/**
 * What changes between two MTU plans of one environment, for reviewers of a pull request.
 * Pure: compares plans the planner derived and computes no MTU of its own.
 */

/** `added`: no old plan (a new environment); `removed`: no new plan. */
export type DiffStatus = 'added' | 'removed' | 'changed' | 'unchanged';

/** An old and a new value; null where the plan has none (single-stack, host-gw, absent environment). */
export interface Change<T> {
  readonly old: T | null;
  readonly new: T | null;
}

/** The plan numbers a reviewer checks, in the order reports list them. */
export const PLAN_NUMBERS = [
  { key: 'underlayMtu', label: 'underlay MTU (IPv4)' },
  { key: 'underlayMtuV6', label: 'underlay MTU (IPv6)' },
  { key: 'backendMtu', label: 'Backend.MTU' },
  { key: 'podMtu', label: 'pod MTU' },
  { key: 'mss', label: 'TCP MSS (IPv4)' },
  { key: 'mssV6', label: 'TCP MSS (IPv6)' },
] as const;

export type PlanNumber = (typeof PLAN_NUMBERS)[number]['key'];

export interface NumberChange extends Change<number> {
  readonly key: PlanNumber;
  readonly label: string;
  readonly changed: boolean;
}

/** A binding constraint as plain data (the YAML path as a string). */
export interface ConstraintRef {
  readonly kind: 'cloud' | 'link';
  readonly name: string;
  readonly family: IpFamily;
  readonly mtu: number;
  /** Where it is declared, e.g. `links[0].pathMtu`. */
  readonly path: string;
}

export interface BindingChange extends Change<ConstraintRef> {
  /** Whether a different cloud, link or family binds now. */
  readonly moved: boolean;
  /** The MTU of the new binding cloud or link (its family) in the old and the new plan. */
  readonly newBindingMtu: Change<number>;
  /** The MTU of the old binding cloud or link (its family) in the old and the new plan. */
  readonly oldBindingMtu: Change<number>;
  /** One sentence: which constraint binds and why that changed. */
  readonly why: string;
}

/** One underlay path in either plan, with its path MTU and headroom before and after. */
export interface PathChange {
  readonly kind: 'cloud' | 'link';
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly pathMtu: Change<number>;
  readonly pathMtuV6: Change<number>;
  readonly headroom: Change<number>;
  readonly headroomV6: Change<number>;
  /** Whether this path holds the binding constraint of the new plan (of the old one when removed). */
  readonly binding: boolean;
  readonly changed: boolean;
}

/**
 * One underlay MSS clamp (node-to-node TCP outside the overlay) in either plan: installed on the
 * nodes of `cloud` for packets to `cidr` in cloud `to`, with its MSS before and after.
 */
export interface UnderlayClampChange {
  readonly cloud: string;
  readonly to: string;
  readonly cidr: string;
  readonly family: IpFamily;
  /** The link the clamp's path MTU comes from (the new plan's, the old one's when removed). */
  readonly link: string;
  readonly pathMtu: Change<number>;
  readonly mss: Change<number>;
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
}

export type SettingChange =
  | ({ readonly key: 'backend' } & Change<BackendType>)
  | ({ readonly key: 'dualStack' } & Change<boolean>)
  | ({ readonly key: 'mtuMode' } & Change<MtuMode>);

export interface DeviceChange extends Change<number> {
  readonly device: string;
  /** Per-path mode: the cloud whose nodes get it (absent when uniform: every node). */
  readonly cloud?: string;
}

/** What merging the change does to a running cluster. */
export interface Effects {
  /** Whether a flannel DaemonSet's pod template (config checksum, init container or sidecar env) changes, so it rolls, or one is created. */
  readonly daemonSetRolls: boolean;
  /** The flannel DaemonSet, `kube-flannel-ds`; where either side is per-path, the new side's names joined by ", " (each one in `perPath.daemonSets`). */
  readonly daemonSet: string;
  /** Devices whose MTU the `apply-node-mtu` init container changes, by name (per-path: by cloud, then name). */
  readonly nodeMtus: readonly DeviceChange[];
  /** Whether pods must be recreated to get the new MTU (a veth's MTU is fixed at pod creation); per-path: in any cloud. */
  readonly podsRecreated: boolean;
  /** The namespaces the rollout Job restarts, in order, or null when the environment has no rollout Job. */
  readonly rolloutNamespaces: readonly string[] | null;
}

export type RiskLevel = 'none' | 'lower' | 'raise' | 'same-mtu' | 'output-only' | 'mode-switch' | 'new' | 'removed';

export interface Risk {
  readonly level: RiskLevel;
  readonly text: string;
}

/**
 * One cloud's own numbers in either plan (per-path: the cloud's; uniform: the cluster's, which
 * every cloud shares), and whether its pods must be recreated.
 */
export interface CloudChange {
  readonly cloud: string;
  readonly podMtu: Change<number>;
  readonly backendMtu: Change<number>;
  readonly mss: Change<number>;
  readonly mssV6: Change<number>;
  /** Whether this cloud's pods must be recreated to get the new pod MTU. */
  readonly podsRecreated: boolean;
  readonly changed: boolean;
}

/** The overlay MTU across one link in either plan (per-path: the link's own; uniform: the cluster pod MTU). */
export interface LinkChange {
  readonly name: string;
  readonly between: readonly [string, string];
  readonly overlayMtu: Change<number>;
  readonly mss: Change<number>;
  readonly mssV6: Change<number>;
  readonly changed: boolean;
}

/**
 * A route MTU the route-MTU keeper sets (per-path mode; null on a uniform side, which has no
 * keeper): on the nodes of `cloud`, on flannel's routes to the pod subnets of `peer`.
 */
export interface RouteMtuChange {
  readonly cloud: string;
  readonly peer: string;
  readonly link: string;
  readonly mtu: Change<number>;
  readonly changed: boolean;
}

/** One flannel DaemonSet of either manifest and what merging does to it. */
export interface DaemonSetChange {
  readonly name: string;
  /** The cloud it serves (per-path), or null for the cluster-wide `kube-flannel-ds`. */
  readonly cloud: string | null;
  /** `created`: only in the new manifest; `pruned`: only in the old one (deleted when the GitOps tool prunes). */
  readonly status: 'created' | 'rolls' | 'unchanged' | 'pruned';
  /** What changes in its pod template when it rolls. */
  readonly reasons: readonly string[];
}

/** Per-cloud and per-link numbers, for diffs where either side is mtuMode per-path. */
export interface PerPathDiff {
  readonly mtuMode: Change<MtuMode>;
  /** Every cloud of either plan: the new plan's order, then clouds only the old plan had. */
  readonly clouds: readonly CloudChange[];
  /** Every link of either plan, in the same way. */
  readonly links: readonly LinkChange[];
  /** Every route MTU of either plan (per cloud, toward each peer). */
  readonly routeMtus: readonly RouteMtuChange[];
  /** Every flannel DaemonSet of either manifest: the new ones in order, then those only the old one had. */
  readonly daemonSets: readonly DaemonSetChange[];
}

export interface PlanDiff {
  readonly environment: string;
  readonly status: DiffStatus;
  /** Where the old and new versions came from (`main:environments/dev.yaml`), when known. */
  readonly source: Change<string>;
  /** Backend and IP stack, only where they changed. */
  readonly settings: readonly SettingChange[];
  /** Every plan number either side has (IPv6 ones only when dual-stack), changed or not. */
  readonly numbers: readonly NumberChange[];
  readonly binding: BindingChange;
  /** Every path of either plan: the new plan's order, then paths only the old plan had. */
  readonly paths: readonly PathChange[];
  /** Every underlay clamp of either plan: the new plan's order, then clamps only the old plan had. */
  readonly underlayClamps: readonly UnderlayClampChange[];
  readonly effects: Effects;
  /** Present where either plan is mtuMode per-path: the cluster-wide numbers are then only the smallest. */
  readonly perPath?: PerPathDiff;
  readonly risk: Risk;
  /** The new plan's warnings (the old plan's when removed). */
  readonly warnings: readonly string[];
  /** The new plan's derivation (the old plan's when removed). */
  readonly reasoning: readonly string[];
  /** The new plan's topology as Mermaid (the old plan's when removed); see {@link renderMermaid}. */
  readonly mermaid: string;
  /**
   * Every change to the generated output, grouped by what merging does; present when both sides
   * carry their synthesized output (the CLI always does). The environment counts as changed
   * whenever the bytes differ, even when the MTU plan does not.
   */
  readonly output?: OutputDiff;
}

/** Every environment compared, for `diff --json` and the Markdown report. */
export interface DiffReport {
  /** The git revision compared with, or null when two files were compared. */
  readonly base: string | null;
  /** Whether any environment changed (the CLI then exits with 2). */
  readonly changed: boolean;
  readonly environments: readonly PlanDiff[];
}

export function diffReport(base: string | null, environments: readonly PlanDiff[]): DiffReport {
  return { base, changed: environments.some((e) => e.status !== 'unchanged'), environments };
}

/** One side of a comparison: a plan (null when the environment does not exist there) and where it came from. */
export interface DiffSide {
  readonly plan: MtuPlan | null;
  readonly source?: string;
  /** The rollout namespaces that side's environment configures; see {@link rolloutNamespaces}. */
  readonly rolloutNamespaces?: readonly string[] | null;
  /** That side's synthesized output (absent when the environment does not exist there: give `plan: null` alone). */
  readonly output?: OutputSide;
}

/**
 * The namespaces the environment's rollout Job restarts, in its order, or null when it generates
 * none (no `rollout` section, or `rollout.enabled: false`).
 */
export function rolloutNamespaces(env: ResolvedEnvironment): readonly string[] | null {
  return env.rollout !== undefined && env.rollout.enabled ? env.rollout.namespaces : null;
}

/** Compares two plans of one environment; throws when both are missing. */
export function diffPlans(oldSide: DiffSide, newSide: DiffSide): PlanDiff {
  const o = oldSide.plan;
  const n = newSide.plan;
  const either = n ?? o;
  if (either === null) throw new Error('diffPlans needs at least one plan');

  const numbers: NumberChange[] = PLAN_NUMBERS.map(({ key, label }) => ({ key, label, old: o?.[key] ?? null, new: n?.[key] ?? null }))
    .filter((c) => c.old !== null || c.new !== null)
    .map((c) => ({ ...c, changed: c.old !== c.new }));
  const changedNumbers = numbers.filter((c) => c.changed);
  const settings: SettingChange[] = [];
  if ((o?.backend ?? null) !== (n?.backend ?? null)) settings.push({ key: 'backend', old: o?.backend ?? null, new: n?.backend ?? null });
  if ((o?.dualStack ?? null) !== (n?.dualStack ?? null)) settings.push({ key: 'dualStack', old: o?.dualStack ?? null, new: n?.dualStack ?? null });
  if (o !== null && n !== null && o.mtuMode !== n.mtuMode) settings.push({ key: 'mtuMode', old: o.mtuMode, new: n.mtuMode });

  const binding = diffBinding(o, n);
  const paths = diffPaths(o, n);
  const underlayClamps = diffUnderlayClamps(o, n);
  const clampsChanged = underlayClamps.some((c) => c.status !== 'unchanged');
  const withOutput = (o === null || oldSide.output !== undefined) && (n === null || newSide.output !== undefined);
  const output = withOutput ? diffOutputs(oldSide.output ?? null, newSide.output ?? null, { rolloutNamespaces: newSide.rolloutNamespaces ?? null }) : undefined;
  const perPath = o?.mtuMode === 'per-path' || n?.mtuMode === 'per-path' ? diffPerPath(o, n, settings, clampsChanged, output) : undefined;
  const deviceChanges = (before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>> | null) =>
    [...new Set([...Object.keys(before), ...Object.keys(after ?? {})])].sort()
      .map((device) => ({ device, old: before[device] ?? null, new: after?.[device] ?? null }))
      .filter((d) => d.old !== d.new && d.new !== null);
  // Per-path: each cloud's nodes get the cloud's device MTUs (a uniform side: the cluster's).
  const nodeMtus: DeviceChange[] = perPath === undefined
    ? deviceChanges(o?.deviceMtus ?? {}, n?.deviceMtus ?? null)
    : (n?.clouds ?? []).flatMap((c) => deviceChanges(o?.clouds.find((x) => x.name === c.name)?.deviceMtus ?? {}, c.deviceMtus).map((d) => ({ ...d, cloud: c.name })));

  const perPathChanged = perPath !== undefined && (perPath.clouds.some((c) => c.changed) || perPath.links.some((l) => l.changed) || perPath.routeMtus.some((r) => r.changed));
  const changed = changedNumbers.length > 0 || settings.length > 0 || binding.moved || paths.some((p) => p.changed) || nodeMtus.length > 0 || clampsChanged || perPathChanged;
  const status: DiffStatus = o === null ? 'added' : n === null ? 'removed' : changed || output?.changed === true ? 'changed' : 'unchanged';

  // The pod template carries the config checksum (net-conf.json: backend, Backend.MTU, IPv6Network;
  // cni-conf.json: the pod MTU) and the init containers' device MTUs, MSS and underlay clamp rules:
  // any of them rolls it. Per-path: per DaemonSet, see diffPerPath.
  // With the output at hand, what rolls is read from it: a DaemonSet whose pod template differs.
  const rolls = perPath !== undefined
    ? perPath.daemonSets.some((d) => d.status === 'rolls' || d.status === 'created')
    : n !== null && (o === null || (output !== undefined
      ? output.rollingDaemonSets.includes(FLANNEL_DAEMON_SET)
      : settings.length > 0 || changedNumbers.some((c) => c.key !== 'underlayMtu' && c.key !== 'underlayMtuV6') || nodeMtus.length > 0 || clampsChanged));
  const podsRecreated = perPath !== undefined ? perPath.clouds.some((c) => c.podsRecreated) : n !== null && (o === null || o.podMtu !== n.podMtu);
  const rolloutNs = (n === null ? oldSide.rolloutNamespaces : newSide.rolloutNamespaces) ?? null;
  const effects: Effects = {
    daemonSetRolls: rolls,
    daemonSet: perPath === undefined ? FLANNEL_DAEMON_SET : daemonSetNames(n ?? o!).join(', '),
    nodeMtus,
    podsRecreated,
    rolloutNamespaces: rolloutNs,
  };

  return {
    environment: either.environment,
    status,
    source: { old: oldSide.source ?? null, new: newSide.source ?? null },
    settings,
    numbers,
    binding,
    paths,
    underlayClamps,
    effects,
    ...(perPath !== undefined && { perPath }),
    risk: !changed && status === 'changed' ? outputOnlyRisk(output!) : perPath !== undefined && status === 'changed' ? perPathRisk(o!, n!, perPath, rolls, rolloutNs) : risk(status, o, n, rolls),
    warnings: either.warnings.map(formatProblem),
    reasoning: either.reasoning,
    mermaid: renderMermaid(either),
    ...(output !== undefined && { output }),
  };
}

function ref(c: Constraint): ConstraintRef {
  return { kind: c.kind, name: c.name, family: c.family, mtu: c.mtu, path: formatYamlPath(c.path) };
}

function sameConstraint(a: { kind: string; name: string; family: IpFamily }, b: { kind: string; name: string; family: IpFamily }): boolean {
  return a.kind === b.kind && a.name === b.name && a.family === b.family;
}

/** The MTU a plan has for a cloud or link in one family: the binding constraint's own, else its path's. */
function mtuIn(plan: MtuPlan | null, c: ConstraintRef | null): number | null {
  if (plan === null || c === null) return null;
  if (sameConstraint(plan.binding, c)) return plan.binding.mtu;
  const p = plan.paths.find((x) => x.kind === c.kind && x.name === c.name);
  if (p === undefined) return null;
  return c.family === 'ipv6' ? p.pathMtuV6 : p.pathMtu;
}

/** `link sdwan over IPv4` */
export function constraintName(c: { kind: string; name: string; family: IpFamily }): string {
  return `${c.kind} ${c.name} over ${familyName(c.family)}`;
}

/** `1380 -> 1360`, `1380, unchanged`, `new, 1300`, `1380, removed` */
function mtuChange(c: Change<number>): string {
  if (c.old === null) return c.new === null ? 'absent' : `new, ${c.new}`;
  if (c.new === null) return `${c.old}, removed`;
  return c.old === c.new ? `${c.old}, unchanged` : `${c.old} -> ${c.new}`;
}

function diffBinding(o: MtuPlan | null, n: MtuPlan | null): BindingChange {
  const oldRef = o && ref(o.binding);
  const newRef = n && ref(n.binding);
  const newBindingMtu = { old: mtuIn(o, newRef), new: mtuIn(n, newRef) };
  const oldBindingMtu = { old: mtuIn(o, oldRef), new: mtuIn(n, oldRef) };
  const moved = oldRef !== null && newRef !== null && !sameConstraint(oldRef, newRef);
  let why: string;
  if (newRef === null) {
    why = `the environment is removed; ${constraintName(oldRef!)} bound it at ${oldRef!.mtu}`;
  } else if (oldRef === null) {
    why = `new environment: ${constraintName(newRef)} binds at ${newRef.mtu}`;
  } else if (moved) {
    why = `moved from ${constraintName(oldRef)} (${mtuChange(oldBindingMtu)}) to ${constraintName(newRef)} (${mtuChange(newBindingMtu)})`;
  } else if (oldRef.mtu !== newRef.mtu) {
    why = `still ${constraintName(newRef)}: its MTU went ${oldRef.mtu} -> ${newRef.mtu}`;
  } else if (o!.backend !== n!.backend || o!.dualStack !== n!.dualStack) {
    why = `still ${constraintName(newRef)} at ${newRef.mtu}; the encapsulation overhead changed with the backend or IP stack`;
  } else {
    why = `unchanged: ${constraintName(newRef)} at ${newRef.mtu}`;
  }
  return { old: oldRef, new: newRef, moved, newBindingMtu, oldBindingMtu, why };
}

function diffPaths(o: MtuPlan | null, n: MtuPlan | null): PathChange[] {
  const key = (p: PathPlan) => `${p.kind}\u0000${p.name}`;
  const oldPaths = new Map((o?.paths ?? []).map((p) => [key(p), p]));
  const newKeys = new Set((n?.paths ?? []).map(key));
  const bindingPlan = n ?? o!;
  const all = [...(n?.paths ?? []), ...(o?.paths ?? []).filter((p) => !newKeys.has(key(p)))];
  return all.map((p) => {
    const before = oldPaths.get(key(p)) ?? null;
    const after = newKeys.has(key(p)) ? p : null;
    const pick = <K extends 'pathMtu' | 'pathMtuV6' | 'headroom' | 'headroomV6'>(k: K): Change<number> => ({ old: before?.[k] ?? null, new: after?.[k] ?? null });
    const values = { pathMtu: pick('pathMtu'), pathMtuV6: pick('pathMtuV6'), headroom: pick('headroom'), headroomV6: pick('headroomV6') };
    return {
      kind: p.kind,
      name: p.name,
      from: p.from,
      to: p.to,
      ...values,
      binding: bindingPlan.binding.kind === p.kind && bindingPlan.binding.name === p.name,
      changed: Object.values(values).some((c) => c.old !== c.new),
    };
  });
}

function diffUnderlayClamps(o: MtuPlan | null, n: MtuPlan | null): UnderlayClampChange[] {
  const key = (c: UnderlayClamp) => `${c.cloud}\u0000${c.cidr}`;
  const oldClamps = new Map((o?.underlayClamps ?? []).map((c) => [key(c), c]));
  const newKeys = new Set((n?.underlayClamps ?? []).map(key));
  const all = [...(n?.underlayClamps ?? []), ...(o?.underlayClamps ?? []).filter((c) => !newKeys.has(key(c)))];
  return all.map((c) => {
    const before = oldClamps.get(key(c)) ?? null;
    const after = newKeys.has(key(c)) ? c : null;
    const mss = { old: before?.mss ?? null, new: after?.mss ?? null };
    const pathMtu = { old: before?.pathMtu ?? null, new: after?.pathMtu ?? null };
    const status = before === null ? 'added' : after === null ? 'removed' : mss.old !== mss.new || pathMtu.old !== pathMtu.new ? 'changed' : 'unchanged';
    return { cloud: c.cloud, to: c.to, cidr: c.cidr, family: c.family, link: c.link, pathMtu, mss, status };
  });
}

function risk(status: DiffStatus, o: MtuPlan | null, n: MtuPlan | null, rolls: boolean): Risk {
  if (status === 'added') {
    const mtu = n!.mtuMode === 'per-path' ? `their cloud's MTU (${n!.clouds.map((c) => `${c.name} ${c.podMtu}`).join(', ')})` : `MTU ${n!.podMtu}`;
    return { level: 'new', text: `new environment: pods get ${mtu} once flannel is installed and they are recreated; pods created before keep whatever MTU they had${wireguardAdoption(n!)}` };
  }
  if (status === 'removed') {
    return { level: 'removed', text: 'environment removed: its manifest leaves dist/, and a GitOps tool that prunes deletes flannel from that cluster' };
  }
  if (status === 'unchanged') return { level: 'none', text: 'no change: nothing restarts' };
  if (n!.podMtu < o!.podMtu) {
    return {
      level: 'lower',
      text: `lowering the pod MTU (${o!.podMtu} -> ${n!.podMtu}) is safe but needs restarts: pods created before keep ${o!.podMtu} until they are recreated, and the TCPMSS clamp (MSS ${n!.mss}) keeps their TCP within the new path meanwhile${wireguardCliff(o!, n!)}`,
    };
  }
  if (n!.podMtu > o!.podMtu) {
    return {
      level: 'raise',
      text: `raising the pod MTU (${o!.podMtu} -> ${n!.podMtu}) needs every node and pod updated before large packets flow: until then old pods keep ${o!.podMtu} and the TCPMSS clamp protects TCP; check that the underlay really carries the new path MTUs first`,
    };
  }
  return {
    level: 'same-mtu',
    text: rolls ? `the pod MTU stays ${n!.podMtu}, but flannel's configuration changes: the DaemonSet rolls, pods need no restart` : `the pod MTU stays ${n!.podMtu}: only the plan (underlay, headroom) changes, nothing restarts`,
  };
}

/**
 * Lowering a wireguard MTU below what a device still has on nodes not yet rolled: WireGuard pads
 * past the new fit, so more than the bytes above it are lost (the padding cliff).
 */
function wireguardCliff(o: MtuPlan, n: MtuPlan): string {
  const over = n.wireguardTunnels.filter((t) => o.podMtu > t.fit);
  if (over.length === 0) return '';
  const lost = over.map((t) => `${t.device} ${paddingCliffStart(t.fit)}-${o.podMtu} bytes (fit ${t.fit})`).join(', ');
  return `; until flannel rolls on a node its wireguard devices keep ${o.podMtu}, above the new fit, and WireGuard's 16-byte padding blackholes every packet of ${lost} there, not only the bytes above the fit: TCP crosses (the MSS holds it to a multiple of 16), other traffic of those sizes does not until the node is rolled`;
}

/**
 * Replacing an upstream wireguard install: until flannel rolls on a node, its devices keep
 * flannel's default NIC - 80, and where that is above a device's fit the padding cliff applies.
 */
function wireguardAdoption(n: MtuPlan): string {
  const upstream = (nicMtu: number) => upstreamDeviceMtu('wireguard', nicMtu);
  const over = n.wireguardTunnels.flatMap((t) => n.clouds.filter((c) => upstream(c.nicMtu) > t.fit).map((c) => `${t.device} in ${c.name} (${upstream(c.nicMtu)} > fit ${t.fit}: ${paddingCliffStart(t.fit)} bytes and up)`));
  if (over.length === 0) return '';
  return `; replacing an upstream flannel, a node keeps flannel's default wireguard devices (NIC - 80) until flannel rolls there, and WireGuard's 16-byte padding blackholes every packet from the fit rounded down to 16 up on ${over.join(', ')}: TCP crosses (the MSS holds it to a multiple of 16), other traffic of those sizes does not until the node is rolled`;
}

/** The flannel DaemonSets a plan's manifest has: `kube-flannel-ds`, or one per cloud in per-path mode. */
export function daemonSetNames(plan: MtuPlan): string[] {
  return plan.mtuMode === 'per-path' ? plan.clouds.map((c) => flannelDaemonSetName(c.name)) : [flannelDaemonSetName()];
}

/** Route MTUs the keeper sets in a per-path plan: per cloud, toward each peer; none in uniform mode. */
function routeMtusOf(plan: MtuPlan | null): Array<{ cloud: string; peer: string; link: string; mtu: number }> {
  if (plan === null || plan.mtuMode !== 'per-path') return [];
  return plan.clouds.flatMap((c) => peerLinks(plan, c.name).map(({ peer, link }) => ({ cloud: c.name, peer, link: link.name, mtu: link.overlayMtu })));
}

/** Items of both lists by key: the new list's order, then keys only the old one has. */
function pairs<T>(o: readonly T[], n: readonly T[], key: (x: T) => string): Array<{ before: T | null; after: T | null; item: T }> {
  const old = new Map(o.map((x) => [key(x), x]));
  const newKeys = new Set(n.map(key));
  return [...n, ...o.filter((x) => !newKeys.has(key(x)))].map((item) => ({ before: old.get(key(item)) ?? null, after: newKeys.has(key(item)) ? item : null, item }));
}

function diffPerPath(o: MtuPlan | null, n: MtuPlan | null, settings: readonly SettingChange[], clampsChanged: boolean, output: OutputDiff | undefined): PerPathDiff {
  const numberOf = <T, K extends keyof T>(before: T | null, after: T | null, k: K): Change<number> =>
    ({ old: (before?.[k] as number | null | undefined) ?? null, new: (after?.[k] as number | null | undefined) ?? null });
  const changedAny = (...cs: Array<Change<unknown>>) => cs.some((c) => c.old !== c.new);

  const clouds: CloudChange[] = pairs(o?.clouds ?? [], n?.clouds ?? [], (c) => c.name).map(({ before, after, item }) => {
    const podMtu = numberOf(before, after, 'podMtu');
    const values = { podMtu, backendMtu: numberOf(before, after, 'backendMtu'), mss: numberOf(before, after, 'mss'), mssV6: numberOf(before, after, 'mssV6') };
    return { cloud: item.name, ...values, podsRecreated: after !== null && podMtu.old !== podMtu.new, changed: changedAny(...Object.values(values)) };
  });
  const links: LinkChange[] = pairs(o?.links ?? [], n?.links ?? [], (l) => l.name).map(({ before, after, item }) => {
    const values = { overlayMtu: numberOf(before, after, 'overlayMtu'), mss: numberOf(before, after, 'mss'), mssV6: numberOf(before, after, 'mssV6') };
    return { name: item.name, between: item.between, ...values, changed: changedAny(...Object.values(values)) };
  });
  const routeMtus: RouteMtuChange[] = pairs(routeMtusOf(o), routeMtusOf(n), (r) => `${r.cloud}\u0000${r.peer}`).map(({ before, after, item }) => {
    const mtu = { old: before?.mtu ?? null, new: after?.mtu ?? null };
    return { cloud: item.cloud, peer: item.peer, link: item.link, mtu, changed: mtu.old !== mtu.new };
  });

  // What a per-cloud DaemonSet's pod template carries: the config checksum (backend, Backend.MTU,
  // pod MTU), apply-node-mtu's device MTUs, the keeper's route MTUs (LINK_MTUS) and node subnets
  // (NODE_CIDRS), and tcp-mss-clamp's underlay rules, which hold every cloud's.
  const cidrs = (p: MtuPlan | null) => JSON.stringify((p?.clouds ?? []).map((c) => [c.name, c.nodeCidrs]));
  const reasonsFor = (cloud: string): string[] => {
    const c = clouds.find((x) => x.cloud === cloud)!;
    const reasons = settings.filter((x) => x.key !== 'mtuMode').map((x) => `${x.key === 'backend' ? 'backend' : 'dual-stack'} ${x.old} -> ${x.new}`);
    const config = [['Backend.MTU', c.backendMtu], ['pod MTU', c.podMtu]] as const;
    const moved = config.filter(([, v]) => v.old !== v.new).map(([label, v]) => `${label} ${v.old ?? '-'} -> ${v.new ?? '-'}`);
    if (moved.length > 0) reasons.push(`config checksum and apply-node-mtu (${moved.join(', ')})`);
    const routes = routeMtus.filter((r) => r.cloud === cloud && r.changed).map((r) => `toward ${r.peer} ${r.mtu.old ?? '-'} -> ${r.mtu.new ?? '-'}`);
    if (routes.length > 0) reasons.push(`route-mtu-keeper route MTU ${routes.join(', ')}`);
    if (cidrs(o) !== cidrs(n)) reasons.push('route-mtu-keeper node subnets');
    if (clampsChanged) reasons.push('tcp-mss-clamp underlay rules');
    return reasons;
  };
  const oldNames = o === null ? [] : daemonSetNames(o);
  const newNames = n === null ? [] : daemonSetNames(n);
  const cloudOf = (p: MtuPlan | null, name: string) => (p?.mtuMode === 'per-path' ? p.clouds.find((c) => flannelDaemonSetName(c.name) === name)?.name ?? null : null);
  const daemonSets: DaemonSetChange[] = [
    ...newNames.map((name): DaemonSetChange => {
      const cloud = cloudOf(n, name);
      if (!oldNames.includes(name)) return { name, cloud, status: 'created', reasons: [] };
      const reasons = reasonsFor(cloud!);
      // The output decides; the plan only explains (a changed image rolls it without a plan reason).
      const rolls = output !== undefined ? output.rollingDaemonSets.includes(name) : reasons.length > 0;
      return { name, cloud, status: rolls ? 'rolls' : 'unchanged', reasons: rolls && reasons.length === 0 ? ['see every change to the generated output below'] : rolls ? reasons : [] };
    }),
    ...oldNames.filter((name) => !newNames.includes(name)).map((name): DaemonSetChange => ({ name, cloud: cloudOf(o, name), status: 'pruned', reasons: [] })),
  ];
  return { mtuMode: { old: o?.mtuMode ?? null, new: n?.mtuMode ?? null }, clouds, links, routeMtus, daemonSets };
}

/** `aws 1330 -> 8951, onprem 1330 -> 1450` for the changed ones. */
function changes<T>(list: readonly T[], label: (x: T) => string, value: (x: T) => Change<number>): string[] {
  return list.filter((x) => value(x).old !== value(x).new && value(x).old !== null && value(x).new !== null).map((x) => `${label(x)} ${value(x).old} -> ${value(x).new}`);
}

function perPathRisk(o: MtuPlan, n: MtuPlan, pp: PerPathDiff, rolls: boolean, rolloutNs: readonly string[] | null): Risk {
  const pods = changes(pp.clouds, (c) => `cloud ${c.cloud}`, (c) => c.podMtu);
  const podOf = (c: CloudChange) => `the pod MTU of cloud ${c.cloud}`;
  const overlayOf = (l: LinkChange) => `the overlay MTU of link ${l.name}`;
  const created = pp.daemonSets.filter((d) => d.status === 'created').map((d) => d.name);
  const pruned = pp.daemonSets.filter((d) => d.status === 'pruned').map((d) => d.name);
  if (o.mtuMode !== n.mtuMode) {
    const list = (xs: readonly string[]) => xs.join(', ');
    return {
      level: 'mode-switch',
      text: `switching mtuMode ${o.mtuMode} -> ${n.mtuMode} needs a planned migration: ${list(created)} ${created.length === 1 ? 'is' : 'are'} created under ${created.length === 1 ? 'a new name' : 'new names'} while ${list(pruned)} ${pruned.length === 1 ? 'keeps' : 'keep'} running until the GitOps tool prunes ${pruned.length === 1 ? 'it' : 'them'}; until then two flanneld run on every node and both bind hostNetwork port 8081 (healthz), so the new pods fail${rolloutNs !== null ? ' and the rollout Job times out waiting for them' : ''}. Delete ${list(pruned)} first, or prune in the same sync${pods.length > 0 ? `; then pods must be recreated for their new MTU (${pods.join(', ')})` : ''}`,
    };
  }
  const links = changes(pp.links, overlayOf, (l) => l.overlayMtu);
  const up = (c: Change<number>) => c.old !== null && c.new !== null && c.new > c.old;
  const down = (c: Change<number>) => c.old !== null && c.new !== null && c.new < c.old;
  const moved = (pick: (c: Change<number>) => boolean) => [
    ...pp.clouds.filter((c) => pick(c.podMtu)).map((c) => `${podOf(c)} (${c.podMtu.old} -> ${c.podMtu.new})`),
    ...pp.links.filter((l) => pick(l.overlayMtu)).map((l) => `${overlayOf(l)} (${l.overlayMtu.old} -> ${l.overlayMtu.new})`),
  ];
  const raised = moved(up);
  const lowered = moved(down);
  const routes = links.length > 0
    ? 'the route-MTU keepers set the new route MTUs as their DaemonSets roll; a pod packet above its route MTU gets "fragmentation needed" from its own node, and --clamp-mss-to-pmtu clamps new TCP connections to it'
    : '';
  const podsText = pods.length > 0 ? `pods keep their old MTU until they are recreated (${pods.join(', ')})` : 'no pod MTU changes, so no pod needs recreating';
  if (raised.length > 0) {
    return {
      level: 'raise',
      text: `raising ${raised.join(', ')}${lowered.length > 0 ? ` (and lowering ${lowered.join(', ')})` : ''} needs every node of the clouds involved updated before large packets flow: ${podsText}; ${routes !== '' ? `${routes}; ` : ''}check that the underlay really carries the new path MTUs first`,
    };
  }
  if (lowered.length > 0) {
    return { level: 'lower', text: `lowering ${lowered.join(', ')} is safe: ${podsText}${routes !== '' ? `; ${routes}` : ''}` };
  }
  return {
    level: 'same-mtu',
    text: rolls ? 'no cloud pod MTU or link overlay MTU changes, but flannel\'s configuration does: the DaemonSets listed roll, pods need no restart' : 'no cloud pod MTU or link overlay MTU changes: only the plan (underlay, headroom) changes, nothing restarts',
  };
}

/** The MTU plan is the same but the generated objects are not (an image, the pod network, rollout namespaces, ...). */
function outputOnlyRisk(output: OutputDiff): Risk {
  const has = (key: string) => output.groups.some((g) => g.key === key);
  const what = [
    ...(output.rollingDaemonSets.length > 0 ? [`${output.rollingDaemonSets.map((d) => `\`${d}\``).join(', ')} ${output.rollingDaemonSets.length === 1 ? 'rolls' : 'roll'} (every pod replaced, node by node)`] : []),
    ...(has('job-runs') ? ['a rollout Job runs and restarts the workloads it lists'] : []),
    ...(has('rbac') ? ['RBAC changes'] : []),
    ...(has('added') || has('removed') ? ['objects are added or removed'] : []),
  ];
  return {
    level: 'output-only',
    text: `the MTU plan is unchanged, but the generated manifest is not${what.length > 0 ? `: ${what.join('; ')}` : ''}; read every change below`,
  };
}
