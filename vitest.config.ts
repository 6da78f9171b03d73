import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * Test files that read the project's shared data and reference products (../shared beside the repository, as in
 * CI, or PIPE_SHARED_DIR). Without it they are left out with a printed reason, as tests of a missing service are —
 * except under CI=true, where a missing ../shared must fail the run.
 */
function sharedDataTests(): string[] {
  const shared = process.env.PIPE_SHARED_DIR ?? path.resolve(root, '../shared');
  if (existsSync(path.join(shared, 'spec')) || process.env.CI === 'true') return [];
  const files = [
    ...readdirSync(path.join(root, 'test')).map((f) => `test/${f}`),
    ...readdirSync(path.join(root, 'packages')).flatMap((p) => {
      const dir = path.join(root, 'packages', p, 'test');
      return existsSync(dir) ? readdirSync(dir).map((f) => `packages/${p}/test/${f}`) : [];
    }),
  ].filter((f) => f.endsWith('.test.ts') && /\bSHARED\b|shared-dir/.test(readFileSync(path.join(root, f), 'utf8')));
  console.log(
    `skipping ${files.length} test files that read the shared H.E.S.S. data and gammapy reference products: ` +
      `${shared} not found (put the project's shared/ folder beside the repository, or set PIPE_SHARED_DIR)`,
  );
  return files;
}

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...sharedDataTests()],
    // Starts the real cache servers with scripts/cache-servers-up.sh unless CI already did (PIPE_TEST_* set).
    // Then gives the run its own TMPDIR, removed at the end (test/tmpdir.setup.ts); the servers keep the system's.
    globalSetup: ['packages/cache/test/servers.setup.ts', 'test/tmpdir.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Worker threads and child processes of the engine share 2 cores; keep test files few at once.
    maxWorkers: 2,
  },
});
