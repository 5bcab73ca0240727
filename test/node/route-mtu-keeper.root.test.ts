// The route-MTU keeper as shipped in the jumbo-per-path fixture's synthesized manifest: static checks, hostile env
// values rejected before any command runs, a STATUS_DIR it cannot use refused at once, and its
// behaviour on a flannel-like node (real VXLAN devices, routes, neighbour and fdb entries) in a
// throw-away namespace: what it sets and leaves alone, what it logs, when it is ready.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { findBinary } from '../../lab/host';
import { Background, BUSYBOX, IP, imageLikePath, Lab, PREFIX, run } from '../support/netns';
import { fixtureManifest } from '../support/dist';
import { REPO_ROOT } from '../support/manifest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const objects: any[] = parseAllDocuments(fixtureManifest('jumbo-per-path')).map((d) => d.toJS());
const keeper = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'kube-flannel-ds-aws').spec.template.spec.containers.find((c: { name: string }) => c.name === 'route-mtu-keeper');
const script: string = keeper.args[0];
const CANARY = path.join(os.tmpdir(), `${PREFIX}keeper-pwned`);
/** A keeper in cloud aws behind one link to onprem (overlay MTU 1330), on flannel.1 only. */
const ONE_LINK = { CLOUD: 'aws', LINK_MTUS: 'onprem 1330', NODE_CIDRS: 'aws 10.30.0.0/16\nonprem 172.16.8.0/22', OVERLAY_DEVICES: 'flannel.1' };
/** The shipped keeper under busybox sh in namespace `ns`, running in the background. */
const startKeeper = (ns: string, env: Record<string, string>) => new Background([IP, 'netns', 'exec', ns, BUSYBOX, 'sh', '-c', script], env);

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

