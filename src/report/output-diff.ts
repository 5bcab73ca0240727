/**
 * What changes in the generated output between two synthesized versions of one environment,
 * object by object and field by field, grouped by what merging the change does to a cluster.
 * Pure: it compares objects the synthesizer produced, so a field added to the output tomorrow is
 * covered without a change here; whatever no special group claims lands in "other changes".
 */

/** One side's synthesized output: every file `synth` writes for the environment (name -> bytes), and the objects in them. */
export interface OutputSide {
  readonly files: Readonly<Record<string, string>>;
  readonly objects: readonly unknown[];
}

/** One changed field: its path in the object and both values, rendered short (null where absent). */
export interface FieldChange {
  /** `spec.template.spec.initContainers[apply-node-mtu].env[DEVICE_MTUS].value`; list items with a `name` are addressed by it. */
  readonly path: string;
  readonly old: string | null;
  readonly new: string | null;
}

export interface ObjectChange {
  /** `DaemonSet kube-flannel/kube-flannel-ds`, `ClusterRole flannel` */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | null;
  readonly status: 'added' | 'removed' | 'changed';
  /** The changed fields (none for an added or removed object). */
  readonly fields: readonly FieldChange[];
}

/** The groups, in the order the report lists them. */
export const OUTPUT_GROUPS = [
  { key: 'daemonset-rolls', title: 'DaemonSets that roll (their pod template changes)' },
  { key: 'node-devices', title: 'Node devices the `apply-node-mtu` init container resets' },
  { key: 'job-runs', title: 'Jobs that run (a Job is named by its content: a new name runs once)' },
  { key: 'rbac', title: 'RBAC that widens or narrows' },
  { key: 'added', title: 'Objects added' },
  { key: 'removed', title: 'Objects removed (deleted when the GitOps tool prunes)' },
  { key: 'other', title: 'Other changes' },
] as const;

export type OutputGroupKey = (typeof OUTPUT_GROUPS)[number]['key'];

/** One line of a group: what happens, and the fields behind it. */
export interface OutputItem {
  readonly text: string;
  readonly fields: readonly FieldChange[];
}

export interface OutputGroup {
  readonly key: OutputGroupKey;
  readonly title: string;
  readonly items: readonly OutputItem[];
}

export interface OutputDiff {
  /** Whether the bytes of any file differ (or a file is added or removed): what `diff` exits 2 for. */
  readonly changed: boolean;
  /** Every object that differs, the new output's order, then objects only the old output had. */
  readonly objects: readonly ObjectChange[];
  /** Only the groups with items. */
  readonly groups: readonly OutputGroup[];
  /** The names of the pod-template-changed DaemonSets (they roll). */
  readonly rollingDaemonSets: readonly string[];
}

