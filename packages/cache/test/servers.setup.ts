/**
 * vitest globalSetup: make sure the real cache servers run (with scripts/cache-servers-up.sh), hand their
 * addresses to the tests (`inject('pipeCacheServers')`), and stop them afterwards if this setup started them.
 * Skips (provides nothing) when nginx/npm are missing, unless CI=true.
 */
import type { TestProject } from 'vitest/node';
import { type CacheServersEnv, missingTools, serversDown, serversUp } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pipeCacheServers: CacheServersEnv | undefined;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.PIPE_TEST_BAZEL_CACHE_URL && process.env.PIPE_TEST_TURBO_CACHE_URL) return undefined; // CI started them
  const missing = missingTools(['nginx', 'turbo']);
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`cache servers required under CI=true: ${missing}`);
    project.provide('pipeCacheServers', undefined);
    return undefined;
  }
  let started = false;
  let env: CacheServersEnv;
  try {
    env = await serversUp({}, true);
  } catch {
    env = await serversUp();
    started = true;
  }
  project.provide('pipeCacheServers', env);
  return started ? () => serversDown() : undefined;
}
