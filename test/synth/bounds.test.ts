// At the input bounds (LIMITS: 16 clouds, 8 node subnets each) every generated object still fits
// what a cluster stores: etcd keeps at most 1.5 MB per object (its default --max-request-bytes).
// Each node's clamp carries every other cloud's subnets, so the DaemonSets grow with clouds x subnets.
import { stringify } from 'yaml';
import * as api from '../../src';

const ETCD_MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

test.each(['uniform', 'per-path'])('%s: 16 dual-stack clouds with 8 node subnets and 47-character names: every object under 1.5 MB', (mtuMode) => {
  const n = api.LIMITS.clouds;
  const k = api.LIMITS.nodeCidrsPerCloud;
  const name = (i: number) => `c${String(i).padStart(2, '0')}${'x'.repeat(44)}`; // 47 characters, the per-path maximum
  const clouds = Array.from({ length: n }, (_, i) => ({
    name: name(i),
    nicMtu: 1500,
    nodeSelector: { region: `r${i}` },
    nodes: [`10.${i}.0.1`, `fd00:${i}::1`],
    nodeCidrs: [...Array.from({ length: k / 2 }, (_, j) => `10.${i}.${j * 16}.0/20`), ...Array.from({ length: k / 2 }, (_, j) => `fd00:${i}:${j}::/64`)],
  }));
  const links = clouds.flatMap((a, i) => clouds.slice(i + 1).map((b) => ({ between: [a.name, b.name], pathMtu: 1400 })));
  const text = stringify({ name: 'bounds', flannel: { podNetwork: '10.244.0.0/16', podNetworkV6: 'fd00:10:244::/56' }, clouds, links, probe: { enabled: true }, mtuMode });
  const { loaded, plan } = api.planText(text, 'environments/bounds.yaml');
  const [manifest] = api.synthEnvironments([{ environment: loaded.environment, plan, source: 'environments/bounds.yaml' }]);
  const largest = Math.max(...manifest.objects.map((o) => Buffer.byteLength(JSON.stringify(o))));
  expect(largest).toBeLessThan(ETCD_MAX_OBJECT_BYTES);
});
