import * as fs from 'fs';
import { planFile, synthFiles } from '../../src/synth';
import { distFile, exampleEnvironmentFiles, findObject, fixtureFile, FixtureName, fixtureManifest, parseManifest, REPO } from '../support/dist';

const cwd = process.cwd();
beforeAll(() => process.chdir(REPO));
afterAll(() => process.chdir(cwd));

const FIXTURES: FixtureName[] = ['hybrid-prod', 'jumbo-per-path', 'seed-dev'];
const examples = exampleEnvironmentFiles();
/** The examples are documentation: a fork that deletes them keeps a green suite. */
const describeExamples = examples.length > 0 ? describe : describe.skip;

describeExamples('the examples: committed dist/ (documentation, checked while environments/ has files)', () => {
  test.each(examples)('%s: committed dist/<env>/ equals a fresh synth (run `npm run synth`)', (file) => {
    const m = synthFiles([file])[0];
    expect(fs.readFileSync(distFile(m.environment), 'utf8')).toBe(m.yaml);
  });
});

describe('synthesized manifests (fixtures)', () => {
  // The snapshots hold whole manifests; the numbers in them are checked one by one in the tests
  // below. Changes that move no number: the probe's peers (every declared node of the other cloud,
  // seed-dev's cloud-b probe now lists 192.168.1.130,192.168.1.131) and its NODE_NAME (spec.nodeName).
  test.each(FIXTURES)('%s: snapshot', (name) => {
    expect(fixtureManifest(name)).toMatchSnapshot();
  });

  test('the seed: Backend.MTU 1380 (SD-WAN path), pods 1380 - 50 = 1330, MSS 1330 - 40 = 1290, everywhere in the YAML', () => {
    const objects = parseManifest(fixtureManifest('seed-dev'));
    const cm = findObject(objects, 'ConfigMap', 'kube-flannel-cfg');
    expect(JSON.parse(cm.data['net-conf.json']).Backend).toEqual({ Type: 'vxlan', MTU: 1380, VNI: 1 });
    expect(JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu).toBe(1330);
    const init = findObject(objects, 'DaemonSet').spec.template.spec.initContainers;
    const env = (name: string) => Object.fromEntries(init.find((c: { name: string }) => c.name === name).env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env('apply-node-mtu')).toEqual({
      DEVICE_MTUS: 'cni0=1330 flannel.1=1330',
      // the NIC must carry a pod packet plus VXLAN over IPv4: 1330 + 50
      NIC_MTU_NEEDED: '1380',
      NODE_NAME: undefined, // valueFrom spec.nodeName
      HOST_IP: undefined, // valueFrom status.hostIP
    });
    expect(env('tcp-mss-clamp')).toEqual({
      MSS_RULES_V4: '-o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1290',
      MSS_RULES_V6: '',
      // node-to-node TCP across the SD-WAN: path 1380 - 40 = 1340, toward the other cloud's node subnet
      UNDERLAY_RULES_V4: [
        'cloud-a -d 10.119.96.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340',
        'cloud-b -d 192.168.1.0/24 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340',
      ].join('\n'),
      UNDERLAY_RULES_V6: '',
      NODE_CIDRS: 'cloud-a 192.168.1.0/24\ncloud-b 10.119.96.0/24',
      HOST_IP: undefined, // valueFrom status.hostIP
    });
    expect(init.find((c: { name: string }) => c.name === 'tcp-mss-clamp').env.find((e: { name: string }) => e.name === 'HOST_IP')).toEqual({
      name: 'HOST_IP',
      valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } },
    });
  });
});

/**
 * Every MTU or MSS number anywhere in a manifest, with where it is. Finds them by name (keys and
 * env vars mentioning mtu or mss) and by shape (`dev=N`, `--set-mss N`, `MTU N`), so a new place
 * that carries an MTU is found and must agree with the plan too.
 */
function mtuNumbers(objects: unknown[]): Array<{ where: string; value: number; kind: 'mtu' | 'mss' | 'backend' }> {
  const found: Array<{ where: string; value: number; kind: 'mtu' | 'mss' | 'backend' }> = [];
  const scanText = (where: string, text: string) => {
    for (const m of text.matchAll(/--set-mss (\d+)/g)) found.push({ where, value: Number(m[1]), kind: 'mss' });
    for (const m of text.matchAll(/(?:^|\s)[a-z0-9.-]+=(\d+)/gi)) if (/mtu/i.test(where)) found.push({ where, value: Number(m[1]), kind: 'mtu' });
    for (const m of text.matchAll(/\b(pod MTU|Backend\.MTU|MSS) (\d+)(?:\/(\d+))?/g)) {
      const kind = m[1] === 'MSS' ? 'mss' : m[1] === 'pod MTU' ? 'mtu' : 'backend';
      found.push({ where, value: Number(m[2]), kind });
      if (m[3]) found.push({ where, value: Number(m[3]), kind });
    }
  };
  const walk = (where: string, v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (v.trim().startsWith('{')) return walk(where, JSON.parse(v), key);
      return scanText(where, v);
    }
    if (typeof v === 'number') {
      if (/^mtu$/i.test(key)) found.push({ where, value: v, kind: where.includes('Backend') ? 'backend' : 'mtu' });
      return;
    }
    if (Array.isArray(v)) return v.forEach((x, i) => walk(`${where}[${i}]`, x, key));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.name === 'string' && 'value' in o) return walk(`${where}.${o.name}`, o.value, o.name);
      for (const [k, x] of Object.entries(o)) walk(`${where}.${k}`, x, k);
    }
  };
  objects.forEach((o, i) => walk(`[${i}]`, o, ''));
  return found;
}