/** Options the caller knows from the environment, for the text of the Job items. */
export interface OutputDiffContext {
  /** The namespaces the new side's rollout Job restarts, in order. */
  readonly rolloutNamespaces?: readonly string[] | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

function identity(o: Json): { id: string; kind: string; name: string; namespace: string | null } {
  const kind = String(o?.kind ?? '?');
  const name = String(o?.metadata?.name ?? '?');
  const namespace = typeof o?.metadata?.namespace === 'string' ? o.metadata.namespace : null;
  return { id: `${kind} ${namespace === null ? '' : `${namespace}/`}${name}`, kind, name, namespace };
}

/** Compares two outputs of one environment (null: the environment does not exist on that side). */
export function diffOutputs(oldSide: OutputSide | null, newSide: OutputSide | null, ctx: OutputDiffContext = {}): OutputDiff {
  const oldFiles = oldSide?.files ?? {};
  const newFiles = newSide?.files ?? {};
  const fileNames = [...new Set([...Object.keys(newFiles), ...Object.keys(oldFiles)])];
  const changedFiles = fileNames.filter((f) => oldFiles[f] !== newFiles[f]);

  const oldObjects = new Map((oldSide?.objects ?? []).map((o) => [identity(o).id, o]));
  const newIds = new Set((newSide?.objects ?? []).map((o) => identity(o).id));
  const all = [...(newSide?.objects ?? []), ...(oldSide?.objects ?? []).filter((o) => !newIds.has(identity(o).id))];
  const objects: ObjectChange[] = [];
  for (const o of all) {
    const ident = identity(o);
    const before = oldObjects.get(ident.id);
    if (before === undefined) objects.push({ ...ident, status: 'added', fields: [] });
    else if (!newIds.has(ident.id)) objects.push({ ...ident, status: 'removed', fields: [] });
    else {
      const fields = diffValues(before, o, '');
      if (fields.length > 0) objects.push({ ...ident, status: 'changed', fields });
    }
  }

  const groups = new Map<OutputGroupKey, OutputItem[]>(OUTPUT_GROUPS.map((g) => [g.key, []]));
  const add = (key: OutputGroupKey, item: OutputItem) => groups.get(key)!.push(item);
  const rollingDaemonSets: string[] = [];
  const addedJobs = objects.filter((o) => o.kind === 'Job' && o.status === 'added');
  const removedJobs = objects.filter((o) => o.kind === 'Job' && o.status === 'removed');

  for (const o of objects) {
    if (o.kind === 'Job' && o.status !== 'changed') continue;
    if (RBAC_KINDS.has(o.kind)) {
      add('rbac', rbacItem(o, oldObjects.get(o.id), (newSide?.objects ?? []).find((x) => identity(x).id === o.id)));
      continue;
    }
    if (o.status === 'added' || o.status === 'removed') {
      add(o.status, { text: `\`${o.id}\``, fields: [] });
      continue;
    }
    if (o.kind === 'DaemonSet') {
      const template = o.fields.filter((f) => f.path.startsWith('spec.template.'));
      const rest = o.fields.filter((f) => !f.path.startsWith('spec.template.'));
      if (template.length > 0) {
        rollingDaemonSets.push(o.name);
        add('daemonset-rolls', { text: `\`${o.id}\` rolls: every pod is replaced, node by node`, fields: template });
        const devices = template.find((f) => /^spec\.template\.spec\.initContainers\[apply-node-mtu\]\.env\[DEVICE_MTUS\]\.value$/.test(f.path));
        if (devices !== undefined) add('node-devices', { text: `on the nodes of \`${o.name}\`: ${deviceChanges(devices)}`, fields: [] });
      }
      if (rest.length > 0) add('other', { text: `\`${o.id}\``, fields: rest });
      continue;
    }
    add('other', { text: `\`${o.id}\``, fields: o.fields });
  }

  const ns = ctx.rolloutNamespaces ?? null;
  for (const job of addedJobs) {
    const replaces = removedJobs.filter((j) => j.namespace === job.namespace && j.name.replace(/-[^-]*$/, '') === job.name.replace(/-[^-]*$/, ''));
    const restarts = job.name.startsWith('flannel-mtu-rollout') && ns !== null
      ? `: restarts the workloads of ${ns.length} namespace${ns.length === 1 ? '' : 's'}, one at a time (${ns.map((n) => `\`${n}\``).join(', ')})`
      : '';
    add('job-runs', { text: `\`${job.id}\` runs${restarts}${replaces.length > 0 ? `; it replaces ${replaces.map((j) => `\`${j.name}\``).join(', ')}` : ''}`, fields: [] });
  }
  for (const job of removedJobs) {
    if (addedJobs.some((j) => j.namespace === job.namespace && j.name.replace(/-[^-]*$/, '') === job.name.replace(/-[^-]*$/, ''))) continue;
    add('job-runs', { text: `\`${job.id}\` is no longer generated: nothing runs, and the GitOps tool deletes it when it prunes`, fields: [] });
  }

  // What the objects do not explain: comments, files without objects, formatting.
  for (const f of changedFiles) {
    if (!(f in oldFiles) || !(f in newFiles)) {
      add('other', { text: `file \`${f}\` ${f in newFiles ? 'added' : 'removed'}`, fields: [] });
      continue;
    }
    const comments = (text: string) => text.split('\n').filter((l) => l.startsWith('#'));
    const fields = diffValues(comments(oldFiles[f]), comments(newFiles[f]), 'comment lines');
    if (fields.length > 0) add('other', { text: `file \`${f}\`: its comment lines (the header with the plan summary)`, fields });
  }
  const explained = [...groups.values()].some((items) => items.length > 0);
  if (changedFiles.length > 0 && !explained) {
    add('other', { text: `the bytes of ${changedFiles.map((f) => `\`${f}\``).join(', ')} differ, though no object or comment does (formatting)`, fields: [] });
  }

  return {
    changed: changedFiles.length > 0,
    objects,
    groups: OUTPUT_GROUPS.map((g) => ({ ...g, items: groups.get(g.key)! })).filter((g) => g.items.length > 0),
    rollingDaemonSets,
  };
}

/** `cni0 1330 -> 1310, flannel.1 1330 -> 1310` from two `name=mtu` lists. */
function deviceChanges(f: FieldChange): string {
  // The values are rendered as JSON strings ("cni0=1330 flannel.1=1330").
  const raw = (v: string | null) => {
    try {
      return v === null ? '' : String(JSON.parse(v));
    } catch {
      return ''; // clipped: too long to show, the field itself is listed with its DaemonSet
    }
  };
  const parse = (v: string | null) => new Map(raw(v).split(/\s+/).filter(Boolean).map((p) => p.split('=') as [string, string]));
  const before = parse(f.old);
  const after = parse(f.new);
  return [...new Set([...after.keys(), ...before.keys()])].sort()
    .filter((d) => before.get(d) !== after.get(d))
    .map((d) => (after.has(d) ? `\`${d}\` ${before.has(d) ? `${before.get(d)} -> ` : 'to '}${after.get(d)}` : `\`${d}\` no longer set (stays at ${before.get(d)})`))
    .join(', ');
}

