import { InputError, toEnvironment } from '../../src/model';
import { cloudView, planMtu } from '../../src/mtu';

/** An environment from a plain object, as an environment file would give it. */
function env(overrides: Record<string, unknown> = {}, flannel: Record<string, unknown> = {}) {
  return toEnvironment({
    name: 'test',
    flannel: { podNetwork: '10.244.0.0/16', ...flannel },
    clouds: [
      { name: 'cloud-a', nicMtu: 1400 },
      { name: 'cloud-b', nicMtu: 1400 },
    ],
    links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1380 }],
    ...overrides,
  });
}

const twoClouds = (nicA: number, nicB: number, link: Record<string, unknown>) => ({
  clouds: [
    { name: 'cloud-a', nicMtu: nicA },
    { name: 'cloud-b', nicMtu: nicB },
  ],
  links: [{ between: ['cloud-a', 'cloud-b'], ...link }],
});

describe('planMtu: derived numbers', () => {
  test('the seed incident: SD-WAN path 1380 -> Backend.MTU 1380, pods 1380-50 = 1330, MSS 1330-40 = 1290', () => {
    const plan = planMtu(env());
    expect(plan).toMatchObject({ underlayMtu: 1380, underlayMtuV6: null, backendMtu: 1380, podMtu: 1330, mss: 1290, mssV6: null });
    expect(plan.binding).toMatchObject({ kind: 'link', name: 'cloud-a~cloud-b', family: 'ipv4', mtu: 1380 });
    expect(plan.deviceMtus).toEqual({ 'cni0': 1330, 'flannel.1': 1330 });
  });

  test('headroom: NIC paths 1400 - (1330 + 50) = 20, the binding link 0', () => {
    expect(planMtu(env()).paths.map((p) => [p.name, p.pathMtu, p.headroom])).toEqual([
      ['cloud-a', 1400, 20],
      ['cloud-b', 1400, 20],
      ['cloud-a~cloud-b', 1380, 0],
    ]);
  });

  test.each([
    // [case, clouds and link, underlay, Backend.MTU, pod MTU, binding]
    ['link as mtu - overhead: 1400 - 20 = 1380 -> pods 1330', twoClouds(1400, 1400, { mtu: 1400, overhead: 20 }), 1380, 1380, 1330, 'link cloud-a~cloud-b'],
    ['link no narrower than the NICs: the NIC binds, 1400 - 50 = 1350', twoClouds(1400, 1400, { pathMtu: 1400 }), 1400, 1400, 1350, 'cloud cloud-a'],
    ['smaller NIC in cloud-b binds: 1450 - 50 = 1400', twoClouds(9001, 1450, { pathMtu: 1500 }), 1450, 1450, 1400, 'cloud cloud-b'],
  ])('%s', (_name, overrides, underlay, backendMtu, podMtu, binding) => {
    const plan = planMtu(env(overrides));
    expect([plan.underlayMtu, plan.backendMtu, plan.podMtu]).toEqual([underlay, backendMtu, podMtu]);
    expect(`${plan.binding.kind} ${plan.binding.name}`).toBe(binding);
  });

  test('a cloud fabric smaller than its NICs binds: fabric 1460 - 50 = 1410', () => {
    const plan = planMtu(env({ clouds: [{ name: 'cloud-a', nicMtu: 1500, fabricMtu: 1460 }, { name: 'cloud-b', nicMtu: 1500 }], links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1500 }] }));
    expect(plan.podMtu).toBe(1410);
    expect(plan.binding).toMatchObject({ kind: 'cloud', name: 'cloud-a', mtu: 1460, path: ['clouds', 0, 'fabricMtu'] });
  });

  test('three clouds 9001 / 1500 / 1460 with links 1500, 1427 and 1420 (IPv6 1410), dual-stack: IPv6 over the SD-WAN binds at 1410 - 70 = 1340', () => {
    const plan = planMtu(env({
      clouds: [{ name: 'aws', nicMtu: 9001 }, { name: 'onprem', nicMtu: 1500 }, { name: 'gcp', nicMtu: 1460 }],
      links: [
        { between: ['aws', 'onprem'], pathMtu: 1500 },
        { between: ['aws', 'gcp'], mtu: 1500, overhead: 73 },
        { between: ['onprem', 'gcp'], pathMtu: 1420, pathMtuV6: 1410 },
      ],
    }, { podNetworkV6: 'fd00:10:42::/56' }));
    // Backend.MTU = 1340 + 50 (flannel subtracts 50 for both families) = 1390; MSS 1340-40, 1340-60.
    expect(plan).toMatchObject({ underlayMtu: 1420, underlayMtuV6: 1410, backendMtu: 1390, podMtu: 1340, mss: 1300, mssV6: 1280 });
    expect(plan.binding).toMatchObject({ kind: 'link', name: 'onprem~gcp', family: 'ipv6', mtu: 1410 });
    // IPv4 headroom over the SD-WAN: 1420 - (1340 + 50) = 30; over the 1427 IPsec link: 1427 - 1390 = 37, IPv6 1427 - 1410 = 17.
    expect(plan.paths.find((p) => p.name === 'onprem~gcp')).toMatchObject({ headroom: 30, headroomV6: 0 });
    expect(plan.paths.find((p) => p.name === 'aws~gcp')).toMatchObject({ pathMtu: 1427, headroom: 37, headroomV6: 17 });
    expect(plan.deviceMtus).toEqual({ 'cni0': 1340, 'flannel-v6.1': 1340, 'flannel.1': 1340 });
  });

  test('dual-stack vxlan on equal paths (flannel #1781): 1500 - 70 = 1430 for pods, Backend.MTU 1430 + 50 = 1480, not 1500', () => {
    const plan = planMtu(env(twoClouds(1500, 1500, { pathMtu: 1500 }), { podNetworkV6: 'fd00::/56' }));
    expect(plan).toMatchObject({ backendMtu: 1480, podMtu: 1430, mss: 1390, mssV6: 1370, encapOverheadV6: 70 });
    expect(plan.binding).toMatchObject({ kind: 'cloud', name: 'cloud-a', family: 'ipv6' });
  });

  test('wireguard over IPv4: costs 60, flannel subtracts 80: pods 1380 - 60 = 1320, Backend.MTU 1320 + 80 = 1400', () => {
    const plan = planMtu(env({}, { backend: 'wireguard' }));
    // MSS: TCP packets held to 1312 (1320 rounded down to a multiple of 16, wireguard's padding) - 40 = 1272
    expect(plan).toMatchObject({ backendMtu: 1400, podMtu: 1320, mss: 1272, flannelOverhead: 80, encapOverhead: 60, tunnelMode: 'separate' });
    expect(plan.deviceMtus).toEqual({ 'cni0': 1320, 'flannel-wg': 1320 });
    expect(plan.reasoning).toContain('MSS 1272 = 1312 - 40 (IPv4 + TCP headers)');
    expect(plan.reasoning.join('\n')).toMatch(/flannel-wg at 1320 is exactly its fit over IPv4; .* a flannel-wg MTU above 1320 .* blackholes every packet from 1313 bytes up/);
  });

  test('wireguard dual-stack (separate): IPv6 costs 80, pods 1380 - 80 = 1300, Backend.MTU 1380', () => {
    const plan = planMtu(env({}, { backend: 'wireguard', podNetworkV6: 'fd00::/56' }));
    // IPv4 fit 1380 - 60 = 1320, rounded 1312 >= 1300: MSS 1300 - 40 = 1260; IPv6 fit 1300, rounded 1296: 1296 - 60 = 1236
    expect(plan).toMatchObject({ backendMtu: 1380, podMtu: 1300, mss: 1260, mssV6: 1236 });
    expect(plan.devices).toEqual({ overlay: 'flannel-wg', overlayV6: 'flannel-wg-v6', bridge: 'cni0' });
    expect(plan.reasoning.join('\n')).toMatch(/flannel-wg at 1300 is 20 below its fit 1320 over IPv4, so a path up to 20 bytes smaller than declared/);
  });

  test('wireguard dual-stack (auto): one flannel-wg for both families that must fit both underlays', () => {
    const plan = planMtu(env({}, { backend: 'wireguard', podNetworkV6: 'fd00::/56', tunnelMode: 'auto' }));
    // the IPv6 underlay may carry either family: fit 1380 - 80 = 1300 for both, rounded 1296
    expect(plan).toMatchObject({ backendMtu: 1380, podMtu: 1300, mss: 1256, mssV6: 1236, tunnelMode: 'auto' });
    expect(plan.devices).toEqual({ overlay: 'flannel-wg', overlayV6: 'flannel-wg', bridge: 'cni0' });
    expect(plan.deviceMtus).toEqual({ 'cni0': 1300, 'flannel-wg': 1300 });
  });

  test('wireguard whose fit is a multiple of 16: nothing held back, the cliff costs nothing below the fit', () => {
    // path 1388 - 60 = 1328 = 83 x 16
    const plan = planMtu(env(twoClouds(1500, 1500, { pathMtu: 1388 }), { backend: 'wireguard' }));
    expect(plan).toMatchObject({ podMtu: 1328, mss: 1288 });
    expect(plan.reasoning.join('\n')).toMatch(/loses only the packets above 1328 \(1328 is a multiple of 16\)/);
    expect(plan.reasoning.join('\n')).not.toMatch(/TCP is held to/);
  });

  test('host-gw in one cloud: no encapsulation, pods get the NIC MTU 1500, flannel takes no Backend.MTU', () => {
    const plan = planMtu(env({ clouds: [{ name: 'dc', nicMtu: 1500 }], links: [] }, { backend: 'host-gw' }));
    expect(plan).toMatchObject({ backendMtu: null, podMtu: 1500, mss: 1460 });
    expect(plan.deviceMtus).toEqual({ cni0: 1500 });
  });

  test('vni names the devices: vni 4096 -> flannel.4096', () => {
    expect(planMtu(env({}, { vni: 4096 })).devices.overlay).toBe('flannel.4096');
  });

  test('reasoning states the derivation with the numbers', () => {
    expect(planMtu(env()).reasoning).toEqual([
      'underlay IPv4 MTU 1380: the smallest of 2 cloud NIC/fabric MTUs and 1 link path MTUs',
      'binding constraint: link cloud-a~cloud-b path MTU (IPv4) at 1380; vxlan costs 50 bytes over IPv4, so pods get 1380 - 50 = 1330',
      'Backend.MTU 1380 = 1330 + 50: flannel subtracts 50 from it for vxlan, whatever the family',
      'MSS 1290 = 1330 - 40 (IPv4 + TCP headers)',
      'pods get tcp_mtu_probing=1 (CNI tuning plugin): after repeated timeouts of full-size segments TCP probes from tcp_base_mss 1024 (kernel default) instead of hanging',
    ]);
  });

  test('the underlay clamp honours fabricMtu: NIC 1400, fabric 1300, link 1380 -> path MTU min(1380, 1300, 1400) = 1300, MSS 1300 - 40 = 1260', () => {
    const plan = planMtu(env({
      clouds: [
        { name: 'cloud-a', nicMtu: 1400, fabricMtu: 1300, nodeCidrs: ['10.1.0.0/24'] },
        { name: 'cloud-b', nicMtu: 1400, nodeCidrs: ['10.2.0.0/24'] },
      ],
    }));
    // Both directions cross cloud-a's 1300 fabric (at one end or the other).
    expect(plan.underlayClamps.map((c) => [c.cloud, c.to, c.pathMtu, c.mss])).toEqual([
      ['cloud-a', 'cloud-b', 1300, 1260],
      ['cloud-b', 'cloud-a', 1300, 1260],
    ]);
  });

  test('fails when links share a name (issue 16: three 9001 clouds, a-b 9001, a-c and b-c 1380, all "wan", gave the keeper 8951 over a 1380 path)', () => {
    const clouds = ['a', 'b', 'c'].map((n, i) => ({ name: n, nicMtu: 9001, nodeSelector: { r: n }, nodeCidrs: [`10.${i}.0.0/16`] }));
    const links = ([[['a', 'b'], 9001], [['a', 'c'], 1380], [['b', 'c'], 1380]] as const).map(([between, pathMtu]) => ({ between, pathMtu, name: 'wan' }));
    expect(() => planMtu({ name: 'test', flannel: { podNetwork: '10.244.0.0/16' }, mtuMode: 'per-path', clouds, links })).toThrow(
      'links[1].name: duplicate link name "wan" (first at links[0]); give each link its own name\nlinks[2].name: duplicate link name "wan" (first at links[0]); give each link its own name',
    );
  });

  test('warns when a link claims more than the NICs it joins, and uses the NICs', () => {
    const plan = planMtu(env(twoClouds(1400, 1450, { pathMtu: 1500 })));
    expect(plan.warnings).toEqual([{ path: ['links', 0, 'pathMtu'], message: expect.stringContaining('path MTU 1500 exceeds the NICs it joins (cloud-a 1400, cloud-b 1450)') }]);
    expect(plan.paths.find((p) => p.kind === 'link')!.pathMtu).toBe(1400);
    expect(plan.podMtu).toBe(1350);
  });
});