test('per-path (jumbo-per-path): AWS 9001 -> Backend.MTU 9001, pods 8951; on-prem 1500 -> 1450; routes across the SD-WAN 1380 - 50 = 1330', () => {
  const objects = parseManifest(fixtureManifest('jumbo-per-path'));
  expect(objects.filter((o) => o.kind === 'DaemonSet' && o.metadata.name.startsWith('kube-flannel-ds')).map((o) => o.metadata.name)).toEqual(['kube-flannel-ds-aws', 'kube-flannel-ds-onprem']);
  for (const [cloud, backendMtu, podMtu, peer] of [['aws', 9001, 8951, 'onprem'], ['onprem', 1500, 1450, 'aws']] as const) {
    const cm = findObject(objects, 'ConfigMap', `kube-flannel-cfg-${cloud}`);
    expect(JSON.parse(cm.data['net-conf.json']).Backend).toEqual({ Type: 'vxlan', MTU: backendMtu, VNI: 1 });
    expect(JSON.parse(cm.data['cni-conf.json']).plugins[0].delegate.mtu).toBe(podMtu);
    const spec = findObject(objects, 'DaemonSet', `kube-flannel-ds-${cloud}`).spec.template.spec;
    const keeper = spec.containers.find((c: { name: string }) => c.name === 'route-mtu-keeper');
    expect(keeper.env.find((e: { name: string }) => e.name === 'LINK_MTUS').value).toBe(`${peer} 1330`);
  }
});

test('synthesized together, each fixture gets the bytes it gets alone (each chart has an App of its own)', () => {
  const files = FIXTURES.map((name) => fixtureFile(name, false));
  const together = synthFiles(files).map((m) => m.yaml);
  expect(together).toEqual(files.map((f) => synthFiles([f])[0].yaml));
});

describe('consistency: every MTU number in the manifests agrees with the plan', () => {
  // The fixtures as synthesized, and the committed example manifests while there are examples.
  const cases: Array<[string, string, () => string]> = [
    ...FIXTURES.map((n): [string, string, () => string] => [`fixture ${n}`, fixtureFile(n), () => fixtureManifest(n)]),
    ...examples.map((f): [string, string, () => string] => [`example ${f} (dist/)`, f, () => fs.readFileSync(distFile(planFile(f).plan.environment), 'utf8')]),
  ];
  test.each(cases)('%s', (_name, file, manifest) => {
    const { plan } = planFile(file);
    const found = mtuNumbers(parseManifest(manifest()));
    // MSS: the overlay's, and the underlay clamps' (path MTU of each cloud pair - 40 / - 60)
    // Per-path mode adds each cloud's own numbers and each link's overlay MTU (route MTUs, keeper env).
    const expected = {
      mtu: [plan.podMtu, ...plan.clouds.map((c) => c.podMtu), ...plan.links.map((l) => l.overlayMtu)],
      mss: [plan.mss, plan.mssV6, ...plan.underlayClamps.map((c) => c.mss), ...plan.clouds.flatMap((c) => [c.mss, c.mssV6])],
      backend: [plan.backendMtu, ...plan.clouds.map((c) => c.backendMtu)],
    };
    const wrong = found.filter((f) => !expected[f.kind].includes(f.value));
    expect(wrong).toEqual([]);
    // The known places are all there: net-conf, cni-conf, each planned device, the clamp, the annotation.
    expect(found.filter((f) => f.kind === 'backend').length).toBeGreaterThanOrEqual(2);
    expect(found.filter((f) => f.kind === 'mtu').length).toBeGreaterThanOrEqual(1 + Object.keys(plan.deviceMtus).length + 1);
    // (per-path: every cloud's MSS; the clamp there follows the route MTUs, --clamp-mss-to-pmtu)
    const mss = plan.mtuMode === 'per-path' ? plan.clouds.flatMap((c) => [c.mss, c.mssV6]) : [plan.mss, plan.mssV6];
    expect(found.filter((f) => f.kind === 'mss').map((f) => f.value)).toEqual(expect.arrayContaining(mss.filter((m) => m !== null)));
  });

  test('the scanner finds a wrong number (it can fail)', () => {
    const found = mtuNumbers([{ data: { 'net-conf.json': '{"Backend": {"Type": "vxlan", "MTU": 1400}}' } }, { env: [{ name: 'DEVICE_MTUS', value: 'cni0=1350' }] }]);
    expect(found).toEqual([
      { where: '[0].data.net-conf.json.Backend.MTU', value: 1400, kind: 'backend' },
      { where: '[1].env[0].DEVICE_MTUS', value: 1350, kind: 'mtu' },
    ]);
  });
});

test('every fixture manifest passes the Kubernetes schema (synthFiles validates before returning)', () => {
  expect(synthFiles(FIXTURES.map((n) => fixtureFile(n))).map((m) => m.environment)).toEqual(FIXTURES);
});
