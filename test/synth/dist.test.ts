import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/main';
import { planFile, synthFiles } from '../../src/synth';
import { DIST_DIR, exampleEnvironmentFiles, findObject, parseManifest, REPO } from '../support/dist';

const cwd = process.cwd();
beforeAll(() => process.chdir(REPO));
afterAll(() => process.chdir(cwd));

const manifests = () => synthFiles(exampleEnvironmentFiles());

describe('dist/', () => {
  test.each(exampleEnvironmentFiles())('%s: committed dist/ equals a fresh synth (run `npm run synth`)', (file) => {
    const m = synthFiles([file])[0];
    expect(fs.readFileSync(path.join(DIST_DIR, m.fileName), 'utf8')).toBe(m.yaml);
  });

  test.each(exampleEnvironmentFiles())('%s: snapshot', (file) => {
    expect(synthFiles([file])[0].yaml).toMatchSnapshot();
  });

  test('the seed: Backend.MTU 1380 (SD-WAN path), pods 1380 - 50 = 1330, MSS 1330 - 40 = 1290, everywhere in the YAML', () => {
    const objects = parseManifest(fs.readFileSync(path.join(DIST_DIR, 'seed-dev.k8s.yaml'), 'utf8'));
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
  const objects = parseManifest(fs.readFileSync(path.join(DIST_DIR, 'jumbo-per-path.k8s.yaml'), 'utf8'));
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

describe('consistency: every MTU number in the manifests agrees with the plan', () => {
  test.each(exampleEnvironmentFiles())('%s', (file) => {
    const { plan } = planFile(file);
    const found = mtuNumbers(parseManifest(fs.readFileSync(path.join(DIST_DIR, `${plan.environment}.k8s.yaml`), 'utf8')));
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

describe('npm run synth (src/main.ts)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-mtu-synth-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const quiet = <T>(f: () => T): T => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return f();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  };

  test('twice gives identical bytes', () => {
    expect(quiet(() => main(['environments', path.join(tmp, 'a')]))).toBe(0);
    expect(quiet(() => main(['environments', path.join(tmp, 'b')]))).toBe(0);
    const files = fs.readdirSync(path.join(tmp, 'a')).sort();
    expect(files).toEqual(exampleEnvironmentFiles().map((f) => `${path.basename(f, '.yaml')}.k8s.yaml`));
    for (const f of files) expect(fs.readFileSync(path.join(tmp, 'b', f))).toEqual(fs.readFileSync(path.join(tmp, 'a', f)));
  });

  test('fails when any environment is bad, and writes nothing', () => {
    const envs = path.join(tmp, 'envs');
    const out = path.join(tmp, 'out');
    fs.mkdirSync(envs);
    fs.mkdirSync(out);
    fs.copyFileSync('environments/seed-dev.yaml', path.join(envs, 'a-good.yaml'));
    fs.writeFileSync(path.join(envs, 'b-bad.yaml'), fs.readFileSync('environments/seed-dev.yaml', 'utf8').replace('name: seed-dev', 'name: bad').replace('pathMtu: 1380', 'pathMtu: "1380"'));
    fs.writeFileSync(path.join(out, 'old.k8s.yaml'), 'previous output\n');
    const stderr: string[] = [];
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((s) => stderr.push(String(s)) > 0);
    try {
      expect(main([envs, out])).toBe(1);
    } finally {
      err.mockRestore();
    }
    expect(stderr.join('')).toMatch(/error: .*b-bad\.yaml:\d+:\d+: links\[0\]\.pathMtu: expected an integer between 576 and 9216, got "1380" \(a string\)\nnothing was written\n/);
    expect(fs.readdirSync(out)).toEqual(['old.k8s.yaml']);
    expect(fs.readFileSync(path.join(out, 'old.k8s.yaml'), 'utf8')).toBe('previous output\n');
  });

  test('fails when two files declare the same environment name', () => {
    const envs = path.join(tmp, 'envs');
    fs.mkdirSync(envs);
    fs.copyFileSync('environments/seed-dev.yaml', path.join(envs, 'one.yaml'));
    fs.copyFileSync('environments/seed-dev.yaml', path.join(envs, 'two.yaml'));
    expect(() => synthFiles([path.join(envs, 'one.yaml'), path.join(envs, 'two.yaml')])).toThrow(/two\.yaml: name: environment name "seed-dev" is already used by .*one\.yaml/);
  });

  test('removes the manifest of an environment that no longer exists', () => {
    fs.writeFileSync(path.join(tmp, 'gone.k8s.yaml'), 'x');
    fs.writeFileSync(path.join(tmp, 'notes.txt'), 'kept');
    expect(quiet(() => main(['environments', tmp]))).toBe(0);
    expect(fs.readdirSync(tmp).sort()).toEqual([...exampleEnvironmentFiles().map((f) => `${path.basename(f, '.yaml')}.k8s.yaml`), 'notes.txt'].sort());
  });
});

test('every example manifest passes the Kubernetes schema', () => {
  expect(manifests().length).toBe(exampleEnvironmentFiles().length);
});
