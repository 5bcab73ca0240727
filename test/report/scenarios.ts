import * as fs from 'fs';
import * as path from 'path';
import { parseEnvironment } from '../../src/config/load';
import { planMtu } from '../../src/mtu/plan';
import { synthesized } from '../../src/cli/diff';
import { DiffSide, rolloutNamespaces } from '../../src/report';

/**
 * Environment pairs the report tests compare. Every number is derived by hand in the comments
 * (vxlan: 50 bytes over IPv4, 70 over IPv6; flannel subtracts 50 from Backend.MTU; MSS = pod MTU
 * - 40 over IPv4, - 60 over IPv6; headroom = path MTU - (pod MTU + overhead of that family)).
 */

/**
 * The incident's cluster, fixed here so that edits to environments/seed-dev.yaml do not move the
 * goldens: two clouds with 1400-byte NICs joined by an SD-WAN that carries 1380.
 * Pod MTU 1380 - 50 = 1330, Backend.MTU 1330 + 50 = 1380, MSS 1330 - 40 = 1290;
 * headroom inside each cloud 1400 - (1330 + 50) = 20, on the SD-WAN 0.
 */
export const SEED = `name: seed-dev
flannel:
  backend: vxlan
  podNetwork: 10.244.0.0/16
clouds:
  - name: cloud-a
    nicMtu: 1400
  - name: cloud-b
    nicMtu: 1400
links:
  - between: [cloud-a, cloud-b]
    name: sdwan
    pathMtu: 1380
rollout:
  namespaces: [ingress-nginx, default]
`;

/**
 * Dual-stack, NICs 1500, SD-WAN 1380 over IPv4 and 1420 over IPv6. Rooms for a pod packet:
 * clouds 1500 - 50 = 1450 (IPv4), 1500 - 70 = 1430 (IPv6); SD-WAN 1380 - 50 = 1330 (IPv4),
 * 1420 - 70 = 1350 (IPv6). The smallest, 1330, is the SD-WAN over IPv4: pod MTU 1330,
 * Backend.MTU 1380, MSS 1290 / 1270 (1330 - 60); underlay 1380 / 1420.
 */
export const DUAL = `name: dual-dev
flannel:
  backend: vxlan
  podNetwork: 10.244.0.0/16
  podNetworkV6: fd00:10:244::/56
clouds:
  - name: cloud-a
    nicMtu: 1500
  - name: cloud-b
    nicMtu: 1500
links:
  - between: [cloud-a, cloud-b]
    name: sdwan
    pathMtu: 1380
    pathMtuV6: 1420
`;

/** SEED with the clouds' node subnets declared: cloud-a 192.168.1.0/24, cloud-b 10.119.96.0/24. */
export const SEED_CIDRS = SEED.replace('    nicMtu: 1400\n  - name: cloud-b\n    nicMtu: 1400\n', '    nicMtu: 1400\n    nodeCidrs: [192.168.1.0/24]\n  - name: cloud-b\n    nicMtu: 1400\n    nodeCidrs: [10.119.96.0/24]\n');

/**
 * environments/jumbo-per-path.yaml, fixed here like SEED: mtuMode per-path, AWS with 9001-byte NICs
 * and an on-premises cloud with 1500, joined by an SD-WAN that carries 1380.
 * Per cloud: aws pod MTU 9001 - 50 = 8951, Backend.MTU 8951 + 50 = 9001, MSS 8951 - 40 = 8911;
 * onprem 1500 - 50 = 1450, Backend.MTU 1500, MSS 1410. Link sdwan: overlay MTU
 * min(1380, 9001, 1500) - 50 = 1330 (MSS 1290), the route MTU the keepers of both clouds set toward
 * the other. Smallest path (the cluster-wide "binding"): the SD-WAN, 1330. Headroom 0 everywhere:
 * each path carries exactly its own overlay MTU + 50. Underlay clamps (nodeCidrs declared):
 * 1380 - 40 = 1340 in both directions. DaemonSets kube-flannel-ds-aws, kube-flannel-ds-onprem.
 */
