import * as fc from 'fast-check';
import { InputError, toEnvironment } from '../../src/model';
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
      if (env.flannel.backend !== 'wireguard') {
        expect(plan.mss).toBe(plan.podMtu - 40);
      } else {
        // wireguard pads to a multiple of 16: TCP packets, padded, fit every path of their family
        // (tunnelMode separate) whatever the device MTU, and lose less than 16 bytes to it.
        const padded = (n: number) => Math.ceil(n / 16) * 16;
        for (const m of v4) expect(padded(plan.mss + 40) + overhead.ipv4).toBeLessThanOrEqual(m);
        for (const m of v6) expect(padded(plan.mssV6! + 60) + overhead.ipv6).toBeLessThanOrEqual(m);
        expect(plan.podMtu - (plan.mss + 40)).toBeLessThan(16);
        if (v6.length > 0) expect(plan.podMtu - (plan.mssV6! + 60)).toBeLessThan(16);
      }
    }),
    { numRuns: 500 },
  );
});

test('per-path: each cloud\'s pod MTU + overhead fits its intra-cloud paths and is the largest; each link\'s overlay MTU fits the link and is the largest', () => {
  fc.assert(
    fc.property(environments, (uniform) => {
      if (uniform.flannel.backend !== 'vxlan') return; // per-path is vxlan only
      const env = { ...uniform, mtuMode: 'per-path' as const, clouds: uniform.clouds.map((c, i) => ({ ...c, nodeSelector: { cloud: c.name }, nodeCidrs: [`10.${i}.0.0/16`] })) };
      const overhead = BACKEND_OVERHEADS.vxlan;
      const families = env.flannel.podNetworkV6 === undefined ? [overhead.ipv4] : [overhead.ipv4, overhead.ipv6];
      let plan;
      try {
        plan = planMtu(env);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return;
      }
      const nic = new Map(env.clouds.map((c) => [c.name, c.nicMtu]));
      const inside = new Map(env.clouds.map((c) => [c.name, c.fabricMtu ?? c.nicMtu]));
      for (const c of plan.clouds) {
        const path = inside.get(c.name)!;
        for (const encap of families) expect(c.podMtu + encap).toBeLessThanOrEqual(path);
        expect(Math.max(...families.map((encap) => c.podMtu + encap))).toBe(path); // one more byte would not fit
        expect(c.backendMtu! - overhead.flannelSubtracts).toBe(c.podMtu);
        expect(c.deviceMtus['flannel.1']).toBe(c.podMtu);
        expect(c.podMtu).toBeGreaterThanOrEqual(plan.podMtu);
      }
      for (const l of env.links) {
        const lp = plan.links.find((x) => x.between[0] === l.between[0] && x.between[1] === l.between[1])!;
        const ends = l.between.map((e) => Math.min(inside.get(e)!, nic.get(e)!));
        const v4 = Math.min(l.pathMtu, ...ends);
        const v6 = Math.min(l.pathMtuV6 ?? l.pathMtu, ...ends);
        const room = families.length === 1 ? [v4 - overhead.ipv4] : [v4 - overhead.ipv4, v6 - overhead.ipv6];
        expect(lp.overlayMtu).toBe(Math.min(...room));
        // the route MTU never exceeds either end's device MTU
        for (const e of l.between) expect(lp.overlayMtu).toBeLessThanOrEqual(plan.clouds.find((c) => c.name === e)!.podMtu);
      }
      expect(plan.podMtu).toBe(Math.min(...plan.clouds.map((c) => c.podMtu), ...plan.links.map((l) => l.overlayMtu)));
    }),
    { numRuns: 500 },
  );
});
