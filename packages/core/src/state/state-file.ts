/**
 * `.pipe/state.json`: what the planner remembers between builds, read once per build.
 *
 *   {"format":"pipe-state","version":3,"writtenAt":<ms since epoch>,"journal":"<id>","root":"<abs path>"}
 *   f<TAB>"<abs path>"<TAB>[size,"<mtime ns>",ino,"<xxh64>","<ctime ns>"]       hash memo of raw inputs, one a line
 *   t<TAB>"<task id>"<TAB><key><TAB><marks><TAB>TaskRecord                       last build of each task, one a line
 *
 * `marks` names the optional properties the record has of `warnings` and `items` (comma-separated; mostly empty):
 * a build asks that of every up-to-date task, and the line answers without the record being parsed.
 *
 * One value a line, so that a build reads the file without parsing every record: values are parsed on first use
 * (state/record-table.ts), and a build that changed a few tasks of 10,000 parses little more than those (the
 * no-op snapshot vouches for the rest, whose keys it reads from their lines). Version 2 (one JSON object with
 * `files` and `tasks`) is still read; the next save writes version 3.
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
 * replaced (RecordTable.set), never changed in place: the tables know what changed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import type { FingerprintRecord } from '../fingerprint/record.js';
import type { TaskItem } from '../model/types.js';
import { writeFileAtomic } from '../workspace/atomic.js';
import { FingerprintLog } from './fingerprint-log.js';
import { RecordTable } from './record-table.js';
import {
  appendBatch,
  type JournalBatch,
  replayJournal,
  startJournal,
  stateJournalFile,
} from './state-journal.js';

export const STATE_FORMAT = 'pipe-state';
/** The optional properties of a task record its line names (see the module comment). */
const TASK_MARKS = ['warnings', 'items'] as const;
export const STATE_VERSION = 3;
/** The single-object layout of earlier builds, still read (and rewritten as version 3 by the next save). */
const STATE_VERSION_OBJECT = 2;

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
  files: RecordTable<MemoEntry>;
  tasks: RecordTable<TaskRecord>;
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
  const rec = data.tasks.get(id);
  if (!rec) return undefined;
  return rec.fp ?? data.fingerprints?.get(id, rec.key);
}

export interface LoadedState {
  data: StateData;
  /** Set when the file existed but was discarded (and why). */
  note?: string;
}

export function emptyState(): StateData {
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    writtenAt: 0,
    files: new RecordTable(),
    tasks: new RecordTable(TASK_MARKS),
  };
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
  saved.set(data, { baseBytes: loaded.bytes ?? 0, journalBytes, torn });
  return { data, ...(loaded.note ? { note: loaded.note } : {}) };
}

/** The workspace root of a state file (`<root>/.pipe/state.json`). */
function rootOf(stateFile: string): string {
  return path.dirname(path.dirname(path.resolve(stateFile)));
}

/** Item files below `from` are moved below `to` (files outside the workspace, e.g. a shared store, stay). */
function rebaseItems(data: StateData, from: string, to: string): void {
  const prefix = from.endsWith(path.sep) ? from : from + path.sep;
  for (const id of [...data.tasks.keys()]) {
    if (!data.tasks.mayHave(id, 'items')) continue;
    const rec = data.tasks.get(id);
    if (!rec?.items) continue;
    data.tasks.set(id, {
      ...rec,
      items: rec.items.map((item) => ({
        ...item,
        files: item.files.map((f) => (f.startsWith(prefix) ? path.join(to, f.slice(prefix.length)) : f)),
      })),
    });
  }
}

