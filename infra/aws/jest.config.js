// The tests are compiled by `tsc` (the type check) into build/ and run from there.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/build/test'],
  testMatch: ['**/*.test.js'],
  // Synthesizing four stacks takes a few seconds on a small machine.
  testTimeout: 120000,
};
