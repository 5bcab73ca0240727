/**
 * A three-node network-namespace lab for mtuMode per-path: two nodes in a jumbo-frame cloud and
 * one in another cloud behind a reduced-MTU link (an SD-WAN whose routers drop the ICMP
 * "fragmentation needed" they generate), with flannel's VXLAN set up by hand as flanneld would.
 *
 *   pA1 -- nA1 (eth0 192.168.101.2) --+                                         +-- nB (eth0 192.168.201.2) -- pB
 *                                      rA ==sdw0 192.168.254.1/30 ==LINK== .2/30 sdw1== rB
 *   pA2 -- nA2 (eth0 192.168.102.2) --+  (jumbo NICs on both ends)                (remote NIC on both ends)
 *
 *   cloud A (jumbo): underlay 192.168.100.0/22, nodes nA1 and nA2 (pod subnets 10.246.1.0/24, 10.246.2.0/24)
 *   cloud B:         underlay 192.168.200.0/22, node nB (pod subnet 10.246.3.0/24)
 *
 * Like lab/mtulab.sh: namespaces are `<labId>-<role>` with a `fmlab-` prefix, nothing is linked to
 * the host namespace and no namespace has a default route, so no packet can leave the lab; every
 * process is started here and killed by pid in `down()`, which always runs (also for leftovers of
 * dead earlier runs). Needs root, iproute2, iptables, iputils ping, curl, iperf3, node, busybox.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findBinary, forEachLine, linkImageTools, pidAlive } from './host';

export type NodeRole = 'nA1' | 'nA2' | 'nB';
export type PodRole = 'pA1' | 'pA2' | 'pB';
type RouterRole = 'rA' | 'rB';
export type Role = NodeRole | PodRole | RouterRole;

const NODES: readonly NodeRole[] = ['nA1', 'nA2', 'nB'];
const POD_OF: Readonly<Record<NodeRole, PodRole>> = { nA1: 'pA1', nA2: 'pA2', nB: 'pB' };
/** Node index: names the pod subnet 10.246.<i>.0/24 and the VTEP MAC. */
const INDEX: Readonly<Record<NodeRole, number>> = { nA1: 1, nA2: 2, nB: 3 };
const UNDERLAY: Readonly<Record<NodeRole, { ip: string; gw: string; router: RouterRole; port: string }>> = {
  nA1: { ip: '192.168.101.2', gw: '192.168.101.1', router: 'rA', port: 'a1' },
  nA2: { ip: '192.168.102.2', gw: '192.168.102.1', router: 'rA', port: 'a2' },
  nB: { ip: '192.168.201.2', gw: '192.168.201.1', router: 'rB', port: 'b1' },
};
/** The lab clouds' underlay subnets, for the keeper's NODE_CIDRS. */
export const LAB_CLOUD_CIDRS = { jumbo: '192.168.100.0/22', remote: '192.168.200.0/22' } as const;
export const HTTP_PORT = 8888;
const IPERF_PORT = 5201;

export interface PerPathTopology {
  /** NIC MTU in the jumbo cloud (nA1, nA2 and rA's ports toward them). */
  readonly jumboNicMtu: number;
  /** NIC MTU in the other cloud (nB and rB's port toward it). */
  readonly remoteNicMtu: number;
  /** MTU of the link between the routers (both ends). */
  readonly linkMtu: number;
  /** flannel.1's MTU in the jumbo cloud (Backend.MTU - 50). */
  readonly jumboOverlayMtu: number;
  /** cni0, veths and pod eth0 in the jumbo cloud (cni-conf.json delegate.mtu). */
  readonly jumboPodMtu: number;
  readonly remoteOverlayMtu: number;
  readonly remotePodMtu: number;
  /** @default 1 */
  readonly vni?: number;
}

export interface HttpResult {
  readonly ok: boolean;
  readonly httpCode: number;
  readonly curlRc: number;
  readonly seconds: number;
  readonly body: string;
}

const IP = findBinary('ip');
const HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const HTTP_SERVER = path.join(__dirname, 'http-server.js');


function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let counter = 0;

export class PerPathLab {
  public readonly labId: string;
  public readonly stateDir: string;
  private readonly procs: Array<{ role: Role; what: string; child: ChildProcess; out: string[] }> = [];
  private toolboxDir?: string;
  private created: string[] = [];

