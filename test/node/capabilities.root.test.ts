// The node scripts run with exactly the Linux capabilities their container in dist/ declares
// (setpriv limits the bounding set, so root keeps only those), and each declared capability is
// needed: without it the script fails.
import * as fs from 'fs';
import { parseAllDocuments } from 'yaml';
import { fixtureManifest } from '../support/dist';
import { BUSYBOX, imageLikePath, Lab } from '../support/netns';
import { buildNode } from '../support/node-model';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
const objects: Obj[] = parseAllDocuments(fixtureManifest('seed-dev')).map((d) => d.toJS());
const flannel = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'kube-flannel-ds');
const probeDs = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'flannel-mtu-probe-cloud-a');

function container(c: Obj): { script: string; env: Record<string, string>; caps: string[] } {
  expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
  return {
    script: c.args[0],
    env: Object.fromEntries((c.env ?? []).filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value ?? ''])),
    caps: c.securityContext.capabilities.add,
  };
}
const init = (name: string) => container(flannel.spec.template.spec.initContainers.find((c: Obj) => c.name === name));

describe('capabilities declared in the seed-dev fixture manifest are enough, and needed', () => {
  let lab: Lab;
  let node: string;
  const paths = new Map<string, string>();
  const toolbox = (x: 'legacy' | 'nft' | 'both') => paths.get(x) ?? paths.set(x, imageLikePath(x)).get(x)!;
  /** Runs a script as root limited to `caps` (e.g. ['NET_ADMIN']). */
  const run = (script: string, env: Record<string, string>, caps: string[], xtables: 'legacy' | 'nft' | 'both' = 'both') =>
    lab.exec(node, ['/usr/bin/setpriv', '--bounding-set', ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(','), '--', BUSYBOX, 'sh', '-c', script], {
      env: { ...env, PATH: toolbox(xtables) },
    });

  beforeEach(() => {
    lab = new Lab();
    node = buildNode(lab, { dualStack: false }).node;
  });
  afterEach(() => lab.destroy());
  afterAll(() => paths.forEach((p) => fs.rmSync(p, { recursive: true, force: true })));

  test('apply-node-mtu: NET_ADMIN sets the MTUs; without it the kernel refuses', () => {
    const c = init('apply-node-mtu');
    expect(c.caps).toEqual(['NET_ADMIN']);
    // the downward API's spec.nodeName and status.hostIP (the node model's eth0 address)
    c.env = { ...c.env, NODE_NAME: 'node-a', HOST_IP: '192.168.50.1' };
    const denied = run(c.script, c.env, []);
    expect(denied.status).toBe(1);
    expect(lab.sysNet(node, 'flannel.1')).toBe(1350);
    const r = run(c.script, c.env, c.caps);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(lab.sysNet(node, 'flannel.1')).toBe(1330);
  });

  test.each(['legacy', 'nft'] as const)('tcp-mss-clamp on iptables-%s: NET_ADMIN + NET_RAW is enough', (xtables) => {
    const c = init('tcp-mss-clamp');
    expect(c.caps).toEqual(['NET_ADMIN', 'NET_RAW']);
    // HOST_IP is a valueFrom (status.hostIP): a cloud-a node's address, as the kubelet would set it
    const r = run(c.script, { ...c.env, HOST_IP: '192.168.1.130' }, c.caps, xtables);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(lab.mustExec(node, [`iptables-${xtables}-save`, '-t', 'mangle'])).toContain('--set-mss 1290');
  });

  test('tcp-mss-clamp: iptables-legacy needs NET_RAW (libiptc opens a raw socket); nft does not', () => {
    const c = init('tcp-mss-clamp');
    const env = { ...c.env, HOST_IP: '192.168.1.130' };
    expect(run(c.script, env, ['NET_ADMIN'], 'legacy').status).not.toBe(0);
    expect(run(c.script, env, ['NET_ADMIN'], 'nft').status).toBe(0);
  });

  test('path-mtu-probe: ping works with NET_RAW alone, and not without it', () => {
    const c = container(probeDs.spec.template.spec.containers[0]);
    expect(c.caps).toEqual(['NET_RAW']);
    // Probe the node's own address: nothing leaves the namespace.
    const ping = ['ping', '-c', '1', '-W', '1', '-s', '1000', '192.168.50.1'].join(' ');
    expect(run(ping, {}, c.caps).status).toBe(0);
    expect(run(ping, {}, []).status).not.toBe(0);
    expect(run(`ip route get 192.168.50.2 > /dev/null`, {}, c.caps).status).toBe(0);
  });
});