describe('planMtu: refusals', () => {
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    throw new Error('expected an InputError');
  };

  test('fails when the pod MTU would be below IPv4 minimum 576 (path 620 - 50 = 570)', () => {
    expect(refusal(() => planMtu(env(twoClouds(1400, 1400, { pathMtu: 620 }))))).toBe(
      'links[0].pathMtu: pod MTU would be 570 (link cloud-a~cloud-b path MTU 620 - vxlan overhead 50 over IPv4), below IPv4\'s minimum MTU 576',
    );
  });

  test('fails when dual-stack pods would be below IPv6 minimum 1280 (path 1340 - 70 = 1270)', () => {
    expect(refusal(() => planMtu(env(twoClouds(1400, 1400, { pathMtu: 1340 }), { podNetworkV6: 'fd00::/56' })))).toContain(
      'pod MTU would be 1270 (link cloud-a~cloud-b path MTU 1340 - vxlan overhead 70 over IPv6), below IPv6\'s minimum MTU 1280 (the cluster is dual-stack)',
    );
  });

  test('fails when host-gw spans clouds', () => {
    expect(refusal(() => planMtu(env({}, { backend: 'host-gw' })))).toMatch(/^flannel\.backend: host-gw .* needs every node on one L2 segment/);
  });
});

describe('planMtu: mtuMode per-path', () => {
  const jumbo = (mtuMode: string, extra: Record<string, unknown> = {}, flannel: Record<string, unknown> = {}) => env({
    mtuMode,
    clouds: [
      { name: 'aws', nicMtu: 9001, nodeSelector: { r: 'aws' }, nodeCidrs: ['10.30.0.0/16'] },
      { name: 'onprem', nicMtu: 1500, nodeSelector: { r: 'onprem' }, nodeCidrs: ['172.16.8.0/22'] },
    ],
    links: [{ between: ['aws', 'onprem'], name: 'sdwan', pathMtu: 1380 }],
    ...extra,
  }, flannel);

  test('each cloud at its own maximum (9001 - 50 = 8951, 1500 - 50 = 1450), the link at 1380 - 50 = 1330', () => {
    const plan = planMtu(jumbo('per-path'));
    expect(plan.mtuMode).toBe('per-path');
    expect(plan.clouds.map((c) => [c.name, c.podMtu, c.backendMtu, c.mss, c.mssV6, c.deviceMtus])).toEqual([
      ['aws', 8951, 9001, 8911, null, { 'cni0': 8951, 'flannel.1': 8951 }],
      ['onprem', 1450, 1500, 1410, null, { 'cni0': 1450, 'flannel.1': 1450 }],
    ]);
    expect(plan.clouds.map((c) => `${c.binding.kind} ${c.binding.name} ${c.binding.mtu}`)).toEqual(['cloud aws 9001', 'cloud onprem 1500']);
    expect(plan.links).toEqual([{ name: 'sdwan', between: ['aws', 'onprem'], overlayMtu: 1330, mss: 1290, mssV6: null }]);
    // headroom against what each path carries: every path is used to the byte
    expect(plan.paths.map((p) => [p.name, p.pathMtu, p.headroom])).toEqual([['aws', 9001, 0], ['onprem', 1500, 0], ['sdwan', 1380, 0]]);
    // the cluster-wide numbers stay the floor
    expect([plan.podMtu, plan.backendMtu, plan.mss]).toEqual([1330, 1380, 1290]);
    expect(plan.reasoning).toEqual(expect.arrayContaining([
      'cloud aws: cloud aws NIC MTU 9001 - 50 (IPv4) = pod MTU 8951, Backend.MTU 9001 (8951 + 50), MSS 8911',
      'link sdwan (aws <-> onprem): overlay MTU 1330 = min(1380 - 50) on the routes between the two clouds\' pod subnets; TCP is clamped to it (MSS 1290) by --clamp-mss-to-pmtu',
    ]));
  });

  test('uniform mode: every cloud and link carries the cluster numbers, and the reasoning is unchanged', () => {
    const plan = planMtu(jumbo('uniform'));
    expect(plan.clouds.map((c) => [c.podMtu, c.backendMtu, c.mss, c.binding])).toEqual([[1330, 1380, 1290, plan.binding], [1330, 1380, 1290, plan.binding]]);
    expect(plan.links.map((l) => l.overlayMtu)).toEqual([1330]);
    expect(plan.paths.map((p) => p.headroom)).toEqual([7621, 120, 0]);
    expect(plan.reasoning.some((r) => r.includes('per-path'))).toBe(false);
  });

  test('a fabric below the NICs binds its cloud; dual-stack takes IPv6\'s 70 per cloud and per link', () => {
    const plan = planMtu(jumbo('per-path', {
      clouds: [
        { name: 'aws', nicMtu: 9001, fabricMtu: 8500, nodeSelector: { r: 'aws' }, nodeCidrs: ['10.30.0.0/16'] },
        { name: 'onprem', nicMtu: 1500, nodeSelector: { r: 'onprem' }, nodeCidrs: ['172.16.8.0/22'] },
      ],
      links: [{ between: ['aws', 'onprem'], name: 'sdwan', pathMtu: 1380, pathMtuV6: 1400 }],
    }, { podNetworkV6: 'fd00::/56' }));
    // aws: fabric 8500 - 70 = 8430; onprem 1500 - 70 = 1430; link min(1380 - 50, min(1400, 1500) - 70) = 1330
    expect(plan.clouds.map((c) => [c.podMtu, c.backendMtu, c.mssV6])).toEqual([[8430, 8480, 8370], [1430, 1480, 1370]]);
    expect(plan.clouds[0].binding).toMatchObject({ kind: 'cloud', name: 'aws', family: 'ipv6', mtu: 8500, path: ['clouds', 0, 'fabricMtu'] });
    expect(plan.links[0]).toMatchObject({ overlayMtu: 1330, mss: 1290, mssV6: 1270 });
  });

  test('cloudView: the cloud\'s numbers in the plan\'s shape', () => {
    const plan = planMtu(jumbo('per-path'));
    expect(cloudView(plan, 'aws')).toMatchObject({ underlayMtu: 9001, podMtu: 8951, backendMtu: 9001, mss: 8911, deviceMtus: { 'cni0': 8951, 'flannel.1': 8951 }, links: plan.links });
    expect(() => cloudView(plan, 'gcp')).toThrow(/no cloud "gcp" in the plan of test \(clouds: aws, onprem\)/);
  });
});
