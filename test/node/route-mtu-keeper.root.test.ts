// The route-MTU keeper as shipped in dist/jumbo-per-path.k8s.yaml: static checks, and hostile env
// values rejected before any command runs (in a throw-away namespace with a flannel-like route).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { BUSYBOX, Lab, PREFIX, run } from '../support/netns';
import { REPO_ROOT } from '../support/manifest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const objects: any[] = parseAllDocuments(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'jumbo-per-path.k8s.yaml'), 'utf8')).map((d) => d.toJS());
const keeper = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'kube-flannel-ds-aws').spec.template.spec.containers.find((c: { name: string }) => c.name === 'route-mtu-keeper');
const script: string = keeper.args[0];
const CANARY = path.join(os.tmpdir(), `${PREFIX}keeper-pwned`);

describe('route-mtu-keeper: static checks', () => {
  test('the manifest ships the current script (else re-run `npm run synth`)', () => {
    expect(script).toBe(fs.readFileSync(path.join(REPO_ROOT, 'src', 'node', 'scripts', 'route-mtu-keeper.sh'), 'utf8'));
  });
  test.each([['sh', ['sh', '-n']], ['busybox sh', [BUSYBOX, 'sh', '-n']]])('%s -n accepts it', (_l, argv) => {
    expect(run([...argv, '-c', script])).toMatchObject({ status: 0, stderr: '' });
  });
  test('shellcheck -s sh finds nothing; set -euf; no eval', () => {
    expect(run(['shellcheck', '-s', 'sh', '-'], { input: script })).toMatchObject({ status: 0, stdout: '' });
    expect(script).toMatch(/^set -euf$/m);
    expect(script).not.toMatch(/\beval\b/);
  });
});

describe('route-mtu-keeper: hostile env values are rejected before anything runs', () => {
  let lab: Lab;
  let ns: string;
  let statusRoot: string;
  beforeAll(() => {
    lab = new Lab();
    ns = lab.ns('keeper');
    const peer = lab.ns('peer');
    lab.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer);
    lab.ip(ns, 'addr', 'add', '10.30.1.10/24', 'dev', 'eth0');
    lab.ip(ns, 'link', 'set', 'eth0', 'up');
    lab.ip(ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '10.30.1.10', 'dev', 'eth0', 'nolearning');
    lab.ip(ns, 'link', 'set', 'flannel.1', 'up');
    lab.ip(ns, 'route', 'add', '10.44.3.0/24', 'via', '10.44.3.0', 'dev', 'flannel.1', 'onlink');
    statusRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}keeper-`));
  });
  afterAll(() => {
    lab.destroy();
    fs.rmSync(statusRoot, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(fs.existsSync(CANARY)).toBe(false);
    expect(lab.ip(ns, 'route', 'show', 'dev', 'flannel.1').trim()).toBe('10.44.3.0/24 via 10.44.3.0 onlink');
  });

  const good = { CLOUD: 'aws', LINK_MTUS: 'onprem 1330', NODE_CIDRS: 'aws 10.30.0.0/16\nonprem 172.16.8.0/22', OVERLAY_DEVICES: 'flannel.1', RECHECK_SECONDS: '30' };
  const bad = 'route-mtu-keeper: error: ';
  test.each<[string, Record<string, string | undefined>, string]>([
    ['CLOUD unset', { CLOUD: undefined }, 'CLOUD is not set'],
    ['CLOUD with $()', { CLOUD: `$(touch ${CANARY})` }, 'CLOUD: expected a lowercase DNS label'],
    ['LINK_MTUS ;', { LINK_MTUS: `onprem 1330;touch\${IFS}${CANARY}` }, "LINK_MTUS: onprem: invalid mtu '1330;touch"],
    ['LINK_MTUS three words', { LINK_MTUS: 'onprem 1330 x' }, "LINK_MTUS: expected '<cloud> <mtu>', got 'onprem 1330 x'"],
    ['LINK_MTUS own cloud', { LINK_MTUS: 'aws 1330' }, 'LINK_MTUS: aws is this node\'s own cloud'],
    ['LINK_MTUS octal', { LINK_MTUS: 'onprem 01330' }, "LINK_MTUS: onprem: invalid mtu '01330'"],
    ['LINK_MTUS too small', { LINK_MTUS: 'onprem 575' }, "LINK_MTUS: onprem: invalid mtu '575'"],
    ['NODE_CIDRS host bits', { NODE_CIDRS: 'aws 10.30.0.1/16\nonprem 172.16.8.0/22' }, "NODE_CIDRS: aws: invalid CIDR '10.30.0.1/16'"],
    ['NODE_CIDRS bad octet', { NODE_CIDRS: 'aws 10.300.0.0/16\nonprem 172.16.8.0/22' }, "NODE_CIDRS: aws: invalid CIDR '10.300.0.0/16'"],
    ['NODE_CIDRS bad IPv6', { NODE_CIDRS: 'aws 2001:db8::1::/48\nonprem 172.16.8.0/22' }, "NODE_CIDRS: aws: invalid CIDR '2001:db8::1::/48'"],
    ['NODE_CIDRS IPv6 host bits', { NODE_CIDRS: 'aws 2001:db8:0:1::/48\nonprem 172.16.8.0/22' }, "NODE_CIDRS: aws: invalid CIDR '2001:db8:0:1::/48'"],
    ['NODE_CIDRS unknown cloud', { NODE_CIDRS: 'aws 10.30.0.0/16\ngcp 172.16.8.0/22' }, 'NODE_CIDRS: cloud gcp is neither this cloud nor in LINK_MTUS'],
    ['NODE_CIDRS missing a cloud', { NODE_CIDRS: 'aws 10.30.0.0/16' }, 'NODE_CIDRS: no CIDR for cloud onprem'],
    ['OVERLAY_DEVICES path', { OVERLAY_DEVICES: '../flannel.1' }, "OVERLAY_DEVICES: invalid device name '../flannel.1'"],
    ['STATUS_DIR relative', { STATUS_DIR: 'run/x' }, "STATUS_DIR: expected an absolute path, got 'run/x'"],
    ['STATUS_DIR ..', { STATUS_DIR: '/tmp/../etc' }, "STATUS_DIR: unsafe path '/tmp/../etc'"],
    ['RECHECK_SECONDS', { RECHECK_SECONDS: '0' }, "RECHECK_SECONDS: expected an integer 1..3600, got '0'"],
  ])('%s', (_name, override, message) => {
    const env = { ...good, STATUS_DIR: path.join(statusRoot, 'status'), ...override };
    const r = lab.sh(ns, script, Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}${message}`);
    expect(fs.existsSync(path.join(statusRoot, 'status'))).toBe(false);
  });
});
