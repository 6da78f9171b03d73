/**
 * A long session (`pipe watch`) whose remote failed tries it again after a back-off, instead of staying local-only
 * for hours: one warning per outage (not per rebuild, nor per failed retry), the wait doubled after each failed
 * retry, and a new warning only for a new outage. A build (no retryAfterMs) stays local-only, as before. The remote is
 * a fake at the CacheBackend seam and the clock a number the test moves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CacheBackend, type CacheWarning, LocalStore, TieredCache } from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-retry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A remote that is up or down as the test says, and counts the requests that reached it. */
function switchableRemote() {
  const state = { up: true, requests: 0 };
  const answer = async <T>(value: T) => {
    state.requests++;
    return state.up
      ? { ok: true as const, value }
      : { ok: false as const, failure: { type: 'unavailable' as const, detail: 'connection refused' } };
  };
  const remote: CacheBackend = {
    name: 'remote:http://cache/',
    getManifest: () => answer(undefined),
    putManifest: () => answer(undefined),
    hasBlob: () => answer(false),
    fetchBlob: () => answer(false),
    putBlob: () => answer(undefined),
  };
  return { remote, state };
}

function tiered(remote: CacheBackend, retryAfterMs?: number) {
  const clock = { now: 0 };
  const warnings: CacheWarning[] = [];
  const recovered: string[] = [];
  const cache = new TieredCache({
    local: new LocalStore({ root: join(dir, 'local') }),
    remote,
    mode: 'readwrite',
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    clock: () => clock.now,
    onWarning: (w) => warnings.push(w),
    onRecovered: (m) => recovered.push(m),
  });
  return { cache, clock, warnings, recovered };
}

const KEY = 'a'.repeat(64);

describe('a remote that failed, in a long session', () => {
  it('is tried again after the back-off, doubled per failed retry, with one warning per outage', async () => {
    const { remote, state } = switchableRemote();
    const { cache, clock, warnings, recovered } = tiered(remote, 30_000);
    await cache.getManifest(KEY); // up: nothing to tell
    expect(recovered).toEqual([]);
    state.up = false;
    await cache.getManifest(KEY); // rebuild 1: the remote fails
    expect(warnings.map((w) => w.message)).toEqual([
      'remote cache remote:http://cache/ failed (unavailable: connection refused); continuing with the local cache only, and trying it again at a rebuild from 30 s on',
    ]);
    clock.now = 29_999;
    expect(cache.retryRemote()).toBe(false); // rebuild 2: too early, local only
    await cache.getManifest(KEY);
    expect(state.requests).toBe(2);
    clock.now = 30_000;
    expect(cache.retryRemote()).toBe(true); // rebuild 3: tried again, still down: no second warning
    await cache.getManifest(KEY);
    expect(state.requests).toBe(3);
    expect(recovered).toEqual([]);
    expect(warnings).toHaveLength(1);
    clock.now = 30_000 + 59_999; // the wait doubled
    expect(cache.retryRemote()).toBe(false);
    clock.now = 30_000 + 60_000;
    expect(cache.retryRemote()).toBe(true);
    state.up = true; // back: used again, told once, and a later failure is a new outage, warned about
    expect(await cache.getManifest(KEY)).toEqual({ ok: true, value: undefined });
    expect(state.requests).toBe(4);
    await cache.getManifest(KEY);
    expect(recovered).toEqual(['remote cache remote:http://cache/ answers again: it is used again']);
    state.up = false;
    await cache.getManifest(KEY);
    expect(warnings).toHaveLength(2);
    expect(cache.retryRemote()).toBe(false); // the new outage waits the first back-off again
    clock.now += 30_000;
    expect(cache.retryRemote()).toBe(true);
  });

  it('without retryAfterMs (a build) stays local-only for the rest of the session', async () => {
    const { remote, state } = switchableRemote();
    const { cache, clock, warnings } = tiered(remote);
    state.up = false;
    await cache.getManifest(KEY);
    state.up = true;
    clock.now = 24 * 3600_000;
    expect(cache.retryRemote()).toBe(false);
    await cache.getManifest(KEY);
    expect(state.requests).toBe(1);
    expect(warnings.map((w) => w.message)).toEqual([
      'remote cache remote:http://cache/ failed (unavailable: connection refused); continuing with the local cache only',
    ]);
  });
});
