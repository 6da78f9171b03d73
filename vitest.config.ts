import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts the real cache servers with scripts/cache-servers-up.sh unless CI already did (PIPE_TEST_* set).
    globalSetup: ['packages/cache/test/servers.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Worker threads and child processes of the engine share 2 cores; keep test files few at once.
    maxWorkers: 2,
  },
});
