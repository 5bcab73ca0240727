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
// What the downward API gives the container: spec.nodeName and status.hostIP (the model's eth0).
const NODE = { NODE_NAME: 'node-a', HOST_IP: '192.168.50.1' };
// seed: pod MTU 1330 + VXLAN over IPv4 50 = 1380 (the SD-WAN binds, so the 1400 NICs keep 20 bytes).
const NEEDED = SEED.podMtu + 50;
const carries = (why: string, mtu: number) =>
  `apply-node-mtu: node node-a: interface ${why} mtu ${mtu} carries the ${NEEDED} the plan needs, ${mtu - NEEDED} bytes of unused headroom (a larger declared nicMtu or path MTU would give them to the pods)`;
const nicOk = (mtu: number) => carries('eth0 (holds the node address 192.168.50.1)', mtu);

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
  const runScript = (env: Record<string, string> = { ...ic.env, ...NODE }) => lab.sh(m.node, ic.script, env);

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
    expect(r.stdout.trimEnd().split('\n')).toEqual([nicOk(1400), ...expected, `apply-node-mtu: ${changed} device(s) changed`]);

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
      nicOk(1400),
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

describe(`apply-node-mtu checks the NIC flanneld will use (script from ${ic.source})`, () => {
  let lab: Lab;
  let m: NodeModel;
  const run = (extra: Record<string, string> = {}) => lab.sh(m.node, ic.script, { ...ic.env, ...NODE, ...extra });
  const untouched = () => expect([lab.sysNet(m.node, 'flannel.1'), lab.sysNet(m.node, 'cni0')]).toEqual([UPSTREAM_DEFAULT_MTU, UPSTREAM_DEFAULT_MTU]);

  beforeAll(() => {
    lab = new Lab();
    m = buildNode(lab, { dualStack: false });
    // A second NIC, as on GPU or storage nodes: jumbo frames on another network.
    lab.ip(m.node, 'link', 'add', 'eth1', 'mtu', '9000', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', m.wan, 'mtu', '9000');
    lab.ip(m.node, 'addr', 'add', '10.9.0.1/24', 'dev', 'eth1');
    lab.ip(m.node, 'link', 'set', 'eth1', 'up');
  });
  afterAll(() => lab.destroy());
  beforeEach(() => {
    lab.ip(m.node, 'link', 'set', 'eth0', 'mtu', String(NIC_MTU));
    lab.ip(m.node, 'link', 'set', 'flannel.1', 'mtu', String(UPSTREAM_DEFAULT_MTU));
    lab.ip(m.node, 'link', 'set', 'cni0', 'mtu', String(UPSTREAM_DEFAULT_MTU));
  });

  test('the manifest gives the plan\'s number: 1380 (1330 + 50)', () => {
    expect(ic.env.NIC_MTU_NEEDED).toBe(String(NEEDED));
  });

  test('a NIC one byte below what the plan needs fails, naming node, interface and both numbers, and changes nothing', () => {
    lab.ip(m.node, 'link', 'set', 'eth0', 'mtu', String(NEEDED - 1));
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `apply-node-mtu: error: node node-a: interface eth0 (holds the node address 192.168.50.1) has mtu ${NEEDED - 1}, below the ${NEEDED} the plan needs (pod MTU + encapsulation): overlay packets would not fit; fix the NIC or declare the smaller nicMtu and regenerate\n`,
    );
    untouched();
  });

  test('a NIC of exactly what the plan needs passes', () => {
    lab.ip(m.node, 'link', 'set', 'eth0', 'mtu', String(NEEDED));
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`apply-node-mtu: node node-a: interface eth0 (holds the node address 192.168.50.1) mtu ${NEEDED} is exactly the ${NEEDED} the plan needs`);
  });

  test('a larger NIC is logged with its unused headroom (1500 - 1380 = 120 bytes)', () => {
    lab.ip(m.node, 'link', 'set', 'eth0', 'mtu', '1500');
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(nicOk(1500));
    expect(r.stdout).toContain(' 120 bytes of unused headroom ');
  });

  // flanneld's order (main.go @ v0.28.9): every --iface, then every --iface-regex (addresses, then
  // names), then --iface-can-reach; the first match wins.
  test.each<[string, Record<string, string>, string, number]>([
    ['--iface by name, skipping one that does not exist', { FLANNEL_IFACES: 'ens5 eth1' }, 'eth1 (--iface=eth1)', 9000],
    ['--iface by address', { FLANNEL_IFACES: '10.9.0.1' }, 'eth1 (holds 10.9.0.1, --iface=10.9.0.1)', 9000],
    ['--iface before --iface-regex', { FLANNEL_IFACES: 'eth0', FLANNEL_IFACE_REGEXES: '^eth1$' }, 'eth0 (--iface=eth0)', NIC_MTU],
    ['--iface-regex on an address', { FLANNEL_IFACE_REGEXES: 'nomatch\n^10[.]9[.]' }, 'eth1 (address 10.9.0.1 matches --iface-regex=^10[.]9[.])', 9000],
    ['--iface-regex on a name', { FLANNEL_IFACE_REGEXES: '^eth1$' }, 'eth1 (name matches --iface-regex=^eth1$)', 9000],
    ['--iface-can-reach', { FLANNEL_IFACE_CAN_REACH: '10.9.0.7' }, 'eth1 (routes to --iface-can-reach=10.9.0.7)', 9000],
  ])('picks the NIC like flanneld: %s', (_label, env, picked, mtu) => {
    const r = run(env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(carries(picked, mtu));
  });

  test('the chosen iface is the one checked: a small second NIC fails even though eth0 would fit', () => {
    lab.ip(m.node, 'link', 'set', 'eth1', 'mtu', '1300');
    try {
      const r = run({ FLANNEL_IFACES: 'eth1' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`node node-a: interface eth1 (--iface=eth1) has mtu 1300, below the ${NEEDED} the plan needs`);
      untouched();
    } finally {
      lab.ip(m.node, 'link', 'set', 'eth1', 'mtu', '9000');
    }
  });

  test('without iface settings, a default route through another NIC is called out (flanneld would pick that one)', () => {
    lab.ip(m.node, 'route', 'add', 'default', 'via', '10.9.0.2', 'dev', 'eth1');
    try {
      const r = run();
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').slice(0, 2)).toEqual([
        'apply-node-mtu: node node-a: warning: flanneld will use eth1 (the default route\'s interface), not eth0 that holds the node address: set flannel.iface so flanneld and this check use the same NIC',
        nicOk(NIC_MTU),
      ]);
      // with flannel.iface set, flanneld and the check agree and nothing is said
      expect(run({ FLANNEL_IFACES: 'eth0' }).stdout).not.toContain('warning');
    } finally {
      lab.ip(m.node, 'route', 'del', 'default');
    }
  });

  test('nothing matching the iface settings fails as flanneld would', () => {
    const r = run({ FLANNEL_IFACES: 'ens5', FLANNEL_IFACE_REGEXES: '^enp' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("apply-node-mtu: error: node node-a: no interface matches flannel's iface settings (iface: ens5; ifaceRegex: ^enp; ifaceCanReach: none): flanneld would exit\n");
    untouched();
  });

  test('a node address no interface holds fails', () => {
    const r = run({ HOST_IP: '192.168.51.9' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('apply-node-mtu: error: node node-a: no interface holds the node address 192.168.51.9\n');
  });
});

describe('apply-node-mtu: hostile NIC-check values are refused before anything changes', () => {
  let lab: Lab;
  let m: NodeModel;
  beforeAll(() => {
    lab = new Lab();
    m = buildNode(lab, { dualStack: false });
  });
  afterAll(() => lab.destroy());

  test.each<[string, Record<string, string>, string]>([
    ['NIC_MTU_NEEDED not a number', { NIC_MTU_NEEDED: '1380;reboot' }, "NIC_MTU_NEEDED: invalid mtu '1380;reboot' (want an integer 576..9216)"],
    ['NIC_MTU_NEEDED octal', { NIC_MTU_NEEDED: '01380' }, "NIC_MTU_NEEDED: invalid mtu '01380' (want an integer 576..9216)"],
    ['NODE_NAME with a command', { NODE_NAME: '$(id)' }, "NODE_NAME: invalid node name '$(id)'"],
    ['FLANNEL_IFACES with a command', { FLANNEL_IFACES: 'eth0 `id`' }, "FLANNEL_IFACES: '`id`' is neither an interface name nor an address"],
    ['FLANNEL_IFACE_CAN_REACH not an address', { FLANNEL_IFACE_CAN_REACH: '10.0.0.1;id' }, "FLANNEL_IFACE_CAN_REACH: invalid address '10.0.0.1;id'"],
    ['HOST_IP missing', { HOST_IP: '' }, "HOST_IP: invalid node address ''"],
  ])('%s', (_label, extra, message) => {
    const r = lab.sh(m.node, ic.script, { ...ic.env, ...NODE, ...extra });
    expect(r.stderr).toBe(`apply-node-mtu: error: ${message}\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect([lab.sysNet(m.node, 'flannel.1'), lab.sysNet(m.node, 'cni0')]).toEqual([UPSTREAM_DEFAULT_MTU, UPSTREAM_DEFAULT_MTU]);
  });
});