export const JUMBO = `name: jumbo-per-path
flannel:
  backend: vxlan
  podNetwork: 10.44.0.0/16
mtuMode: per-path
clouds:
  - name: aws
    nicMtu: 9001
    nodeSelector: { topology.kubernetes.io/region: eu-central-1 }
    nodeCidrs: [10.30.0.0/16]
  - name: onprem
    nicMtu: 1500
    nodeSelector: { topology.kubernetes.io/region: onprem-muc }
    nodeCidrs: [172.16.8.0/22]
links:
  - between: [aws, onprem]
    name: sdwan
    pathMtu: 1380
rollout:
  namespaces: [ingress-nginx, default]
`;

/**
 * JUMBO in uniform mode: every pod at the SD-WAN's 1380 - 50 = 1330, Backend.MTU 1380, MSS 1290,
 * one DaemonSet kube-flannel-ds. Headroom: aws 9001 - 1380 = 7621, onprem 1500 - 1380 = 120,
 * SD-WAN 0. Underlay clamps as in JUMBO (1340): they do not depend on the mode.
 */
export const JUMBO_UNIFORM = JUMBO.replace('mtuMode: per-path\n', '');

export interface Scenario {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  /** The environment file the two sides are named after. @default 'seed-dev.yaml' */
  readonly file?: string;
}

