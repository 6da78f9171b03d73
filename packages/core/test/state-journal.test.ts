/**
 * The state's journal: a save appends what changed (the base is not rewritten), a load replays the whole
 * lines of the journal of its base and ignores a torn tail, and a journal that outgrows its base is
 * compacted into a new base.
 */
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  emptyState,
  loadState,
  saveState,
  stateFileStamp,
  type TaskRecord,
} from '../src/state/state-file.js';
import { stateJournalFile } from '../src/state/state-journal.js';

function record(n: number, buildId = 'b1'): TaskRecord {
  return {
    key: `key-${n}`.padEnd(64, '0'),
    outputs: {
      out: { path: `out/${n}.txt`, sha256: `${n}`.padEnd(64, 'a'), size: n, mtimeNs: `${n}000`, ino: n },
    },
    buildId,
  };
}

/** A saved state of `n` tasks and memo entries (the first save writes the base and an empty journal). */
async function savedState(n: number) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pipe-journal-')), 'state.json');
  const data = emptyState();
  for (let i = 0; i < n; i++) {
    data.tasks.set(`t${i}`, record(i));
    data.files.set(`/in/${i}`, [i, `${i}000`, i, `hash${i}`]);
  }
  await saveState(file, data);
  return { file, journal: stateJournalFile(file) };
}

const plain = (file: string) => {
  const { data } = loadState(file);
  return { tasks: data.tasks.toObject(), files: data.files.toObject() };
};

