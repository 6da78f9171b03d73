import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempPathFor, writeAll, writeStreamAtomic } from '../src/atomic-file.js';
import { encodeManifest, LocalStore } from '../src/index.js';
import { collectGarbage } from '../src/local-maintenance.js';
import { StoreLayout } from '../src/store-layout.js';
import { manifestFor, randomKey, sha256Of } from './cache-common.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-local-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Store one entry (a manifest with one blob of `content`) and return its key and blob hash. */
async function storeEntry(store: LocalStore, content: Buffer, key = randomKey()) {
  const src = join(dir, `src-${randomBytes(4).toString('hex')}`);
  await writeFile(src, content);
  const sha = sha256Of(content);
  expect((await store.putBlob(sha, src)).ok).toBe(true);
  expect(
    (
      await store.putManifest(
        manifestFor(key, [
          { name: 'o', path: `out/${key}.bin`, sha256: sha, size: content.length, mode: 0o644 },
        ]),
      )
    ).ok,
  ).toBe(true);
  return { key, sha };
}

/** A pid that is certainly not running: one of a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

describe('atomic writes', () => {
  it('an interrupted write leaves nothing under the final name and no temp file', async () => {
    const dest = join(dir, 'sub', 'file.bin');
    async function* failing() {
      yield Buffer.alloc(1000, 1);
      throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    }
    await expect(writeStreamAtomic(dest, failing())).rejects.toThrow('connection reset');
    expect(await readdir(dirname(dest))).toEqual([]);
  });

  // A disk that fills up takes what fits and fails only the next write: a short write is not the end of it (a
  // download's last chunk was once cut short so, and stored under its hash).
  it('writes the rest of a short write, and fails when the disk then refuses', async () => {
    const data = Uint8Array.from({ length: 2500 }, (_, i) => i % 251);
    const written: number[] = [];
    const shortWrites = (room: number) => ({
      write: async (buf: Uint8Array, offset: number, length: number) => {
        if (room <= 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        const n = Math.min(length, 1000, room);
        room -= n;
        written.push(...buf.subarray(offset, offset + n));
        return { bytesWritten: n, buffer: buf };
      },
    });
    await writeAll(shortWrites(10_000) as never, data, data.length);
    expect(Uint8Array.from(written)).toEqual(data);
    written.length = 0;
    await expect(writeAll(shortWrites(1800) as never, data, data.length)).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(written.length).toBe(1800);
  });

  it('verify removes the temp files of crashed writers and leaves those of live ones', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const { key, sha } = await storeEntry(store, Buffer.from('counts'));
    const dead = deadPid();
    const crashedBlob = tempPathFor(store.blobPath(sha)).replace(`~${process.pid}~`, `~${dead}~`);
    const crashedManifest = tempPathFor(join(dir, 'store', 'ac', `${key}.json`)).replace(
      `~${process.pid}~`,
      `~${dead}~`,
    );
    const live = tempPathFor(store.blobPath(sha)); // this process is alive: a write in progress
    for (const p of [crashedBlob, crashedManifest, live]) await writeFile(p, 'partial');
    const report = await store.verify();
    expect(report.ok && report.value).toMatchObject({
      ok: true,
      staleTempsRemoved: 2,
      tempsInUse: 1,
      blobsChecked: 1,
      manifestsChecked: 1,
    });
    expect([existsSync(crashedBlob), existsSync(crashedManifest), existsSync(live)]).toEqual([
      false,
      false,
      true,
    ]);
    expect((await store.getManifest(key)).ok).toBe(true);
  });

  it('concurrent writers of the same entries in separate processes end with one intact copy', async () => {
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    expect(existsSync(dist), 'build the package first: npx tsc -b packages/cache').toBe(true);
    const root = join(dir, 'store');
    const content = randomBytes(256 * 1024);
    const src = join(dir, 'shared-src');
    await writeFile(src, content);
    const sha = sha256Of(content);
    const key = randomKey();
    const manifest = manifestFor(key, [
      { name: 'o', path: 'o.bin', sha256: sha, size: content.length, mode: 0o644 },
    ]);
    const script = `
      const { LocalStore } = await import(${JSON.stringify(dist)});
      const store = new LocalStore({ root: ${JSON.stringify(root)} });
      const m = ${JSON.stringify(manifest)};
      for (let i = 0; i < 15; i++) {
        const a = await store.putBlob(${JSON.stringify(sha)}, ${JSON.stringify(src)});
        const b = await store.putManifest(m);
        const c = await store.getManifest(m.key);
        if (!a.ok || !b.ok || !c.ok || !c.value) { console.error(JSON.stringify([a, b, c])); process.exit(1); }
      }`;
    const run = promisify(execFile);
    await Promise.all(
      Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script])),
    );
    const store = new LocalStore({ root });
    const report = await store.verify();
    expect(report.ok && report.value).toMatchObject({
      ok: true,
      blobsChecked: 1,
      manifestsChecked: 1,
      tempsInUse: 0,
      staleTempsRemoved: 0,
    });
    expect(await store.getManifest(key)).toEqual({ ok: true, value: manifest });
  });
});

describe('group-committed small writes', () => {
  it('many entries stored at once are all whole, readable and verified, with no temp file left; a wrong hash is refused', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const contents = Array.from({ length: 40 }, (_, i) => Buffer.from(`entry ${i} ${'x'.repeat(i * 97)}`));
    const stored = await Promise.all(contents.map((c) => storeEntry(store, c)));
    for (const [i, { key, sha }] of stored.entries()) {
      const got = await store.getManifest(key);
      expect(got.ok && got.value?.outputs[0]?.sha256).toBe(sha);
      const dest = join(dir, `restored-${i}`);
      expect(await store.fetchBlob(sha, dest)).toEqual({ ok: true, value: true });
      expect(await readFile(dest)).toEqual(contents[i]);
    }
    const names = await readdir(join(dir, 'store'), { recursive: true });
    expect(names.filter((n) => basename(n).startsWith('.tmp-'))).toEqual([]);
    const verified = await store.verify();
    expect(verified.ok && verified.value.ok).toBe(true);
    const src = join(dir, 'wrong');
    await writeFile(src, 'not what the hash says');
    const put = await store.putBlob(sha256Of(Buffer.from('something else')), src);
    expect(put.ok ? 'stored' : put.failure.type).toBe('corrupt');
  });
});

describe('blobs of a few MB (read, verified and written whole)', () => {
  it('are stored read-only and byte for byte, restored verified, and refused when the hash is wrong', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const contents = [randomBytes(3 * 1024 * 1024 + 17), randomBytes(9 * 1024 * 1024)];
    const stored = await Promise.all(contents.map((c) => storeEntry(store, c)));
    for (const [i, { sha }] of stored.entries()) {
      const blob = join(dir, 'store', 'cas', sha.slice(0, 2), sha);
      expect((await stat(blob)).mode & 0o777).toBe(0o444);
      const dest = join(dir, `restored-${i}`);
      expect(await store.fetchBlob(sha, dest)).toEqual({ ok: true, value: true });
      expect((await readFile(dest)).equals(contents[i] as Buffer)).toBe(true);
    }
    const src = join(dir, 'wrong');
    await writeFile(src, randomBytes(2 * 1024 * 1024));
    const wrong = sha256Of(Buffer.from('something else'));
    const put = await store.putBlob(wrong, src);
    expect(put.ok ? 'stored' : put.failure.type).toBe('corrupt');
    expect((await store.hasBlob(wrong)).ok && (await store.hasBlob(wrong))).toEqual({
      ok: true,
      value: false,
    });
    const names = await readdir(join(dir, 'store'), { recursive: true });
    expect(names.filter((n) => basename(n).startsWith('.tmp-'))).toEqual([]);
  });
});

describe('verify', () => {
  it('re-hashes every blob and checks every manifest, quarantining what is bad', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const good = await storeEntry(store, Buffer.from('good'));
    const rotten = await storeEntry(store, Buffer.from('will rot'));
    const orphanManifest = randomKey();
    const missingSha = sha256Of(Buffer.from('never stored'));
    await store.putManifest(
      manifestFor(orphanManifest, [{ name: 'x', path: 'x', sha256: missingSha, size: 12, mode: 0o644 }]),
    );
    const garbled = randomKey();
    await writeFile(join(dir, 'store', 'ac', `${garbled}.json`), '{"format":"pipe-manifest","vers');
    await chmod(store.blobPath(rotten.sha), 0o644);
    await writeFile(store.blobPath(rotten.sha), 'will rut');

    const first = await store.verify();
    expect(first.ok).toBe(true);
    const report = first.ok ? first.value : undefined;
    expect(report?.ok).toBe(false);
    expect(report?.corruptBlobs).toEqual([rotten.sha]);
    expect(report?.badManifests.map((b) => [b.key, b.failure.type])).toEqual([[garbled, 'corrupt']]);
    expect(report?.missingBlobs.map((m) => [m.key, m.sha256]).sort()).toEqual(
      [
        [orphanManifest, missingSha],
        [rotten.key, rotten.sha],
      ].sort(),
    );
    expect((await store.stats()).quarantined).toBe(4);
    const second = await store.verify();
    expect(second.ok && second.value).toMatchObject({ ok: true, blobsChecked: 1, manifestsChecked: 1 });
    expect((await store.getManifest(good.key)).ok).toBe(true);
  });

  it('an entry a build stores while verify runs is not taken for one naming a missing blob', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    for (let i = 0; i < 40; i++) await storeEntry(store, randomBytes(64 * 1024));
    // A build stores blob, then manifest, with no store lock: verify lists the blobs before it reads manifests.
    const stored: Array<{ key: string }> = [];
    const writing = (async () => {
      for (let i = 0; i < 150; i++) stored.push(await storeEntry(store, randomBytes(256)));
    })();
    const [verified] = await Promise.all([store.verify(), writing]);
    expect(verified.ok && verified.value.missingBlobs).toEqual([]);
    expect(verified.ok && verified.value.ok).toBe(true);
    for (const { key } of stored)
      expect((await store.getManifest(key)).ok && (await store.getManifest(key))).toBeTruthy();
    expect((await store.stats()).quarantined).toBe(0);
  });

  it('a corrupt manifest read through getManifest is reported, quarantined and then a miss', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const key = randomKey();
    await mkdir(join(dir, 'store', 'ac'), { recursive: true });
    await writeFile(join(dir, 'store', 'ac', `${key}.json`), encodeManifest(manifestFor(randomKey(), [])));
    const got = await store.getManifest(key);
    expect(
      got.ok === false && got.failure.type === 'invalid-manifest' && got.failure.problems[0]?.reason,
    ).toBe('key-mismatch');
    expect(await store.getManifest(key)).toEqual({ ok: true, value: undefined });
    expect(store.counters).toEqual({ hits: 0, misses: 2 });
  });

  it('refuses a store written in a layout version it does not know', async () => {
    await mkdir(join(dir, 'future'), { recursive: true });
    await writeFile(
      join(dir, 'future', 'store.json'),
      JSON.stringify({ format: 'pipe-cache-store', version: 2 }),
    );
    const got = await new LocalStore({ root: join(dir, 'future') }).getManifest(randomKey());
    expect(got.ok === false && got.failure.type).toBe('unavailable');
  });
});

describe('gc: least recently used first, pins kept', () => {
  it('evicts the least recently read entries until the budget fits, never a pinned one', async () => {
    let clock = Date.now() + 60_000; // later than every file's mtime, so recorded reads decide
    const store = new LocalStore({ root: join(dir, 'store'), now: () => clock });
    const size = 10_000;
    const e = [];
    for (let i = 0; i < 4; i++) e.push(await storeEntry(store, randomBytes(size)));
    const [a, b, c, d] = e as [(typeof e)[0], (typeof e)[0], (typeof e)[0], (typeof e)[0]];
    for (const entry of [a, b, c, d, a]) {
      clock += 1000;
      expect((await store.getManifest(entry.key)).ok).toBe(true); // LRU order now: b, c, d, a
    }
    expect((await store.pin(b.key, 'reference')).ok).toBe(true);
    expect(await new LocalStore({ root: join(dir, 'store') }).pins()).toEqual(
      new Map([[b.key, ['reference']]]),
    );
    const manifestBytes = (await stat(join(dir, 'store', 'ac', `${a.key}.json`))).size;
    const gc = await store.gc({ maxBytes: 2 * (size + manifestBytes), graceMs: 0 });
    expect(gc.ok && gc.value).toMatchObject({ evicted: [c.key, d.key], removedBlobs: 2, overBudget: false });
    for (const [entry, kept] of [
      [a, true],
      [b, true],
      [c, false],
      [d, false],
    ] as const) {
      expect((await store.hasBlob(entry.sha)).ok && (await store.hasBlob(entry.sha))).toEqual({
        ok: true,
        value: kept,
      });
    }
    // Everything unpinned goes when the budget is tiny; the pinned entry and its blob stay.
    const tiny = await store.gc({ maxBytes: 1, graceMs: 0 });
    expect(tiny.ok && tiny.value).toMatchObject({ evicted: [a.key], overBudget: true });
    expect((await store.getManifest(b.key)).ok && (await store.hasBlob(b.sha))).toEqual({
      ok: true,
      value: true,
    });
    await store.unpin(b.key, 'reference');
    const all = await store.gc({ maxBytes: 1, graceMs: 0 });
    expect(all.ok && all.value).toMatchObject({ evicted: [b.key], bytesAfter: 0, overBudget: false });
  });

  it('keeps a blob another manifest still uses, and orphans only once they are old', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const shared = randomBytes(1000);
    const first = await storeEntry(store, shared);
    const second = await storeEntry(store, shared);
    const src = join(dir, 'orphan');
    await writeFile(src, 'orphan');
    const young = sha256Of(Buffer.from('orphan'));
    await store.putBlob(young, src);
    await writeFile(src, 'old orphan');
    const old = sha256Of(Buffer.from('old orphan'));
    await store.putBlob(old, src);
    await utimes(store.blobPath(old), new Date(0), new Date(0));
    await utimes(join(dir, 'store', 'ac', `${first.key}.json`), new Date(1000), new Date(1000));
    await utimes(store.blobPath(first.sha), new Date(0), new Date(0));
    // The second entry is pinned: the first goes, and the blob both name stays for the second.
    await store.pin(second.key, 'keep');
    const gc = await store.gc({ maxBytes: 1 });
    expect(gc.ok && gc.value.removedBlobs).toBe(1); // the old orphan; the shared blob is still in use
    expect(gc.ok && gc.value.evicted[0]).toBe(first.key);
    expect((await store.hasBlob(old)).ok && (await store.hasBlob(old))).toEqual({ ok: true, value: false });
    expect(await store.hasBlob(young)).toEqual({ ok: true, value: true });
    expect(await store.hasBlob(second.sha)).toEqual({ ok: true, value: true });
  });

  it('keeps an entry whose blobs are all too young to remove (evicting it would free nothing)', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const young = await storeEntry(store, randomBytes(1000));
    const old = await storeEntry(store, randomBytes(1000));
    await utimes(store.blobPath(old.sha), new Date(0), new Date(0));
    // Stored (used) long ago too: an entry used within the grace period stays whatever its blobs' age.
    await utimes(join(dir, 'store', 'ac', `${old.key}.json`), new Date(0), new Date(0));
    const gc = await store.gc({ maxBytes: 1 });
    expect(gc.ok && gc.value).toMatchObject({ evicted: [old.key], removedBlobs: 1, overBudget: true });
    expect((await store.getManifest(young.key)).ok && (await store.getManifest(young.key))).toMatchObject({
      ok: true,
      value: { key: young.key },
    });
  });

  it('keeps entries used within the grace period (a build may be about to restore one it looked up)', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const used = await storeEntry(store, randomBytes(1000));
    const unused = await storeEntry(store, randomBytes(1000));
    for (const e of [used, unused]) {
      await utimes(store.blobPath(e.sha), new Date(0), new Date(0));
      await utimes(join(dir, 'store', 'ac', `${e.key}.json`), new Date(0), new Date(0));
    }
    expect((await store.getManifest(used.key)).ok).toBe(true); // looked up now
    const gc = await store.gc({ maxBytes: 1 });
    expect(gc.ok && gc.value).toMatchObject({ evicted: [unused.key], removedBlobs: 1, overBudget: true });
    expect(await store.hasBlob(used.sha)).toEqual({ ok: true, value: true });
    expect((await store.getManifest(used.key)).ok && (await store.getManifest(used.key))).toMatchObject({
      ok: true,
      value: { key: used.key },
    });
  });

  /**
   * A gc during which another build (another user of a shared cache, who cannot refresh the blob's mtime) stores
   * the bytes of the entry the gc evicts, right after it evicted it, under the key `racing(old)` gives: its manifest
   * appears while the gc runs. The blob must stay.
   */
  async function gcWithRacingStore(racing: (oldKey: string) => string) {
    const root = join(dir, 'store');
    const store = new LocalStore({ root });
    const content = randomBytes(1000);
    const old = await storeEntry(store, content);
    await utimes(store.blobPath(old.sha), new Date(0), new Date(0));
    await utimes(join(root, 'ac', `${old.key}.json`), new Date(0), new Date(0));
    const key = racing(old.key);
    const layout = new StoreLayout(root);
    const acDir = layout.acDir.bind(layout);
    let wrote = false;
    layout.acDir = () => {
      if (!wrote && !existsSync(join(root, 'ac', `${old.key}.json`))) {
        wrote = true;
        const outputs = [
          { name: 'o', path: 'out/r.bin', sha256: old.sha, size: content.length, mode: 0o644 },
        ];
        writeFileSync(join(root, 'ac', `${key}.json`), encodeManifest(manifestFor(key, outputs)));
      }
      return acDir();
    };
    const report = await collectGarbage(layout, { maxBytes: 1 }, Date.now());
    expect(wrote).toBe(true);
    expect(report).toMatchObject({ evicted: [old.key], removedBlobs: 0 });
    expect(await store.hasBlob(old.sha)).toEqual({ ok: true, value: true });
    const verified = await store.verify();
    expect(verified.ok && verified.value.missingBlobs).toEqual([]);
  }

  it('keeps a blob that a manifest written during the gc names (the same bytes stored again under a new key)', () =>
    gcWithRacingStore(() => randomKey()));

  // The manifest's name is one the gc listed, its file a new one.
  it('keeps a blob that the manifest of an evicted key, stored again during the gc, names', () =>
    gcWithRacingStore((oldKey) => oldKey));

  it('counts the store afresh after a process that stored was killed before its budget check', async () => {
    const root = join(dir, 'store');
    // A build stores 3 kB, its budget check adds them to the usage hint.
    const first = new LocalStore({ root, maxBytes: 4000 });
    await storeEntry(first, randomBytes(3000));
    expect((await first.keepToBudget()).ok).toBe(true); // a first store counts itself (no hint yet)
    // The next one stores 3 kB more and is killed: no budget check, and its mark in the hint names a dead pid.
    const killed = new LocalStore({ root, maxBytes: 4000 });
    await storeEntry(killed, randomBytes(3000));
    const usage = join(root, 'usage-v1.json');
    await writeFile(usage, (await readFile(usage, 'utf8')).replace(`~${process.pid}~`, `~${deadPid()}~`));
    // A build storing meanwhile (live: its mark stays) does not hide the dead one's bytes.
    const overlapping = new LocalStore({ root, maxBytes: 1e9 });
    await storeEntry(overlapping, randomBytes(10));
    expect((await overlapping.keepToBudget()).ok).toBe(true);
    // A third stores 100 bytes: 3,100 by the hint alone, within the budget; the store really holds over 6 kB.
    const third = new LocalStore({ root, maxBytes: 4000 });
    await storeEntry(third, randomBytes(100));
    const checked = await third.keepToBudget();
    expect(checked.ok && checked.value?.bytesBefore).toBeGreaterThan(6000);
  });

  it("leaves the budget to the next build when another process holds the maintenance lock (no minutes' wait)", async () => {
    const root = join(dir, 'store');
    const store = new LocalStore({ root, maxBytes: 100 });
    await storeEntry(store, randomBytes(3000));
    // A live process (this one) holds the lock, as a long verify would.
    await writeFile(join(root, 'lock'), `${hostname()} ${process.pid} ${Date.now()}\n`);
    const started = Date.now();
    const checked = await store.keepToBudget();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(checked.ok && checked.value?.deferred).toMatch(
      /^its maintenance lock is held by pid \d+ on this host/,
    );
    await rm(join(root, 'lock'));
    // The hint stayed unknown: the next check counts the store.
    const next = new LocalStore({ root, maxBytes: 100 });
    await storeEntry(next, randomBytes(10));
    const counted = await next.keepToBudget();
    expect(counted.ok && counted.value?.bytesBefore).toBeGreaterThan(3000);
  });

  it('compacts an access log grown past 4 MiB at the end of a build that used the store (no gc ran)', async () => {
    const root = join(dir, 'store');
    const store = new LocalStore({ root });
    const kept = await storeEntry(store, randomBytes(100));
    // 100,000 hits of an entry long evicted and of the one still stored.
    const gone = randomKey();
    const lines = Array.from({ length: 100_000 }, (_, i) => `${1000 + i} ${i % 2 ? gone : kept.key}\n`);
    await writeFile(join(root, 'access-v1.log'), `pipe-cache-access v1\n${lines.join('')}`);
    expect((await stat(join(root, 'access-v1.log'))).size).toBeGreaterThan(4 << 20);
    expect((await store.getManifest(kept.key)).ok).toBe(true);
    expect((await store.sync()).ok).toBe(true);
    const text = await readFile(join(root, 'access-v1.log'), 'utf8');
    expect(text.split('\n').filter(Boolean)).toEqual([
      'pipe-cache-access v1',
      expect.stringMatching(/^# compacted \d+$/),
      expect.stringMatching(new RegExp(` ${kept.key}$`)),
    ]);
    // A store whose log is over the bound even compacted (~50,000 entries in use) is compacted again only once the
    // log has doubled, not at every build.
    const many = Array.from(
      { length: 60_000 },
      (_, i) => `${1000 + i} ${kept.key.slice(0, 60)}${String(i).padStart(4, '0')}\n`,
    );
    await writeFile(
      join(root, 'access-v1.log'),
      `pipe-cache-access v1\n# compacted 4500000\n${many.join('')}`,
    );
    const before = await readFile(join(root, 'access-v1.log'), 'utf8');
    expect(before.length).toBeGreaterThan(4 << 20);
    expect((await store.getManifest(kept.key)).ok).toBe(true);
    expect((await store.sync()).ok).toBe(true);
    expect((await readFile(join(root, 'access-v1.log'), 'utf8')).startsWith(before)).toBe(true);
  });

  it('replaces a stored blob of the wrong size, or a folder in its place, when the same bytes are stored again', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const content = randomBytes(500);
    const sha = sha256Of(content);
    const src = join(dir, 'src-again');
    await writeFile(src, content);
    expect((await store.putBlob(sha, src)).ok).toBe(true);
    // Cut short (a crashed disk): the next put of these bytes repairs it.
    await chmod(store.blobPath(sha), 0o644);
    await writeFile(store.blobPath(sha), content.subarray(0, 100));
    expect((await store.putBlob(sha, src)).ok).toBe(true);
    expect(await readFile(store.blobPath(sha))).toEqual(content);
    // A folder where the blob belongs.
    await rm(store.blobPath(sha));
    await mkdir(store.blobPath(sha));
    expect((await store.putBlob(sha, src)).ok).toBe(true);
    expect(await readFile(store.blobPath(sha))).toEqual(content);
  });

  it('serialises concurrent maintenance through the store lock', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    await storeEntry(store, Buffer.from('x'));
    const results = await Promise.all([
      store.gc({ maxBytes: 1e9 }),
      store.verify(),
      store.pin(randomKey(), 'a'),
      store.gc(),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(existsSync(join(dir, 'store', 'lock'))).toBe(false);
  });

  it('a default budget of 10 GiB; stats count entries and bytes', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    expect(store.maxBytes).toBe(10 * 1024 ** 3);
    await storeEntry(store, Buffer.alloc(5000, 7));
    const s = await store.stats();
    expect(s).toMatchObject({ manifests: 1, blobs: 1, blobBytes: 5000, pinnedKeys: 0, quarantined: 0 });
    expect(s.bytes).toBeGreaterThan(5000);
  });
});

