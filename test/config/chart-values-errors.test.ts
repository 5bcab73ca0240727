// The chart values and interface keys are validated like every other key: one located error per
// problem (file:line:column: YAML path: what was expected), nothing written.
import { inputErrors } from '../support/input-errors';

const base = (flannel: string, extra = '') => `name: dev
flannel:
  podNetwork: 10.244.0.0/16
${flannel}
clouds:
  - name: a
    nicMtu: 1500
${extra}`;

describe('chart values and interface keys: located errors', () => {
  test.each<[string, string, string, string[]]>([
    ['the pre-shared key inline', '  backend: wireguard\n  psk: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="', '', [
      'environments/dev.yaml:5:8: flannel.psk: expected { secretName, key }: the pre-shared key is read from a Secret in namespace kube-flannel, never written into the environment or the ConfigMap',
    ]],
    ['a wireguard key on vxlan', '  psk: { secretName: wg }\n  tunnelMode: auto', '', [
      'environments/dev.yaml:5:15: flannel.tunnelMode: only applies to the wireguard backend, not vxlan',
      'environments/dev.yaml:4:8: flannel.psk: only applies to the wireguard backend, not vxlan',
    ]],
    ['a vxlan key on wireguard', '  backend: wireguard\n  GBP: true', '', ['environments/dev.yaml:5:8: flannel.GBP: only applies to the vxlan backend, not wireguard']],
    ['port and backendPort', '  port: 8472\n  backendPort: 8473', '', ['environments/dev.yaml:5:16: flannel.backendPort: give backendPort or port (its older name), not both']],
    ['args flannel-mtu owns, unknown, repeated, split values', '  args: ["--ip-masq", "--iface=eth0", "--pubic-ip=1.2.3.4", "--v=2", "--v=3", "--public-ip", "1.2.3.4"]', '', [
      'environments/dev.yaml:4:10: flannel.args[0]: --ip-masq is set by flannel-mtu (always set); leave it out of args',
      'environments/dev.yaml:4:23: flannel.args[1]: --iface is set by flannel-mtu (use flannel.iface); leave it out of args',
      'environments/dev.yaml:4:39: flannel.args[2]: flanneld v0.28.9 has no flag --pubic-ip: it would exit on every node',
      'environments/dev.yaml:4:70: flannel.args[4]: --v is already given at args[3]',
      'environments/dev.yaml:4:94: flannel.args[6]: expected a flanneld flag such as "--iface-regex=..." or "--v=2" (a value goes in the same item, after "="), got "1.2.3.4" (a string)',
    ]],
    ['resources', '  resources: { requests: { cpu: lots }, limit: {} }', '', [
      'environments/dev.yaml:4:41: flannel.resources.limit: unknown key (did you mean "limits"?); allowed: requests, limits',
      'environments/dev.yaml:4:33: flannel.resources.requests.cpu: expected a Kubernetes quantity such as 100m, 50Mi or 1, got "lots" (a string)',
    ]],
    ['tolerations', '  tolerations: [{ operator: Exists, value: x }, { operator: Equal }, { effect: NoExecut }]', '', [
      'environments/dev.yaml:4:44: flannel.tolerations[0].value: a toleration with operator Exists takes no value',
      'environments/dev.yaml:4:49: flannel.tolerations[1]: operator Equal needs a key (use operator Exists to tolerate every taint)',
      'environments/dev.yaml:4:80: flannel.tolerations[2].effect: expected NoSchedule, PreferNoSchedule or NoExecute, got "NoExecut" (a string)',
      'environments/dev.yaml:4:70: flannel.tolerations[2]: operator Equal needs a key (use operator Exists to tolerate every taint)',
    ]],
    ['cniPlugins', '  cniPlugins: [{ type: flannel }, { type: portmap }, { type: portmap }, { capabilities: {} }]', '', [
      'environments/dev.yaml:4:24: flannel.cniPlugins[0].type: flannel is the first plugin already (flannel-mtu writes it with the pod MTU)',
      'environments/dev.yaml:4:62: flannel.cniPlugins[2].type: plugin "portmap" is already listed at cniPlugins[1]',
      'environments/dev.yaml:4:73: flannel.cniPlugins[3]: missing required key "type"',
    ]],
    ['healthzPort, cniBinDir, enableNFTables', '  healthzPort: 70000\n  cniBinDir: opt/cni/bin\n  enableNFTables: "yes"', '', [
      'environments/dev.yaml:5:14: flannel.cniBinDir: expected an absolute directory path on the node (letters, digits and ._-, without .., not /), got "opt/cni/bin" (a string)',
      'environments/dev.yaml:6:19: flannel.enableNFTables: expected true or false, got "yes" (a string)',
      'environments/dev.yaml:4:16: flannel.healthzPort: expected a port (0 turns the health server off) between 0 and 65535, got 70000',
    ]],
    ['imagePullSecrets', '', 'imagePullSecrets: [regcred, Reg_Cred, regcred]', [
      'environments/dev.yaml:8:29: imagePullSecrets[1]: expected a Secret name in namespace kube-flannel (lowercase DNS subdomain of at most 253 characters), got "Reg_Cred" (a string)',
      'environments/dev.yaml:8:39: imagePullSecrets[2]: Secret "regcred" is listed twice',
    ]],
    ['netpol', '', 'netpol: { enabled: yes, args: [v=2], image: "not an image" }', [
      'environments/dev.yaml:8:20: netpol.enabled: expected true or false, got "yes" (a string)',
      'environments/dev.yaml:8:45: netpol.image: expected an image reference with a tag or digest, got "not an image" (a string)',
      'environments/dev.yaml:8:32: netpol.args[0]: expected a flag such as "--v=2" on one line, got "v=2" (a string)',
    ]],
    // the interface keys
    ['iface entries', '  iface: [eth0, "eth 1", eth0, "-x"]', '', [
      'environments/dev.yaml:4:17: flannel.iface[1]: expected an interface name such as eth0 or ens5, or one of its addresses, got "eth 1"',
      'environments/dev.yaml:4:26: flannel.iface[2]: "eth0" is already listed at iface[0]',
      'environments/dev.yaml:4:32: flannel.iface[3]: expected an interface name such as eth0 or ens5, or one of its addresses, got "-x"',
    ]],
    ['ifaceRegex that awk cannot run, or nobody', '  ifaceRegex: ["^10\\\\.\\\\d+", "(?i)eth", "["]', '', [
      'environments/dev.yaml:4:16: flannel.ifaceRegex[0]: expected a non-empty POSIX extended regular expression (flanneld matches it with Go\'s RE2 and the node\'s NIC check with awk, so use [0-9] rather than \\d, and no (?...) groups or lazy quantifiers), got "^10\\\\.\\\\d+"',
      'environments/dev.yaml:4:30: flannel.ifaceRegex[1]: expected a non-empty POSIX extended regular expression (flanneld matches it with Go\'s RE2 and the node\'s NIC check with awk, so use [0-9] rather than \\d, and no (?...) groups or lazy quantifiers), got "(?i)eth"',
      expect.stringMatching(/^environments\/dev\.yaml:4:41: flannel\.ifaceRegex\[2\]: invalid regular expression "\[": /) as unknown as string,
    ]],
    ['ifaceCanReach as a list', '  ifaceCanReach: [10.0.0.1, 10.0.0.2]', '', [
      'environments/dev.yaml:4:18: flannel.ifaceCanReach: expected one address: flanneld takes one --iface-can-reach (given twice, the last wins)',
    ]],
    ['a cloud\'s own iface in uniform mode', '', '    iface: [ens5]', [
      'environments/dev.yaml:8:12: clouds[0].iface: per-cloud iface needs mtuMode per-path (one flannel DaemonSet per cloud); in uniform mode set flannel.iface for the whole cluster',
    ]],
  ])('%s', (_label, flannel, extra, expected) => {
    expect(inputErrors(base(flannel, extra))).toEqual(expected);
  });
});
