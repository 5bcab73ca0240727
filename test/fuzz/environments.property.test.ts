// The fuzz suite of issue 16, through the public API: random valid environment files and files
// broken in one place either plan, synthesize and keep every invariant below, or are refused with
// an InputError whose every problem names file, line and YAML path. Never another error, never a
// hang. The number of cases run is printed.
//
// Invariants of an accepted file, each derived independently of the plan (vxlan costs 50 bytes
// over IPv4 and 70 over IPv6, wireguard 60 and 80; flannel subtracts 50 or 80 from Backend.MTU):
//   - the pod MTU plus the encapsulation fits every path, per family, and is the largest that does
//     (uniform: one MTU for all; per-path: each cloud's own, and each link's on its routes);
//   - node-to-node clamps: path MTU = min(link, both clouds' NIC or fabric), MSS = that - 40 / - 60;
//   - Backend.MTU = pod MTU + what flannel subtracts, in the plan and in every net-conf.json;
//     MSS = pod MTU - 40 / - 60 (vxlan; wireguard's may be lower), and the clamp's rules carry it;
//   - every device name is one Linux accepts (at most 15 characters);
//   - the same file gives the same bytes twice, and under another locale (one child process under
//     cs_CZ.UTF-8 synthesizes every accepted file again);
//   - below its header the manifest is byte for byte cdk8s's Yaml.stringify of its objects.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import * as api from '../../src';
import { mutatedDocument, toYaml, validDocument } from '../support/arbitrary-environment';

const REPO = path.resolve(__dirname, '..', '..');
const SOURCE = 'environments/fuzz.yaml';
const DEVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
/** A hang detector, not a benchmark: one file planned and synthesized twice. */
const CASE_BOUND_MS = 10_000;
const RUNS = { valid: 25, mutated: 150 };

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const accepted: Array<{ text: string; hash: string }> = [];
const counts = { accepted: 0, refused: 0 };

/** Plans and synthesizes one file; checks the invariants, or that the refusal is located. */
function check(text: string): void {
  const started = Date.now();
  let planned: ReturnType<typeof api.planText>;
  try {
    planned = api.planText(text, SOURCE);
  } catch (e) {
    if (!(e instanceof api.InputError)) throw new Error(`not an InputError (${String(e)}) for:\n${text.slice(0, 2000)}`);
    for (const p of e.problems) {
      expect({ file: p.file, line: typeof p.line === 'number' && p.line > 0, path: p.path !== undefined }).toEqual({ file: SOURCE, line: true, path: true });
    }
    expect(e.message.length).toBeLessThan(60 * 400); // at most ~50 problems of bounded length
    counts.refused++;
    expect(Date.now() - started).toBeLessThan(CASE_BOUND_MS);
    return;
  }
  // What plan accepts must synthesize (a throw here fails the test with the file).
  const synth = () => api.synthEnvironments([{ environment: planned.loaded.environment, plan: planned.plan, source: SOURCE }])[0];
  const manifest = synth();
  expect(synth().yaml).toBe(manifest.yaml);
  invariants(planned.loaded.environment, planned.plan, manifest);
  // After its two header lines, the manifest is what cdk8s's own serializer prints (src/synth-yaml.ts).
  const headerEnd = manifest.yaml.indexOf('\n', manifest.yaml.indexOf('\n') + 1) + 1;
  expect(manifest.yaml.slice(headerEnd)).toBe(Yaml.stringify(...manifest.objects));
  accepted.push({ text, hash: sha(manifest.yaml) });
  counts.accepted++;
  expect(Date.now() - started).toBeLessThan(CASE_BOUND_MS);
}

