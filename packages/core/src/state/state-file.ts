/**
 * `.pipe/state.json`: what the planner remembers between builds, in one file read once per build.
 *
 *   { "format": "pipe-state", "version": 2, "writtenAt": <ms since epoch>,
 *     "files": { "<abs path>": [size, "<mtime ns>", ino, "<xxh64>"] },     hash memo of raw inputs
 *     "tasks": { "<task id>": TaskRecord } }                              last build of each task
 *
 * Compact: a task record holds its key, output stamps and `check` (what lets a no-op decide without
 * building the fingerprint, see plan/quick-check.ts); the full fingerprint records, needed only to
 * explain a change, live in `fingerprints.log` next to it (state/fingerprint-log.ts), read on demand.
 *
 * An unknown format or version, or a file that does not parse, is discarded with a note and
 * rebuilt (every task then plans as "no previous build", and the cache restores what it can).
 *
 * Incremental: the file above is a base; a save appends only the records and memo entries that changed
 * since the load (or the last save) to `state.journal` (state/state-journal.ts), as one fsync'd line.
 * When the journal outgrows a quarter of the base, the next save compacts: it writes a new base
 * (atomically: temp + fsync + rename) under a new `journal` id, then starts a new journal for it. The
 * state is the base plus the whole lines of the journal of its id; a torn tail is ignored. Records are
 * replaced, never changed in place (the changes are found by identity).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import type { FingerprintRecord } from '../fingerprint/record.js';
import type { TaskItem } from '../model/types.js';
import { writeFileAtomic } from '../workspace/atomic.js';
import { FingerprintLog } from './fingerprint-log.js';
import {
  appendBatch,
  type JournalBatch,
  replayJournal,
  startJournal,
  stateJournalFile,
} from './state-journal.js';

export const STATE_FORMAT = 'pipe-state';
export const STATE_VERSION = 2;

/**
 * size, mtime in ns (decimal string), inode, hash, ctime in ns. The ctime (which no user tool can set back) catches
 * a file rewritten in place with its size and mtime restored (`cp -p`, `rsync -a`, `touch -r`); an entry of an
 * older state without it is re-hashed once.
 */
export type MemoEntry = [number, string, number, string, string?];

/** A product as it was published: content address and the stat stamp that lets a no-op skip hashing it. */
export interface OutputStamp {
  /** Workspace-relative path. */
  path: string;
  sha256: string;
  size: number;
  mtimeNs: string;
  ino: number;
}

/** The last successful build of a task. */
export interface TaskRecord {
  key: string;
  /**
   * The fingerprint record, in memory only after the task was recorded in this process: `saveState` moves
   * it to the fingerprint log. Otherwise read it with `previousRecord`.
   */
  fp?: FingerprintRecord;
  /** Digest of the task's identity and input hashes when it was recorded (plan/quick-check.ts). */
  check?: string;
  outputs: Record<string, OutputStamp>;
  items?: TaskItem[];
  /** What the step warned about when it ran (without the task id): shown again while the task is up to date. */
  warnings?: string[];
  buildId: string;
}

export interface StateData {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  writtenAt: number;
  files: Record<string, MemoEntry>;
  tasks: Record<string, TaskRecord>;
  /** Id of this base's journal (state/state-journal.ts); absent until the first save. */
  journal?: string;
  /**
   * The workspace root the records were written in. Emitted items name files by absolute path; a workspace copied
   * or moved elsewhere has its items below the old root rebased onto its own when loaded (else a copy would read
   * the original's files, and a moved one miss them).
   */
  root?: string;
  /** Not persisted in the state file: the fingerprint records of the last builds (none for a state made in memory). */
  fingerprints?: FingerprintLog;
}

/** The fingerprint record of task `id`'s last build (undefined when it is not known any more). */
export function previousRecord(data: StateData, id: string): FingerprintRecord | undefined {
  const rec = data.tasks[id];
  if (!rec) return undefined;
  return rec.fp ?? data.fingerprints?.get(id, rec.key);
}

export interface LoadedState {
  data: StateData;
  /** Set when the file existed but was discarded (and why). */
  note?: string;
}

export function emptyState(): StateData {
  return { format: STATE_FORMAT, version: STATE_VERSION, writtenAt: 0, files: {}, tasks: {} };
}

