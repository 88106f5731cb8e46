/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Type-checking happens in `npm run build` and lint; tests only transpile, which keeps them fast.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  testTimeout: 60_000,
  // Real models and servers share 2 cores: run suites two at a time at most.
  maxWorkers: 2,
};
