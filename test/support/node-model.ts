// A flannel node modelled in network namespaces (no link to the host namespace):
//
//   wan ns: eth0 (1400) ==veth== node ns: eth0 (1400, 192.168.50.1, fd50::1)
//                                  flannel.1     vxlan id 1 dstport 8472 local 192.168.50.1 dev eth0 (kernel default NIC-50 = 1350)
//                                  flannel-v6.1  vxlan id 1 dstport 8472 local fd50::1 dev eth0 (flannel asks 1350, the kernel clamps to NIC-70 = 1330)
//                                  cni0 bridge (1350) -- vethpod (1350) ==veth== pod ns: eth0 (1350)
//
// flannel.1 also carries what flanneld programs for a remote node (route, neigh, fdb), so a
// test can show that changing the MTU keeps them.
import { Lab } from './netns';

export const NIC_MTU = 1400;
export const UPSTREAM_DEFAULT_MTU = NIC_MTU - 50; // flannel's vxlan default, NIC - 50
export const REMOTE = { subnet: '10.244.2.0/24', vtep: '10.244.2.0', mac: '0a:00:00:00:00:02', underlay: '192.168.50.2' };

export interface NodeModel {
  node: string;
  wan: string;
  pod: string;
}

export function buildNode(lab: Lab, opts: { dualStack: boolean }): NodeModel {
  const node = lab.ns('node');
  const wan = lab.ns('wan');
  const pod = lab.ns('pod');

  lab.ip(node, 'link', 'add', 'eth0', 'mtu', `${NIC_MTU}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wan, 'mtu', `${NIC_MTU}`);
  lab.ip(node, 'addr', 'add', '192.168.50.1/24', 'dev', 'eth0');
  lab.ip(node, 'addr', 'add', 'fd50::1/64', 'dev', 'eth0', 'nodad');
  lab.ip(node, 'link', 'set', 'eth0', 'up');
  lab.ip(wan, 'addr', 'add', `${REMOTE.underlay}/24`, 'dev', 'eth0');
  lab.ip(wan, 'link', 'set', 'eth0', 'up');

  lab.ip(node, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '192.168.50.1', 'dev', 'eth0', 'nolearning');
  lab.ip(node, 'addr', 'add', '10.244.1.0/32', 'dev', 'flannel.1');
  lab.ip(node, 'link', 'set', 'flannel.1', 'up');
  lab.mustExec(node, ['bridge', 'fdb', 'append', REMOTE.mac, 'dev', 'flannel.1', 'dst', REMOTE.underlay, 'self', 'permanent']);
  lab.ip(node, 'neigh', 'replace', REMOTE.vtep, 'lladdr', REMOTE.mac, 'dev', 'flannel.1', 'nud', 'permanent');
  lab.ip(node, 'route', 'add', REMOTE.subnet, 'via', REMOTE.vtep, 'dev', 'flannel.1', 'onlink');

  if (opts.dualStack) {
    lab.ip(node, 'link', 'add', 'flannel-v6.1', 'mtu', `${UPSTREAM_DEFAULT_MTU}`, 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', 'fd50::1', 'dev', 'eth0', 'nolearning');
    lab.ip(node, 'link', 'set', 'flannel-v6.1', 'up');
  }

  lab.ip(node, 'link', 'add', 'cni0', 'mtu', `${UPSTREAM_DEFAULT_MTU}`, 'type', 'bridge');
  lab.ip(node, 'addr', 'add', '10.244.1.1/24', 'dev', 'cni0');
  lab.ip(node, 'link', 'set', 'cni0', 'up');
  lab.ip(node, 'link', 'add', 'vethpod', 'mtu', `${UPSTREAM_DEFAULT_MTU}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod, 'mtu', `${UPSTREAM_DEFAULT_MTU}`);
  lab.ip(node, 'link', 'set', 'vethpod', 'master', 'cni0', 'up');
  lab.ip(pod, 'addr', 'add', '10.244.1.2/24', 'dev', 'eth0');
  lab.ip(pod, 'link', 'set', 'eth0', 'up');
  return { node, wan, pod };
}

/** What flanneld programmed on flannel.1, as text, to compare before/after. */
export function flannelState(lab: Lab, node: string): { route: string; neigh: string; fdb: string } {
  return {
    route: lab.ip(node, 'route', 'show', REMOTE.subnet).trim(),
    neigh: lab.ip(node, 'neigh', 'show', REMOTE.vtep, 'dev', 'flannel.1').trim(),
    fdb: lab.mustExec(node, ['bridge', 'fdb', 'show', 'dev', 'flannel.1']).trim(),
  };
}