describe('route-mtu-keeper: reading an event line whose second half comes late', () => {
  // The shipped next_event, under busybox sh, reading from a writer that stalls in the middle of
  // a line for longer than the wait (as a stalled shell on a busy node sees it): busybox `read -t`
  // alone drops the half it has read when its time runs out, and the tail became the next "event".
  const fn = /^next_event\(\) \{\n[^]*?^\}\n/m.exec(script)?.[0] ?? '';
  let toolbox: string;
  beforeAll(() => (toolbox = imageLikePath()));
  afterAll(() => fs.rmSync(toolbox, { recursive: true, force: true }));
  const read = (writer: string, wait: string) =>
    run([BUSYBOX, 'sh', '-c', `{ ${writer}; } | { ${fn} exec 3<&0; while next_event ${wait}; do echo "[$_ev]"; done; echo timeout; }`], { env: { PATH: toolbox } });
  test('the line arrives whole, spaces kept, then the wait runs out', () => {
    expect(fn).toMatch(/^next_event\(\) \{/);
    expect(read(`printf 'r 10.44.3.0/24 via 10.44.3.0'; sleep 0.3; printf ' dev flannel.1 onlink\\nend\\n'; sleep 1`, '0.05').stdout).toBe('[r 10.44.3.0/24 via 10.44.3.0 dev flannel.1 onlink]\n[end]\ntimeout\n');
  });
  test('nothing within the wait: it returns 1', () => {
    expect(read('sleep 1', '0.05').stdout).toBe('timeout\n');
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

  const good = { ...ONE_LINK, RECHECK_SECONDS: '30' };
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
    ['STATUS_DIR /', { STATUS_DIR: '/' }, "STATUS_DIR: unsafe path '/'"],
    ['STATUS_DIR /.', { STATUS_DIR: '/.' }, "STATUS_DIR: unsafe path '/.'"],
    ['RECHECK_SECONDS', { RECHECK_SECONDS: '0' }, "RECHECK_SECONDS: expected an integer 1..3600, got '0'"],
  ])('%s', (_name, override, message) => {
    const env = { ...good, STATUS_DIR: path.join(statusRoot, 'status'), ...override };
    const r = lab.sh(ns, script, Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}${message}`);
    expect(fs.existsSync(path.join(statusRoot, 'status'))).toBe(false);
  });

  test('a shell whose read has no -n (dash) is refused at start: its waits would all fail at once', () => {
    const toolbox = imageLikePath();
    try {
      const env = { ...good, STATUS_DIR: path.join(statusRoot, 'status'), PATH: toolbox };
      const r = run([IP, 'netns', 'exec', ns, findBinary('dash'), '-c', script], { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`${bad}this shell's read does not take -n (busybox sh is needed)\n`);
      expect(fs.existsSync(path.join(statusRoot, 'status'))).toBe(false);
    } finally {
      fs.rmSync(toolbox, { recursive: true, force: true });
    }
  });
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('route-mtu-keeper: a STATUS_DIR it cannot write is refused at once; a dead watcher ends it; the periodic recheck', () => {
  let lab: Lab;
  let ns: string;
  let root: string;
  let toolbox: string;
  beforeAll(() => {
    lab = new Lab();
    ns = lab.ns('keeperro');
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}keeper-ro-`));
    toolbox = imageLikePath();
  });
  afterAll(() => {
    lab.destroy();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(toolbox, { recursive: true, force: true });
  });

  test.each([['the directory itself', ''], ['a directory below it', '/status']])('on a read-only filesystem: %s', (_what, below) => {
    // A read-only tmpfs in a private mount namespace (the container case: no emptyDir mounted
    // under a read-only root filesystem). Before, the keeper waited forever for its pid file.
    const dir = path.join(root, 'ro');
    fs.mkdirSync(dir, { recursive: true });
    const env = { ...ONE_LINK, STATUS_DIR: dir + below, PATH: toolbox };
    const r = run([findBinary('unshare'), '-m', '--propagation', 'private', BUSYBOX, 'sh', '-c', 'mount -t tmpfs -o ro,size=64k tmpfs "$1" && shift && exec "$@"', 'sh', dir, IP, 'netns', 'exec', ns, BUSYBOX, 'sh', '-c', script], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(below === '' ? `route-mtu-keeper: error: STATUS_DIR: '${dir}' is not writable` : `route-mtu-keeper: error: STATUS_DIR: cannot create '${dir}/status'`);
  });

  test('its route watcher ends: it exits 1 at once (the kubelet restarts it) and is not ready', async () => {
    const statusDir = path.join(root, 'watcher');
    const env = { ...ONE_LINK, STATUS_DIR: statusDir, PATH: toolbox };
    const k = startKeeper(ns, env);
    try {
      await waitFor('the first pass', () => k.lines.includes('route-mtu-keeper: flannel.1: no such device'));
      // (the keeper's other children come and go: a pid listed may be gone when its cmdline is read)
      const cmdline = (pid: string) => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
      const monitor = run([IP, 'netns', 'pids', ns]).stdout.split('\n').filter((p) => /^\d+$/.test(p) && cmdline(p) === 'ip\0monitor\0route\0');
      expect(monitor).toHaveLength(1);
      process.kill(Number(monitor[0]), 'SIGKILL');
      await waitFor('the keeper to exit', () => k.isClosed, 5000);
      expect(await k.closed).toEqual({ code: 1, signal: null });
      expect(k.lines).toContain('route-mtu-keeper: error: ip monitor route ended');
      expect(fs.existsSync(path.join(statusDir, 'ready'))).toBe(false);
      await waitFor('no process left in the namespace', () => run([IP, 'netns', 'pids', ns]).stdout.trim() === '', 3000);
    } finally {
      if (!k.isClosed) k.child.kill('SIGKILL');
    }
  });

  test('a neighbour entry that appears later (no route event) is picked up by the periodic recheck', async () => {
    lab.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    lab.ip(ns, 'addr', 'add', '10.30.1.10/24', 'dev', 'eth0');
    lab.ip(ns, 'link', 'set', 'eth0', 'up');
    lab.ip(ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '10.30.1.10', 'dev', 'eth0', 'nolearning');
    lab.ip(ns, 'link', 'set', 'flannel.1', 'up');
    lab.mustExec(ns, ['bridge', 'fdb', 'append', '02:fe:00:00:01:10', 'dev', 'flannel.1', 'dst', '172.16.8.110', 'self', 'permanent']);
    lab.ip(ns, 'route', 'add', '10.44.11.0/24', 'via', '10.44.11.0', 'dev', 'flannel.1', 'onlink');
    const statusDir = path.join(root, 'recheck');
    const env = { ...ONE_LINK, STATUS_DIR: statusDir, RECHECK_SECONDS: '1', PATH: toolbox };
    const k = startKeeper(ns, env);
    try {
      await waitFor('the problem logged', () => k.text().includes('flannel.1: 10.44.11.0/24 via 10.44.11.0: no neighbour entry yet'));
      expect(fs.existsSync(path.join(statusDir, 'ready'))).toBe(false);
      lab.ip(ns, 'neigh', 'replace', '10.44.11.0', 'lladdr', '02:fe:00:00:01:10', 'dev', 'flannel.1', 'nud', 'permanent');
      await waitFor('ready', () => fs.existsSync(path.join(statusDir, 'ready')));
      await waitFor('the change logged', () => k.text().includes('flannel.1: 10.44.11.0/24 via 10.44.11.0: node 172.16.8.110 in cloud onprem: mtu none -> 1330'));
      expect(lab.ip(ns, 'route', 'show', 'dev', 'flannel.1').trim()).toBe('10.44.11.0/24 via 10.44.11.0 onlink mtu 1330');
    } finally {
      k.child.kill('SIGTERM');
      await waitFor('exit', () => k.isClosed, 5000);
    }
  });

  test('a recheck of unchanged tables skips the join; a new neighbour and fdb entry behind an unchanged route (no route event) is still seen', async () => {
    // The image's tools with ip and awk wrapped to count what each recheck runs: a dump (`ip -4
    // route show dev ...`) and a full pass's join (`awk -v mode=pass` without `small`).
    const counted = imageLikePath();
    const calls = path.join(root, 'calls');
    fs.writeFileSync(calls, '');
    for (const [tool, target, pattern, word] of [['ip', IP, '"-4 route show dev "*', 'dump'], ['awk', BUSYBOX + ' awk', '*"mode=pass --"*', 'join']]) {
      fs.unlinkSync(path.join(counted, tool));
      fs.writeFileSync(path.join(counted, tool), `#!/bin/sh\ncase "$*" in ${pattern}) echo ${word} >>${calls} ;; esac\nexec ${target} "$@"\n`, { mode: 0o755 });
    }
    const count = (word: string) => fs.readFileSync(calls, 'utf8').split('\n').filter((l) => l === word).length;
    // a subnet leased by a node in aws (no mtu wanted), next to the onprem route of the test above
    lab.ip(ns, 'neigh', 'replace', '10.44.12.0', 'lladdr', '02:fe:00:00:01:20', 'dev', 'flannel.1', 'nud', 'permanent');
    lab.mustExec(ns, ['bridge', 'fdb', 'append', '02:fe:00:00:01:20', 'dev', 'flannel.1', 'dst', '10.30.2.20', 'self', 'permanent']);
    lab.ip(ns, 'route', 'add', '10.44.12.0/24', 'via', '10.44.12.0', 'dev', 'flannel.1', 'onlink');
    const statusDir = path.join(root, 'skip');
    const env = { ...ONE_LINK, STATUS_DIR: statusDir, RECHECK_SECONDS: '1', PATH: counted };
    const k = startKeeper(ns, env);
    try {
      await waitFor('ready', () => fs.existsSync(path.join(statusDir, 'ready')));
      // the first pass needed nothing (both routes right): its dump is kept
      await waitFor('the checked tables kept', () => fs.existsSync(path.join(statusDir, 'tables.checked')));
      const joins = count('join');
      const dumps = count('dump');
      await waitFor('three more rechecks', () => count('dump') >= dumps + 3, 10_000);
      expect(count('join')).toBe(joins);
      expect(fs.readFileSync(path.join(statusDir, 'tables.checked'), 'utf8')).toContain('10.44.12.0/24 via 10.44.12.0 onlink');

      // the lease goes to an onprem node: same route, new fdb entry and neighbour entry (in that
      // order, as flanneld adds them, so that no recheck sees a neighbour without its fdb entry)
      const from = k.lines.length;
      lab.mustExec(ns, ['bridge', 'fdb', 'append', '02:fe:00:00:01:21', 'dev', 'flannel.1', 'dst', '172.16.8.121', 'self', 'permanent']);
      lab.ip(ns, 'neigh', 'replace', '10.44.12.0', 'lladdr', '02:fe:00:00:01:21', 'dev', 'flannel.1', 'nud', 'permanent');
      await waitFor('the change logged', () => k.text(from).includes('flannel.1: 10.44.12.0/24 via 10.44.12.0: node 172.16.8.121 in cloud onprem: mtu none -> 1330'));
      expect(count('join')).toBeGreaterThan(joins);
      expect(lab.ip(ns, 'route', 'show', '10.44.12.0/24', 'dev', 'flannel.1').trim()).toBe('10.44.12.0/24 via 10.44.12.0 onlink mtu 1330');
      expect(k.text(from)).not.toMatch(/not ready/);
      await waitFor('ready', () => fs.existsSync(path.join(statusDir, 'ready')));
    } finally {
      k.child.kill('SIGTERM');
      expect((await k.closed).code).toBe(0);
      fs.rmSync(counted, { recursive: true, force: true });
    }
    // TERM removes what it kept, with the ready file
    expect(fs.readdirSync(statusDir)).toEqual([]);
  });
});

describe('route-mtu-keeper on a flannel-like node (vxlan IPv4 and IPv6)', () => {
  // This node is in cloud aws (underlay 10.30.0.0/16, 2001:db8:30::/48); onprem is 172.16.8.0/22
  // and 2001:db8:8::/48, behind a link whose overlay MTU is 1330 (the env dist gives aws's keeper).
  const env = {
    CLOUD: 'aws',
    LINK_MTUS: 'onprem 1330',
    NODE_CIDRS: 'aws 10.30.0.0/16\naws 2001:db8:30::/48\nonprem 172.16.8.0/22\nonprem 2001:db8:8::/48',
    OVERLAY_DEVICES: 'flannel-v6.1 flannel.1',
    RECHECK_SECONDS: '3600', // every pass here comes from route events (the recheck has its own test)
  };
  let lab: Lab;
  let ns: string;
  let root: string;
  let toolbox: string;
  let keeper: Background | undefined;
  let out: string[] = [];
  const fault = path.join(os.tmpdir(), `${PREFIX}keeper-fault`);
  let statusDir: string;
  const ready = () => fs.existsSync(path.join(statusDir, 'ready'));
  const logged = (from: number) => out.slice(from).join('\n');

  let n = 0;
  /** A remote node as flanneld programs it: route via the overlay device, neighbour, fdb entry. */
  function remote(dev: 'flannel.1' | 'flannel-v6.1', subnet: string, underlay: string, routeExtra: string[] = [], parts = { neigh: true, fdb: true }): { mac: string; gw: string } {
    const i = ++n;
    const mac = `02:fe:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const gw = subnet.split('/')[0];
    if (parts.neigh) lab.ip(ns, 'neigh', 'replace', gw, 'lladdr', mac, 'dev', dev, 'nud', 'permanent');
    if (parts.fdb) lab.mustExec(ns, ['bridge', 'fdb', 'append', mac, 'dev', dev, 'dst', underlay, 'self', 'permanent']);
    lab.ip(ns, 'route', 'add', subnet, 'via', gw, 'dev', dev, 'onlink', ...routeExtra);
    return { mac, gw };
  }
  const routes = (dev: string, fam = '-4') => lab.ip(ns, fam, 'route', 'show', 'dev', dev).trim().split('\n').map((l) => l.trim());

  beforeAll(async () => {
    lab = new Lab();
    ns = lab.ns('keeperfn');
    const peer = lab.ns('peer');
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}keeper-fn-`));
    statusDir = path.join(root, 'status');
    // the image's tools, with `ip` wrapped: when the fault file names a route, the wrapper deletes
    // that route just before the keeper's `ip -force -batch` runs (a flanneld delete racing the keeper)
    toolbox = imageLikePath();
    fs.unlinkSync(path.join(toolbox, 'ip'));
    fs.writeFileSync(path.join(toolbox, 'ip'), `#!/bin/sh\ncase "$*" in *"-batch -"*) if [ -s ${fault} ]; then read -r r <${fault}; rm -f ${fault}; ${IP} route del $r; fi ;; esac\nexec ${IP} "$@"\n`, { mode: 0o755 });
    lab.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer);
    lab.ip(ns, 'addr', 'add', '10.30.1.10/24', 'dev', 'eth0');
    lab.ip(ns, 'addr', 'add', '2001:db8:30::10/64', 'dev', 'eth0', 'nodad');
    lab.ip(ns, 'link', 'set', 'eth0', 'up');
    lab.ip(ns, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '10.30.1.10', 'dev', 'eth0', 'nolearning');
    lab.ip(ns, 'link', 'add', 'flannel-v6.1', 'type', 'vxlan', 'id', '1', 'dstport', '8473', 'local', '2001:db8:30::10', 'dev', 'eth0', 'nolearning');
    for (const d of ['flannel.1', 'flannel-v6.1']) lab.ip(ns, 'link', 'set', d, 'up');
    remote('flannel.1', '10.44.1.0/24', '172.16.8.11'); // onprem, the victim of the fault test
    remote('flannel.1', '10.44.2.0/24', '10.30.2.10'); // aws: left alone
    remote('flannel.1', '10.44.3.0/24', '172.16.8.10'); // onprem: none -> 1330
    remote('flannel.1', '10.44.4.0/24', '172.16.9.10', ['mtu', '1400']); // onprem: 1400 -> 1330
    remote('flannel.1', '10.44.5.0/24', '172.16.10.10', ['mtu', '1330']); // onprem, already right
    remote('flannel-v6.1', 'fd44:0:0:3::/64', '2001:db8:8::10'); // onprem over IPv6: none -> 1330
    remote('flannel-v6.1', 'fd44:0:0:2::/64', '2001:db8:30::20'); // aws over IPv6: left alone
    keeper = startKeeper(ns, { ...env, STATUS_DIR: statusDir, PATH: toolbox });
    out = keeper.lines;
    // the ready file comes after the pass's log lines, but this process may read them later
    await waitFor('ready and its log line', () => ready() && out.some((l) => l.startsWith('route-mtu-keeper: ready: ')));
  });
  afterAll(async () => {
    if (keeper !== undefined && !keeper.isClosed) {
      keeper.child.kill('SIGTERM');
      await waitFor('the keeper to exit', () => keeper!.isClosed);
    }
    lab.destroy();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(toolbox, { recursive: true, force: true });
    fs.rmSync(fault, { force: true });
  });

  test('sets the link MTU on routes to the other cloud only, logs each change, then is ready', () => {
    expect(routes('flannel.1')).toEqual([
      '10.44.1.0/24 via 10.44.1.0 onlink mtu 1330',
      '10.44.2.0/24 via 10.44.2.0 onlink', // inside aws: left alone
      '10.44.3.0/24 via 10.44.3.0 onlink mtu 1330',
      '10.44.4.0/24 via 10.44.4.0 onlink mtu 1330',
      '10.44.5.0/24 via 10.44.5.0 onlink mtu 1330',
    ]);
    expect(routes('flannel-v6.1', '-6').filter((l) => l.startsWith('fd44'))).toEqual([
      'fd44:0:0:2::/64 via fd44:0:0:2:: metric 1024 onlink pref medium',
      'fd44:0:0:3::/64 via fd44:0:0:3:: metric 1024 onlink mtu 1330 pref medium',
    ]);
    const changes = out.filter((l) => / -> /.test(l));
    expect(changes.sort()).toEqual([
      'route-mtu-keeper: flannel-v6.1: fd44:0:0:3::/64 via fd44:0:0:3::: node 2001:db8:8::10 in cloud onprem: mtu none -> 1330',
      'route-mtu-keeper: flannel.1: 10.44.1.0/24 via 10.44.1.0: node 172.16.8.11 in cloud onprem: mtu none -> 1330',
      'route-mtu-keeper: flannel.1: 10.44.3.0/24 via 10.44.3.0: node 172.16.8.10 in cloud onprem: mtu none -> 1330',
      'route-mtu-keeper: flannel.1: 10.44.4.0/24 via 10.44.4.0: node 172.16.9.10 in cloud onprem: mtu 1400 -> 1330',
    ]);
    // 7 routes with a gateway, 5 of them to onprem; 4 needed the mtu
    expect(out).toContain('route-mtu-keeper: pass over flannel-v6.1,flannel.1: 7 routes (5 to other clouds), 4 set, 0 failed, 0 not checked');
    expect(out).toContain('route-mtu-keeper: ready: every route via flannel-v6.1 flannel.1 carries its planned mtu');
  });

  test('a flanneld-style rewrite of one route is undone (a small pass: the route looked up alone)', async () => {
    const from = out.length;
    lab.ip(ns, 'route', 'replace', '10.44.3.0/24', 'via', '10.44.3.0', 'dev', 'flannel.1', 'onlink');
    await waitFor('the mtu back', () => lab.ip(ns, 'route', 'show', '10.44.3.0/24', 'dev', 'flannel.1').includes('mtu 1330'));
    await waitFor('the log line', () => logged(from).includes('10.44.3.0/24 via 10.44.3.0: node 172.16.8.10 in cloud onprem: mtu none -> 1330'));
    expect(logged(from)).not.toMatch(/pass over/); // no full pass for one route
    expect(ready()).toBe(true);
  });

  test('the same over IPv6 (flannel-v6.1: ip neigh get and bridge fdb get of IPv6 entries)', async () => {
    const from = out.length;
    lab.ip(ns, '-6', 'route', 'replace', 'fd44:0:0:3::/64', 'via', 'fd44:0:0:3::', 'dev', 'flannel-v6.1', 'onlink');
    await waitFor('the log line', () => logged(from).includes('flannel-v6.1: fd44:0:0:3::/64 via fd44:0:0:3::: node 2001:db8:8::10 in cloud onprem: mtu none -> 1330'));
    expect(lab.ip(ns, '-6', 'route', 'show', 'fd44:0:0:3::/64', 'dev', 'flannel-v6.1')).toContain('mtu 1330');
    expect(logged(from)).not.toMatch(/pass over/);
  });

  test('a route rewritten and then deleted within one burst is left deleted: its last event counts', async () => {
    remote('flannel.1', '10.44.12.0/24', '172.16.8.120', ['mtu', '1330']);
    await delay(300);
    const from = out.length;
    lab.mustExec(ns, [IP, '-batch', '-'], { input: 'route replace 10.44.12.0/24 via 10.44.12.0 dev flannel.1 onlink\nroute del 10.44.12.0/24 dev flannel.1\n' });
    await delay(1000); // the burst's pass
    expect(logged(from)).not.toMatch(/10\.44\.12\.0/);
    expect(logged(from)).not.toMatch(/not ready/);
    expect(lab.ip(ns, 'route', 'show', '10.44.12.0/24', 'dev', 'flannel.1')).toBe('');
    expect(ready()).toBe(true);
  });

  test('a burst of rewrites (more than a small pass takes) is fixed by one full pass, every change logged', async () => {
    for (let i = 0; i < 20; i++) remote('flannel.1', `10.45.${i}.0/24`, `172.16.8.${100 + i}`, ['mtu', '1330']);
    await delay(300);
    const from = out.length;
    const batch = ['route replace 10.44.3.0/24 via 10.44.3.0 dev flannel.1 onlink', 'route replace fd44:0:0:3::/64 via fd44:0:0:3:: dev flannel-v6.1 onlink'];
    for (let i = 0; i < 20; i++) batch.push(`route replace 10.45.${i}.0/24 via 10.45.${i}.0 dev flannel.1 onlink`);
    lab.mustExec(ns, [IP, '-batch', '-'], { input: batch.join('\n') + '\n' });
    await waitFor('every route fixed', () => routes('flannel.1').filter((l) => l.startsWith('10.45.') && l.endsWith('mtu 1330')).length === 20);
    await waitFor('22 log lines', () => out.slice(from).filter((l) => / -> 1330$/.test(l)).length === 22);
    await waitFor('the summary', () => /pass over flannel-v6\.1,flannel\.1: 27 routes \(25 to other clouds\), 22 set, 0 failed, 0 not checked/.test(logged(from)));
    expect(ready()).toBe(true);
  });

  test('-force: a batch line that fails (route deleted meanwhile) is logged, the rest still applied; ready again once it is gone', async () => {
    const from = out.length;
    fs.writeFileSync(fault, '10.44.1.0/24\n');
    lab.mustExec(ns, [IP, '-batch', '-'], { input: ['route replace 10.44.1.0/24 via 10.44.1.0 dev flannel.1 onlink', 'route replace 10.44.4.0/24 via 10.44.4.0 dev flannel.1 onlink'].join('\n') + '\n' });
    await waitFor('the failure logged', () => logged(from).includes('flannel.1: 10.44.1.0/24 via 10.44.1.0: setting mtu 1330 failed: RTNETLINK answers: No such file or directory'));
    // the line after the failing one ran in the same batch (without -force ip stops at the first
    // failure); `change`, not `replace`, so the deleted route is not created again
    await waitFor('the next route fixed', () => logged(from).includes('flannel.1: 10.44.4.0/24 via 10.44.4.0: node 172.16.9.10 in cloud onprem: mtu none -> 1330'));
    expect(lab.ip(ns, 'route', 'show', '10.44.4.0/24', 'dev', 'flannel.1')).toContain('mtu 1330');
    expect(logged(from)).not.toMatch(/10\.44\.4\.0\/24 .*failed/);
    await waitFor('not ready logged', () => logged(from).includes('route-mtu-keeper: not ready: a route could not be checked or set'));
    await waitFor('ready again', ready);
    expect(lab.ip(ns, 'route', 'show', '10.44.1.0/24', 'dev', 'flannel.1')).toBe('');
  });

  test.each<[string, () => void, string, string]>([
    ['no neighbour entry yet', () => void remote('flannel.1', '10.44.6.0/24', '172.16.8.60', [], { neigh: false, fdb: true }), 'flannel.1: 10.44.6.0/24 via 10.44.6.0: no neighbour entry yet', '10.44.6.0/24'],
    ['no fdb entry yet', () => void remote('flannel.1', '10.44.7.0/24', '172.16.8.70', [], { neigh: true, fdb: false }), 'flannel.1: 10.44.7.0/24 via 10.44.7.0: no fdb entry for 02:fe:00:00:00:', '10.44.7.0/24'],
    ['a locked mtu', () => void remote('flannel.1', '10.44.8.0/24', '172.16.8.80', ['mtu', 'lock', '1400']), 'flannel.1: 10.44.8.0/24: mtu is locked, left alone', '10.44.8.0/24'],
    ['a node in no cloud', () => void remote('flannel.1', '10.44.9.0/24', '192.0.2.90'), "flannel.1: 10.44.9.0/24: node 192.0.2.90 is in no cloud's NODE_CIDRS, left alone", '10.44.9.0/24'],
    ['an unexpected attribute', () => void remote('flannel.1', '10.44.10.0/24', '172.16.8.100', ['rto_min', '50ms']), "flannel.1: 10.44.10.0/24: unexpected route attribute 'rto_min', left alone", '10.44.10.0/24'],
  ])('%s: logged and not ready (left alone) until the route is gone', async (_what, add, message, route) => {
    const from = out.length;
    const before = routes('flannel.1');
    add();
    await waitFor('the problem logged', () => logged(from).includes(message));
    await waitFor('not ready', () => !ready());
    expect(routes('flannel.1').filter((l) => !before.includes(l))).toEqual([expect.not.stringMatching(/mtu 1330/)]);
    lab.ip(ns, 'route', 'del', route, 'dev', 'flannel.1');
    await waitFor('ready again', ready);
  });

  test('TERM: exits 0 and removes the ready file; its watcher is gone', async () => {
    keeper!.child.kill('SIGTERM');
    expect(await keeper!.closed).toEqual({ code: 0, signal: null });
    expect(ready()).toBe(false);
    // it killed its watcher (ip monitor and the awk behind it); they may take a moment to go
    await waitFor('no process left in the namespace', () => run([IP, 'netns', 'pids', ns]).stdout.trim() === '', 3000);
  });
});