export const SCENARIOS: readonly Scenario[] = [
  // Nothing changes: every number and every headroom stays as in SEED.
  { name: 'no-change', old: SEED, new: SEED },
  // The SD-WAN now carries 1360: pod MTU 1360 - 50 = 1310, Backend.MTU 1310 + 50 = 1360,
  // MSS 1310 - 40 = 1270; the link still binds (headroom 0); the clouds' headroom grows to
  // 1400 - (1310 + 50) = 40. Devices cni0 and flannel.1 go 1330 -> 1310.
  { name: 'lower-link', old: SEED, new: SEED.replace('pathMtu: 1380', 'pathMtu: 1360') },
  // A third cloud with 1300-byte NICs, joined to both by links that carry its 1300: its room
  // 1300 - 50 = 1250 is the smallest (clouds win ties with links), so pod MTU 1250,
  // Backend.MTU 1300, MSS 1210, underlay 1300. Headroom: cloud-a and cloud-b 1400 - 1300 = 100,
  // cloud-c 0, SD-WAN 1380 - 1300 = 80, the new links 1300 - 1300 = 0.
  {
    name: 'new-cloud-binds',
    old: SEED,
    new: SEED.replace('    nicMtu: 1400\nlinks:', '    nicMtu: 1400\n  - name: cloud-c\n    nicMtu: 1300\nlinks:').replace(
      '    pathMtu: 1380\n',
      '    pathMtu: 1380\n  - between: [cloud-a, cloud-c]\n    pathMtu: 1300\n  - between: [cloud-b, cloud-c]\n    pathMtu: 1300\n',
    ),
  },
  // The SD-WAN's IPv6 path drops to 1380: its IPv6 room 1380 - 70 = 1310 is now the smallest,
  // so the binding moves to the SD-WAN over IPv6: pod MTU 1310, Backend.MTU 1310 + 50 = 1360,
  // MSS 1270 / 1250, underlay IPv6 1420 -> 1380. Headroom: clouds 1500 - 1380 = 120 -> 1500 - 1360
  // = 140 (IPv4), 1500 - 1400 = 100 -> 1500 - 1380 = 120 (IPv6); SD-WAN 0 -> 1380 - 1360 = 20
  // (IPv4), 1420 - 1400 = 20 -> 0 (IPv6). cni0, flannel-v6.1, flannel.1 go 1330 -> 1310.
  { name: 'dual-stack-v6-binds', old: DUAL, new: DUAL.replace('pathMtuV6: 1420', 'pathMtuV6: 1380') },
  // Node subnets declared (underlay clamps for node-to-node TCP between clouds, MSS = link path
  // MTU - 40 = 1380 - 40 = 1340), then the SD-WAN drops to 1360 and cloud-b's subnet grows to a
  // /23: cloud-b's clamp toward 192.168.1.0/24 goes 1340 -> 1360 - 40 = 1320; cloud-a's clamp
  // toward 10.119.96.0/24 is removed and one toward 10.119.96.0/23 added at 1320. The overlay
  // numbers move as in lower-link (pod MTU 1330 -> 1310, MSS 1290 -> 1270).
  {
    name: 'underlay-clamps',
    old: SEED_CIDRS,
    new: SEED_CIDRS.replace('pathMtu: 1380', 'pathMtu: 1360').replace('nodeCidrs: [10.119.96.0/24]', 'nodeCidrs: [10.119.96.0/23]'),
  },
  // Per-path, the SD-WAN now carries 1360: link sdwan's overlay MTU 1360 - 50 = 1310 (MSS 1270),
  // so the route MTU each keeper sets toward the other cloud goes 1330 -> 1310. The clouds' own
  // numbers do not depend on the link: aws stays 8951 / Backend.MTU 9001 / MSS 8911, onprem 1450 /
  // 1500 / 1410, so no pod is recreated. The smallest path is still the SD-WAN (1380 -> 1360; the
  // cluster-wide minimum 1330 -> 1310); headroom stays 0 everywhere. Underlay clamps 1340 -> 1320.
  // Both DaemonSets roll, though their config checksum does not change: the keeper's LINK_MTUS
  // (1330 -> 1310) and tcp-mss-clamp's underlay rules (every cloud's) are in their pod templates.
  { name: 'per-path-link', old: JUMBO, new: JUMBO.replace('pathMtu: 1380', 'pathMtu: 1360'), file: 'jumbo-per-path.yaml' },
  // uniform -> per-path: aws pod MTU 1330 -> 8951, Backend.MTU 1380 -> 9001, MSS 1290 -> 8911;
  // onprem 1330 -> 1450, 1380 -> 1500, 1290 -> 1410. Link sdwan: 1330 (uniform: the cluster pod
  // MTU) -> 1330 (per-path: 1380 - 50), unchanged; route MTUs new, 1330 both ways. Headroom aws
  // 7621 -> 0, onprem 120 -> 0, SD-WAN 0. The cluster-wide numbers do not change (the smallest is
  // still 1330). kube-flannel-ds-aws and kube-flannel-ds-onprem are created, kube-flannel-ds is
  // pruned: the mode-switch risk. cni0 / flannel.1 go 1330 -> 8951 on aws, 1330 -> 1450 on onprem.
  { name: 'uniform-to-per-path', old: JUMBO_UNIFORM, new: JUMBO, file: 'jumbo-per-path.yaml' },
  // Changes the MTU plan does not see, which the output diff must still list (issue 13):
  // the pod network 10.244.0.0/16 -> 10.245.0.0/16 is net-conf.json's Network, so the config
  // checksum on kube-flannel-ds's pod template changes and it rolls; every MTU stays (1330 etc.),
  // and the rollout Job keeps its name (its hash covers the MTU numbers and its own pod template).
  { name: 'pod-network', old: SEED, new: SEED.replace('podNetwork: 10.244.0.0/16', 'podNetwork: 10.245.0.0/16') },
  // A new flannel image: every container of kube-flannel-ds that runs it (flanneld, the install
  // and node init containers) changes, so it rolls; the Job runs kubectl and busybox, so it stays.
  { name: 'flannel-image', old: SEED, new: `${SEED}images:\n  flannel: ghcr.io/flannel-io/flannel:v0.29.0\n` },
  // A third rollout namespace: the Job's pod template (ROLLOUT_NAMESPACES) changes, so it gets a
  // new name and runs, restarting 3 namespaces; RBAC widens by one Role and RoleBinding in
  // monitoring; flannel itself does not roll.
  { name: 'rollout-namespaces', old: SEED, new: SEED.replace('namespaces: [ingress-nginx, default]', 'namespaces: [ingress-nginx, default, monitoring]') },
];

/** One side of a diff from environment YAML, as the CLI builds it. */
/** `as`: the file name in the synthesized header, the same on both sides (as `flannel-mtu diff` does). */
export function side(text: string | null, source: string, as = 'environments/env.yaml'): DiffSide {
  if (text === null) return { plan: null, source };
  const { environment } = parseEnvironment(text, source);
  const plan = planMtu(environment);
  return { plan, source, rolloutNamespaces: rolloutNamespaces(environment), output: synthesized(environment, plan, as, source) };
}

export const GOLDEN_DIR = path.join(__dirname, 'golden');

/**
 * Compares `actual` with a committed golden file; `UPDATE_GOLDEN=1` rewrites it instead (then read
 * the change before committing it).
 */
export function expectGolden(file: string, actual: string): void {
  const target = path.isAbsolute(file) ? file : path.join(GOLDEN_DIR, file);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, actual);
  }
  expect(actual).toBe(fs.readFileSync(target, 'utf8'));
}
