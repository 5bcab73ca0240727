// The synthesized cni-conf.json run as a container runtime runs it, with the real plugins Debian
// ships (containernetworking-plugins in /usr/lib/cni): flannel's delegate (built as flannel's
// meta-plugin builds it from its entry and subnet.env, see lab/cni.ts) goes to the real bridge and
// host-local, then the list's portmap and tuning get the previous result (CNI chaining), all
// against a pod network namespace. Then DEL, in reverse order, must leave nothing behind.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chainAdd, chainDel, ChainState, CniInvocation, DEBIAN_CNI_BIN_DIR, SubnetEnv } from '../../lab/cni';
import { cniConfJson } from '../../src/constructs/flannel-network';
import { planText } from '../../src/synth';
import { findObject, fixtureFile, fixtureManifest, parseManifest } from '../support/dist';
import { Lab, PREFIX } from '../support/netns';

const REQUIRED = ['bridge', 'host-local', 'portmap', 'tuning'].map((p) => path.join(DEBIAN_CNI_BIN_DIR, p));
const missing = [...REQUIRED, '/usr/bin/unshare'].filter((p) => !fs.existsSync(p));
if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: install containernetworking-plugins and util-linux (.ci/run does)`);

const objects = parseManifest(fixtureManifest('seed-dev'));
const cm = findObject(objects, 'ConfigMap', 'kube-flannel-cfg');
const conflist = JSON.parse(cm.data['cni-conf.json']);
const netConf = JSON.parse(cm.data['net-conf.json']);
// What flanneld writes for a node whose lease is 10.244.1.0/24: FLANNEL_MTU = flannel.1's MTU,
// Backend.MTU 1380 - 50 (vxlan); FLANNEL_IPMASQ=true because the DaemonSet runs --ip-masq.
const subnet: SubnetEnv = { network: netConf.Network, subnet: '10.244.1.1/24', mtu: netConf.Backend.MTU - 50, ipMasq: true };
const POD_MTU = 1330; // the seed: path 1380 - vxlan 50

describe(`cni-conf.json of the seed-dev fixture's manifest with the real plugins`, () => {
  let lab: Lab;
  let node: string;
  let pod: string;
  let varLib: string;
  let inv: CniInvocation;
  const sysctl = (ns: string, key: string) => lab.mustExec(ns, ['cat', `/proc/sys/${key.replace(/\./g, '/')}`]).trim();
  const links = (ns: string) => lab.ip(ns, '-o', 'link', 'show').split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0]);

  beforeEach(() => {
    lab = new Lab();
    node = lab.ns('node');
    pod = lab.ns('pod');
    varLib = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}varlib-`));
    inv = {
      nodeNetns: node,
      podNetnsPath: `/run/netns/${pod}`,
      containerId: `${PREFIX}c1`,
      varLibDir: varLib,
      capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] },
    };
  });
  afterEach(() => {
    lab.destroy();
    fs.rmSync(varLib, { recursive: true, force: true });
  });

  test('the list is flannel, portmap, tuning with tcp_mtu_probing=1', () => {
    expect(conflist.plugins.map((p: { type: string }) => p.type)).toEqual(['flannel', 'portmap', 'tuning']);
    expect(conflist.plugins[2].sysctl).toEqual({ 'net.ipv4.tcp_mtu_probing': '1' });
  });

  test('ADD: bridge makes cni0 and the pod at the planned MTU, tuning sets tcp_mtu_probing=1 in the pod only, portmap maps the hostPort; DEL removes it all', () => {
    const st: ChainState = chainAdd(conflist, subnet, inv);
    expect(st.runs.map((r) => r.type)).toEqual(['bridge', 'portmap', 'tuning']);
    // flannel's delegate: its entry's delegate + name, type, ipMasq = !FLANNEL_IPMASQ, isGateway,
    // cniVersion and host-local over the node's subnet with a route to the cluster network.
    expect(st.runs[0].config).toEqual({
      hairpinMode: true, isDefaultGateway: true, mtu: POD_MTU,
      name: 'cbr0', type: 'bridge', ipMasq: false, isGateway: true, cniVersion: '0.3.1',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
    });
    // each plugin after the first got the previous one's result
    expect(st.runs[1].config.prevResult).toEqual(st.runs[0].result);
    expect(st.runs[2].config.prevResult).toEqual(st.runs[1].result);
    expect(st.runs[1].config.runtimeConfig).toEqual({ portMappings: inv.capabilityArgs!.portMappings });
    expect(st.result.ips).toEqual([{ version: '4', interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }]);

    const veth = links(node).find((l) => l.startsWith('veth'))!;
    expect([lab.sysNet(node, 'cni0'), lab.sysNet(node, veth), lab.sysNet(pod, 'eth0')]).toEqual([POD_MTU, POD_MTU, POD_MTU]);
    expect(sysctl(pod, 'net.ipv4.tcp_mtu_probing')).toBe('1');
    expect(sysctl(pod, 'net.ipv4.tcp_base_mss')).toBe('1024'); // not in the list: the kernel default
    expect(sysctl(node, 'net.ipv4.tcp_mtu_probing')).toBe('0'); // per network namespace: the node keeps its own
    expect(lab.ip(pod, 'route', 'show', 'default')).toContain('default via 10.244.1.1 dev eth0');
    // the MTU holds end to end: a DF packet of exactly the pod MTU crosses cni0, one byte more does not
    expect(lab.exec(node, ['ping', '-n', '-c', '1', '-W', '2', '-M', 'do', '-s', String(POD_MTU - 28), '10.244.1.2']).status).toBe(0);
    const big = lab.exec(node, ['ping', '-n', '-c', '1', '-W', '1', '-M', 'do', '-s', String(POD_MTU - 27), '10.244.1.2']);
    expect(big.status).not.toBe(0);
    expect(`${big.stdout}${big.stderr}`).toMatch(/mtu = 1330|message too long/i);
    const nat = lab.mustExec(node, ['iptables-save', '-t', 'nat']);
    expect(nat).toMatch(/--dport 18080 .*-j DNAT --to-destination 10\.244\.1\.2:8080/);
    expect(fs.existsSync(path.join(varLib, 'cni', 'networks', 'cbr0', '10.244.1.2'))).toBe(true);

    chainDel(st, inv);
    expect(links(pod)).toEqual(['lo']);
    expect(links(node).filter((l) => l.startsWith('veth'))).toEqual([]);
    expect(fs.existsSync(path.join(varLib, 'cni', 'networks', 'cbr0', '10.244.1.2'))).toBe(false);
    expect(lab.mustExec(node, ['iptables-save', '-t', 'nat'])).not.toMatch(/18080|CNI-DN-/);
    expect(links(node)).toContain('cni0'); // the bridge plugin never deletes the bridge (nor does flannel)
  });

  test('a second pod gets the next address and the same sysctl; the first one\'s DEL leaves it alone', () => {
    const pod2 = lab.ns('pod');
    const inv2 = { ...inv, podNetnsPath: `/run/netns/${pod2}`, containerId: `${PREFIX}c2`, capabilityArgs: undefined };
    const a = chainAdd(conflist, subnet, inv);
    const b = chainAdd(conflist, subnet, inv2);
    expect(b.result.ips[0].address).toBe('10.244.1.3/24');
    expect(sysctl(pod2, 'net.ipv4.tcp_mtu_probing')).toBe('1');
    chainDel(a, inv);
    expect(links(pod2)).toEqual(['lo', 'eth0']);
    expect(lab.exec(node, ['ping', '-n', '-c', '1', '-W', '2', '10.244.1.3']).status).toBe(0);
    chainDel(b, inv2);
  });

  test('pmtud always + baseMss 1200 (same builder): the pod gets tcp_mtu_probing=2 and tcp_base_mss 1200', () => {
    const text = fs.readFileSync(fixtureFile('seed-dev'), 'utf8');
    const variant = cniConfJson(planText(`${text}\npmtud:\n  mode: always\n  baseMss: 1200\n`, 'seed-variant.yaml').plan);
    const st = chainAdd(variant, subnet, inv);
    expect([sysctl(pod, 'net.ipv4.tcp_mtu_probing'), sysctl(pod, 'net.ipv4.tcp_base_mss')]).toEqual(['2', '1200']);
    chainDel(st, inv);
  });

  test('a conflist naming a plugin the node lacks fails pod creation: why install-cni checks first', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}cnibin-`));
    try {
      for (const p of ['bridge', 'host-local', 'portmap']) fs.symlinkSync(path.join(DEBIAN_CNI_BIN_DIR, p), path.join(bin, p));
      expect(() => chainAdd(conflist, subnet, { ...inv, binDir: bin })).toThrow(/CNI plugin tuning not found/);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
