import { toEnvironment } from '../../src/model';
import { planMtu, probeTargets } from '../../src/mtu';

test('probe targets: each cloud measures toward the first node of each family of every other cloud, with the planned path MTU', () => {
  const env = toEnvironment({
    name: 't',
    flannel: { podNetwork: '10.244.0.0/16', podNetworkV6: 'fd00::/56' },
    clouds: [
      { name: 'a', nicMtu: 1500, nodes: ['192.0.2.10', '2001:db8:a::10'] },
      { name: 'b', nicMtu: 1400, nodes: ['198.51.100.10'] },
    ],
    links: [{ between: ['a', 'b'], pathMtu: 1380, pathMtuV6: 1360 }],
  });
  // declared = the link's path MTU per family (1380 IPv4, 1360 IPv6); the search stops at the smaller NIC, 1400.
  expect(probeTargets(env, planMtu(env))).toEqual([
    { from: 'a', to: 'b', link: 'a~b', family: 4, peer: '198.51.100.10', declaredMtu: 1380, maxMtu: 1400 },
    { from: 'b', to: 'a', link: 'a~b', family: 4, peer: '192.0.2.10', declaredMtu: 1380, maxMtu: 1400 },
    { from: 'b', to: 'a', link: 'a~b', family: 6, peer: '2001:db8:a::10', declaredMtu: 1360, maxMtu: 1400 },
  ]);
});
