/**
 * putBlob with the caller's hash (`hashed`: the identity the file had when the caller hashed it): the store copies
 * the file without hashing it again, keeps the caller's file in place, and falls back to verifying the bytes when
 * the file changed since it was hashed — so a changed file is never stored under the hash of its old bytes.
 */
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileIdentity, identityOf, LocalStore, sameIdentity } from '../src/index.js';
import { sha256Of } from './cache-common.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-put-hashed-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const identity = (file: string): FileIdentity => identityOf(statSync(file, { bigint: true }));

/** A source file of `size` random bytes, its hash and its identity now. */
async function source(size: number) {
  const file = join(dir, `src-${randomBytes(4).toString('hex')}`);
  const bytes = randomBytes(size);
  await writeFile(file, bytes);
  return { file, bytes, sha: sha256Of(bytes), id: identity(file) };
}

describe('putBlob with the hash the caller computed', () => {
  for (const size of [3000, 3 << 20]) {
    it(`stores a copy (${size} bytes), read-only and byte for byte, and leaves the caller's file as it was`, async () => {
      const store = new LocalStore({ root: join(dir, 'store') });
      const src = await source(size);
      expect(await store.putBlob(src.sha, src.file, src.id)).toEqual({ ok: true, value: undefined });
      const blob = store.blobPath(src.sha);
      expect((await readFile(blob)).equals(src.bytes)).toBe(true);
      const [b, s] = [await stat(blob), await stat(src.file)];
      expect(b.mode & 0o777).toBe(0o444);
      expect(b.ino).not.toBe(s.ino); // a copy, not a hard link: writing the workspace file cannot reach the cache
      expect(s.mode & 0o777).not.toBe(0o444);
      expect((await readFile(src.file)).equals(src.bytes)).toBe(true);
      // and it reads back verified
      const out = join(dir, 'out.bin');
      expect(await store.fetchBlob(src.sha, out)).toEqual({ ok: true, value: true });
      expect((await readFile(out)).equals(src.bytes)).toBe(true);
    });
  }

  it('a file that grew after it was hashed is verified, refused as corrupt and not stored', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const src = await source(2 << 20);
    await appendFile(src.file, 'more');
    const put = await store.putBlob(src.sha, src.file, src.id);
    expect(put.ok).toBe(false);
    if (!put.ok) expect(put.failure.type).toBe('corrupt');
    expect(await store.hasBlob(src.sha)).toEqual({ ok: true, value: false });
  });

  it('a file rewritten in place with the same size is caught by its times, and verified', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const src = await source(4096);
    const other = randomBytes(4096);
    await writeFile(src.file, other);
    // The rewrite may fall in the same clock tick as the first write: move its mtime so the identity differs.
    const later = new Date(Date.now() + 5000);
    await utimes(src.file, later, later);
    expect(sameIdentity(src.id, identity(src.file))).toBe(false);
    const put = await store.putBlob(src.sha, src.file, src.id);
    expect(put.ok).toBe(false);
    expect(await store.hasBlob(src.sha)).toEqual({ ok: true, value: false });
    // Under its true hash the new content is stored as usual.
    expect((await store.putBlob(sha256Of(other), src.file, identity(src.file))).ok).toBe(true);
    expect((await readFile(store.blobPath(sha256Of(other)))).equals(other)).toBe(true);
  });

  it('an identity of another file (a replaced file: new inode) is not trusted', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const a = await source(1000);
    const b = await source(1000);
    // b's bytes under a's hash with b's identity would be a lie only a re-hash can catch: with a's identity,
    // the store sees a different file and verifies.
    const put = await store.putBlob(a.sha, b.file, a.id);
    expect(put.ok).toBe(false);
    expect(await store.hasBlob(a.sha)).toEqual({ ok: true, value: false });
  });
});

describe("putBlob's taken callback", () => {
  // With and without the caller's hash; a small blob (written from memory) and one the thread pool writes.
  for (const [size, vouched] of [
    [3000, true],
    [3 << 20, true],
    [3000, false],
    [3 << 20, false],
  ] as const) {
    it(`frees the source once called (${size} bytes, ${vouched ? 'hashed by the caller' : 'verified'}): overwritten then, the blob keeps the bytes put`, async () => {
      const store = new LocalStore({ root: join(dir, 'store') });
      const src = await source(size);
      let takenAt: 'before' | 'after' | undefined;
      let settled = false;
      const put = store.putBlob(src.sha, src.file, vouched ? src.id : undefined, () => {
        takenAt = settled ? 'after' : 'before';
        writeFileSync(src.file, randomBytes(size)); // the caller moving on: its file now holds other bytes
      });
      expect(await put).toEqual({ ok: true, value: undefined });
      settled = true;
      expect(takenAt).toBe('before');
      expect((await readFile(store.blobPath(src.sha))).equals(src.bytes)).toBe(true);
      expect(await store.hasBlob(src.sha)).toEqual({ ok: true, value: true });
    });
  }
});
