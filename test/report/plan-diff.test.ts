import { diffPlans, diffReport, PlanDiff, rolloutNamespaces } from '../../src/report';
import { parseEnvironment } from '../../src/config/load';
import { expectGolden, SCENARIOS, SEED, side } from './scenarios';

const diffOf = (name: string): PlanDiff => {
  const s = SCENARIOS.find((x) => x.name === name)!;
  const file = s.file ?? 'seed-dev.yaml';
  return diffPlans(side(s.old, `main:environments/${file}`), side(s.new, `environments/${file}`));
};
/** `{ key: [old, new] }` of the numbers that changed. */
const changedNumbers = (d: PlanDiff) => Object.fromEntries(d.numbers.filter((c) => c.changed).map((c) => [c.key, [c.old, c.new]]));
const headroom = (d: PlanDiff) => Object.fromEntries(d.paths.map((p) => [p.name, [p.headroom.old, p.headroom.new, p.headroomV6.old, p.headroomV6.new]]));

describe('diffPlans', () => {
  // The derivations are in scenarios.ts, next to each environment pair.
  test.each([
    ['no-change', 'unchanged', {}],
    ['lower-link', 'changed', { underlayMtu: [1380, 1360], backendMtu: [1380, 1360], podMtu: [1330, 1310], mss: [1290, 1270] }],
    ['new-cloud-binds', 'changed', { underlayMtu: [1380, 1300], backendMtu: [1380, 1300], podMtu: [1330, 1250], mss: [1290, 1210] }],
    ['dual-stack-v6-binds', 'changed', { underlayMtuV6: [1420, 1380], backendMtu: [1380, 1360], podMtu: [1330, 1310], mss: [1290, 1270], mssV6: [1270, 1250] }],
  ])('%s: status %s, changed numbers', (name, status, numbers) => {
    const d = diffOf(name);
    expect(d.status).toBe(status);
    expect(changedNumbers(d)).toEqual(numbers);
  });

  test.each([
    // [scenario, binding old, binding new, moved, why]
    ['no-change', 'link sdwan ipv4 1380', 'link sdwan ipv4 1380', false, 'unchanged: link sdwan over IPv4 at 1380'],
    ['lower-link', 'link sdwan ipv4 1380', 'link sdwan ipv4 1360', false, 'still link sdwan over IPv4: its MTU went 1380 -> 1360'],
    ['new-cloud-binds', 'link sdwan ipv4 1380', 'cloud cloud-c ipv4 1300', true, 'moved from link sdwan over IPv4 (1380, unchanged) to cloud cloud-c over IPv4 (new, 1300)'],
    ['dual-stack-v6-binds', 'link sdwan ipv4 1380', 'link sdwan ipv6 1380', true, 'moved from link sdwan over IPv4 (1380, unchanged) to link sdwan over IPv6 (1420 -> 1380)'],
  ])('%s: binding %s -> %s', (name, before, after, moved, why) => {
    const { binding } = diffOf(name);
    const show = (c: typeof binding.old) => `${c!.kind} ${c!.name} ${c!.family} ${c!.mtu}`;
    expect([show(binding.old), show(binding.new), binding.moved, binding.why]).toEqual([before, after, moved, why]);
  });

  test.each([
    // [scenario, { path: [headroom old, new, IPv6 old, new] }]
    ['no-change', { 'cloud-a': [20, 20, null, null], 'cloud-b': [20, 20, null, null], 'sdwan': [0, 0, null, null] }],
    ['lower-link', { 'cloud-a': [20, 40, null, null], 'cloud-b': [20, 40, null, null], 'sdwan': [0, 0, null, null] }],
    [
      'new-cloud-binds',
      { 'cloud-a': [20, 100, null, null], 'cloud-b': [20, 100, null, null], 'cloud-c': [null, 0, null, null], 'sdwan': [0, 80, null, null], 'cloud-a~cloud-c': [null, 0, null, null], 'cloud-b~cloud-c': [null, 0, null, null] },
    ],
    ['dual-stack-v6-binds', { 'cloud-a': [120, 140, 100, 120], 'cloud-b': [120, 140, 100, 120], 'sdwan': [0, 20, 20, 0] }],
  ])('%s: headroom of every path', (name, expected) => {
    expect(headroom(diffOf(name))).toEqual(expected);
  });

  test('effects: the DaemonSet rolls, apply-node-mtu resets every device, the rollout Job restarts the configured namespaces in order', () => {
    expect(diffOf('lower-link').effects).toEqual({
      daemonSetRolls: true,
      daemonSet: 'kube-flannel-ds',
      nodeMtus: [
        { device: 'cni0', old: 1330, new: 1310 },
        { device: 'flannel.1', old: 1330, new: 1310 },
      ],
      podsRecreated: true,
      rolloutNamespaces: ['ingress-nginx', 'default'],
    });
    expect(diffOf('dual-stack-v6-binds').effects).toMatchObject({ nodeMtus: [{ device: 'cni0' }, { device: 'flannel-v6.1' }, { device: 'flannel.1' }], rolloutNamespaces: null });
    expect(diffOf('no-change').effects).toMatchObject({ daemonSetRolls: false, nodeMtus: [], podsRecreated: false });
  });

  test.each([
    ['no-change', 'none', 'no change: nothing restarts'],
    ['lower-link', 'lower', 'lowering the pod MTU (1330 -> 1310) is safe but needs restarts: pods created before keep 1330 until they are recreated, and the TCPMSS clamp (MSS 1270) keeps their TCP within the new path meanwhile'],
  ])('%s: risk %s', (name, level, text) => {
    expect(diffOf(name).risk).toEqual({ level, text });
  });

  test('raising the MTU (the SD-WAN back from 1360 to 1380) warns that every node and pod must be updated first', () => {
    const d = diffPlans(side(SEED.replace('pathMtu: 1380', 'pathMtu: 1360'), 'old'), side(SEED, 'new'));
    expect(d.risk.level).toBe('raise');
    expect(d.risk.text).toMatch(/^raising the pod MTU \(1310 -> 1330\) needs every node and pod updated before large packets flow: until then old pods keep 1310 and the TCPMSS clamp protects TCP/);
  });

  test('a headroom-only change (a cloud NIC that does not bind) changes the plan but restarts nothing', () => {
    // cloud-b 1400 -> 1500: its room 1450 stays above the SD-WAN's 1330, so only its headroom moves, 20 -> 120.
    const d = diffPlans(side(SEED, 'old'), side(SEED.replace('name: cloud-b\n    nicMtu: 1400', 'name: cloud-b\n    nicMtu: 1500'), 'new'));
    expect(d.status).toBe('changed');
    expect(changedNumbers(d)).toEqual({});
    expect(headroom(d)['cloud-b']).toEqual([20, 120, null, null]);
    expect(d.effects).toMatchObject({ daemonSetRolls: false, nodeMtus: [], podsRecreated: false });
    expect(d.risk).toEqual({ level: 'same-mtu', text: 'the pod MTU stays 1330: only the plan (underlay, headroom) changes, nothing restarts' });
  });

  test('a new environment and a removed one', () => {
    const added = diffPlans(side(null, 'main:environments/seed-dev.yaml'), side(SEED, 'environments/seed-dev.yaml'));
    expect(added).toMatchObject({ status: 'added', binding: { old: null, moved: false, why: 'new environment: link sdwan over IPv4 binds at 1380' } });
    expect(changedNumbers(added)).toEqual({ underlayMtu: [null, 1380], backendMtu: [null, 1380], podMtu: [null, 1330], mss: [null, 1290] });
    expect(added.effects.nodeMtus).toEqual([{ device: 'cni0', old: null, new: 1330 }, { device: 'flannel.1', old: null, new: 1330 }]);
    const removed = diffPlans(side(SEED, 'main:environments/seed-dev.yaml'), side(null, 'environments/seed-dev.yaml'));
    expect(removed).toMatchObject({ status: 'removed', risk: { level: 'removed' }, effects: { daemonSetRolls: false, nodeMtus: [], podsRecreated: false } });
    expect(diffReport(null, [added]).changed).toBe(true);
    expect(diffReport(null, [diffOf('no-change')]).changed).toBe(false);
  });

  test('rolloutNamespaces: in the configured order; null without a rollout section or when it is disabled', () => {
    const env = (text: string) => parseEnvironment(text, 'seed-dev.yaml').environment;
    expect(rolloutNamespaces(env(SEED))).toEqual(['ingress-nginx', 'default']);
    expect(rolloutNamespaces(env(SEED.replace(/rollout:[\s\S]*$/, '')))).toBeNull();
    expect(rolloutNamespaces(env(SEED.replace('rollout:\n', 'rollout:\n  enabled: false\n')))).toBeNull();
  });

  test.each(SCENARIOS.map((s) => [s.name]))('%s: JSON golden', (name) => {
    expectGolden(`${name}.json`, `${JSON.stringify(diffReport('main', [diffOf(name)]), null, 2)}\n`);
  });
});

