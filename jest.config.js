/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/native-typed-arrays-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Type-checking happens in `npm run build` and lint; tests only transpile, which keeps them fast.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', diagnostics: false }],
  },
  // Immich's schema (v3.1.0; IMMICH_VERSION=2.4.1 for v2.4.1's) in a template database, made once (test/support/immich-database.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 60_000,
  // Real models and servers share 2 cores: run suites two at a time at most.
  maxWorkers: 2,
  // The previous major's web app and Immich's own checks of its patched tree take a quarter of an hour
  // to build and run: `npm run test:v2-web` runs them (IMMICH_AI_TEST_V2_WEB=1). Its server end to end,
  // and everything of v3.1.0, run in `npm test`.
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(process.env.IMMICH_AI_TEST_V2_WEB
      ? []
      : [
          'test/web/immich-web\\.spec\\.ts',
          'test/web/patched-web-checks\\.spec\\.ts',
          'test/e2e/patched-immich-checks\\.spec\\.ts',
        ]),
  ],
};
