// fast-check generators of environment files for the fuzz suite (test/fuzz) and the root test that
// runs every generated script with its own env (test/node/generated-scripts.root.test.ts).
// `validEnvironment` draws files that keep to the documented rules most of the time (some still
// plan to a pod MTU below the minimum, which is a located refusal); `mutatedEnvironment` breaks
// one of them in one place with a value from HOSTILE.
import * as fc from 'fast-check';
import { stringify } from 'yaml';

type Json = unknown;
type Obj = Record<string, Json>;

const NAMES = ['aws', 'onprem', 'gcp-eu', 'chicago', 'houston', 'cloud-a', 'cloud-b', 'a', 'zz-9', `c${'x'.repeat(45)}d`];

/** One environment as a plain object, ready to be written as YAML. */
export const validDocument: fc.Arbitrary<Obj> = fc
  .record({
    backend: fc.constantFrom('vxlan', 'vxlan', 'wireguard'),
    tunnelMode: fc.constantFrom(undefined, 'separate', 'auto'),
    dualStack: fc.boolean(),
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
    nics: fc.array(fc.integer({ min: 1280, max: 9216 }), { minLength: 4, maxLength: 4 }),
    fabrics: fc.array(fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    links: fc.array(fc.integer({ min: 1200, max: 9216 }), { minLength: 6, maxLength: 6 }),
    linkV6: fc.array(fc.option(fc.integer({ min: 1350, max: 9216 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
    linkNamed: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    cidrs: fc.boolean(),
    perPath: fc.boolean(),
    probe: fc.boolean(),
    rollout: fc.option(fc.record({
      namespaces: fc.uniqueArray(fc.constantFrom('default', 'ingress-nginx', 'shop', 'payments'), { minLength: 1, maxLength: 3 }),
      selector: fc.option(fc.constantFrom('!flannel-mtu.io/skip-rollout', 'app=web', 'tier!=db,app'), { nil: undefined }),
    }), { nil: undefined }),
    vni: fc.option(fc.constantFrom(1, 1, 4096, 9999, 9999999, 10000000), { nil: undefined }),
    mssClamp: fc.boolean(),
    pmtud: fc.option(fc.record({ mode: fc.constantFrom('off', 'blackhole', 'always'), baseMss: fc.option(fc.integer({ min: 536, max: 1200 }), { nil: undefined }) }), { nil: undefined }),
    iface: fc.option(fc.constantFrom(['eth0'], ['ens5', 'eth0']), { nil: undefined }),
  })
  .map((g) => {
    const v6 = g.dualStack;
    const perPath = g.perPath && g.cidrs && g.backend === 'vxlan';
    const clouds = g.names.map((name, i) => {
      const nicMtu = g.nics[i];
      const fabric = g.fabrics[i];
      return {
        name,
        nicMtu,
        ...(fabric !== undefined && { fabricMtu: Math.max(576, nicMtu - fabric) }),
        nodeSelector: { 'topology.kubernetes.io/region': name.slice(0, 63) },
        nodes: [`10.${i + 1}.0.10`, ...(v6 ? [`fd00:${i + 1}::10`] : [])],
        ...(g.cidrs && { nodeCidrs: [`10.${i + 1}.0.0/16`, ...(v6 ? [`fd00:${i + 1}::/64`] : [])] }),
      };
    });
    const links: Obj[] = [];
    for (let i = 0; i < clouds.length; i++) {
      for (let j = i + 1; j < clouds.length; j++) {
        const k = links.length;
        links.push({
          between: [clouds[i].name, clouds[j].name],
          ...(g.linkNamed[k] && { name: `link-${k}` }),
          pathMtu: g.links[k],
          ...(v6 && g.linkV6[k] !== undefined && { pathMtuV6: g.linkV6[k] }),
        });
      }
    }
    return {
      name: 'fuzz',
      flannel: {
        backend: g.backend,
        podNetwork: '10.244.0.0/16',
        ...(v6 && { podNetworkV6: 'fd00:10:244::/56' }),
        ...(g.backend === 'vxlan' && g.vni !== undefined && { vni: g.vni }),
        ...(g.backend === 'wireguard' && g.tunnelMode !== undefined && { tunnelMode: g.tunnelMode }),
        ...(g.iface !== undefined && { iface: g.iface }),
      },
      clouds,
      ...(links.length > 0 && { links }),
      ...(!g.mssClamp && { mssClamp: { enabled: false } }),
      ...(g.probe && clouds.length > 1 && { probe: { enabled: true, intervalSeconds: 60 } }),
      ...(g.rollout && { rollout: { namespaces: g.rollout.namespaces, ...(g.rollout.selector && { selector: g.rollout.selector }) } }),
      ...(perPath && { mtuMode: 'per-path' }),
      ...(g.pmtud !== undefined && { pmtud: { mode: g.pmtud.mode, ...(g.pmtud.baseMss !== undefined && g.pmtud.mode !== 'off' && { baseMss: g.pmtud.baseMss }) } }),
    };
  });

/** Values that break a field: wrong types, extremes, hostile strings, odd CIDRs. */
export const HOSTILE: readonly Json[] = [
  null, true, -1, 0, 1.5, 575, 9217, 1e308, 65536, 16777216, '1400', '', ' ', 'x'.repeat(100_000),
  '$(reboot)', '`id`', 'a;b', 'a\nb', '../x', '-a', 'A', '*', 'a=b=c', 'kube-system', '::/0', '0.0.0.0/0',
  '::ffff:a00:0/104', '::10.0.0.0/104', '10.1.0.1/16', '10.1.0.0/33', 'fd00::/129', '1.2.3', '2001::1::2',
  [], [1, 2], {}, { a: 1 }, { ['x'.repeat(300)]: 1 },
];

/** Every path to a scalar, list or mapping in a document (the root excluded). */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...paths(v, [...prefix, i])]);
  if (value !== null && typeof value === 'object') return Object.entries(value as Obj).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
  return [];
}

function setIn(doc: Json, path: ReadonlyArray<string | number>, apply: (parent: Obj | Json[], key: string | number) => void): Json {
  const copy = structuredClone(doc);
  let node = copy as Obj;
  for (const key of path.slice(0, -1)) node = (node as Obj)[key] as Obj;
  apply(node, path[path.length - 1]);
  return copy;
}

/** A valid document broken in one place: a value replaced, a key removed, an unknown key added, an entry repeated. */
export const mutatedDocument: fc.Arbitrary<Json> = fc
  .tuple(validDocument, fc.nat(), fc.constantFrom('replace', 'replace', 'replace', 'delete', 'unknown', 'repeat'), fc.constantFrom(...HOSTILE))
  .map(([doc, pick, how, value]) => {
    const all = paths(doc);
    const at = all[pick % all.length];
    return setIn(doc, at, (parent, key) => {
      if (how === 'replace') (parent as Obj)[key] = value;
      else if (how === 'delete') {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Obj)[key];
      } else if (how === 'unknown' && !Array.isArray(parent)) (parent as Obj)[`${String(key)}x`] = value;
      else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(key)]));
      else (parent as Obj)[key] = value;
    });
  });

/** YAML text of a document, as a person would write the file. */
export function toYaml(doc: Json): string {
  return stringify(doc, { lineWidth: 0 });
}