/** Read the state file; a missing, corrupt or foreign-version file yields an empty state (with a note). */
export function loadState(file: string): LoadedState {
  const loaded = readState(file);
  const { data } = loaded;
  let journalBytes = -1;
  let torn = false;
  if (data.journal) {
    const replay = replayJournal(stateJournalFile(file), data.journal, data.tasks, data.files);
    if (replay) journalBytes = replay.validBytes;
    torn = replay?.torn ?? false;
    if (replay?.writtenAt !== undefined) data.writtenAt = replay.writtenAt;
  }
  data.fingerprints = new FingerprintLog(path.join(path.dirname(file), FINGERPRINTS_FILE));
  const root = rootOf(file);
  if (data.root !== root) {
    if (data.root !== undefined && data.root !== path.parse(data.root).root)
      rebaseItems(data, data.root, root);
    // The next save rewrites the base (with this root): journal lines written from here on hold paths under the
    // new root, which a later copy must rebase too; a base naming the old root would not.
    delete data.journal;
  }
  data.root = root;
  saved.set(data, {
    tasks: entriesOf(data.tasks),
    files: entriesOf(data.files),
    baseBytes: loaded.bytes ?? 0,
    journalBytes,
    torn,
  });
  return { data, ...(loaded.note ? { note: loaded.note } : {}) };
}

/** The workspace root of a state file (`<root>/.pipe/state.json`). */
function rootOf(stateFile: string): string {
  return path.dirname(path.dirname(path.resolve(stateFile)));
}

/** Item files below `from` are moved below `to` (files outside the workspace, e.g. a shared store, stay). */
function rebaseItems(data: StateData, from: string, to: string): void {
  const prefix = from.endsWith(path.sep) ? from : from + path.sep;
  for (const rec of Object.values(data.tasks)) {
    if (!rec.items) continue;
    rec.items = rec.items.map((item) => ({
      ...item,
      files: item.files.map((f) => (f.startsWith(prefix) ? path.join(to, f.slice(prefix.length)) : f)),
    }));
  }
}

/** What is on disk for a loaded (or saved) state: to find what a save must add. */
interface Saved {
  /** The records and memo entries as on disk (the same objects as in the state, until replaced). */
  tasks: Entries<TaskRecord>;
  files: Entries<MemoEntry>;
  /** The base's length. */
  baseBytes: number;
  /** The length of the journal's whole lines (appends go after them); -1 when there is no journal of this base. */
  journalBytes: number;
  /** Whether bytes follow the whole lines (a torn tail, cut off before the next append). */
  torn: boolean;
}
const saved = new WeakMap<StateData, Saved>();

/** A journal may grow to this many bytes, or a quarter of its base if more, before the base is rewritten. */
const JOURNAL_MIN_LIMIT = 256 * 1024;

function statStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}:${st.ino}` : '';
}

/**
 * The stat stamps (size, mtime, inode) of the state file and its journal, '' for a missing one, joined by
 * '|': tells whether another build has saved since (an append changes the journal's size).
 */
export function stateFileStamp(file: string): string {
  return `${statStamp(file)}|${statStamp(stateJournalFile(file))}`;
}

/** Name of the fingerprint log, next to the state file. */
export const FINGERPRINTS_FILE = 'fingerprints.log';

function readState(file: string): LoadedState & { bytes?: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { data: emptyState() };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { data: emptyState(), note: `${file}: not valid JSON; discarded and rebuilt` };
  }
  const d = parsed as Partial<StateData>;
  if (
    d?.format !== STATE_FORMAT ||
    typeof d.files !== 'object' ||
    typeof d.tasks !== 'object' ||
    !d.files ||
    !d.tasks
  ) {
    return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
  }
  if (d.version !== STATE_VERSION) {
    return {
      data: emptyState(),
      note: `${file}: state version ${String(d.version)} is not ${STATE_VERSION}; discarded and rebuilt`,
    };
  }
  if (d.journal !== undefined && typeof d.journal !== 'string') delete d.journal;
  if (d.root !== undefined && typeof d.root !== 'string') delete d.root;
  return { data: d as StateData, bytes: text.length };
}

/** Write the state file (and append new fingerprint records to the log first: a key never lacks its record for long). */
export async function saveState(file: string, data: StateData): Promise<void> {
  data.writtenAt = Date.now();
  const log = data.fingerprints ?? new FingerprintLog(path.join(path.dirname(file), FINGERPRINTS_FILE));
  data.fingerprints = log;
  for (const id of Object.keys(data.tasks)) {
    const rec = data.tasks[id]!;
    if (!rec.fp) continue;
    log.set(id, rec.key, rec.fp);
    delete rec.fp;
  }
  await log.save(data.tasks);
  const before = saved.get(data);
  if (before && data.journal) {
    const batch = changesSince(data, before);
    if (!batch) return; // nothing changed
    const line = `${JSON.stringify(batch)}\n`;
    const bytes = Buffer.byteLength(line);
    const limit = Math.max(JOURNAL_MIN_LIMIT, before.baseBytes / 4);
    if (Math.max(0, before.journalBytes) + bytes <= limit) {
      const journal = stateJournalFile(file);
      let written: number | undefined;
      if (before.journalBytes < 0) {
        // No journal of this base (none yet, or one left by a crash before the base's rename): start it.
        written = await startJournal(journal, data.journal, line);
      } else {
        // A torn tail is cut off first: the next line must start on a line of its own.
        if (before.torn && statSync(journal, { throwIfNoEntry: false })?.isFile())
          truncateSync(journal, before.journalBytes);
        // Undefined when its length is not the one read (written meanwhile): the full rewrite below is safe.
        written = appendBatch(journal, before.journalBytes, line);
      }
      if (written !== undefined) {
        before.journalBytes = written;
        before.torn = false;
        // On disk now: the baseline follows.
        before.tasks = entriesOf(data.tasks);
        before.files = entriesOf(data.files);
        return;
      }
    }
  }
  await compact(file, data);
}

/** The records and memo entries set or removed since `before`, or undefined when there are none. */
function changesSince(data: StateData, before: Saved): Required<JournalBatch> | undefined {
  const t: Record<string, TaskRecord | null> = {};
  const f: Record<string, MemoEntry | null> = {};
  const changedT = diff(data.tasks, before.tasks, t);
  const changedF = diff(data.files, before.files, f);
  return changedT || changedF ? { w: data.writtenAt, t, f } : undefined;
}

/** An object's keys and values in their order (cheaper to take and to compare with than a copy of it). */
interface Entries<V> {
  keys: string[];
  values: V[];
}

function entriesOf<V>(o: Record<string, V>): Entries<V> {
  // for…in walks a large (dictionary-mode) object about twice as fast as Object.keys + Object.values.
  const keys: string[] = [];
  const values: V[] = [];
  for (const k in o) {
    keys.push(k);
    values.push(o[k]!);
  }
  return { keys, values };
}

/**
 * Put into `out` what `now` sets differently from `was` (null: removed); whether there was anything.
 * One merge walk: a key keeps its place in an object's order when its value is replaced, and a new key
 * goes to the end. A key `was` has out of that order (a removed and re-added key, or an integer-like
 * one) is first set to null and then, when met in `now`, to its value: `out` may hold more than changed,
 * never less, and its last value for a key is the right one.
 */
function diff<V>(now: Record<string, V>, was: Entries<V>, out: Record<string, V | null>): boolean {
  const { keys, values } = was;
  let changes = 0;
  let j = 0;
  for (const id in now) {
    const value = now[id]!;
    while (j < keys.length && keys[j] !== id) {
      out[keys[j]!] = null;
      changes++;
      j++;
    }
    if (j < keys.length) {
      if (values[j] !== value) {
        out[id] = value;
        changes++;
      }
      j++;
    } else {
      out[id] = value;
      changes++;
    }
  }
  for (; j < keys.length; j++) {
    out[keys[j]!] = null;
    changes++;
  }
  return changes > 0;
}

/** Write a new base (under a new journal id), then an empty journal for it. */
async function compact(file: string, data: StateData): Promise<void> {
  data.journal = randomBytes(8).toString('hex');
  data.root = rootOf(file);
  const { format, version, writtenAt, journal, root, files, tasks } = data;
  const text = JSON.stringify({ format, version, writtenAt, journal, root, files, tasks });
  await writeFileAtomic(file, text);
  // A crash here leaves the old journal, of another id: ignored, the new base alone is the state.
  const journalBytes = await startJournal(stateJournalFile(file), journal);
  saved.set(data, {
    tasks: entriesOf(tasks),
    files: entriesOf(files),
    baseBytes: text.length,
    journalBytes,
    torn: false,
  });
}