  constructor() {
    this.labId = `fmlab-pp${process.pid}-${counter++}`;
    PerPathLab.removeLeftovers();
    this.stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.labId}-`));
  }

  /** Namespaces and state dirs of earlier lab processes that are no longer alive. */
  public static removeLeftovers(): void {
    const dead = (name: string) => {
      const m = /^fmlab-pp(\d+)-/.exec(name);
      return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
    };
    for (const ns of listNamespaces().filter(dead)) spawnSync(IP, ['netns', 'del', ns]);
    for (const d of fs.readdirSync(os.tmpdir()).filter(dead)) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  }

  public ns(role: Role): string {
    return `${this.labId}-${role}`;
  }

  /** Runs argv in the namespace of `role`; throws on failure unless `allowFail`. */
  public exec(role: Role, argv: readonly string[], opts: { allowFail?: boolean; env?: Record<string, string>; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(IP, ['netns', 'exec', this.ns(role), ...argv], {
      env: opts.env ?? { PATH: HOST_PATH },
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const res = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (!opts.allowFail && (r.error || res.status !== 0)) {
      throw new Error(`${this.ns(role)}: ${argv.join(' ')} failed (${r.error?.message ?? res.status}): ${res.stderr}${res.stdout}`);
    }
    return res;
  }

  /** `ip -n <ns> ...` */
  public ip(role: Role, ...args: string[]): string {
    const r = spawnSync(IP, ['-n', this.ns(role), ...args], { env: { PATH: HOST_PATH }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip -n ${this.ns(role)} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  public up(t: PerPathTopology): void {
    const vni = t.vni ?? 1;
    const roles: Role[] = ['rA', 'rB', ...NODES, ...NODES.map((n) => POD_OF[n])];
    for (const role of roles) {
      const r = spawnSync(IP, ['netns', 'add', this.ns(role)]);
      if (r.status !== 0) throw new Error(`ip netns add ${this.ns(role)}: ${r.stderr}`);
      this.created.push(this.ns(role));
      this.ip(role, 'link', 'set', 'lo', 'up');
      this.sysctl(role, 'net.ipv4.tcp_no_metrics_save', '1');
    }
    for (const role of ['rA', 'rB', ...NODES] as Role[]) this.sysctl(role, 'net.ipv4.ip_forward', '1');

    // The link between the routers: the same MTU on both ends (a veth drops bigger frames at ingress).
    this.ip('rA', 'link', 'add', 'sdw0', 'mtu', String(t.linkMtu), 'type', 'veth', 'peer', 'name', 'sdw1', 'netns', this.ns('rB'), 'mtu', String(t.linkMtu));
    this.ip('rA', 'addr', 'add', '192.168.254.1/30', 'dev', 'sdw0');
    this.ip('rB', 'addr', 'add', '192.168.254.2/30', 'dev', 'sdw1');
    this.ip('rA', 'link', 'set', 'sdw0', 'up');
    this.ip('rB', 'link', 'set', 'sdw1', 'up');
    this.ip('rA', 'route', 'add', LAB_CLOUD_CIDRS.remote, 'via', '192.168.254.2');
    this.ip('rB', 'route', 'add', LAB_CLOUD_CIDRS.jumbo, 'via', '192.168.254.1');
    // The PMTUD blackhole: the routers drop the "fragmentation needed" they generate.
    for (const r of ['rA', 'rB'] as RouterRole[]) this.exec(r, ['iptables', '-A', 'OUTPUT', '-p', 'icmp', '--icmp-type', 'fragmentation-needed', '-j', 'DROP']);

    for (const n of NODES) {
      const u = UNDERLAY[n];
      const nic = n === 'nB' ? t.remoteNicMtu : t.jumboNicMtu;
      this.ip(n, 'link', 'add', 'eth0', 'mtu', String(nic), 'type', 'veth', 'peer', 'name', u.port, 'netns', this.ns(u.router), 'mtu', String(nic));
      this.ip(n, 'addr', 'add', `${u.ip}/24`, 'dev', 'eth0');
      this.ip(n, 'link', 'set', 'eth0', 'up');
      this.ip(n, 'route', 'add', '192.168.0.0/16', 'via', u.gw);
      this.ip(u.router, 'addr', 'add', `${u.gw}/24`, 'dev', u.port);
      this.ip(u.router, 'link', 'set', u.port, 'up');
    }
    // VXLAN and the pod side, as flanneld and the bridge CNI plugin would set them up.
    for (const n of NODES) {
      const i = INDEX[n];
      const overlay = n === 'nB' ? t.remoteOverlayMtu : t.jumboOverlayMtu;
      const podMtu = n === 'nB' ? t.remotePodMtu : t.jumboPodMtu;
      this.ip(n, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', String(vni), 'dstport', '8472', 'local', UNDERLAY[n].ip, 'dev', 'eth0', 'nolearning', 'df', 'set');
      this.ip(n, 'link', 'set', 'flannel.1', 'address', vtepMac(i), 'mtu', String(overlay), 'up');
      this.ip(n, 'addr', 'add', `10.246.${i}.0/32`, 'dev', 'flannel.1');
      this.ip(n, 'link', 'add', 'cni0', 'mtu', String(podMtu), 'type', 'bridge');
      this.ip(n, 'addr', 'add', `10.246.${i}.1/24`, 'dev', 'cni0');
      this.ip(n, 'link', 'set', 'cni0', 'up');
      const pod = POD_OF[n];
      this.ip(n, 'link', 'add', 'vethp', 'mtu', String(podMtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns(pod), 'mtu', String(podMtu));
      this.ip(n, 'link', 'set', 'vethp', 'master', 'cni0', 'up');
      this.ip(pod, 'addr', 'add', `10.246.${i}.2/24`, 'dev', 'eth0');
      this.ip(pod, 'link', 'set', 'eth0', 'up');
      this.ip(pod, 'route', 'add', 'default', 'via', `10.246.${i}.1`);
    }
    for (const n of NODES) {
      for (const m of NODES.filter((x) => x !== n)) {
        const j = INDEX[m];
        this.ip(n, 'route', 'add', `10.246.${j}.0/24`, 'via', `10.246.${j}.0`, 'dev', 'flannel.1', 'onlink');
        this.ip(n, 'neigh', 'replace', `10.246.${j}.0`, 'lladdr', vtepMac(j), 'dev', 'flannel.1', 'nud', 'permanent');
        this.exec(n, ['bridge', 'fdb', 'append', vtepMac(j), 'dev', 'flannel.1', 'dst', UNDERLAY[m].ip, 'self', 'permanent']);
      }
    }
    for (const n of NODES) this.startHttpServer(POD_OF[n]);
  }

  /** Sets flannel.1, cni0, the host veth and the pod's eth0 of `node` (uniform-mode comparisons). */
  public setOverlayMtus(node: NodeRole, overlayMtu: number, podMtu: number): void {
    this.ip(node, 'link', 'set', 'flannel.1', 'mtu', String(overlayMtu));
    this.ip(node, 'link', 'set', 'cni0', 'mtu', String(podMtu));
    this.ip(node, 'link', 'set', 'vethp', 'mtu', String(podMtu));
    this.ip(POD_OF[node], 'link', 'set', 'eth0', 'mtu', String(podMtu));
    this.flushCaches();
  }

  public flushCaches(): void {
    for (const role of [...NODES, ...NODES.map((n) => POD_OF[n])] as Role[]) this.ip(role, 'route', 'flush', 'cache');
  }

  /** The pod's address on `node`, or the node's flannel.1 address. */
  public static podIp(pod: PodRole): string {
    return `10.246.${{ pA1: 1, pA2: 2, pB: 3 }[pod]}.2`;
  }

  /** One DF ping of a `size`-byte IP packet. */
  public dfPing(from: Role, to: PodRole, size: number): boolean {
    const r = this.exec(from, ['ping', '-M', 'do', '-s', String(size - 28), '-c', '1', '-W', '1', PerPathLab.podIp(to)], { allowFail: true });
    return r.status === 0;
  }

  /** HTTP POST of a `size`-byte body from `from` to the server in pod `to`. */
  public post(size: number, from: Role, to: PodRole, timeoutSeconds = 3): HttpResult {
    const body = path.join(this.stateDir, `body-${size}.json`);
    if (!fs.existsSync(body)) fs.writeFileSync(body, `{"d":"${'x'.repeat(Math.max(0, size - 8))}"}`);
    const started = Date.now();
    const r = this.exec(from, ['curl', '-sS', '-m', String(timeoutSeconds), '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${body}`, `http://${PerPathLab.podIp(to)}:${HTTP_PORT}/`], { allowFail: true, timeoutMs: (timeoutSeconds + 10) * 1000 });
    const lines = r.stdout.trim().split('\n');
    const httpCode = Number(lines[lines.length - 1]) || 0;
    return { ok: r.status === 0 && httpCode === 200, httpCode, curlRc: r.status, seconds: (Date.now() - started) / 1000, body: lines.slice(0, -1).join('\n').trim() };
  }

  /**
   * iperf3 goodput from pod `from` to pod `to`, in Mbit/s at the receiver. With `gso` false the
   * sender path (pod eth0, node flannel.1 and eth0) gets gso_max_segs 1, so packets are MTU-sized
   * as on a real NIC path (netns lab notes, section 7).
   */
  public iperf(from: PodRole, to: PodRole, seconds: number, gso: boolean): number {
    const node = (Object.keys(POD_OF) as NodeRole[]).find((n) => POD_OF[n] === from)!;
    const devs: Array<[Role, string]> = [[from, 'eth0'], [node, 'flannel.1'], [node, 'eth0']];
    if (!gso) for (const [role, dev] of devs) this.ip(role, 'link', 'set', 'dev', dev, 'gso_max_segs', '1');
    const server = this.startBackground(to, ['iperf3', '-s', '-1', '-p', String(IPERF_PORT)], 'iperf3 server', IPERF_PORT);
    try {
      const r = this.exec(from, ['timeout', String(seconds + 15), 'iperf3', '-c', PerPathLab.podIp(to), '-p', String(IPERF_PORT), '-t', String(seconds), '-J', '--connect-timeout', '2000'], { allowFail: true, timeoutMs: (seconds + 20) * 1000 });
      if (r.status !== 0) return 0;
      const j = JSON.parse(r.stdout);
      return Math.round(j.end.sum_received.bits_per_second / 1e6);
    } finally {
      this.stop(server);
      if (!gso) for (const [role, dev] of devs) this.ip(role, 'link', 'set', 'dev', dev, 'gso_max_segs', '65535');
    }
  }

  /**
   * Runs a POSIX sh script under busybox sh in the namespace of `role`, in the background, with
   * only `env` and a PATH laid out like the flannel image (busybox applets, iproute2's ip and bridge).
   */
  public startScript(role: Role, what: string, script: string, env: Record<string, string>): { child: ChildProcess; out: string[] } {
    const busybox = findBinary('busybox');
    return this.startBackground(role, [busybox, 'sh', '-c', script], what, undefined, { ...env, PATH: this.toolbox() });
  }

  /** Kills a background process started here (by pid) and waits briefly for it. */
  public stop(p: { child: ChildProcess }): void {
    const pid = p.child.pid;
    if (pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && pidAlive(pid) && p.child.exitCode === null; i++) sleepMs(20);
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** Kills every process started here and deletes the namespaces and state. Safe to call twice. */
  public down(): void {
    for (const p of this.procs.splice(0).reverse()) this.stop(p);
    // Anything still running inside the lab's namespaces (children of those processes).
    for (const ns of this.created) {
      const r = spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const pid of (r.stdout ?? '').split('\n').filter((l) => /^\d+$/.test(l))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    const errors: string[] = [];
    for (const ns of this.created.splice(0).reverse()) {
      const r = spawnSync(IP, ['netns', 'del', ns], { encoding: 'utf8' });
      if (r.status !== 0) errors.push(`${ns}: ${r.stderr}`);
    }
    fs.rmSync(this.stateDir, { recursive: true, force: true });
    if (this.toolboxDir) fs.rmSync(this.toolboxDir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`lab cleanup failed:\n${errors.join('\n')}`);
  }

  public namespaces(): string[] {
    return listNamespaces().filter((n) => n.startsWith(`${this.labId}-`));
  }

  private sysctl(role: Role, key: string, value: string): void {
    this.exec(role, ['sysctl', '-qw', `${key}=${value}`]);
  }

  private startHttpServer(pod: PodRole): void {
    this.startBackground(pod, [process.execPath, HTTP_SERVER, '--port', String(HTTP_PORT)], 'http server', HTTP_PORT);
  }

  /**
   * Starts argv in the namespace of `role`, in the background; output lines are collected with a
   * millisecond timestamp whenever the event loop runs. With `waitPort`, returns once something
   * listens on that TCP port in the namespace.
   */
  private startBackground(role: Role, argv: readonly string[], what: string, waitPort?: number, env?: Record<string, string>): { role: Role; what: string; child: ChildProcess; out: string[] } {
    const child = spawn(IP, ['netns', 'exec', this.ns(role), ...argv], { env: env ?? { PATH: HOST_PATH }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: string[] = [];
    for (const stream of [child.stdout!, child.stderr!]) forEachLine(stream, (line) => out.push(`${Date.now()} ${line}`));
    const p = { role, what, child, out };
    this.procs.push(p);
    if (waitPort !== undefined) {
      const deadline = Date.now() + 10_000;
      while (!this.listening(role, waitPort)) {
        if (Date.now() > deadline) throw new Error(`${this.ns(role)}: ${what} did not listen on port ${waitPort}`);
        sleepMs(20);
      }
    }
    return p;
  }

  private listening(role: Role, port: number): boolean {
    const r = this.exec(role, ['ss', '-Hltn', `sport = :${port}`], { allowFail: true });
    return r.status === 0 && r.stdout.trim().length > 0;
  }

  /** A PATH directory laid out like the flannel image: busybox applets, iproute2's ip and bridge. */
  private toolbox(): string {
    if (this.toolboxDir) return this.toolboxDir;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.labId}-bin-`));
    linkImageTools(dir);
    this.toolboxDir = dir;
    return dir;
  }
}

function vtepMac(i: number): string {
  return `02:fe:00:00:00:${i.toString(16).padStart(2, '0')}`;
}

function listNamespaces(): string[] {
  const r = spawnSync(IP, ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0]).filter((n) => n.length > 0);
}
