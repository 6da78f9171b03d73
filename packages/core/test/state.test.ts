/** The state file (versioned, self-healing, atomic), the hash memo (racily clean files) and the build lock. */
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadXxhash, xxh64FileSync } from '../src/fingerprint/file-hash.js';
import {
  HashMemo,
  RACY_GRANULARITY_MS,
  rememberStats,
  seenStat,
  statIfThere,
} from '../src/state/hash-memo.js';
import { emptyState, loadState, STATE_VERSION, saveState } from '../src/state/state-file.js';
import { acquireLock } from '../src/workspace/lock.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'pipe-state-'));

beforeAll(async () => {
  await loadXxhash();
});

describe('state file', () => {
  it('round-trips, and is written atomically (no temp file left)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'state.json');
    const data = emptyState();
    data.files['/x'] = [1, '2', 3, 'abcd'];
    await saveState(file, data);
    expect(loadState(file)).toEqual({ data: { ...data, writtenAt: data.writtenAt } });
    expect(readFileSync(file, 'utf8')).toContain('"format":"pipe-state"');
  });

  it.each([
    ['corrupt JSON', '{"format":"pipe-st', /not valid JSON/],
    [
      'another version',
      JSON.stringify({ ...emptyState(), version: STATE_VERSION + 1 }),
      new RegExp(`state version ${STATE_VERSION + 1} is not ${STATE_VERSION}`),
    ],
    ['a foreign file', '{"hello":1}', /not a pipe state file/],
  ])('discards %s with a note and starts empty', (_name, text, note) => {
    const file = path.join(tmp(), 'state.json');
    writeFileSync(file, text);
    const loaded = loadState(file);
    expect(loaded.data.tasks).toEqual({});
    expect(loaded.note).toMatch(note);
  });
});

describe('hash memo', () => {
  it('hashes streamed XXH64 and remembers files older than the racy window', () => {
    const dir = tmp();
    const f = path.join(dir, 'a');
    writeFileSync(f, 'x'.repeat(3 * (1 << 20) + 7));
    const old = new Date(Date.now() - 10_000);
    utimesSync(f, old, old);
    const entries = {};
    const memo = new HashMemo(entries);
    const h = memo.hash(f);
    expect(h).toBe(xxh64FileSync(f));
    expect(memo.hash(f)).toBe(h);
    expect(memo.hashed).toBe(1);
    // A later session trusts the entry.
    const next = new HashMemo(entries);
    expect(next.hash(f)).toBe(h);
    expect(next.hashed).toBe(0);
  });

  it('re-hashes a racily clean file: same size and mtime, new content, is still seen', () => {
    const dir = tmp();
    const f = path.join(dir, 'a');
    writeFileSync(f, 'one');
    const entries = {};
    const memo = new HashMemo(entries);
    const first = memo.hash(f)!;
    // Rewritten within the same timestamp tick: same size, mtime forced back to the old value.
    const { mtime } = { mtime: new Date() };
    writeFileSync(f, 'two');
    utimesSync(f, mtime, mtime);
    const later = new HashMemo(entries);
    expect(later.hash(f)).not.toBe(first);
    expect(Object.keys(entries)).toEqual([]);
    expect(RACY_GRANULARITY_MS).toBeGreaterThan(10);
  });

  it('a changed stamp forces a re-hash; a missing file is undefined', () => {
    const dir = tmp();
    const f = path.join(dir, 'a');
    writeFileSync(f, 'one');
    const old = new Date(Date.now() - 10_000);
    utimesSync(f, old, old);
    const entries = {};
    new HashMemo(entries).hash(f);
    writeFileSync(f, 'two');
    utimesSync(f, old, new Date(Date.now() - 5_000));
    const memo = new HashMemo(entries);
    expect(memo.hash(f)).toBe(xxh64FileSync(f));
    expect(memo.hashed).toBe(1);
    expect(memo.hash(path.join(dir, 'missing'))).toBeUndefined();
  });
});

describe('remembered stats', () => {
  it('keep the last stat of each path since rememberStats, missing and below-a-file ones as nothing there', () => {
    const dir = tmp();
    const file = path.join(dir, 'f.txt');
    writeFileSync(file, 'one');
    rememberStats();
    statIfThere(file);
    const first = seenStat(file)!;
    expect(first.slice(0, 2)).toEqual(['f', 3]);
    writeFileSync(file, 'three');
    expect(seenStat(file)).toEqual(first); // not stat'ed again: what was seen, not what is
    const memo = new HashMemo({});
    memo.hash(file); // the memo's stat is remembered too
    expect(seenStat(file)!.slice(0, 2)).toEqual(['f', 5]);
    statIfThere(dir);
    expect(seenStat(dir)![0]).toBe('d');
    statIfThere(path.join(dir, 'missing'));
    expect(seenStat(path.join(dir, 'missing'))).toEqual(['', 0, 0, 0, 0]);
    statIfThere(path.join(file, 'below'));
    expect(seenStat(path.join(file, 'below'))).toEqual(['', 0, 0, 0, 0]);
    rememberStats(); // a fresh memory
    expect(seenStat(file)).toBeUndefined();
  });
});

describe('build lock', () => {
  it('refuses a second holder, and takes over a stale lock of a dead process', async () => {
    const file = path.join(tmp(), 'lock');
    const first = await acquireLock(file, { buildId: 'b1' });
    expect(first.ok).toBe(true);
    const second = await acquireLock(file, { buildId: 'b2' });
    expect(second).toMatchObject({ ok: false, reason: 'held', owner: { buildId: 'b1', pid: process.pid } });
    if (first.ok) first.lock.release();
    // A lock left by a process that no longer exists.
    writeFileSync(
      file,
      JSON.stringify({
        pid: 2 ** 22 + 12345,
        host: (await import('node:os')).hostname(),
        buildId: 'dead',
        startedAt: '',
      }),
    );
    const third = await acquireLock(file, { buildId: 'b3' });
    expect(third).toMatchObject({ ok: true, tookOverStale: { buildId: 'dead' } });
  });

  it('waits for a live holder that releases', async () => {
    const file = path.join(tmp(), 'lock');
    const first = await acquireLock(file, { buildId: 'b1' });
    if (!first.ok) throw new Error('no lock');
    const waiting = acquireLock(file, { buildId: 'b2', waitMs: 10_000, pollMs: 10 });
    first.lock.release();
    expect((await waiting).ok).toBe(true);
  });
});
