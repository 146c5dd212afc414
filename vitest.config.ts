import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end suites each start their own broker on a free port; two workers fit a 2-core CI machine.
    maxWorkers: 2,
    // The bins' build made current once, before the test files start daemons in parallel (test/support/build-once.ts).
    globalSetup: ['test/support/build-once.ts'],
    // VITEST_JSON=path also writes a machine-readable report (.ci/run prints its totals from it).
    reporters: process.env.VITEST_JSON ? ['default', ['json', { outputFile: process.env.VITEST_JSON }]] : ['default'],
  },
});
