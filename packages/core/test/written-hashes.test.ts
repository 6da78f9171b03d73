/**
 * One hash pass per stored output (store/written-hashes.ts): a worker's hash of the file it wrote is used by the
 * engine only while the file keeps the identity it was hashed with, and storeOutputs stores outputs under the
 * right names whether a worker reported their hashes or not (a stale report is ignored, the file hashed again).
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalStore } from '@pipe/cache';
import { identityOf } from '@pipe/cache/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../src/model/types.js';
import { cacheWarningText, storeOutputs } from '../src/store/products.js';
import {
  hashOutputFile,
  hashWrittenFileSync,
  hashWrittenOutputs,
  noteWrittenHashes,
  takeWrittenHash,
} from '../src/store/written-hashes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-written-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const idOf = (f: string) => identityOf(statSync(f, { bigint: true }));

function file(name: string, bytes: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

describe('hashes of written outputs', () => {
  it('hash files of any size in one pass (several chunks, empty) with their identity; missing ones are left out', async () => {
    const big = randomBytes((3 << 20) + 17);
    const files = { a: file('a', big), b: file('b', Buffer.alloc(0)), c: path.join(dir, 'never-written') };
    const hashes = hashWrittenOutputs(files);
    expect(Object.keys(hashes).sort()).toEqual([files.a, files.b].sort());
    expect(hashes[files.a]).toEqual({ sha256: sha(big), identity: idOf(files.a) });
    expect(hashes[files.b]?.sha256).toBe(sha(Buffer.alloc(0)));
    expect(hashWrittenFileSync(dir)).toBeUndefined(); // not a regular file
    expect(await hashOutputFile(files.a)).toEqual({ sha256: sha(big), identity: idOf(files.a) });
  });

  it('a reported hash is used once, and only while the file is unchanged', () => {
    const f = file('out', randomBytes(5000));
    noteWrittenHashes(hashWrittenOutputs({ out: f }));
    expect(takeWrittenHash(f, idOf(f))?.sha256).toBe(sha(readFileSync(f)));
    expect(takeWrittenHash(f, idOf(f))).toBeUndefined(); // consumed
    noteWrittenHashes(hashWrittenOutputs({ out: f }));
    appendFileSync(f, 'x');
    expect(takeWrittenHash(f, idOf(f))).toBeUndefined();
  });
});

describe('storeOutputs', () => {
  const task = (outputs: Record<string, string>): Task =>
    ({ id: 't', target: 't', outputs, inputs: {}, deps: [], params: {} }) as unknown as Task;

  it('stores each output under the hash of its bytes: reported, stale or not reported', async () => {
    const cache = new LocalStore({ root: path.join(dir, 'cache') });
    const bytes = { a: randomBytes(2 << 20), b: randomBytes(100), c: randomBytes(4000) };
    const temps = { a: file('ta', bytes.a), b: file('tb', bytes.b), c: file('tc', bytes.c) };
    // a: reported and unchanged; b: reported, then rewritten (the report is stale); c: not reported.
    noteWrittenHashes(hashWrittenOutputs({ a: temps.a, b: temps.b }));
    const b2 = randomBytes(150);
    writeFileSync(temps.b, b2);
    const finals = { a: path.join(dir, 'out/a'), b: path.join(dir, 'out/b'), c: path.join(dir, 'out/c') };
    const stored = await storeOutputs({
      cache,
      root: dir,
      task: task(finals),
      key: 'k1',
      temps,
      provenance: {},
    });
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    expect(await stored.committed).toEqual([]);
    const want = { a: bytes.a, b: b2, c: bytes.c };
    for (const out of stored.outputs) {
      const content = want[out.name as keyof typeof want];
      expect(out.sha256).toBe(sha(content));
      expect(out.size).toBe(content.length);
      expect(readFileSync(cache.blobPath(out.sha256)).equals(content)).toBe(true);
    }
    const manifest = await cache.getManifest('k1');
    expect(manifest.ok && manifest.value?.outputs.map((o) => o.sha256)).toEqual(
      stored.outputs.map((o) => o.sha256),
    );
  });

  it('returns once the cache has taken the bytes; the entry is committed after, and a backend that never says so is waited for', async () => {
    const local = new LocalStore({ root: path.join(dir, 'cache') });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let blobsDone = 0;
    // The local store, with each blob put held (after the store took the bytes) until the gate opens.
    const held = new Proxy(local, {
      get(target, name, receiver) {
        if (name !== 'putBlob') return Reflect.get(target, name, receiver);
        return async (...args: Parameters<LocalStore['putBlob']>) => {
          const r = await target.putBlob(...args);
          await gate;
          blobsDone++;
          return r;
        };
      },
    });
    const temps = { a: file('ta', randomBytes(3000)), b: file('tb', randomBytes(3 << 20)) };
    const finals = { a: path.join(dir, 'out/a'), b: path.join(dir, 'out/b') };
    const stored = await storeOutputs({
      cache: held,
      root: dir,
      task: task(finals),
      key: 'k3',
      temps,
      provenance: {},
    });
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    expect(blobsDone).toBe(0);
    let committed = false;
    void stored.committed.then(() => {
      committed = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(committed).toBe(false);
    expect(await local.getManifest('k3')).toEqual({ ok: true, value: undefined });
    release();
    expect(await stored.committed).toEqual([]);
    expect(blobsDone).toBe(2);
    const manifest = await local.getManifest('k3');
    expect(manifest.ok && manifest.value?.outputs.map((o) => o.name)).toEqual(['a', 'b']);

    // A backend without the callback: storeOutputs returns only after its puts settled.
    let settledPuts = 0;
    const plain = new Proxy(local, {
      get(target, name, receiver) {
        if (name !== 'putBlob') return Reflect.get(target, name, receiver);
        return async (sha: string, src: string) => {
          const r = await target.putBlob(sha, src);
          settledPuts++;
          return r;
        };
      },
    });
    const again = { a: file('ta2', randomBytes(3000)) };
    const stored2 = await storeOutputs({
      cache: plain,
      root: dir,
      task: task({ a: path.join(dir, 'out/a2') }),
      key: 'k4',
      temps: again,
      provenance: {},
    });
    expect(stored2.ok).toBe(true);
    expect(settledPuts).toBe(1);
    if (stored2.ok) expect(await stored2.committed).toEqual([]);
  });

  it('a backend that throws while committing (after it took the bytes) gives a warning, never a rejection', async () => {
    const local = new LocalStore({ root: path.join(dir, 'cache') });
    const throwing = new Proxy(local, {
      get(target, name, receiver) {
        if (name === 'putManifest')
          return async () => {
            throw new Error('disk on fire');
          };
        return Reflect.get(target, name, receiver);
      },
    });
    const stored = await storeOutputs({
      cache: throwing,
      root: dir,
      task: task({ a: path.join(dir, 'out/a') }),
      key: 'k5',
      temps: { a: file('ta5', randomBytes(100)) },
      provenance: {},
    });
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    expect((await stored.committed).map(cacheWarningText)).toEqual([
      'cache: storing the outputs of t: disk on fire',
    ]);
  });

  it("stores a task's blobs together (one group commit of fsyncs), warnings in output order", async () => {
    const local = new LocalStore({ root: path.join(dir, 'cache') });
    let inFlight = 0;
    let most = 0;
    const refused = new Set(['o3', 'o7']);
    // The local store, with a count of putBlob calls under way, refusing the blobs of two outputs.
    const cache = new Proxy(local, {
      get(target, name, receiver) {
        if (name !== 'putBlob') return Reflect.get(target, name, receiver);
        return async (...args: Parameters<LocalStore['putBlob']>) => {
          inFlight++;
          most = Math.max(most, inFlight);
          try {
            const name = path.basename(args[1]).slice(1);
            if (refused.has(name)) {
              await new Promise((r) => setImmediate(r));
              return {
                ok: false as const,
                failure: { type: 'rejected' as const, status: 507, detail: name },
              };
            }
            return await target.putBlob(...args);
          } finally {
            inFlight--;
          }
        };
      },
    });
    const names = Array.from({ length: 10 }, (_, i) => `o${i}`);
    const temps = Object.fromEntries(names.map((n) => [n, file(`t${n}`, randomBytes(3000))]));
    const finals = Object.fromEntries(names.map((n) => [n, path.join(dir, 'out', n)]));
    const stored = await storeOutputs({
      cache,
      root: dir,
      task: task(finals),
      key: 'k2',
      temps,
      provenance: {},
    });
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    expect(most).toBe(names.length);
    expect(
      (await stored.committed).map((w) => cacheWarningText(w).slice(0, 'cache: storing out/o3'.length)),
    ).toEqual(['cache: storing out/o3', 'cache: storing out/o7']);
    for (const out of stored.outputs)
      if (!refused.has(out.name))
        expect(readFileSync(cache.blobPath(out.sha256)).equals(readFileSync(temps[out.name]!))).toBe(true);
  });
});
