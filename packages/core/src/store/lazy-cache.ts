/**
 * The default cache, the local store at a directory, imported on first use: a no-op build that
 * never consults the cache does not pay for loading the cache package.
 */
import type { CacheBackend } from '@pipe/cache';

export function lazyLocalStore(root: string): CacheBackend {
  let store: Promise<CacheBackend> | undefined;
  const get = () => {
    store ??= import('@pipe/cache').then(({ LocalStore }) => new LocalStore({ root }));
    return store;
  };
  return {
    name: `local:${root}`,
    getManifest: async (key) => (await get()).getManifest(key),
    putManifest: async (m) => (await get()).putManifest(m),
    hasBlob: async (sha) => (await get()).hasBlob(sha),
    // Only a store this process loaded stored anything to count.
    keepToBudget: async () =>
      store
        ? ((await store).keepToBudget?.() ?? { ok: true, value: undefined })
        : { ok: true, value: undefined },
    verifyBlob: async (sha) => {
      const store = await get();
      return store.verifyBlob ? store.verifyBlob(sha) : store.hasBlob(sha);
    },
    fetchBlob: async (sha, dest) => (await get()).fetchBlob(sha, dest),
    putBlob: async (sha, src, hashed, taken) => (await get()).putBlob(sha, src, hashed, taken),
    // A build that never used the store has nothing to make durable (and does not load it for that).
    sync: async () =>
      store ? ((await store).sync?.() ?? { ok: true, value: undefined }) : { ok: true, value: undefined },
  };
}

/** One line for a cache failure (the cache package's own wording), loaded lazily. */
export async function describeCacheFailure(
  failure: Parameters<typeof import('@pipe/cache').describeFailure>[0],
): Promise<string> {
  return (await import('@pipe/cache')).describeFailure(failure);
}
