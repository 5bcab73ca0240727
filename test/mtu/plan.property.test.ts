import * as fc from 'fast-check';
import { InputError, toEnvironment } from '../../src/config';
import { BACKEND_OVERHEADS, MIN_POD_MTU, planMtu } from '../../src/mtu';

/** Random valid environments: 1-4 clouds, a link for every pair, vxlan or wireguard, maybe dual-stack. */
const environments = fc
  .record({
    backend: fc.constantFrom('vxlan', 'wireguard'),
    dualStack: fc.boolean(),
    nics: fc.array(fc.integer({ min: 1280, max: 9216 }), { minLength: 1, maxLength: 4 }),
    fabrics: fc.array(fc.option(fc.integer({ min: 0, max: 200 })), { minLength: 4, maxLength: 4 }),
    links: fc.array(fc.record({ pathMtu: fc.integer({ min: 1200, max: 9216 }), v6Delta: fc.option(fc.integer({ min: -60, max: 60 })) }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ backend, dualStack, nics, fabrics, links }) => {
    const clouds = nics.map((nicMtu, i) => ({ name: `c${i}`, nicMtu, ...(fabrics[i] !== null && { fabricMtu: nicMtu - fabrics[i]! }) }));
    const pairs = clouds.flatMap((a, i) => clouds.slice(i + 1).map((b) => [a.name, b.name]));
    return toEnvironment({
      name: 'prop',
      flannel: { backend, podNetwork: '10.244.0.0/16', ...(dualStack && { podNetworkV6: 'fd00::/56' }) },
      clouds,
      links: pairs.map((between, i) => ({
        between,
        pathMtu: links[i].pathMtu,
        ...(links[i].v6Delta !== null && { pathMtuV6: Math.min(9216, Math.max(576, links[i].pathMtu + links[i].v6Delta!)) }),
      })),
    });
  });

test('pod MTU + overhead fits every path in every family, and one path has zero headroom (the plan is the largest)', () => {
  fc.assert(
    fc.property(environments, (env) => {
      const overhead = BACKEND_OVERHEADS[env.flannel.backend];
      // Every underlay path between two nodes, per family, computed here from the raw input.
      const nic = new Map(env.clouds.map((c) => [c.name, c.nicMtu]));
      const v4 = [...env.clouds.map((c) => c.fabricMtu ?? c.nicMtu), ...env.links.map((l) => Math.min(l.pathMtu, nic.get(l.between[0])!, nic.get(l.between[1])!))];
      const v6 = env.flannel.podNetworkV6 === undefined ? [] : [...env.clouds.map((c) => c.fabricMtu ?? c.nicMtu), ...env.links.map((l) => Math.min(l.pathMtuV6 ?? l.pathMtu, nic.get(l.between[0])!, nic.get(l.between[1])!))];
      const largest = Math.min(...v4.map((m) => m - overhead.ipv4), ...v6.map((m) => m - overhead.ipv6));
      const minimum = v6.length > 0 ? MIN_POD_MTU.ipv6 : MIN_POD_MTU.ipv4;
      if (largest < minimum) {
        expect(() => planMtu(env)).toThrow(InputError);
        return;
      }
      const plan = planMtu(env);
      for (const m of v4) expect(plan.podMtu + overhead.ipv4).toBeLessThanOrEqual(m);
      for (const m of v6) expect(plan.podMtu + overhead.ipv6).toBeLessThanOrEqual(m);
      expect(plan.podMtu).toBe(largest);
      expect([...plan.paths.map((p) => p.headroom), ...plan.paths.map((p) => p.headroomV6 ?? Infinity)]).toContain(0);
      expect(plan.paths.every((p) => p.headroom >= 0 && (p.headroomV6 ?? 0) >= 0)).toBe(true);
      // flannel will arrive at the same pod MTU from Backend.MTU.
      expect(plan.backendMtu! - overhead.flannelSubtracts).toBe(plan.podMtu);
      expect(plan.mss).toBe(plan.podMtu - 40);
    }),
    { numRuns: 500 },
  );
});
