// globalSetup of `npm run test:root`: these tests build network namespaces, VXLAN devices and
// iptables rules, which needs root. Refuse loudly instead of skipping.
module.exports = async () => {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('npm run test:root needs root (network namespaces, VXLAN, iptables): run it with sudo; CI runs it as root');
  }
};
