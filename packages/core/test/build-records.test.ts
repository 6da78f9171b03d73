/** Build records: a finished build's record, written from its reports as text, reads back as summariseReports says. */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BuildRecord,
  buildRecordPath,
  failedRunLookup,
  markInterrupted,
  openTaskJournal,
  readBuildRecord,
  summariseReports,
  taskJournalPath,
  writeBuildRecord,
} from '../src/builds/records.js';
import type { TaskReport } from '../src/schedule/events.js';
import { buildRecord } from './fixtures/build-record.js';

describe('build records', () => {
  it("a finished build's record holds its reports' summary: up-to-date tasks by state and key only", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const record: BuildRecord = buildRecord('20260101-000000-000-abcdef', {
      status: 'succeeded',
      targets: ['final'],
      params: { 'a"b': 'c\nd' },
      jobs: 2,
    });
    const reports: TaskReport[] = [
      { id: 'e[a]', key: 'k1', state: 'up-to-date' },
      { id: 'e["odd\\id]', state: 'up-to-date' },
      { id: 'g', key: 'k2', state: 'ran', ms: 3, reasons: [{ type: 'forced' }] },
      { id: 'h', state: 'failed', error: 'boom' },
    ];
    await writeBuildRecord(dir, record, reports);
    const read = readBuildRecord(dir, record.id);
    expect(read.ok && read.record).toEqual({ ...record, ...summariseReports(reports) });
    expect(read.ok && read.record.tasks).toEqual({
      'e[a]': { state: 'up-to-date', key: 'k1' },
      'e["odd\\id]': { state: 'up-to-date' },
      g: { key: 'k2', state: 'ran', ms: 3, reasons: [{ type: 'forced' }] },
      h: { state: 'failed', error: 'boom' },
    });
    expect(read.ok && read.record.counts).toEqual({ 'up-to-date': 2, ran: 1, failed: 1 });
  });

  it("a killed build's record takes the tasks its journal holds: running while read, interrupted once marked", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const id = '20260101-000000-000-123456';
    const record: BuildRecord = buildRecord(id, { targets: ['final'], jobs: 2 });
    await writeBuildRecord(dir, record);
    const journal = openTaskJournal(dir, id);
    journal.add({ id: 'up', key: 'k0', state: 'up-to-date' }); // not journalled
    journal.add({ id: 'a', key: 'k1', state: 'failed', error: 'boom' });
    journal.add({ id: 'a', key: 'k1', state: 'ran', ms: 4, attempts: 2 }); // a retry: the later line wins
    journal.add({ id: 'b', key: 'k2', state: 'restored' });
    // The line being written when the process was killed.
    appendFileSync(taskJournalPath(dir, id), '{"id":"c","state":"ra');
    const expected = {
      counts: { ran: 1, restored: 1 },
      tasks: { a: { key: 'k1', state: 'ran', ms: 4, attempts: 2 }, b: { key: 'k2', state: 'restored' } },
    };
    const live = readBuildRecord(dir, id);
    expect(live.ok && live.record).toEqual({ ...record, ...expected });
    expect(await markInterrupted(dir, id)).toBe(true);
    const marked = readBuildRecord(dir, id);
    expect(marked.ok && marked.record).toMatchObject({ status: 'interrupted', ...expected });
    expect(existsSync(taskJournalPath(dir, id))).toBe(false);
    // A build that ends as usual removes its journal with its end record written.
    const other = openTaskJournal(dir, '20260101-000000-000-654321');
    other.add({ id: 'x', state: 'ran' });
    expect(existsSync(taskJournalPath(dir, '20260101-000000-000-654321'))).toBe(true);
    other.remove();
    expect(existsSync(taskJournalPath(dir, '20260101-000000-000-654321'))).toBe(false);
  });

  it('pipe status in a workspace that recorded no build says so (not that an up-to-date build is not recorded)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    expect(readBuildRecord(dir, 'last')).toEqual({
      ok: false,
      reason: 'not-found',
      detail: 'no build has been recorded in this workspace yet (pipe build makes one)',
    });
  });

  it("a task's last failure is its newest report that ran it, passing over builds that skipped it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const build = (id: string, reports: TaskReport[], endedAt?: string) =>
      writeBuildRecord(dir, buildRecord(id, { status: 'failed', ...(endedAt ? { endedAt } : {}) }), reports);
    await build(
      '20260101-000001-000-aaaaaa',
      [
        { id: 'a', state: 'failed', error: 'first', endedAt: '2026-01-01T00:00:01.000Z' },
        { id: 'b', state: 'failed', error: 'b failed' },
        { id: 'c', state: 'failed', error: 'c failed' },
      ],
      '2026-01-01T00:00:01.500Z',
    );
    await build('20260101-000002-000-bbbbbb', [
      { id: 'a', state: 'failed', error: 'second', endedAt: '2026-01-01T00:00:02.000Z' },
      { id: 'b', state: 'skipped', error: 'upstream failed' },
      { id: 'c', state: 'ran' },
    ]);
    const lastFailure = failedRunLookup(dir);
    expect(lastFailure('a')).toEqual({
      build: '20260101-000002-000-bbbbbb',
      at: '2026-01-01T00:00:02.000Z',
      error: 'second',
    });
    // Skipped in the newest build: its last run is still the failed one (the build's end time when the task has none).
    expect(lastFailure('b')).toEqual({
      build: '20260101-000001-000-aaaaaa',
      at: '2026-01-01T00:00:01.500Z',
      error: 'b failed',
    });
    expect(lastFailure('c')).toBeUndefined(); // ran since
    expect(lastFailure('d')).toBeUndefined();
    expect(failedRunLookup(path.join(dir, 'none'))('a')).toBeUndefined();
  });

  it('a task cancelled while it ran was stopped; one the stop found waiting never ran, and is passed over for an older failure', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const build = (id: string, status: BuildRecord['status'], reports: TaskReport[]) =>
      writeBuildRecord(dir, buildRecord(id, { status, endedAt: '2026-01-01T00:00:09.000Z' }), reports);
    await build('20260101-000001-000-aaaaaa', 'failed', [{ id: 'waited', state: 'failed', error: 'boom' }]);
    // Ctrl-C with -j 1: `ran` was running, `waited` and `queued` waited for a slot (the scheduler reports them
    // cancelled, with no start).
    await build('20260101-000002-000-bbbbbb', 'interrupted', [
      {
        id: 'ran',
        state: 'cancelled',
        startedAt: '2026-01-01T00:00:01.000Z',
        endedAt: '2026-01-01T00:00:02.000Z',
        error: 'cancelled',
      },
      { id: 'waited', state: 'cancelled' },
      { id: 'queued', state: 'cancelled' },
    ]);
    const lastFailure = failedRunLookup(dir);
    expect(lastFailure('ran')).toEqual({
      build: '20260101-000002-000-bbbbbb',
      at: '2026-01-01T00:00:02.000Z',
      stopped: { interrupted: true },
    });
    // Not "its last run was stopped before it finished": it did not run in that build, which stopped before it
    // (not nothing, else a fan-out's task would read as a new item at the next plan).
    expect(lastFailure('queued')).toEqual({
      build: '20260101-000002-000-bbbbbb',
      at: '2026-01-01T00:00:09.000Z',
      stopped: { interrupted: true, started: false },
    });
    expect(lastFailure('waited')).toEqual({
      build: '20260101-000001-000-aaaaaa',
      at: '2026-01-01T00:00:09.000Z',
      error: 'boom',
    });
    // Skipped behind a failed upstream task: said so; skipped by a stopped build: the stop is the reason.
    await build('20260101-000003-000-cccccc', 'failed', [
      { id: 'down', state: 'skipped', error: 'upstream task up did not succeed' },
    ]);
    await build('20260101-000004-000-dddddd', 'interrupted', [
      { id: 'down2', state: 'skipped', error: 'upstream task up did not succeed' },
    ]);
    const again = failedRunLookup(dir);
    expect(again('down')).toMatchObject({
      build: '20260101-000003-000-cccccc',
      stopped: { interrupted: false, started: false, skipped: 'upstream task up did not succeed' },
    });
    expect(again('down2')).toMatchObject({ stopped: { interrupted: true, started: false } });
    expect(again('down2')?.stopped?.skipped).toBeUndefined();
  });

  it('a killed build (its record still "running", its driver gone) stopped the tasks it planned and started', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const id = '20260101-000005-000-eeeeee';
    await writeBuildRecord(
      dir,
      buildRecord(id, {
        targets: ['all'],
        planned: { tasks: ['fast', 'slow', 'all', 'items[a]'], fanouts: ['each'] },
      }),
    );
    const journal = openTaskJournal(dir, id);
    journal.start('fast', '2026-01-01T00:00:01.000Z');
    journal.add({ id: 'fast', state: 'ran' });
    journal.start('slow', '2026-01-01T00:00:02.000Z');
    journal.start('each[x]', '2026-01-01T00:00:03.000Z');
    journal.close();
    // Still running (its driver alive): nothing is said of what it has not finished.
    expect(failedRunLookup(dir, () => true)('slow')).toBeUndefined();
    const dead = failedRunLookup(dir, () => false);
    const at = dead('slow')?.build === id ? dead('slow')?.at : undefined;
    expect(at).toBeDefined();
    expect(dead('slow')).toEqual({ build: id, at, stopped: { interrupted: true } });
    expect(dead('each[x]')).toEqual({ build: id, at, stopped: { interrupted: true } });
    for (const task of ['all', 'items[a]', 'each[y]'])
      expect(dead(task)).toEqual({ build: id, at, stopped: { interrupted: true, started: false } });
    // Not planned by it: nothing to say.
    expect(dead('other')).toBeUndefined();
    expect(dead('more[a]')).toBeUndefined();
    // Marked interrupted (the next build took its lock over): the same, from its record.
    expect(await markInterrupted(dir, id)).toBe(true);
    const marked = readBuildRecord(dir, id);
    expect(marked.ok && marked.record.tasks).toEqual({
      fast: { state: 'ran' },
      slow: { state: 'cancelled', startedAt: '2026-01-01T00:00:02.000Z' },
      'each[x]': { state: 'cancelled', startedAt: '2026-01-01T00:00:03.000Z' },
      all: { state: 'cancelled' },
      'items[a]': { state: 'cancelled' },
    });
    const after = failedRunLookup(dir);
    expect(after('all')).toEqual({ build: id, at, stopped: { interrupted: true, started: false } });
    expect(after('each[y]')).toEqual({ build: id, at, stopped: { interrupted: true, started: false } });
  });

  it('a build that ends between the read of its "running" record and the check of its lock is read as it ended', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const other = mkdtempSync(path.join(tmpdir(), 'pipe-records-'));
    const id = '20260101-000006-000-ffffff';
    const running: BuildRecord = buildRecord(id, { targets: ['all'] });
    await writeBuildRecord(dir, { ...running, planned: { tasks: ['a'], fanouts: [] } });
    const journal = openTaskJournal(dir, id);
    journal.start('a', '2026-01-01T00:00:01.000Z');
    journal.close();
    await writeBuildRecord(other, { ...running, status: 'succeeded', endedAt: '2026-01-01T00:00:02.000Z' }, [
      { id: 'a', state: 'ran' },
    ]);
    const ended = readFileSync(buildRecordPath(other, id), 'utf8');
    // Its end as the lock is checked: the end record written, the journal removed, then the lock released.
    const lookup = failedRunLookup(dir, () => {
      writeFileSync(buildRecordPath(dir, id), ended);
      rmSync(taskJournalPath(dir, id));
      return false;
    });
    expect(lookup('a')).toBeUndefined();
  });
});