describe('state journal', () => {
  it('appends the changed records instead of rewriting the base, and replays them on load', async () => {
    const { file, journal } = await savedState(50);
    const base = statSync(file);
    const journalSize = statSync(journal).size;
    const stampBefore = stateFileStamp(file);

    const { data } = loadState(file);
    data.tasks.set('t3', record(3, 'b2'));
    data.tasks.set('new', record(99, 'b2'));
    data.tasks.delete('t7');
    data.files.set('/in/5', [5, '5555', 5, 'changed']);
    data.files.delete('/in/6');
    await saveState(file, data);

    const after = statSync(file);
    expect([after.ino, after.size, after.mtimeMs]).toEqual([base.ino, base.size, base.mtimeMs]);
    expect(statSync(journal).size).toBeGreaterThan(journalSize);
    expect(statSync(journal).size - journalSize).toBeLessThan(1000); // a few records, not fifty
    expect(stateFileStamp(file)).not.toBe(stampBefore);

    const loaded = plain(file);
    expect(loaded.tasks.t3?.buildId).toBe('b2');
    expect(loaded.tasks.new).toEqual(record(99, 'b2'));
    expect(loaded.tasks.t7).toBeUndefined();
    expect(loaded.tasks.t8).toEqual(record(8));
    expect(loaded.files['/in/5']).toEqual([5, '5555', 5, 'changed']);
    expect(loaded.files['/in/6']).toBeUndefined();
    expect(Object.keys(loaded.tasks)).toHaveLength(50);

    // Nothing changed: nothing is written.
    const again = loadState(file).data;
    const size = statSync(journal).size;
    await saveState(file, again);
    expect(statSync(journal).size).toBe(size);
  });

  it('records a removed and re-added key, and keys out of insertion order (integer-like ids)', async () => {
    const { file } = await savedState(5);
    const first = loadState(file).data;
    first.tasks.set('7', record(7, 'int'));
    await saveState(file, first);
    const { data } = loadState(file);
    const t1 = data.tasks.get('t1')!;
    data.tasks.delete('t1');
    data.tasks.set('t1', t1); // same record, now last in order
    data.tasks.delete('t2');
    data.tasks.set('3', record(3, 'int')); // sorts before every other key
    data.tasks.set('t4', record(4, 'b2'));
    await saveState(file, data);
    const loaded = plain(file);
    expect(Object.keys(loaded.tasks).sort()).toEqual(['3', '7', 't0', 't1', 't3', 't4']);
    expect(loaded.tasks.t1).toEqual(record(1));
    expect(loaded.tasks['3']?.buildId).toBe('int');
    expect(loaded.tasks['7']?.buildId).toBe('int');
    expect(loaded.tasks.t4?.buildId).toBe('b2');
  });

  it('ignores a torn tail (a crash while appending), and the next save heals the journal', async () => {
    const { file, journal } = await savedState(20);
    const { data } = loadState(file);
    data.tasks.set('t1', record(1, 'whole'));
    await saveState(file, data);
    const whole = readFileSync(journal, 'utf8');

    // A second batch cut off mid-line, as kill -9 during the append leaves it.
    const next = loadState(file).data;
    next.tasks.set('t2', record(2, 'torn'));
    await saveState(file, next);
    const full = readFileSync(journal, 'utf8');
    writeFileSync(journal, full.slice(0, whole.length + Math.floor((full.length - whole.length) / 2)));

    const afterCrash = plain(file);
    expect(afterCrash.tasks.t1?.buildId).toBe('whole');
    expect(afterCrash.tasks.t2?.buildId).toBe('b1'); // the torn batch is not applied, not even in part

    // A whole line whose newline was not written yet is torn too.
    writeFileSync(journal, full.slice(0, -1));
    expect(plain(file).tasks.t2?.buildId).toBe('b1');

    // The next save does not append after the torn bytes: it writes the journal afresh.
    const healed = loadState(file).data;
    healed.tasks.set('t4', record(4, 'healed'));
    await saveState(file, healed);
    const text = readFileSync(journal, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const loaded = plain(file);
    expect(loaded.tasks.t1?.buildId).toBe('whole');
    expect(loaded.tasks.t4?.buildId).toBe('healed');
    for (const line of text.trimEnd().split('\n').slice(1)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("ignores a journal of another base (a crash between the base's rename and the journal's)", async () => {
    const { file, journal } = await savedState(10);
    const { data } = loadState(file);
    data.tasks.set('t1', record(1, 'journal'));
    await saveState(file, data);
    const text = readFileSync(journal, 'utf8');
    writeFileSync(
      journal,
      text.replace(/^pipe-state-journal 1 [0-9a-f]+/, 'pipe-state-journal 1 0123456789abcdef'),
    );
    expect(plain(file).tasks.t1?.buildId).toBe('b1');
    // A foreign version is ignored as well.
    writeFileSync(journal, text.replace(/^pipe-state-journal 1/, 'pipe-state-journal 9'));
    expect(plain(file).tasks.t1?.buildId).toBe('b1');
    // A lost base leaves nothing for the journal to extend.
    writeFileSync(file, 'not json');
    writeFileSync(journal, text);
    expect(plain(file).tasks).toEqual({});
  });

  it('compacts a journal that outgrows its base into a new base', async () => {
    const { file, journal } = await savedState(5);
    const base = statSync(file);
    const { data } = loadState(file);
    // A batch larger than the journal's limit (256 KiB at least): written as a new base.
    for (let i = 0; i < 2000; i++) data.tasks.set(`big${i}`, record(i, 'big'));
    await saveState(file, data);
    const after = statSync(file);
    expect(after.ino === base.ino && after.mtimeMs === base.mtimeMs).toBe(false);
    expect(after.size).toBeGreaterThan(256 * 1024);
    expect(readFileSync(journal, 'utf8').split('\n').filter(Boolean)).toHaveLength(1); // just the header
    const loaded = plain(file);
    expect(Object.keys(loaded.tasks)).toHaveLength(2005);
    expect(loaded.tasks.big1999?.buildId).toBe('big');
  });

  it('a record appended by hand after a torn line is not replayed (replay stops at the first bad line)', async () => {
    const { file, journal } = await savedState(3);
    const { data } = loadState(file);
    data.tasks.set('t0', record(0, 'first'));
    await saveState(file, data);
    appendFileSync(journal, '{"w":1,"t":{"t1":{"key":"x"\n');
    appendFileSync(journal, `${JSON.stringify({ w: 2, t: { t2: record(2, 'after') } })}\n`);
    const loaded = plain(file);
    expect(loaded.tasks.t0?.buildId).toBe('first');
    expect(loaded.tasks.t1?.buildId).toBe('b1');
    expect(loaded.tasks.t2?.buildId).toBe('b1');
  });

  it("a journal value not of a record's shape is dropped, with a note: its task is planned afresh", async () => {
    const { file, journal } = await savedState(3);
    appendFileSync(
      journal,
      `${JSON.stringify({ w: 3, t: { t1: { ...record(1), outputs: null }, t2: record(2, 'ok') }, f: { '/in/0': 'x' } })}\n`,
    );
    const loaded = loadState(file);
    expect(loaded.damaged).toBe(true);
    expect(loaded.note).toMatch(/the record of task t1; the hash memo of \/in\/0;/);
    expect(loaded.data.tasks.has('t1')).toBe(false);
    expect(loaded.data.tasks.get('t2')?.buildId).toBe('ok');
    expect(loaded.data.files.has('/in/0')).toBe(false);
  });
});
