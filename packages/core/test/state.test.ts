/** The state file (versioned, self-healing, atomic), the hash memo (racily clean files) and the build lock. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
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
import { RecordTable } from '../src/state/record-table.js';
import {
  emptyState,
  loadState,
  type MemoEntry,
  STATE_VERSION,
  saveState,
  type TaskRecord,
} from '../src/state/state-file.js';
import { acquireLock, takeOver } from '../src/workspace/lock.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'pipe-state-'));

function record(id: string, extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    key: `key of ${id}`.padEnd(64, '0'),
    outputs: { out: { path: `out/${id}.txt`, sha256: 'a'.repeat(64), size: 1, mtimeNs: '1000', ino: 7 } },
    buildId: 'b1',
    ...extra,
  };
}

beforeAll(async () => {
  await loadXxhash();
});

describe('state file', () => {
  it('round-trips, and is written atomically (no temp file left)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'state.json');
    const data = emptyState();
    data.files.set('/x', [1, '2', 3, 'abcd']);
    data.tasks.set('t[a b]', record('t'));
    await saveState(file, data);
    const loaded = loadState(file);
    expect(loaded.note).toBeUndefined();
    expect(loaded.data.files.toObject()).toEqual({ '/x': [1, '2', 3, 'abcd'] });
    expect(loaded.data.tasks.toObject()).toEqual({ 't[a b]': record('t') });
    expect(loaded.data).toMatchObject({ writtenAt: data.writtenAt, journal: data.journal });
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
    expect(loaded.data.tasks.size).toBe(0);
    expect(loaded.note).toMatch(note);
  });
});

describe('state file: one value a line, parsed on first use', () => {
  it('reads the keys of records without parsing them, and parses a record when it is used', async () => {
    const file = path.join(tmp(), 'state.json');
    const data = emptyState();
    data.tasks.set('plain', record('plain'));
    data.tasks.set('warned', record('warned', { warnings: ['careful'] }));
    data.tasks.set('fan"out\\x', record('fan', { items: [{ id: 'i', files: [] }] }));
    await saveState(file, data);
    const { tasks } = loadState(file).data;
    expect([...tasks.keys()]).toEqual(['plain', 'warned', 'fan"out\\x']);
    expect(tasks.keyOf('warned')).toBe(record('warned').key);
    expect(tasks.mayHave('plain', 'warnings')).toBe(false);
    expect(tasks.mayHave('warned', 'warnings')).toBe(true);
    expect(tasks.mayHave('fan"out\\x', 'items')).toBe(true);
    // Keys and marks are read from the lines: nothing was parsed for them.
    expect([...tasks.keys()].some((id) => tasks.isParsed(id))).toBe(false);
    expect(tasks.get('fan"out\\x')?.items).toEqual([{ id: 'i', files: [] }]);
    expect(tasks.get('warned')?.warnings).toEqual(['careful']);
    // Once parsed, it answers from the value (and the same object each time).
    expect(tasks.get('warned')).toBe(tasks.get('warned'));
    expect(tasks.mayHave('warned', 'items')).toBe(false);
    expect(tasks.dirty).toBe(false);
  });

  it('a damaged record line is as if the task was never recorded; the others are read', async () => {
    const file = path.join(tmp(), 'state.json');
    const data = emptyState();
    data.tasks.set('a', record('a'));
    data.tasks.set('b', record('b'));
    await saveState(file, data);
    const text = readFileSync(file, 'utf8');
    const damaged = text.replace(/(t\t"a"\t[^\t]+\t[^\t]*\t)\{/, '$1{oops');
    expect(damaged).not.toBe(text);
    writeFileSync(file, damaged);
    const loaded = loadState(file);
    const { tasks } = loaded.data;
    expect(tasks.get('a')).toBeUndefined();
    expect(tasks.has('a')).toBe(false);
    expect(tasks.get('b')).toEqual(record('b'));
    expect(loaded.damaged).toBe(true);
    expect(loaded.note).toMatch(/damaged: the record of task a; dropped/);
  });

  /** A state of three records and two memo entries, saved, with the line of `name` rewritten by `damage`. */
  async function damagedState(name: string, damage: (line: string) => string) {
    const file = path.join(tmp(), 'state.json');
    const data = emptyState();
    data.files.set('/in/x', [1, '2', 3, 'abcd', '4']);
    data.files.set('/in/y', [5, '6', 7, 'ef01', '8']);
    for (const id of ['a', 'b', 'c']) data.tasks.set(id, record(id));
    await saveState(file, data);
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.split('\t')[1] === JSON.stringify(name));
    lines[at] = damage(lines[at]!);
    writeFileSync(file, lines.join('\n'));
    return file;
  }

  it.each([
    ['truncated', (l: string) => l.slice(0, l.length - 40)],
    ['cut before its record', (l: string) => l.slice(0, 20)],
    ['garbled JSON', (l: string) => l.replace('"outputs"', '"outp{uts"')],
    ['a wrong type', (l: string) => l.replace('"size":1', '"size":"1"')],
    ['another key on the line', (l: string) => l.replace(/^(t\t"b"\t)k/, '$1K')],
    ['one byte changed (still valid)', (l: string) => l.replace('"ino":7', '"ino":8')],
  ])('a record line %s: that record alone is dropped, with a note naming its task', async (_, damage) => {
    const file = await damagedState('b', damage);
    const loaded = loadState(file);
    expect(loaded.damaged).toBe(true);
    expect(loaded.note).toMatch(/the record of task b;/);
    const { tasks, files } = loaded.data;
    expect([...tasks.keys()]).toEqual(['a', 'c']);
    expect(tasks.keyOf('b')).toBeUndefined();
    expect(tasks.get('a')).toEqual(record('a'));
    expect(tasks.get('c')).toEqual(record('c'));
    expect(files.toObject()).toEqual({
      '/in/x': [1, '2', 3, 'abcd', '4'],
      '/in/y': [5, '6', 7, 'ef01', '8'],
    });
  });

  it('a damaged memo line drops that entry (its file is re-hashed); the next save rewrites the base without it', async () => {
    const file = await damagedState('/in/x', (l) => l.replace('abcd', 'abce'));
    const loaded = loadState(file);
    expect(loaded.note).toMatch(/the hash memo of \/in\/x;/);
    expect(loaded.data.files.has('/in/x')).toBe(false);
    expect(loaded.data.tasks.size).toBe(3);
    loaded.data.tasks.set('d', record('d'));
    await saveState(file, loaded.data);
    // Rewritten (not appended to the journal): intact again, the damaged line gone.
    const again = loadState(file);
    expect(again.note).toBeUndefined();
    expect(again.damaged).toBeUndefined();
    expect([...again.data.files.keys()]).toEqual(['/in/y']);
    expect([...again.data.tasks.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(again.data.tasks.isParsed('a')).toBe(false);
  });

  it('a line whose name cannot be read any more is counted, and what it held is not known', async () => {
    const file = await damagedState('c', (l) => `t\t"c${l.slice(5)}`);
    const loaded = loadState(file);
    expect(loaded.note).toMatch(/1 unreadable line/);
    expect([...loaded.data.tasks.keys()]).toEqual(['a', 'b']);
  });

  it('an intact state leaves its records unparsed (the digest vouches for their lines)', async () => {
    const file = await damagedState('a', (l) => l);
    const loaded = loadState(file);
    expect(loaded.note).toBeUndefined();
    expect(loaded.data.tasks.keyOf('b')).toBe(record('b').key);
    expect(loaded.data.tasks.isParsed('b')).toBe(false);
  });

  it('discards a version-3 base whose lines are not value lines', () => {
    const file = path.join(tmp(), 'state.json');
    writeFileSync(file, `${JSON.stringify({ format: 'pipe-state', version: 3 })}\nnot a line\n`);
    const loaded = loadState(file);
    expect(loaded.data.tasks.size).toBe(0);
    expect(loaded.note).toMatch(/not valid state lines/);
  });

  it('reads a version-3 base (lines without checks), checking every record, and drops a damaged one', () => {
    const file = path.join(tmp(), 'state.json');
    const line = (id: string, rec: unknown) => `t\t"${id}"\t${record(id).key}\t\t${JSON.stringify(rec)}`;
    writeFileSync(
      file,
      [
        JSON.stringify({ format: 'pipe-state', version: 3, writtenAt: 1 }),
        line('a', record('a')),
        line('b', { ...record('b'), outputs: 5 }),
        `f\t"/in/x"\t${JSON.stringify([1, '2', 3, 'abcd', '4'])}`,
        '',
      ].join('\n'),
    );
    const loaded = loadState(file);
    expect(loaded.note).toMatch(/the record of task b;/);
    expect(loaded.data.tasks.toObject()).toEqual({ a: record('a') });
    expect(loaded.data.files.toObject()).toEqual({ '/in/x': [1, '2', 3, 'abcd', '4'] });
  });

  it('reads a version-2 state (one JSON object), and the next save writes the current version', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, '.pipe'));
    const file = path.join(dir, '.pipe', 'state.json');
    const files: Record<string, MemoEntry> = { '/in/x': [1, '2', 3, 'abcd', '2'] };
    const old = {
      format: 'pipe-state',
      version: 2,
      writtenAt: 5,
      journal: 'j1',
      root: dir,
      files,
      tasks: { t: record('t') },
    };
    writeFileSync(file, JSON.stringify(old));
    const { data, note } = loadState(file);
    expect(note).toBeUndefined();
    expect(data.tasks.toObject()).toEqual({ t: record('t') });
    expect(data.files.toObject()).toEqual(files);
    data.tasks.set('u', record('u'));
    await saveState(file, data);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'pipe-state', version: STATE_VERSION });
    expect(lines.slice(1).map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual([
      'f "/in/x"',
      't "t"',
      't "u"',
    ]);
    expect(loadState(file).data.tasks.toObject()).toEqual({ t: record('t'), u: record('u') });
  });
});

