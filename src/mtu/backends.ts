import { BackendType, WireguardTunnelMode } from '../model/environment';

/** What each backend costs on the wire, and what flannel v0.28.9 subtracts from `Backend.MTU`. */
export interface BackendOverhead {
  /** Bytes flannel subtracts from Backend.MTU to get flannel.1 and FLANNEL_MTU (pkg/backend/vxlan/device.go L63, wireguard_network.go L33-44). */
  readonly flannelSubtracts: number;
  /** Real encapsulation cost over an IPv4 underlay. */
  readonly ipv4: number;
  /** Real encapsulation cost over an IPv6 underlay. */
  readonly ipv6: number;
  /** Whether flannel reads `Backend.MTU` for this backend (only vxlan and wireguard do). */
  readonly acceptsMtu: boolean;
}

export const BACKEND_OVERHEADS: Readonly<Record<BackendType, BackendOverhead>> = {
  // VXLAN: outer IP (20 | 40) + UDP 8 + VXLAN 8 + inner Ethernet 14. flannel subtracts 50 for both
  // families; the kernel clamps flannel-v6.1 to NIC - 70 (flannel issue #1781).
  'vxlan': { flannelSubtracts: 50, ipv4: 50, ipv6: 70, acceptsMtu: true },
  // WireGuard: outer IP (20 | 40) + UDP 8 + header 16 + auth tag 16; flannel subtracts the IPv6 worst case, 80.
  'wireguard': { flannelSubtracts: 80, ipv4: 60, ipv6: 80, acceptsMtu: true },
  // host-gw routes pod packets unencapsulated; flannel takes no MTU for it.
  'host-gw': { flannelSubtracts: 0, ipv4: 0, ipv6: 0, acceptsMtu: false },
};

/**
 * Names of the devices that carry each family's overlay traffic on a node. wireguard `auto` has one
 * device, flannel-wg, for both (pkg/backend/wireguard/wireguard.go, RegisterNetwork).
 */
export function overlayDevices(backend: BackendType, vni: number, dualStack: boolean, tunnelMode?: WireguardTunnelMode): { v4: string | null; v6: string | null } {
  switch (backend) {
    case 'vxlan':
      return { v4: `flannel.${vni}`, v6: dualStack ? `flannel-v6.${vni}` : null };
    case 'wireguard':
      return { v4: 'flannel-wg', v6: !dualStack ? null : tunnelMode === 'auto' ? 'flannel-wg' : 'flannel-wg-v6' };

    case 'host-gw':
      return { v4: null, v6: null };
  }
}

/** Longest network device name Linux accepts (IFNAMSIZ 16, with the terminating NUL). */
export const MAX_DEVICE_NAME = 15;

/** The bridge the flannel CNI plugin delegates to (bridge plugin default name). */
export const CNI_BRIDGE = 'cni0';
