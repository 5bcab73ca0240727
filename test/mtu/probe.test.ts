import { toEnvironment } from '../../src/model';
import { planMtu, probeTargets } from '../../src/mtu';

test('probe targets: each cloud measures toward the nodes of each family of every other cloud, with the planned path MTU', () => {
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
  // b has no IPv6 node: a does not measure IPv6 toward it.
  expect(probeTargets(env, planMtu(env))).toEqual([
    { from: 'a', to: 'b', link: 'a~b', family: 4, peers: ['198.51.100.10'], declaredMtu: 1380, maxMtu: 1400 },
    { from: 'b', to: 'a', link: 'a~b', family: 4, peers: ['192.0.2.10'], declaredMtu: 1380, maxMtu: 1400 },
    { from: 'b', to: 'a', link: 'a~b', family: 6, peers: ['2001:db8:a::10'], declaredMtu: 1360, maxMtu: 1400 },
  ]);
});

test('probe targets: every declared node of the family is a candidate peer, in the order of the file, each once', () => {
  const env = toEnvironment({
    name: 't',
    flannel: { podNetwork: '10.244.0.0/16', podNetworkV6: 'fd00::/56' },
    clouds: [
      // families interleaved and out of numeric order: the peers keep the file's order within each family
      { name: 'a', nicMtu: 1500, nodes: ['192.0.2.30', '2001:db8:a::2', '192.0.2.10', '2001:db8:a::1', '192.0.2.20', '192.0.2.10'] },
      { name: 'b', nicMtu: 1450, nodes: ['198.51.100.10', '198.51.100.11', '2001:db8:b::1'] },
      { name: 'c', nicMtu: 9000, nodes: ['203.0.113.7'] },
    ],
    links: [
      { between: ['a', 'b'], pathMtu: 1380, pathMtuV6: 1360 },
      { between: ['a', 'c'], name: 'dx', pathMtu: 1500 },
      { between: ['b', 'c'], pathMtu: 1400 },
    ],
  });
  const targets = probeTargets(env, planMtu(env));
  const of = (from: string, to: string) => targets.filter((t) => t.from === from && t.to === to).map((t) => [t.family, t.peers, t.declaredMtu, t.maxMtu]);
  // a -> b: b's two IPv4 nodes and its IPv6 node; max = min(1500, 1450) = 1450
  expect(of('a', 'b')).toEqual([[4, ['198.51.100.10', '198.51.100.11'], 1380, 1450], [6, ['2001:db8:b::1'], 1360, 1450]]);
  // b -> a: a's IPv4 nodes as listed (30, 10, 20; the repeated 10 once), its IPv6 nodes as listed (::2, ::1)
  expect(of('b', 'a')).toEqual([[4, ['192.0.2.30', '192.0.2.10', '192.0.2.20'], 1380, 1450], [6, ['2001:db8:a::2', '2001:db8:a::1'], 1360, 1450]]);
  // toward c: its one node, IPv4 only (c has no IPv6 node); max = min(1500 or 1450, 9000)
  expect(of('a', 'c')).toEqual([[4, ['203.0.113.7'], 1500, 1500]]);
  expect(of('b', 'c')).toEqual([[4, ['203.0.113.7'], 1400, 1450]]);
  // c -> a and c -> b: all of a's and b's nodes of each family, as above; dx and b~c declare no
  // pathMtuV6, so IPv6 is declared at their pathMtu (1500, 1400)
  expect(of('c', 'a')).toEqual([[4, ['192.0.2.30', '192.0.2.10', '192.0.2.20'], 1500, 1500], [6, ['2001:db8:a::2', '2001:db8:a::1'], 1500, 1500]]);
  expect(of('c', 'b')).toEqual([[4, ['198.51.100.10', '198.51.100.11'], 1400, 1450], [6, ['2001:db8:b::1'], 1400, 1450]]);
  // pure: the same input gives the same targets
  expect(probeTargets(env, planMtu(env))).toEqual(targets);
});
