// The path-MTU probe as it ships (script and env from the seed-dev fixture's synthesized manifest), run with busybox sh
// in node A's namespace of the lab, measuring across the routers toward node B's underlay address.
// The seed declares the SD-WAN at 1380; the lab's link is set to known values around it.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { labNamespaces, MtuLab } from '../../lab/engine';
import { findBinary } from '../../lab/host';
import { BUSYBOX, IP, imageLikePath } from '../support/netns';
import { firingAlerts } from '../support/alert-rules';
import { fixtureFile, fixtureManifest, REPO } from '../support/dist';
import { loadEnvironmentFile } from '../../src/config/load';
import { decideDrift, parseProbeLog } from '../../src/report/drift';

/** Node B's underlay address in the lab: the only address the probe may target. */
const LAB_PEER = '192.168.200.2';
/** Stands in for the kubelet's spec.nodeName (NODE_NAME is a valueFrom): with one peer, any name picks it. */
const NODE_NAME = 'lab-node-a';

function shippedProbe(daemonSet = 'flannel-mtu-probe-cloud-a'): { script: string; env: Record<string, string> } {
  const objects = parseAllDocuments(fixtureManifest('seed-dev')).map((d) => d.toJS());
  const ds = objects.find((o) => o?.kind === 'DaemonSet' && o.metadata.name === daemonSet);
  const c = ds.spec.template.spec.containers.find((x: { name: string }) => x.name === 'probe');
  return { script: c.args[0], env: Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value ?? ''])) };
}