/** RBAC: which permissions appear and disappear, as `verb resource` tuples, plus every changed field. */
function rbacItem(o: ObjectChange, before: Json, after: Json): OutputItem {
  if (o.kind.endsWith('Binding')) {
    const subject = (b: Json) => `${b?.roleRef?.kind ?? '?'} ${b?.roleRef?.name ?? '?'} to ${(b?.subjects ?? []).map((s: Json) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`).join(', ')}`;
    if (o.status === 'added') return { text: `\`${o.id}\` added: widens, grants ${subject(after)}`, fields: [] };
    if (o.status === 'removed') return { text: `\`${o.id}\` removed: narrows, no longer grants ${subject(before)}`, fields: [] };
    return { text: `\`${o.id}\` changed: now grants ${subject(after)}`, fields: o.fields };
  }
  // Permissions as resource -> verbs, so a change reads "+patch on deployments.apps".
  const grants = (r: Json): Map<string, Set<string>> => {
    const out = new Map<string, Set<string>>();
    const grant = (what: string, verb: string) => out.set(what, new Set([...(out.get(what) ?? []), verb]));
    for (const rule of (r?.rules ?? []) as Json[]) {
      const names = rule.resourceNames?.length ? ` named ${rule.resourceNames.join(', ')}` : '';
      for (const verb of rule.verbs ?? []) {
        for (const res of rule.resources ?? []) for (const g of rule.apiGroups ?? ['']) grant(`${res}${g === '' ? '' : `.${g}`}${names}`, verb);
        for (const url of rule.nonResourceURLs ?? []) grant(url, verb);
      }
    }
    return out;
  };
  const scope = o.namespace === null ? 'cluster-wide' : `in namespace ${o.namespace}`;
  const b = grants(before);
  const a = grants(after);
  const minus = (x: Map<string, Set<string>>, y: Map<string, Set<string>>, sign: string) => [...x.keys()].sort().flatMap((what) => {
    const verbs = [...x.get(what)!].filter((v) => !y.get(what)?.has(v)).sort();
    return verbs.length > 0 ? [`${sign}${verbs.join(', ')} on ${what}`] : [];
  });
  const wider = minus(a, b, '+');
  const narrower = minus(b, a, '-');
  const parts = [
    ...(wider.length > 0 ? [`widens ${scope}: ${wider.join('; ')}`] : []),
    ...(narrower.length > 0 ? [`narrows ${scope}: ${narrower.join('; ')}`] : []),
  ];
  const verb = o.status === 'changed' ? 'changed' : o.status;
  return { text: `\`${o.id}\` ${verb}${parts.length > 0 ? `: ${parts.join('; ')}` : ': the same permissions'}`, fields: o.fields };
}