/** What is on disk for a loaded (or saved) state: to find what a save must add. */
interface Saved {
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
  const nl = text.indexOf('\n');
  let header: Partial<
    Record<'format' | 'version' | 'writtenAt' | 'journal' | 'root' | 'files' | 'tasks', unknown>
  >;
  try {
    header = JSON.parse(nl < 0 ? text : text.slice(0, nl));
  } catch {
    return { data: emptyState(), note: `${file}: not valid JSON; discarded and rebuilt` };
  }
  if (header?.format !== STATE_FORMAT)
    return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
  const data = emptyState();
  if (header.version === STATE_VERSION_OBJECT && nl < 0) {
    const { files, tasks } = header;
    if (typeof files !== 'object' || typeof tasks !== 'object' || !files || !tasks)
      return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
    data.files = RecordTable.of(files as Record<string, MemoEntry>);
    data.tasks = RecordTable.of(tasks as Record<string, TaskRecord>, TASK_MARKS);
  } else if (header.version === STATE_VERSION) {
    if (!readLines(text, nl + 1, data))
      return { data: emptyState(), note: `${file}: not valid state lines; discarded and rebuilt` };
  } else {
    return {
      data: emptyState(),
      note: `${file}: state version ${String(header.version)} is not ${STATE_VERSION}; discarded and rebuilt`,
    };
  }
  if (typeof header.writtenAt === 'number') data.writtenAt = header.writtenAt;
  if (typeof header.journal === 'string' && header.version === STATE_VERSION) data.journal = header.journal;
  if (typeof header.root === 'string') data.root = header.root;
  return { data, bytes: text.length };
}

/** A JSON string as it appears in a line (most ids and paths need no unescaping). */
function jsonString(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

/** Read the value lines of a version-3 base from `at` into `data`'s tables (unparsed); false when one is malformed. */
function readLines(text: string, at: number, data: StateData): boolean {
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const kind = text.charCodeAt(at);
    const t1 = text.indexOf('\t', at + 2);
    if (text.charCodeAt(at + 1) !== 9 /* tab */ || t1 < 0 || t1 > end) return false;
    const name = jsonString(text.slice(at + 2, t1));
    if (kind === 116 /* t */) {
      const t2 = text.indexOf('\t', t1 + 1);
      const t3 = t2 < 0 ? -1 : text.indexOf('\t', t2 + 1);
      if (t3 < 0 || t3 > end) return false;
      const marks = t3 === t2 + 1 ? '' : text.slice(t2 + 1, t3);
      data.tasks.addText(name, text.slice(t3 + 1, end), text.slice(t1 + 1, t2), marks);
    } else if (kind === 102 /* f */) {
      data.files.addText(name, text.slice(t1 + 1, end));
    } else return false;
    at = end + 1;
  }
  return true;
}

/** Write the state file (and append new fingerprint records to the log first: a key never lacks its record for long). */
export async function saveState(file: string, data: StateData): Promise<void> {
  data.writtenAt = Date.now();
  const log = data.fingerprints ?? new FingerprintLog(path.join(path.dirname(file), FINGERPRINTS_FILE));
  data.fingerprints = log;
  // Only a record set in this process holds its fingerprint record (and every such record is a change).
  for (const id of data.tasks.changedKeys()) {
    const rec = data.tasks.get(id);
    if (!rec?.fp) continue;
    log.set(id, rec.key, rec.fp);
    delete rec.fp;
  }
  await log.save(data.tasks);
  const before = saved.get(data);
  if (before && data.journal) {
    const batch = changesSince(data);
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
        // On disk now.
        data.tasks.markSaved();
        data.files.markSaved();
        return;
      }
    }
  }
  await compact(file, data);
}

/** The records and memo entries set or removed since the last save, or undefined when there are none. */
function changesSince(data: StateData): Required<JournalBatch> | undefined {
  const t = data.tasks.changes();
  const f = data.files.changes();
  return t || f ? { w: data.writtenAt, t: t ?? {}, f: f ?? {} } : undefined;
}

/** Write a new base (under a new journal id), then an empty journal for it. */
async function compact(file: string, data: StateData): Promise<void> {
  data.journal = randomBytes(8).toString('hex');
  data.root = rootOf(file);
  const { format, writtenAt, journal, root, files, tasks } = data;
  const lines = [JSON.stringify({ format, version: STATE_VERSION, writtenAt, journal, root })];
  for (const k of files.keys()) lines.push(`f\t${JSON.stringify(k)}\t${files.textOf(k)}`);
  for (const id of tasks.keys())
    lines.push(`t\t${JSON.stringify(id)}\t${tasks.keyOf(id)}\t${tasks.marksOf(id)}\t${tasks.textOf(id)}`);
  const text = `${lines.join('\n')}\n`;
  await writeFileAtomic(file, text);
  files.markSaved();
  tasks.markSaved();
  // A crash here leaves the old journal, of another id: ignored, the new base alone is the state.
  const journalBytes = await startJournal(stateJournalFile(file), journal);
  saved.set(data, { baseBytes: text.length, journalBytes, torn: false });
}