describe('materialize', () => {
  it('places an independent copy with the requested mode, replacing what was there', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const { sha } = await storeEntry(store, Buffer.from('#!/bin/sh\necho hi\n'));
    const dest = join(dir, 'ws', 'bin', 'run.sh');
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, 'old contents');
    expect(await store.materialize(sha, dest, 0o755)).toEqual({ ok: true, value: true });
    expect((await stat(dest)).mode & 0o777).toBe(0o755);
    await writeFile(dest, 'edited in the workspace');
    expect((await readFile(store.blobPath(sha))).toString()).toBe('#!/bin/sh\necho hi\n');
    expect((await stat(dest)).ino).not.toBe((await stat(store.blobPath(sha))).ino);
  });

  it('a corrupt blob is not placed: dest untouched, blob quarantined', async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const { sha } = await storeEntry(store, Buffer.from('original'));
    await chmod(store.blobPath(sha), 0o644);
    await writeFile(store.blobPath(sha), 'origina1');
    const dest = join(dir, 'ws', 'f');
    const got = await store.materialize(sha, dest);
    expect(got.ok === false && got.failure.type).toBe('corrupt');
    expect(existsSync(dest)).toBe(false);
    expect(await readdir(dirname(dest))).toEqual([]);
    expect(await store.hasBlob(sha)).toEqual({ ok: true, value: false });
    expect(basename(dest)).toBe('f');
  });

  it('refuses to make a store of a folder that holds other files, and touches none of them', async () => {
    const root = join(dir, 'mydata');
    await mkdir(join(root, 'ac'), { recursive: true });
    await writeFile(join(root, 'notes.txt'), 'mine');
    await writeFile(join(root, 'ac', 'x.json'), '{}');
    const store = new LocalStore({ root });
    const verify = await store.verify();
    expect(verify.ok).toBe(false);
    expect(!verify.ok && verify.failure.type === 'unavailable' && verify.failure.detail).toContain(
      `${root} is not a pipe cache (it holds 'notes.txt'): give a new or empty folder`,
    );
    expect((await readdir(root)).sort()).toEqual(['ac', 'notes.txt']);
    expect(await readdir(join(root, 'ac'))).toEqual(['x.json']);
    // An empty folder, or a store's, is fine.
    await mkdir(join(dir, 'empty'));
    expect((await new LocalStore({ root: join(dir, 'empty') }).verify()).ok).toBe(true);
  });

  it("removes the temp files a killed restore left in the folder (a dead pid's), not a live writer's", async () => {
    const store = new LocalStore({ root: join(dir, 'store') });
    const { sha } = await storeEntry(store, Buffer.from('product'));
    const dest = join(dir, 'ws', 'out', 'a.bin');
    await mkdir(dirname(dest), { recursive: true });
    // A pid that has ended: a child we waited for.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    const live = tempPathFor(join(dirname(dest), 'b.bin'));
    const left = basename(live).replace(`~${process.pid}~`, `~${dead}~`);
    await writeFile(join(dirname(dest), left), 'half a product');
    await writeFile(live, 'being written');
    // A user's files that merely start like pipe's temps, however old: not pipe's to remove.
    const mine = ['.tmp-notes.txt', '.tmp-host~1~draft.txt'];
    for (const name of mine) {
      await writeFile(join(dirname(dest), name), 'my notes');
      await utimes(join(dirname(dest), name), new Date(0), new Date(0));
    }
    expect(await store.materialize(sha, dest)).toEqual({ ok: true, value: true });
    expect((await readdir(dirname(dest))).sort()).toEqual(['a.bin', basename(live), ...mine].sort());
  });
});
