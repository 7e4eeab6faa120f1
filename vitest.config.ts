import { defineConfig } from 'vitest/config';

// Integration tests share one Docker engine (started once in globalSetup) and run
// serially so that container churn in one file cannot disturb another's timing.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The second names every failed test in the run's last lines (see the file).
    reporters: ['default', './test/support/failed-tests-reporter.ts'],
  },
});