describe('record table', () => {
  it('knows what was set or deleted since it was saved; values restored from disk are no change', () => {
    const table = RecordTable.of<TaskRecord>({ a: record('a') });
    table.addText('b', JSON.stringify(record('b')), record('b').key);
    table.restore('c', record('c'));
    expect(table.dirty).toBe(false);
    expect(table.changes()).toBeUndefined();
    table.set('a', record('a', { buildId: 'b2' }));
    table.delete('b');
    expect(table.changes()).toEqual({ a: record('a', { buildId: 'b2' }), b: null });
    table.markSaved();
    expect(table.dirty).toBe(false);
    expect(table.toObject()).toEqual({ a: record('a', { buildId: 'b2' }), c: record('c') });
  });
});

describe('hash memo', () => {
  it('hashes streamed XXH64 and remembers files older than the racy window', () => {
    const dir = tmp();
    const f = path.join(dir, 'a');
    writeFileSync(f, 'x'.repeat(3 * (1 << 20) + 7));
    const old = new Date(Date.now() - 10_000);
    utimesSync(f, old, old);
    const entries = new RecordTable<MemoEntry>();
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
    const entries = new RecordTable<MemoEntry>();
    const memo = new HashMemo(entries);
    const first = memo.hash(f)!;
    // Rewritten within the same timestamp tick: same size, mtime forced back to the old value.
    const { mtime } = { mtime: new Date() };
    writeFileSync(f, 'two');
    utimesSync(f, mtime, mtime);
    const later = new HashMemo(entries);
    expect(later.hash(f)).not.toBe(first);
    expect([...entries.keys()]).toEqual([]);
    expect(RACY_GRANULARITY_MS).toBeGreaterThan(10);
  });

  it('a changed stamp forces a re-hash; a missing file is undefined', () => {
    const dir = tmp();
    const f = path.join(dir, 'a');
    writeFileSync(f, 'one');
    const old = new Date(Date.now() - 10_000);
    utimesSync(f, old, old);
    const entries = new RecordTable<MemoEntry>();
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
    const memo = new HashMemo(new RecordTable());
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

  it('takes over only the stale lock it read: not one another build made meanwhile, nor while another takes over', async () => {
    const file = path.join(tmp(), 'lock');
    const host = (await import('node:os')).hostname();
    const dead = { pid: 2 ** 22 + 12345, host, buildId: 'dead', startedAt: '' };
    const me = { pid: process.pid, host, buildId: 'me', startedAt: '' };
    // Two builds started at once both read the dead owner; the first took over and made its lock before the second
    // got to remove it: the second must leave that one (before, it unlinked by name, and both built).
    const first = { pid: process.pid, host, buildId: 'first', startedAt: '' };
    writeFileSync(file, JSON.stringify(first));
    expect(takeOver(file, me, dead)).toBe('changed');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ buildId: 'first' });
    // While another process holds the takeover (a live one), nobody else takes over.
    writeFileSync(file, JSON.stringify(dead));
    writeFileSync(`${file}.takeover`, JSON.stringify(first));
    expect(takeOver(file, me, dead)).toBe('busy');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ buildId: 'dead' });
    // A takeover whose process died is cleared; then the stale lock is taken over.
    writeFileSync(`${file}.takeover`, JSON.stringify(dead));
    expect(takeOver(file, me, dead)).toBe('busy');
    expect(takeOver(file, me, dead)).toBe('took');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.takeover`)).toBe(false);
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