describe('underlay clamps (node-to-node TCP between clouds)', () => {
  test('underlay-clamps: per cloud and destination subnet, MSS old -> new, added and removed; the DaemonSet rolls', () => {
    const s = SCENARIOS.find((x) => x.name === 'underlay-clamps')!;
    const d = diffPlans(side(s.old, 'old'), side(s.new, 'new'));
    expect(d.underlayClamps.map((c) => [c.cloud, c.to, c.cidr, c.mss.old, c.mss.new, c.status])).toEqual([
      ['cloud-a', 'cloud-b', '10.119.96.0/23', null, 1320, 'added'],
      ['cloud-b', 'cloud-a', '192.168.1.0/24', 1340, 1320, 'changed'],
      ['cloud-a', 'cloud-b', '10.119.96.0/24', 1340, null, 'removed'],
    ]);
    expect(d.effects.daemonSetRolls).toBe(true);
  });

  test('a renumbered node subnet alone changes the plan and rolls the DaemonSet, the pod MTU stays', () => {
    const s = SCENARIOS.find((x) => x.name === 'underlay-clamps')!;
    const d = diffPlans(side(s.old, 'old'), side(s.old.replace('nodeCidrs: [10.119.96.0/24]', 'nodeCidrs: [10.119.96.0/23]'), 'new'));
    expect(d.status).toBe('changed');
    expect(d.numbers.filter((c) => c.changed)).toEqual([]);
    expect(d.effects).toMatchObject({ daemonSetRolls: true, podsRecreated: false });
    expect(d.risk.level).toBe('same-mtu');
  });
});

