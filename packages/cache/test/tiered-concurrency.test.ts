/**
 * The tiered cache under concurrent stores (the engine uploads a task's entry while later tasks run): two puts of
 * the same bytes share one upload, and requests under way when the remote goes down give one warning, not one each.
 * The remote is a fake backend at the CacheBackend seam that holds its answers until released.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CacheBackend, type CacheWarning, LocalStore, TieredCache } from '../src/index.js';
import { manifestFor, sha256Of } from './cache-common.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-tiered-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A remote whose answers wait for `open()`; `down` makes every request fail as unavailable. */
function heldRemote() {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const stored = new Set<string>();
  const calls: string[] = [];
  let down = false;
  const answer = async <T>(call: string, value: T) => {
    calls.push(call);
    await gate;
    return down
      ? { ok: false as const, failure: { type: 'unavailable' as const, detail: 'connection refused' } }
      : { ok: true as const, value };
  };
  const remote: CacheBackend = {
    name: 'held',
    getManifest: (key) => answer(`getManifest ${key}`, undefined),
    putManifest: (m) => answer(`putManifest ${m.key}`, undefined),
    hasBlob: (sha) => answer(`hasBlob ${sha}`, stored.has(sha)),
    fetchBlob: (sha) => answer(`fetchBlob ${sha}`, false),
    putBlob: async (sha) => {
      const r = await answer(`putBlob ${sha}`, undefined);
      if (r.ok) stored.add(sha);
      return r;
    },
  };
  return {
    remote,
    calls,
    open,
    goDown: () => {
      down = true;
    },
  };
}

async function source(name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('TieredCache with concurrent stores', () => {
  it('two puts of the same bytes at once upload them once', async () => {
    const held = heldRemote();
    const cache = new TieredCache({
      local: new LocalStore({ root: join(dir, 'store') }),
      remote: held.remote,
      mode: 'readwrite',
    });
    const bytes = randomBytes(5000);
    const sha = sha256Of(bytes);
    const first = cache.putBlob(sha, await source('a', bytes));
    const second = cache.putBlob(sha, await source('b', bytes));
    await new Promise((r) => setTimeout(r, 20));
    held.open();
    expect(await Promise.all([first, second])).toEqual([
      { ok: true, value: undefined },
      { ok: true, value: undefined },
    ]);
    expect(held.calls.filter((c) => c.startsWith('putBlob'))).toEqual([`putBlob ${sha}`]);
    // Once it is there, a later put asks and does not send it again.
    expect(await cache.putBlob(sha, await source('c', bytes))).toEqual({ ok: true, value: undefined });
    expect(held.calls.filter((c) => c.startsWith('putBlob'))).toHaveLength(1);
  });

  it('requests under way when the remote goes down: one warning, then local only', async () => {
    const held = heldRemote();
    const warnings: CacheWarning[] = [];
    const cache = new TieredCache({
      local: new LocalStore({ root: join(dir, 'store') }),
      remote: held.remote,
      mode: 'readwrite',
      onWarning: (w) => warnings.push(w),
    });
    // Blob and manifest requests of several tasks in flight at once, all failing together.
    const inFlight = [
      cache.putBlob(sha256Of(Buffer.from('x1')), await source('x1', Buffer.from('x1'))),
      cache.putBlob(sha256Of(Buffer.from('x2')), await source('x2', Buffer.from('x2'))),
      cache.putManifest(manifestFor('k1', [])),
    ];
    await new Promise((r) => setTimeout(r, 20));
    held.goDown();
    held.open();
    for (const r of await Promise.all(inFlight)) expect(r).toEqual({ ok: true, value: undefined });
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/remote cache held failed .*continuing with the local cache only/),
    ]);
    expect(cache.remoteDisabled?.type).toBe('unavailable');
    // Local only from now on: nothing more reaches the remote, and the local store has everything.
    const before = held.calls.length;
    expect(await cache.putBlob(sha256Of(Buffer.from('x3')), await source('x3', Buffer.from('x3')))).toEqual({
      ok: true,
      value: undefined,
    });
    expect(held.calls.length).toBe(before);
    expect(await cache.local.hasBlob(sha256Of(Buffer.from('x2')))).toEqual({ ok: true, value: true });
  });
});
