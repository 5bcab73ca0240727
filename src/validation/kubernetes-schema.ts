/**
 * Offline validation of synthesized objects against the Kubernetes OpenAPI schema, with the
 * precompiled validators of the `kubernetes-models` package (no download, no cluster).
 * It checks types, required fields and enums; it does not catch unknown fields (the typed
 * cdk8s L1 classes already drop those).
 */

export interface SchemaViolation {
  readonly object: string;
  readonly message: string;
}

interface KubernetesObject {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown };
}

type Model = { new (data: unknown): { validate(): void }; prototype: { validate(this: unknown): void } };
const models = new Map<string, Model | null>();

function modelFor(apiVersion: string, kind: string): Model | null {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    let model: Model | null = null;
    if (/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]+$/.test(kind)) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind] ?? null;
      } catch {
        model = null;
      }
    }
    models.set(key, model);
  }
  return models.get(key)!;
}

export function describeObject(obj: KubernetesObject): string {
  const ns = typeof obj.metadata?.namespace === 'string' ? `${obj.metadata.namespace}/` : '';
  return `${String(obj.kind)} ${ns}${String(obj.metadata?.name)}`;
}

function hasNoUndefined(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(hasNoUndefined);
  for (const key in value) if (Object.hasOwn(value, key) && !hasNoUndefined((value as Record<string, unknown>)[key])) return false;
  return true;
}

/** Violations of the Kubernetes schema in `objects`; an object of a kind the schema does not know is a violation too. */
export function validateObjects(objects: readonly KubernetesObject[]): SchemaViolation[] {
  const violations: SchemaViolation[] = [];
  for (const obj of objects) {
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      violations.push({ object: describeObject(obj), message: 'missing apiVersion or kind' });
      continue;
    }
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) {
      violations.push({ object: describeObject(obj), message: `no schema for ${obj.apiVersion} ${obj.kind}` });
      continue;
    }
    try {
      // A model instance is a copy of the object without its undefined values; an object without
      // any (as synthesized) is validated as it is, which saves copying every manifest.
      if (hasNoUndefined(obj)) Model.prototype.validate.call(obj);
      else new Model(obj).validate();
    } catch (e) {
      violations.push({ object: describeObject(obj), message: (e as Error).message });
    }
  }
  return violations;
}
