/** The real PlanIO: the hash memo over the file system, product hashing, and cache manifests. */
import type { CacheBackend } from '@pipe/cache';
import { hashProduct } from '../fingerprint/file-hash.js';
import { type HashMemo, stampOf } from '../state/hash-memo.js';
import { describeCacheFailure } from '../store/lazy-cache.js';
import { whyMissing } from '../workspace/why-missing.js';
import type { PlanIO } from './decide.js';

export interface WorkspaceIOOptions {
  memo: HashMemo;
  cache: CacheBackend;
  env?: NodeJS.ProcessEnv;
  /** Called for a cache entry that could not be read (corrupt, unavailable); the entry counts as missing. */
  onCacheProblem?: (key: string, detail: string) => void;
}

export function createWorkspaceIO(options: WorkspaceIOOptions): PlanIO {
  const env = options.env ?? process.env;
  return {
    inputHash: (abs) => options.memo.hash(abs),
    whyMissing,
    changedSinceHashed: (abs) => options.memo.changedSinceHashed(abs),
    stamp: stampOf,
    productSha256: (abs) =>
      hashProduct(abs).then(
        (h) => h.sha256,
        () => undefined,
      ),
    async manifest(key) {
      const got = await options.cache.getManifest(key);
      if (!got.ok) {
        options.onCacheProblem?.(key, await describeCacheFailure(got.failure));
        return undefined;
      }
      return got.value;
    },
    env: (name) => env[name],
  };
}
