// Tests on a real kernel: network namespaces, VXLAN, bridges, iptables-legacy and iptables-nft.
// They need root; .ci/run always runs them. They run one file at a time (shared kernel state).
const base = require('./jest.config');
module.exports = {
  ...base,
  testMatch: ['**/*.root.test.ts'],
  testPathIgnorePatterns: [],
  globalSetup: '<rootDir>/test/support/require-root.js',
  maxWorkers: 1,
  testTimeout: 120000,
};
