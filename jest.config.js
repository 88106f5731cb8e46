/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/native-typed-arrays-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Type-checking happens in `npm run build` and lint; tests only transpile, which keeps them fast.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', diagnostics: false }],
  },
  // Immich v2.4.1's schema in a template database, made once (test/support/immich-database.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 60_000,
  // Real models and servers share 2 cores: run suites two at a time at most.
  maxWorkers: 2,
};
