// Unit, snapshot and property tests: no root, no network namespaces.
// Tests that need root and a real kernel are *.root.test.ts and run with `npm run test:root`.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['\\.root\\.test\\.ts$'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
};
