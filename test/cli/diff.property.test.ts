import * as fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../../src/cli/main';
import { parseEnvironment } from '../../src/config/load';
import { synthEnvironments } from '../../src/synth';

/**
 * `flannel-mtu diff OLD NEW` exits 0 exactly when both files synthesize to identical bytes (and 2
 * otherwise), for random pairs of valid environments; and when the bytes differ, the report names
 * an object or a comment line that differs, never only "formatting". The pairs share most of their
 * settings (NEW takes a random subset of keys from a second random environment), so some (5 of the 25
 * runs with this seed) are identical in output, some only in layout or in keys that reach no object (`nodes` without a
 * probe, a comment, flow or block style).
 */

interface Params {
  readonly backend: 'vxlan' | 'wireguard';
  readonly podNetwork: string;
  readonly dualStack: boolean;
  readonly nicA: number;
  readonly nicB: number;
  readonly pathMtu: number;
  readonly pathMtuV6: number | null;
  readonly cidrs: boolean;
  readonly nodesB: string;
  readonly probe: number | null;
  readonly mssClamp: boolean;
  readonly rollout: readonly string[] | null;
  readonly image: string | null;
  readonly perPath: boolean;
  readonly flowStyle: boolean;
  readonly comment: string;
  readonly vni: number | null;
  readonly pmtud: string | null;
  readonly selector: string | null;
}

const KEYS = ['backend', 'podNetwork', 'dualStack', 'nicA', 'nicB', 'pathMtu', 'pathMtuV6', 'cidrs', 'nodesB', 'probe', 'mssClamp', 'rollout', 'image', 'perPath', 'flowStyle', 'comment', 'vni', 'pmtud', 'selector'] as const;

const params: fc.Arbitrary<Params> = fc.record({
  backend: fc.constantFrom('vxlan', 'wireguard'),
  podNetwork: fc.constantFrom('10.244.0.0/16', '10.245.0.0/16'),
  dualStack: fc.boolean(),
  nicA: fc.constantFrom(1400, 1500, 9001),
  nicB: fc.constantFrom(1400, 1500),
  // >= 1360, so that even dual-stack wireguard (80 bytes over IPv6) leaves pods 1280.
  pathMtu: fc.integer({ min: 1360, max: 1500 }),
  pathMtuV6: fc.option(fc.integer({ min: 1360, max: 1500 })),
  cidrs: fc.boolean(),
  nodesB: fc.constantFrom('198.51.100.10', '198.51.100.11'),
  probe: fc.option(fc.constantFrom(60, 300)),
  mssClamp: fc.boolean(),
  rollout: fc.option(fc.subarray(['ingress-nginx', 'default', 'monitoring'], { minLength: 1 })),
  image: fc.option(fc.constantFrom('ghcr.io/flannel-io/flannel:v0.28.9', 'ghcr.io/flannel-io/flannel:v0.29.0')),
  perPath: fc.boolean(),
  flowStyle: fc.boolean(),
  comment: fc.constantFrom('', '# measured 2026-11-30\n'),
  vni: fc.option(fc.constantFrom(1, 4096)),
  pmtud: fc.option(fc.constantFrom('blackhole', 'always', 'off')),
  selector: fc.option(fc.constantFrom('!flannel-mtu.io/skip-rollout', 'app=web')),
});

/** Valid by construction: per-path forces vxlan and node subnets; every cloud has a nodeSelector and nodes (the probe needs them). */
function yaml(p: Params): string {
  const perPath = p.perPath;
  const backend = perPath ? 'vxlan' : p.backend;
  const cidrs = p.cidrs || perPath;
  const list = (xs: readonly string[]) => (p.flowStyle ? ` [${xs.join(', ')}]` : `\n${xs.map((x) => `      - ${x}`).join('\n')}`);
  return [
    p.comment,
    'name: prop-env',
    'flannel:',
    `  backend: ${backend}`,
    `  podNetwork: ${p.podNetwork}`,
    ...(p.dualStack ? ['  podNetworkV6: fd00:10:244::/56'] : []),
    ...(p.vni !== null && backend === 'vxlan' ? [`  vni: ${p.vni}`] : []),
    ...(perPath ? ['mtuMode: per-path'] : []),
    'clouds:',
    '  - name: cloud-a',
    `    nicMtu: ${p.nicA}`,
    '    nodeSelector: { topology.kubernetes.io/region: a }',
    `    nodes:${list(['192.0.2.10'])}`,
    ...(cidrs ? ['    nodeCidrs: [192.0.2.0/24]'] : []),
    '  - name: cloud-b',
    `    nicMtu: ${p.nicB}`,
    '    nodeSelector: { topology.kubernetes.io/region: b }',
    `    nodes:${list([p.nodesB])}`,
    ...(cidrs ? ['    nodeCidrs: [198.51.100.0/24]'] : []),
    'links:',
    '  - between: [cloud-a, cloud-b]',
    '    name: sdwan',
    `    pathMtu: ${p.pathMtu}`,
    ...(p.pathMtuV6 !== null && p.dualStack ? [`    pathMtuV6: ${p.pathMtuV6}`] : []),
    'mssClamp:',
    `  enabled: ${p.mssClamp}`,
    ...(p.probe !== null ? ['probe:', '  enabled: true', `  intervalSeconds: ${p.probe}`] : []),
    ...(p.rollout !== null ? ['rollout:', `  namespaces:${list(p.rollout).replace(/^ {6}/gm, '    ')}`, ...(p.selector !== null ? [`  selector: "${p.selector}"`] : [])] : []),
    ...(p.pmtud !== null ? ['pmtud:', `  mode: ${p.pmtud}`] : []),
    ...(p.image !== null ? ['images:', `  flannel: ${p.image}`] : []),
    '',
  ].join('\n');
}

/** The bytes `npm run synth` writes for the text as environments/prop-env.yaml. */
function bytes(text: string): string {
  const source = 'environments/prop-env.yaml';
  return synthEnvironments([{ environment: parseEnvironment(text, source).environment, source }])[0].yaml;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-diff-prop-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function diffExit(oldText: string, newText: string): Promise<{ code: number; out: string }> {
  fs.writeFileSync(path.join(dir, 'old.yaml'), oldText);
  fs.writeFileSync(path.join(dir, 'new.yaml'), newText);
  let out = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    return { code: await run(['diff', path.join(dir, 'old.yaml'), path.join(dir, 'new.yaml')]), out };
  } finally {
    write.mockRestore();
  }
}

test('diff exits 0 exactly when both environments synthesize to identical bytes, 2 otherwise, and names what differs', async () => {
  const seen = { same: 0, differ: 0 };
  await fc.assert(
    fc.asyncProperty(params, params, fc.subarray([...KEYS]), async (a, b, keys) => {
      const mixed = { ...a, ...Object.fromEntries(keys.map((k) => [k, b[k]])) } as Params;
      const oldText = yaml(a);
      const newText = yaml(mixed);
      const identical = bytes(oldText) === bytes(newText);
      seen[identical ? 'same' : 'differ']++;
      const { code, out } = await diffExit(oldText, newText);
      expect(code).toBe(identical ? 0 : 2);
      if (!identical) {
        expect(out).toContain('**Every change to the generated output**');
        expect(out).not.toContain('though no object or comment does');
      }
    }),
    { numRuns: 25, seed: 1312 },
  );
  // The generator must exercise both outcomes, or the property says nothing.
  expect(seen.same).toBeGreaterThanOrEqual(3);
  expect(seen.differ).toBeGreaterThanOrEqual(3);
}, 120_000);
