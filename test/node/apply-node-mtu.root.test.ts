// apply-node-mtu (init container) on a real kernel: a flannel node modelled in network
// namespaces, the script taken from the synthesized manifest and run with `busybox sh -c`.
import { loadInitContainer, SEED } from '../support/manifest';
import { Lab } from '../support/netns';
import { buildNode, flannelState, NodeModel, NIC_MTU, UPSTREAM_DEFAULT_MTU } from '../support/node-model';

const ic = loadInitContainer('apply-node-mtu');
const plan: [string, number][] = ic.env.DEVICE_MTUS.trim()
  .split(/\s+/)
  .map((p) => {
    const [dev, mtu] = p.split('=');
    return [dev, Number(mtu)];
  });
const planned = (dev: string): number | undefined => plan.find(([d]) => d === dev)?.[1];

// What the model starts with (measured): flannel.1 at the kernel default NIC-50; flannel-v6.1
// asked for NIC-50 but clamped by the kernel to NIC-70; cni0 at the CNI default FLANNEL_MTU.
const initial: Record<string, number> = {
  'flannel.1': UPSTREAM_DEFAULT_MTU,
  'flannel-v6.1': NIC_MTU - 70,
  cni0: UPSTREAM_DEFAULT_MTU,
};

describe(`apply-node-mtu (script from ${ic.source})`, () => {
  let lab: Lab;
  let m: NodeModel;
  const mtu = (dev: string, ns = m.node): number => lab.sysNet(ns, dev);
  const runScript = (env: Record<string, string> = ic.env) => lab.sh(m.node, ic.script, env);

  beforeEach(() => {
    lab = new Lab();
    m = buildNode(lab, { dualStack: true });
  });
  afterEach(() => lab.destroy());

  test('the shipped plan is the seed plan: pod MTU 1330 on flannel.1 and cni0', () => {
    expect(planned('flannel.1')).toBe(SEED.podMtu);
    expect(planned('cni0')).toBe(SEED.podMtu);
    for (const [dev, value] of plan) {
      expect([dev, value]).toEqual([dev, SEED.podMtu]);
      expect(Object.keys(initial)).toContain(dev);
    }
  });

  test('the model starts at the upstream defaults (vxlan default NIC-50, v6 clamped to NIC-70)', () => {
    expect(mtu('eth0')).toBe(1400);
    expect(mtu('flannel.1')).toBe(1350);
    expect(mtu('flannel-v6.1')).toBe(1330);
    expect(mtu('cni0')).toBe(1350);
    expect(mtu('vethpod')).toBe(1350);
  });

  test('first run sets every planned MTU and keeps routes, fdb, neigh and the bridge port', () => {
    const before = flannelState(lab, m.node);
    const r = runScript();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const expected = plan.map(([dev, want]) =>
      initial[dev] === want
        ? `apply-node-mtu: ${dev}: mtu ${want} unchanged`
        : `apply-node-mtu: ${dev}: mtu ${initial[dev]} -> ${want}`,
    );
    const changed = plan.filter(([dev, want]) => initial[dev] !== want).length;
    expect(changed).toBeGreaterThan(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual([...expected, `apply-node-mtu: ${changed} device(s) changed`]);

    for (const [dev, want] of plan) expect([dev, mtu(dev)]).toEqual([dev, want]);
    expect(mtu('flannel.1')).toBe(1330);
    expect(mtu('cni0')).toBe(1330);
    // set, not recreated: what flanneld programmed is still there
    expect(flannelState(lab, m.node)).toEqual(before);
    expect(before.route).toBe('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink');
    // the existing pod keeps its port and its MTU (pods get the new MTU when recreated)
    expect(lab.ip(m.node, '-o', 'link', 'show', 'vethpod')).toContain(' master cni0 ');
    expect(mtu('vethpod')).toBe(1350);
    expect(mtu('eth0', m.pod)).toBe(1350);
  });

  test('second run changes nothing and says so', () => {
    expect(runScript().status).toBe(0);
    const after1 = plan.map(([dev]) => mtu(dev));
    const r = runScript();
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      ...plan.map(([dev, want]) => `apply-node-mtu: ${dev}: mtu ${want} unchanged`),
      'apply-node-mtu: nothing changed',
    ]);
    expect(plan.map(([dev]) => mtu(dev))).toEqual(after1);
  });

  test('an absent device is skipped (flanneld / the bridge plugin will create it)', () => {
    lab.ip(m.node, 'link', 'del', 'flannel.1');
    const r = runScript();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`apply-node-mtu: flannel.1: absent, will be created with mtu ${SEED.podMtu}\n`);
    expect(r.stdout).toContain('apply-node-mtu: cni0: mtu 1350 -> 1330\n');
    expect(lab.exec(m.node, ['cat', '/sys/class/net/flannel.1/mtu']).status).not.toBe(0);
    expect(mtu('cni0')).toBe(1330);
  });

  test('raising cni0 above the MTU of its veth ports is accepted by this kernel', () => {
    const r = runScript({ DEVICE_MTUS: 'cni0=1400' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('apply-node-mtu: cni0: mtu 1350 -> 1400\napply-node-mtu: 1 device(s) changed\n');
    expect(mtu('cni0')).toBe(1400);
    expect(mtu('vethpod')).toBe(1350);
  });

  test.each([
    ['flannel.1', 1351, 1350, 'IPv4 vxlan: at most lower device mtu - 50'],
    ['flannel-v6.1', 1331, 1330, 'IPv6 vxlan: at most lower device mtu - 70'],
  ])('%s=%d is refused by the kernel and fails loudly (%s)', (dev, want, still) => {
    const r = runScript({ DEVICE_MTUS: `cni0=1330 ${dev}=${want}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `apply-node-mtu: error: ${dev}: kernel refused mtu ${want} (still ${still}); for vxlan the limit is lower device mtu - 50 (IPv4) or - 70 (IPv6)\n`,
    );
    expect(mtu(dev)).toBe(still);
  });

  test('validation happens before any change: one bad pair changes nothing', () => {
    const r = runScript({ DEVICE_MTUS: 'flannel.1=1330 cni0=13x0' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("apply-node-mtu: error: DEVICE_MTUS: cni0: invalid mtu '13x0' (want an integer 576..9216)\n");
    expect(mtu('flannel.1')).toBe(1350);
    expect(mtu('cni0')).toBe(1350);
  });
});