describe('path-MTU probe from dist/, on a real kernel', () => {
  const lab = new MtuLab({ labId: `fmlab-probe-${process.pid}` });
  const shipped = shippedProbe();
  const toolbox = imageLikePath('both');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fmlab-probe-'));
  // The probe writes only under a directory of its own, as the DaemonSet's /run/path-mtu-probe.
  const status = path.join(tmp, 'path-mtu-probe', 'status');
  fs.mkdirSync(path.dirname(status));
  /** Stands in for the node's textfile collector directory (the DaemonSet's hostPath). */
  const textfile = path.join(tmp, 'textfile');
  fs.mkdirSync(textfile);

  /** One round (PROBE_INTERVAL=0), with the seed's target pointed at the lab's node B. */
  const labTargets = shipped.env.PROBE_TARGETS.split('\n').map((l) => l.replace(/^(\S+ \S+ 4) \S+ /, `$1 ${LAB_PEER} `)).join('\n');
  const probe = (targets = labTargets, overrides: Record<string, string> = {}) => {
    const env = {
      ...shipped.env,
      NODE_NAME,
      PROBE_TARGETS: targets,
      PROBE_INTERVAL: '0',
      PROBE_STATUS: status,
      PROBE_METRICS_DIR: textfile,
      ...overrides,
      PATH: toolbox,
    };
    fs.rmSync(status, { force: true });
    const started = Date.now();
    const r = spawnSync(IP, ['netns', 'exec', `${lab.labId}-nodeA`, BUSYBOX, 'sh', '-c', shipped.script], { env, encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    return { status: r.status, lines, stderr: r.stderr, seconds: (Date.now() - started) / 1000, statusFile: fs.existsSync(status) ? fs.readFileSync(status, 'utf8') : null };
  };

  /** The README's alerts that fire 7 h after the first scrape of the probe's metrics file. */
  const alerts = (opts: { stale?: boolean } = {}) => firingAlerts(fs.readFileSync(path.join(textfile, 'flannel-mtu-probe.prom'), 'utf8'), NODE_NAME, '7h', opts);

  beforeAll(() => {
    lab.up({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380 });
  }, 30_000);
  afterAll(() => {
    lab.down();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(toolbox, { recursive: true, force: true });
    expect(labNamespaces(lab.labId)).toEqual([]);
  }, 30_000);

  test('the shipped probe measures the seed link toward cloud-b, declared 1380, searching up to the NICs 1400', () => {
    expect(shipped.env).toMatchObject({ PROBE_CLOUD: 'cloud-a', PROBE_TARGETS: 'sdwan cloud-b 4 10.119.96.10 1380 1400', PROBE_MARGIN: '10', PROBE_INTERVAL: '300' });
  });

  test('path 1380 with ICMP frag-needed dropped: measures exactly 1380, healthy, in a few seconds', () => {
    const r = probe();
    expect(r.lines).toEqual([expect.objectContaining({ from: 'cloud-a', to: 'cloud-b', link: 'sdwan', peer: LAB_PEER, declared: 1380, measured: 1380, status: 'healthy' })]);
    expect(r.status).toBe(0);
    expect(r.statusFile).toBe('healthy\n');
    expect(r.seconds).toBeLessThan(15);
    // the README's alerts on these metrics (promtool, 7 h after the first scrape): none while the
    // probe keeps running; FlannelMtuProbeStale once its rounds stop
    expect(alerts()).toEqual({});
    expect(alerts({ stale: true })).toEqual({ FlannelMtuProbeStale: [expect.objectContaining({ severity: 'warning', instance: NODE_NAME, link: 'sdwan', family: 'ipv4' })] });
  }, 60_000);

  test('the SD-WAN path shrinks to 1360: too-small, exit 3, and the status file (readiness) names the link', () => {
    lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1360 });
    const r = probe();
    expect(r.lines).toEqual([expect.objectContaining({ declared: 1380, measured: 1360, status: 'too-small' })]);
    expect(r.status).toBe(3);
    expect(r.statusFile).toContain('"link":"sdwan"');
    expect(alerts()).toEqual({ FlannelMtuPathTooSmall: [{ alertname: 'FlannelMtuPathTooSmall', severity: 'critical', status: 'too-small', instance: NODE_NAME, from: 'cloud-a', to: 'cloud-b', link: 'sdwan', family: 'ipv4', peer: LAB_PEER }] });
  }, 60_000);

  test('a path bigger than declared by more than the margin is reported as wasted', () => {
    lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1400 });
    const r = probe();
    expect(r.lines).toEqual([expect.objectContaining({ declared: 1380, measured: 1400, status: 'wasted' })]);
    expect(r.status).toBe(3);
    expect(alerts()).toEqual({ FlannelMtuPathWasted: [expect.objectContaining({ severity: 'info', status: 'wasted', link: 'sdwan' })] });
  }, 60_000);

  test('where ICMP frag-needed does come back, the cached path MTU keeps the answer exact', () => {
    lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380, icmpBlackhole: false });
    const r = probe();
    expect(r.lines).toEqual([expect.objectContaining({ measured: 1380, status: 'healthy' })]);
  }, 60_000);

  test('an unreachable peer is reported, not hung on', () => {
    const r = probe('sdwan cloud-b 4 192.168.200.99 1380 1400');
    expect(r.lines).toEqual([expect.objectContaining({ measured: 0, status: 'unreachable' })]);
    expect(r.status).toBe(3);
    expect(r.seconds).toBeLessThan(10);
    // its one peer answered nothing: unreachable, and not also "silent" (that is for a link measured toward another peer)
    expect(alerts()).toEqual({ FlannelMtuPeerUnreachable: [expect.objectContaining({ severity: 'warning', status: 'unreachable', peer: '192.168.200.99' })] });
  }, 60_000);

  // The drift fixture (test/fixtures/probe-seed-dev.log, see test/fixtures/README.md): both
  // clouds' shipped probes, a round at the declared 1380 and one after the SD-WAN shrank to
  // 1360, stdout and stderr, each line prefixed as `kubectl logs --prefix` does. Regenerated here
  // on every root run; it must match the committed file except the per-round "seconds", and it
  // must drive `flannel-mtu drift` to lower the seed's sdwan from 1380 to 1360.
  test('records the probe log the drift fixture holds, and it still parses and decides the same', () => {
    const nodes = [
      { ds: 'flannel-mtu-probe-cloud-a', ns: 'nodeA', peer: LAB_PEER },
      { ds: 'flannel-mtu-probe-cloud-b', ns: 'nodeB', peer: '192.168.100.2' },
    ];
    const round = (n: (typeof nodes)[number]) => {
      const p = shippedProbe(n.ds);
      const targets = p.env.PROBE_TARGETS.split('\n').map((l) => l.replace(/^(\S+ \S+ 4) \S+ /, `$1 ${n.peer} `)).join('\n');
      const env = { ...p.env, NODE_NAME: `lab-${n.ns.toLowerCase()}`, PROBE_TARGETS: targets, PROBE_INTERVAL: '0', PROBE_STATUS: status, PROBE_METRICS_DIR: textfile, PATH: toolbox };
      const r = spawnSync(IP, ['netns', 'exec', `${lab.labId}-${n.ns}`, BUSYBOX, 'sh', '-c', p.script], { env, encoding: 'utf8', timeout: 60_000 });
      return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l !== '').map((l) => `[pod/${n.ds}-lab/probe] ${l}`);
    };
    const lines: string[] = [];
    for (const pathMtu of [1380, 1360]) {
      lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu });
      for (const n of nodes) lines.push(...round(n));
    }
    const recorded = `${lines.join('\n')}\n`;
    const fixture = path.join(REPO, 'test', 'fixtures', 'probe-seed-dev.log');
    if (process.env.UPDATE_FIXTURE === '1') fs.writeFileSync(fixture, recorded);
    const timeless = (t: string) => t.replace(/"seconds":\d+/g, '"seconds":N');
    expect(timeless(recorded)).toBe(timeless(fs.readFileSync(fixture, 'utf8')));

    const log = parseProbeLog(recorded, 'recorded');
    expect(log.results).toHaveLength(4);
    const decision = decideDrift(loadEnvironmentFile(fixtureFile('seed-dev')).environment, log);
    // Smallest per direction over the two rounds: 1360 both ways, below the declared 1380.
    expect(decision.links).toEqual([expect.objectContaining({ link: 'sdwan', family: 'ipv4', declared: 1380, measured: 1360, verdict: 'lower', value: 1360 })]);
  }, 180_000);

  // Metrics (README "Probe metrics"): the shipped probe, with only the NET_RAW its container keeps
  // (setpriv bounding set), writes node-exporter's textfile; Debian's real prometheus-node-exporter
  // reads it in node A's namespace and serves it on that namespace's own loopback.
  test('node-exporter serves what the probe wrote: measured 1360 and declared 1380, status too-small, the round\'s time', async () => {
    const exporter = findBinary('prometheus-node-exporter');
    const curl = findBinary('curl');
    const setpriv = findBinary('setpriv');
    lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1360 });
    fs.rmSync(textfile, { recursive: true, force: true });
    fs.mkdirSync(textfile);
    const ns = `${lab.labId}-nodeA`;
    const before = Math.floor(Date.now() / 1000);
    const env = { ...shipped.env, NODE_NAME, PROBE_TARGETS: labTargets, PROBE_INTERVAL: '0', PROBE_STATUS: status, PROBE_METRICS_DIR: textfile, PATH: toolbox };
    const r = spawnSync(IP, ['netns', 'exec', ns, setpriv, '--bounding-set', '-all,+net_raw', '--', BUSYBOX, 'sh', '-c', shipped.script], { env, encoding: 'utf8', timeout: 60_000 });
    const after = Math.ceil(Date.now() / 1000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    // Renamed into place: no temporary file is left for node-exporter to read.
    expect(fs.readdirSync(textfile)).toEqual(['flannel-mtu-probe.prom']);

    const server = spawn(IP, ['netns', 'exec', ns, exporter, '--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${textfile}`, '--web.listen-address=127.0.0.1:9100'], { stdio: 'ignore' });
    try {
      let scraped = '';
      for (let i = 0; i < 50 && !scraped.includes('node_textfile_scrape_error'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        scraped = spawnSync(IP, ['netns', 'exec', ns, curl, '-sf', 'http://127.0.0.1:9100/metrics'], { encoding: 'utf8' }).stdout ?? '';
      }
      const value = (series: string) => scraped.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1];
      // node-exporter parsed the file (no error) and orders labels by name.
      expect(value('node_textfile_scrape_error')).toBe('0');
      const link = 'family="ipv4",from="cloud-a",link="sdwan",peer="192.168.200.2",to="cloud-b"';
      expect(value(`flannel_mtu_probe_measured_path_mtu_bytes{${link}}`)).toBe('1360');
      expect(value(`flannel_mtu_probe_declared_path_mtu_bytes{${link}}`)).toBe('1380');
      const state = (s: string) => `flannel_mtu_probe_status{family="ipv4",from="cloud-a",link="sdwan",peer="192.168.200.2",status="${s}",to="cloud-b"}`;
      expect(['healthy', 'too-small', 'wasted', 'unreachable'].map((s) => value(state(s)))).toEqual(['0', '1', '0', '0']);
      // the one peer answered (too-small is not a silent peer): none skipped
      expect(value(`flannel_mtu_probe_unanswered_peers{${link}}`)).toBe('0');
      const last = Number(value(`flannel_mtu_probe_last_round_timestamp_seconds{${link}}`));
      expect(last).toBeGreaterThanOrEqual(before);
      expect(last).toBeLessThanOrEqual(after);
    } finally {
      server.kill();
    }
  }, 60_000);

  test('a textfile directory it cannot write, or none, is reported on stderr, and the probe goes on probing', () => {
    fs.chownSync(textfile, 65534, 65534);
    fs.rmSync(path.join(textfile, 'flannel-mtu-probe.prom'), { force: true });
    const env = { ...shipped.env, NODE_NAME, PROBE_TARGETS: labTargets, PROBE_INTERVAL: '0', PROBE_STATUS: status, PROBE_METRICS_DIR: textfile, PATH: toolbox };
    // Root without CAP_DAC_OVERRIDE (as in the pod) cannot write into a directory another user owns.
    const r = spawnSync(IP, ['netns', 'exec', `${lab.labId}-nodeA`, findBinary('setpriv'), '--bounding-set', '-all,+net_raw', '--', BUSYBOX, 'sh', '-c', shipped.script], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toContain(`path-mtu-probe: cannot write metrics to ${textfile}`);
    expect(r.stdout).toContain('"status":"too-small"');
    expect(r.status).toBe(3);
    expect(fs.readdirSync(textfile)).toEqual([]);
    fs.chownSync(textfile, 0, 0);
    // No directory at all (the pod's hostPath always exists; a hand-run script may not have it): said once, probing goes on.
    const missing = path.join(tmp, 'no-such-dir');
    const m = spawnSync(IP, ['netns', 'exec', `${lab.labId}-nodeA`, BUSYBOX, 'sh', '-c', shipped.script], { env: { ...env, PROBE_METRICS_DIR: missing }, encoding: 'utf8', timeout: 60_000 });
    expect(m.stderr).toBe(`path-mtu-probe: PROBE_METRICS_DIR '${missing}' is not a directory: no metrics\n`);
    expect(m.stdout).toContain('"status":"too-small"');
    expect(m.status).toBe(3);
  }, 90_000);

  test('a link without a name (reported as cloud-a~cloud-b) is measured, not refused', () => {
    // Before issue 16 the script refused the generator's own default link name ("bad link or cloud name").
    lab.reconfig({ nicMtuA: 1400, nicMtuB: 1400, pathMtu: 1380 });
    const r = probe(labTargets.replace(/^sdwan /, 'cloud-a~cloud-b '));
    expect(r.stderr).toBe('');
    expect(r.lines).toEqual([expect.objectContaining({ link: 'cloud-a~cloud-b', measured: 1380, status: 'healthy' })]);
    expect(r.status).toBe(0);
  }, 60_000);

  const target = (declared: string, max = '1400', family = '4', link = 'sdwan') => `${link} cloud-b ${family} ${LAB_PEER} ${declared} ${max}`;
  test.each<[string, string, Record<string, string>, string]>([
    ['a command in the peer', 'sdwan cloud-b 4 $(reboot) 1380 1400', {}, "PROBE_TARGETS: bad peer address '$(reboot)'"],
    ['a glob in the peer (set -f)', 'sdwan cloud-b 4 * 1380 1400', {}, "PROBE_TARGETS: bad peer address '*'"],
    ['a command after a good peer', `sdwan cloud-b 4 ${LAB_PEER},$(reboot) 1380 1400`, {}, "PROBE_TARGETS: bad peer address '$(reboot)'"],
    ['an empty peer in the list', `sdwan cloud-b 4 ${LAB_PEER},,${LAB_PEER} 1380 1400`, {}, `PROBE_TARGETS: bad peer list '${LAB_PEER},,${LAB_PEER}'`],
    ['an IPv6 peer in an IPv4 target', `sdwan cloud-b 4 ${LAB_PEER},2001:db8::1 1380 1400`, {}, "PROBE_TARGETS: peer '2001:db8::1' is not an IPv4 address"],
    ['an IPv4 peer in an IPv6 target', 'sdwan cloud-b 6 2001:db8::1,192.0.2.1 1380 1400', {}, "PROBE_TARGETS: peer '192.0.2.1' is not an IPv6 address"],
    ['a trailing comma', `sdwan cloud-b 4 ${LAB_PEER}, 1380 1400`, {}, `PROBE_TARGETS: bad peer list '${LAB_PEER},'`],
    // the generator lists at most 256 (nodes per cloud): 257 valid addresses are refused
    ['more peers than a cloud can declare', `sdwan cloud-b 4 ${Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(',')} 1380 1400`, {}, 'PROBE_TARGETS: more than 256 peers toward cloud-b'],
    ['no node name', labTargets, { NODE_NAME: '' }, "NODE_NAME: expected the node's name (spec.nodeName), got ''"],
    ['a node name with a command', labTargets, { NODE_NAME: 'a$(reboot)' }, "NODE_NAME: expected the node's name (spec.nodeName), got 'a$(reboot)'"],
    ['a node name over 253 characters', labTargets, { NODE_NAME: 'a'.repeat(254) }, 'NODE_NAME: longer than 253 characters'],
    ['a declared MTU above the search bound', target('1401'), {}, `PROBE_TARGETS: expected '<link> <to> <family> <ip>[,<ip>...] <declared> <max>' with 576 <= declared <= max <= 9216, got '${target('1401')}'`],
    ['a huge number', target('99999999999999999999', '99999999999999999999'), {}, `PROBE_TARGETS: expected '<link> <to> <family> <ip>[,<ip>...] <declared> <max>' with 576 <= declared <= max <= 9216, got '${target('99999999999999999999', '99999999999999999999')}'`],
    ['a leading zero (octal in $((...)))', target('01380'), {}, `PROBE_TARGETS: expected '<link> <to> <family> <ip>[,<ip>...] <declared> <max>' with 576 <= declared <= max <= 9216, got '${target('01380')}'`],
    // (an IPv6 documentation address: refused before anything is sent)
    ['an IPv6 MTU below 1280', 'sdwan cloud-b 6 2001:db8::2 1279 1400', {}, "PROBE_TARGETS: expected '<link> <to> <family> <ip>[,<ip>...] <declared> <max>' with 1280 <= declared <= max <= 9216, got 'sdwan cloud-b 6 2001:db8::2 1279 1400'"],
    ['a three-cloud link name', target('1380', '1400', '4', 'a~b~c'), {}, "PROBE_TARGETS: bad link or cloud name in 'a~b~c cloud-b'"],
    ['a margin out of range', labTargets, { PROBE_MARGIN: '1001' }, "PROBE_MARGIN: expected a byte count 0..1000, got '1001'"],
    ['an interval out of range', labTargets, { PROBE_INTERVAL: '86401' }, "PROBE_INTERVAL: expected seconds 0..86400, got '86401'"],
    ['a status file outside a directory of its own', labTargets, { PROBE_STATUS: '/etc/passwd' }, "PROBE_STATUS: expected <dir>/path-mtu-probe/status, got '/etc/passwd'"],
    ['a status path climbing out', labTargets, { PROBE_STATUS: '/run/path-mtu-probe/../status' }, "PROBE_STATUS: expected <dir>/path-mtu-probe/status, got '/run/path-mtu-probe/../status'"],
    ['a status directory that does not exist', labTargets, { PROBE_STATUS: path.join(tmp, 'missing', 'path-mtu-probe', 'status') }, `PROBE_STATUS: directory ${path.join(tmp, 'missing', 'path-mtu-probe')} does not exist or is not writable`],
  ])('fails on %s before sending anything', (_label, targets, overrides, message) => {
    const r = probe(targets, overrides);
    expect(r.stderr).toBe(`path-mtu-probe: ${message}\n`);
    expect(r.lines).toEqual([]);
    expect(r.status).toBe(1);
    expect(r.statusFile).toBeNull();
  }, 30_000);
});