function invariants(env: api.ResolvedEnvironment, plan: api.MtuPlan, manifest: api.Manifest): void {
  const dual = env.flannel.podNetworkV6 !== undefined;
  const families: Array<'ipv4' | 'ipv6'> = dual ? ['ipv4', 'ipv6'] : ['ipv4'];
  const cost = env.flannel.backend === 'wireguard' ? { ipv4: 60, ipv6: 80, flannel: 80 } : { ipv4: 50, ipv6: 70, flannel: 50 };
  const inside = new Map(env.clouds.map((c) => [c.name, c.fabricMtu ?? c.nicMtu]));
  const linkPath = (l: api.Link, f: 'ipv4' | 'ipv6') => Math.min(f === 'ipv6' ? l.pathMtuV6 ?? l.pathMtu : l.pathMtu, inside.get(l.between[0])!, inside.get(l.between[1])!);
  const cloudRoom = (name: string) => Math.min(...families.map((f) => inside.get(name)! - cost[f]));
  const linkRoom = (l: api.Link) => Math.min(...families.map((f) => linkPath(l, f) - cost[f]));
  const all = [...env.clouds.map((c) => cloudRoom(c.name)), ...env.links.map(linkRoom)];

  // The largest pod MTU that fits every path, and nothing larger.
  if (plan.mtuMode === 'uniform') {
    expect(plan.podMtu).toBe(Math.min(...all));
  } else {
    expect(plan.clouds.map((c) => c.podMtu)).toEqual(env.clouds.map((c) => cloudRoom(c.name)));
    expect(plan.links.map((l) => l.overlayMtu)).toEqual(env.links.map(linkRoom));
  }
  for (const p of plan.paths) {
    expect(p.headroom).toBeGreaterThanOrEqual(0);
    if (dual) expect(p.headroomV6).toBeGreaterThanOrEqual(0);
  }
  // Node-to-node TCP between clouds: clamped to the link's path through both clouds' fabrics.
  for (const u of plan.underlayClamps) {
    const link = env.links.find((l) => l.between.includes(u.cloud) && l.between.includes(u.to))!;
    expect([u.pathMtu, u.mss]).toEqual([linkPath(link, u.family), linkPath(link, u.family) - (u.family === 'ipv4' ? 40 : 60)]);
  }
  // Backend.MTU and MSS, in the plan and in what ships.
  for (const c of plan.clouds) {
    expect(c.backendMtu).toBe(c.podMtu + cost.flannel);
    if (env.flannel.backend === 'vxlan') expect([c.mss, c.mssV6]).toEqual([c.podMtu - 40, dual ? c.podMtu - 60 : null]);
    else expect(c.mss).toBeLessThanOrEqual(c.podMtu - 40);
  }
  const objects = parseAllDocuments(manifest.yaml).map((d) => d.toJS() as Obj);
  const netConfs = objects.filter((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith('kube-flannel-cfg')).map((o) => JSON.parse(o.data['net-conf.json']));
  expect(netConfs.map((n) => n.Backend.MTU).sort()).toEqual(plan.clouds.map((c) => c.backendMtu).filter((m, i, a) => plan.mtuMode === 'per-path' || a.indexOf(m) === i).sort());
  const inits = objects.filter((o) => o.kind === 'DaemonSet').flatMap((o) => o.spec.template.spec.initContainers ?? []);
  const env1 = (c: Obj, name: string) => (c.env as Obj[]).find((e) => e.name === name)?.value as string | undefined;
  for (const clamp of inits.filter((c: Obj) => c.name === 'tcp-mss-clamp')) {
    const v4 = env1(clamp, 'MSS_RULES_V4') ?? '';
    if (!env.mssClamp.enabled) expect(v4).toBe('');
    else if (plan.mtuMode === 'uniform') expect(v4).toMatch(new RegExp(` --set-mss ${plan.mss}$`));
  }
  // Device names Linux accepts, in the plan and in every DEVICE_MTUS.
  for (const d of [plan.devices.overlay, plan.devices.overlayV6, plan.devices.bridge, ...Object.keys(plan.deviceMtus)]) if (d !== null) expect(d).toMatch(DEVICE);
  for (const c of inits.filter((x: Obj) => x.name === 'apply-node-mtu')) {
    for (const pair of (env1(c, 'DEVICE_MTUS') ?? '').split(' ').filter((x) => x !== '')) expect(pair.split('=')[0]).toMatch(DEVICE);
  }
}

describe('fuzz: every environment file plans and synthesizes with the invariants, or is refused with file, line and YAML path', () => {
  afterAll(() => {
    process.stdout.write(`fuzz: ${counts.accepted + counts.refused} cases (${RUNS.valid} valid-shaped, ${RUNS.mutated} mutated): ${counts.accepted} synthesized, ${counts.refused} refused\n`);
  });

  test(`${RUNS.valid} valid-shaped files`, () => {
    fc.assert(fc.property(validDocument, (doc) => check(toYaml(doc))), { numRuns: RUNS.valid, seed: 16 });
  });

  test(`${RUNS.mutated} files broken in one place (wrong types, extremes, hostile strings, odd CIDRs)`, () => {
    fc.assert(fc.property(mutatedDocument, (doc) => check(toYaml(doc))), { numRuns: RUNS.mutated, seed: 1616 });
  });

  test('the accepted files give the same bytes under LC_ALL=cs_CZ.UTF-8, in a fresh process', () => {
    expect(accepted.length).toBeGreaterThan(10);
    const code = `const api = require(${JSON.stringify(path.join(REPO, 'src'))});
const { createHash } = require('crypto');
const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(texts.map((t) => { const { loaded, plan } = api.planText(t, ${JSON.stringify(SOURCE)});
  return createHash('sha256').update(api.synthEnvironments([{ environment: loaded.environment, plan, source: ${JSON.stringify(SOURCE)} }])[0].yaml).digest('hex'); })));`;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
      cwd: REPO, input: JSON.stringify(accepted.map((a) => a.text)), encoding: 'utf8', timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'cs_CZ.UTF-8', LANG: 'cs_CZ.UTF-8' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(accepted.map((a) => a.hash));
  }, 120_000);
});