describe('mtuMode per-path (derivations in scenarios.ts)', () => {
  const perCloud = (d: PlanDiff) => Object.fromEntries(d.perPath!.clouds.map((c) => [c.cloud, [c.podMtu.old, c.podMtu.new, c.backendMtu.old, c.backendMtu.new, c.mss.old, c.mss.new, c.podsRecreated]]));
  const perLink = (d: PlanDiff) => Object.fromEntries(d.perPath!.links.map((l) => [l.name, [l.overlayMtu.old, l.overlayMtu.new, l.mss.old, l.mss.new]]));
  const routes = (d: PlanDiff) => d.perPath!.routeMtus.map((r) => [r.cloud, r.peer, r.link, r.mtu.old, r.mtu.new]);
  const daemonSets = (d: PlanDiff) => d.perPath!.daemonSets.map((x) => [x.name, x.status, x.reasons]);

  test('uniform diffs carry no perPath section (their JSON is as before)', () => {
    for (const s of SCENARIOS.filter((x) => x.file === undefined)) expect(diffOf(s.name).perPath).toBeUndefined();
  });

  test('per-path-link: SD-WAN 1380 -> 1360 moves the link overlay MTU 1330 -> 1310 and the route MTUs; the clouds keep 8951 / 1450', () => {
    const d = diffOf('per-path-link');
    expect(d.status).toBe('changed');
    expect(d.perPath!.mtuMode).toEqual({ old: 'per-path', new: 'per-path' });
    expect(perCloud(d)).toEqual({ aws: [8951, 8951, 9001, 9001, 8911, 8911, false], onprem: [1450, 1450, 1500, 1500, 1410, 1410, false] });
    expect(perLink(d)).toEqual({ sdwan: [1330, 1310, 1290, 1270] });
    expect(routes(d)).toEqual([['aws', 'onprem', 'sdwan', 1330, 1310], ['onprem', 'aws', 'sdwan', 1330, 1310]]);
    // Both roll although their config checksum stays: the keeper's LINK_MTUS and the underlay rules are in their pod templates.
    expect(daemonSets(d)).toEqual([
      ['kube-flannel-ds-aws', 'rolls', ['route-mtu-keeper route MTU toward onprem 1330 -> 1310', 'tcp-mss-clamp underlay rules']],
      ['kube-flannel-ds-onprem', 'rolls', ['route-mtu-keeper route MTU toward aws 1330 -> 1310', 'tcp-mss-clamp underlay rules']],
    ]);
    expect(d.effects).toMatchObject({ daemonSetRolls: true, daemonSet: 'kube-flannel-ds-aws, kube-flannel-ds-onprem', nodeMtus: [], podsRecreated: false });
    expect(d.risk.level).toBe('lower');
    expect(d.risk.text).toMatch(/^lowering the overlay MTU of link sdwan \(1330 -> 1310\) is safe: no pod MTU changes, so no pod needs recreating; the route-MTU keepers set the new route MTUs/);
  });

  test('uniform-to-per-path: per-cloud numbers from the cluster\'s, DaemonSets created and pruned, the mode-switch risk', () => {
    const d = diffOf('uniform-to-per-path');
    expect(d.settings).toEqual([{ key: 'mtuMode', old: 'uniform', new: 'per-path' }]);
    expect(changedNumbers(d)).toEqual({});
    expect(perCloud(d)).toEqual({ aws: [1330, 8951, 1380, 9001, 1290, 8911, true], onprem: [1330, 1450, 1380, 1500, 1290, 1410, true] });
    expect(perLink(d)).toEqual({ sdwan: [1330, 1330, 1290, 1290] });
    expect(routes(d)).toEqual([['aws', 'onprem', 'sdwan', null, 1330], ['onprem', 'aws', 'sdwan', null, 1330]]);
    expect(daemonSets(d)).toEqual([['kube-flannel-ds-aws', 'created', []], ['kube-flannel-ds-onprem', 'created', []], ['kube-flannel-ds', 'pruned', []]]);
    expect(d.effects.nodeMtus).toEqual([
      { device: 'cni0', old: 1330, new: 8951, cloud: 'aws' }, { device: 'flannel.1', old: 1330, new: 8951, cloud: 'aws' },
      { device: 'cni0', old: 1330, new: 1450, cloud: 'onprem' }, { device: 'flannel.1', old: 1330, new: 1450, cloud: 'onprem' },
    ]);
    expect(headroom(d)).toEqual({ aws: [7621, 0, null, null], onprem: [120, 0, null, null], sdwan: [0, 0, null, null] });
    expect(d.risk.level).toBe('mode-switch');
    expect(d.risk.text).toContain('both bind hostNetwork port 8081');
    expect(d.risk.text).toContain('Delete kube-flannel-ds first, or prune in the same sync');
  });

  test('per-path -> uniform: the reverse migration, the per-cloud DaemonSets pruned', () => {
    const s = SCENARIOS.find((x) => x.name === 'uniform-to-per-path')!;
    const d = diffPlans(side(s.new, 'old'), side(s.old, 'new'));
    expect(daemonSets(d)).toEqual([['kube-flannel-ds', 'created', []], ['kube-flannel-ds-aws', 'pruned', []], ['kube-flannel-ds-onprem', 'pruned', []]]);
    expect(routes(d)).toEqual([['aws', 'onprem', 'sdwan', 1330, null], ['onprem', 'aws', 'sdwan', 1330, null]]);
    expect(d.risk.text).toMatch(/^switching mtuMode per-path -> uniform needs a planned migration: kube-flannel-ds is created under a new name while kube-flannel-ds-aws, kube-flannel-ds-onprem keep running/);
  });

  test('per-path: a cloud NIC change rolls only that cloud\'s DaemonSet and recreates only its pods', () => {
    const s = SCENARIOS.find((x) => x.name === 'per-path-link')!;
    // aws 9001 -> 8500: aws pod MTU 8500 - 50 = 8450, Backend.MTU 8500, MSS 8410; the link keeps
    // min(1380, 8500, 1500) - 50 = 1330, onprem is untouched.
    const d = diffPlans(side(s.old, 'old'), side(s.old.replace('nicMtu: 9001', 'nicMtu: 8500'), 'new'));
    expect(perCloud(d)).toEqual({ aws: [8951, 8450, 9001, 8500, 8911, 8410, true], onprem: [1450, 1450, 1500, 1500, 1410, 1410, false] });
    expect(daemonSets(d)).toEqual([
      ['kube-flannel-ds-aws', 'rolls', ['config checksum and apply-node-mtu (Backend.MTU 9001 -> 8500, pod MTU 8951 -> 8450)']],
      ['kube-flannel-ds-onprem', 'unchanged', []],
    ]);
    expect(d.risk).toMatchObject({ level: 'lower' });
    expect(d.risk.text).toMatch(/^lowering the pod MTU of cloud aws \(8951 -> 8450\) is safe: pods keep their old MTU until they are recreated \(cloud aws 8951 -> 8450\)$/);
  });

  test('a new per-path environment: every cloud\'s MTU named', () => {
    const d = diffPlans(side(null, 'old'), side(SCENARIOS.find((x) => x.name === 'per-path-link')!.old, 'new'));
    expect(d.risk.text).toBe('new environment: pods get their cloud\'s MTU (aws 8951, onprem 1450) once flannel is installed and they are recreated; pods created before keep whatever MTU they had');
    expect(daemonSets(d)).toEqual([['kube-flannel-ds-aws', 'created', []], ['kube-flannel-ds-onprem', 'created', []]]);
  });

  test('wireguard: lowering below the MTU that not-yet-rolled nodes keep names the padding cliff', () => {
    const wg = SEED.replace('backend: vxlan', 'backend: wireguard');
    // old: 1380 - 60 = 1320 on every device; new: SD-WAN 1370 -> fit 1310, and 1310 rounded down
    // to a multiple of 16 is 1296, so a device still at 1320 loses 1297-1320, not only 1311-1320.
    const d = diffPlans(side(wg, 'old'), side(wg.replace('pathMtu: 1380', 'pathMtu: 1370'), 'new'));
    expect(d.risk).toMatchObject({ level: 'lower' });
    expect(d.risk.text).toMatch(/clamp \(MSS 1256\) .*; until flannel rolls on a node its wireguard devices keep 1320, above the new fit, and WireGuard's 16-byte padding blackholes every packet of flannel-wg 1297-1320 bytes \(fit 1310\) there/);
    // a new wireguard environment replacing upstream: NIC 1400 - 80 = 1320 is the fit on the seed's
    // underlay, so no cliff; with the SD-WAN at 1370 (fit 1310) both clouds' devices are above it
    expect(diffPlans(side(null, 'old'), side(wg, 'new')).risk.text).not.toMatch(/padding/);
    expect(diffPlans(side(null, 'old'), side(wg.replace('pathMtu: 1380', 'pathMtu: 1370'), 'new')).risk.text).toMatch(
      /a node keeps flannel's default wireguard devices \(NIC - 80\) .* on flannel-wg in cloud-a \(1320 > fit 1310: 1297 bytes and up\), flannel-wg in cloud-b \(1320 > fit 1310: 1297 bytes and up\): TCP crosses/,
    );
    // raising needs no such note: old devices are below the new fit
    expect(diffPlans(side(wg.replace('pathMtu: 1380', 'pathMtu: 1370'), 'old'), side(wg, 'new')).risk.text).not.toMatch(/padding/);
  });
});