/** Field-by-field differences; strings holding JSON objects (net-conf.json) are compared inside. */
export function diffValues(a: Json, b: Json, path: string): FieldChange[] {
  if (a === b) return [];
  if (typeof a === 'string' && typeof b === 'string') {
    const ja = jsonObject(a);
    const jb = jsonObject(b);
    if (ja !== undefined && jb !== undefined) {
      const inner = diffValues(ja, jb, `${path} (JSON)`);
      if (inner.length > 0) return inner;
    }
    return [{ path, old: render(a, b), new: render(b, a) }];
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const byName = namedItems(a) && namedItems(b);
    if (byName) {
      const old = new Map(a.map((x: Json) => [x.name, x]));
      const names = new Set(b.map((x: Json) => x.name));
      const out: FieldChange[] = [];
      for (const x of b) out.push(...diffValues(old.get(x.name), x, `${path}[${x.name}]`));
      for (const x of a) if (!names.has(x.name)) out.push(...diffValues(x, undefined, `${path}[${x.name}]`));
      if (out.length === 0 && a.map((x: Json) => x.name).join('\u0000') !== b.map((x: Json) => x.name).join('\u0000')) {
        out.push({ path: `${path} (order)`, old: a.map((x: Json) => x.name).join(', '), new: b.map((x: Json) => x.name).join(', ') });
      }
      return out;
    }
    if (a.every(isScalar) && b.every(isScalar) && a.every((x) => typeof x !== 'string' || !long(x)) && b.every((x) => typeof x !== 'string' || !long(x))) {
      return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, old: render(a), new: render(b) }];
    }
    const out: FieldChange[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffValues(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    return keys.flatMap((k) => diffValues(a[k], b[k], join(path, k)));
  }
  return [{ path, old: a === undefined ? null : render(a, b), new: b === undefined ? null : render(b, a) }];
}

function join(path: string, key: string): string {
  const k = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return k;
  return k.startsWith('"') ? `${path}[${k}]` : `${path}.${k}`;
}

function namedItems(xs: Json[]): boolean {
  const names = xs.map((x) => (isPlainObject(x) && typeof x.name === 'string' ? x.name : null));
  return xs.length > 0 && names.every((n) => n !== null) && new Set(names).size === names.length;
}

function isPlainObject(x: unknown): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isScalar(x: unknown): boolean {
  return x === null || ['string', 'number', 'boolean'].includes(typeof x);
}

function jsonObject(s: string): Json | undefined {
  if (!/^\s*[{[]/.test(s)) return undefined;
  try {
    const v = JSON.parse(s);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

const SHORT = 80;

function long(s: string): boolean {
  return s.includes('\n') || s.length > SHORT;
}

/**
 * A value for the report: JSON, clipped; a long or multi-line string (a script, a comment) as its
 * line count and, against `other`, the stretch around its first difference.
 */
function render(v: Json, other?: Json): string {
  if (typeof v === 'string' && long(v)) {
    const lines = v.split('\n');
    const otherLines = typeof other === 'string' ? other.split('\n') : [];
    const at = lines.findIndex((l, i) => l !== otherLines[i]);
    const size = lines.length === 1 ? `${v.length} characters` : `${lines.length} lines`;
    if (typeof other !== 'string' || at < 0) return size;
    return `${size}, ${lines.length === 1 ? '' : `line ${at + 1}: `}${around(lines[at], otherLines[at] ?? '')}`;
  }
  return clip(JSON.stringify(v) ?? String(v));
}

/** The part of `s` from a little before where it first differs from `other`, JSON-quoted and clipped. */
function around(s: string, other: string): string {
  let i = 0;
  while (i < s.length && s[i] === other[i]) i++;
  const from = Math.max(0, i - 20);
  return `${from > 0 ? '...' : ''}${clip(JSON.stringify(s.slice(from)))}`;
}

function clip(s: string): string {
  return s.length > SHORT ? `${s.slice(0, SHORT - 3)}...` : s;
}
