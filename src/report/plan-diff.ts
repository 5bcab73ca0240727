import { BackendType, Environment } from '../config/environment';
import { formatProblem, formatYamlPath } from '../config/errors';
import { FLANNEL_DAEMON_SET } from '../constructs/names';
import { Constraint, familyName, IpFamily, MtuPlan, PathPlan, UnderlayClamp } from '../mtu/plan';
import { renderMermaid } from './mermaid';

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

export type SettingChange = ({ readonly key: 'backend' } & Change<BackendType>) | ({ readonly key: 'dualStack' } & Change<boolean>);

export interface DeviceChange extends Change<number> {
  readonly device: string;
}

/** What merging the change does to a running cluster. */
export interface Effects {
  /** Whether the flannel DaemonSet's pod template (config checksum, init container args) changes, so it rolls. */
  readonly daemonSetRolls: boolean;
  readonly daemonSet: string;
  /** Devices whose MTU the `apply-node-mtu` init container changes on every node, by name. */
  readonly nodeMtus: readonly DeviceChange[];
  /** Whether pods must be recreated to get the new MTU (a veth's MTU is fixed at pod creation). */
  readonly podsRecreated: boolean;
  /** The namespaces the rollout Job restarts, in order, or null when the environment has no rollout Job. */
  readonly rolloutNamespaces: readonly string[] | null;
}

export type RiskLevel = 'none' | 'lower' | 'raise' | 'same-mtu' | 'new' | 'removed';

export interface Risk {
  readonly level: RiskLevel;
  readonly text: string;
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
  readonly risk: Risk;
  /** The new plan's warnings (the old plan's when removed). */
  readonly warnings: readonly string[];
  /** The new plan's derivation (the old plan's when removed). */
  readonly reasoning: readonly string[];
  /** The new plan's topology as Mermaid (the old plan's when removed); see {@link renderMermaid}. */
  readonly mermaid: string;
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
}

/**
 * The namespaces the environment's rollout Job restarts, in its order, or null when it generates
 * none (no `rollout` section, or `rollout.enabled: false`).
 */
export function rolloutNamespaces(env: Environment): readonly string[] | null {
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

  const binding = diffBinding(o, n);
  const paths = diffPaths(o, n);
  const underlayClamps = diffUnderlayClamps(o, n);
  const clampsChanged = underlayClamps.some((c) => c.status !== 'unchanged');
  const deviceNames = [...new Set([...Object.keys(o?.deviceMtus ?? {}), ...Object.keys(n?.deviceMtus ?? {})])].sort();
  const nodeMtus = deviceNames
    .map((device) => ({ device, old: o?.deviceMtus[device] ?? null, new: n?.deviceMtus[device] ?? null }))
    .filter((d) => d.old !== d.new && d.new !== null);

  const changed = changedNumbers.length > 0 || settings.length > 0 || binding.moved || paths.some((p) => p.changed) || nodeMtus.length > 0 || clampsChanged;
  const status: DiffStatus = o === null ? 'added' : n === null ? 'removed' : changed ? 'changed' : 'unchanged';

  // The pod template carries the config checksum (net-conf.json: backend, Backend.MTU, IPv6Network;
  // cni-conf.json: the pod MTU) and the init containers' device MTUs, MSS and underlay clamp rules:
  // any of them rolls it.
  const rolls =
    n !== null && (o === null || settings.length > 0 || changedNumbers.some((c) => c.key !== 'underlayMtu' && c.key !== 'underlayMtuV6') || nodeMtus.length > 0 || clampsChanged);
  const podsRecreated = n !== null && (o === null || o.podMtu !== n.podMtu);
  const effects: Effects = {
    daemonSetRolls: rolls,
    daemonSet: FLANNEL_DAEMON_SET,
    nodeMtus,
    podsRecreated,
    rolloutNamespaces: (n === null ? oldSide.rolloutNamespaces : newSide.rolloutNamespaces) ?? null,
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
    risk: risk(status, o, n, rolls),
    warnings: either.warnings.map(formatProblem),
    reasoning: either.reasoning,
    mermaid: renderMermaid(either),
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
    return { level: 'new', text: `new environment: pods get MTU ${n!.podMtu} once flannel is installed and they are recreated; pods created before keep whatever MTU they had` };
  }
  if (status === 'removed') {
    return { level: 'removed', text: 'environment removed: its manifest leaves dist/, and a GitOps tool that prunes deletes flannel from that cluster' };
  }
  if (status === 'unchanged') return { level: 'none', text: 'no change: nothing restarts' };
  if (n!.podMtu < o!.podMtu) {
    return {
      level: 'lower',
      text: `lowering the pod MTU (${o!.podMtu} -> ${n!.podMtu}) is safe but needs restarts: pods created before keep ${o!.podMtu} until they are recreated, and the TCPMSS clamp (MSS ${n!.mss}) keeps their TCP within the new path meanwhile`,
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
