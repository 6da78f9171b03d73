/**
 * `.pipe/state.json`: what the planner remembers between builds, read once per build.
 *
 *   {"format":"pipe-state","version":4,"writtenAt":<ms since epoch>,"journal":"<id>","root":"<abs path>","digest":"<d>"}
 *   f<TAB>"<abs path>"<TAB>[size,"<mtime ns>",ino,"<xxh64>","<ctime ns>"]<TAB><check>       hash memo of raw inputs
 *   t<TAB>"<task id>"<TAB><key><TAB><marks><TAB>TaskRecord<TAB><check>                        last build of each task
 *
 * `marks` names the optional properties the record has of `warnings` and `items` (comma-separated; mostly empty):
 * a build asks that of every up-to-date task, and the line answers without the record being parsed.
 *
 * One value a line, so that a build reads the file without parsing every record: values are parsed on first use
 * (state/record-table.ts), and a build that changed a few tasks of 10,000 parses little more than those (the
 * no-op snapshot vouches for the rest, whose keys it reads from their lines). Version 3 (the same lines without
 * checks) and version 2 (one JSON object with `files` and `tasks`) are still read; the next save writes version 4.
 *
 * Self-healing: the header's `digest` covers every line after it (SHA-1 of their bytes: ~4 ms at 10,000 tasks), so
 * that a line's key can be taken without parsing its record. When it does not match (the medium damaged the file:
 * pipe writes it atomically), each line is checked by its own `check` (SHA-1 of the line up to its last tab), and a
 * damaged line is dropped as if its task, or memo entry, had never been recorded: that task is planned afresh
 * (its outputs re-hashed, or it reruns), the memo's file re-hashed, with a note naming them; the next save rewrites
 * the file without them. A record that parses but is not of a record's shape (a journal's, a version-3 line's) is
 * dropped the same way. A state with damaged records is never taken as what the no-op snapshot saw (builds/session.ts).
 *
 * Compact: a task record holds its key, output stamps and `check` (what lets a no-op decide without
 * building the fingerprint, see plan/quick-check.ts); the full fingerprint records, needed only to
 * explain a change, live in `fingerprints.log` next to it (state/fingerprint-log.ts), read on demand.
 *
 * An unknown format or version, or a header that does not parse, is discarded with a note and
 * rebuilt (every task then plans as "no previous build", and the cache restores what it can).
 *
 * Incremental: the file above is a base; a save appends only the records and memo entries that changed
 * since the load (or the last save) to `state.journal` (state/state-journal.ts), as one fsync'd line.
 * When the journal outgrows a quarter of the base, the next save compacts: it writes a new base
 * (atomically: temp + fsync + rename) under a new `journal` id, then starts a new journal for it. The
 * state is the base plus the whole lines of the journal of its id; a torn tail is ignored. Records are
 * replaced (RecordTable.set), never changed in place: the tables know what changed.
 */
import { hash, randomBytes } from 'node:crypto';
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
export const STATE_VERSION = 4;
/** The lines of version 4 without their checks and the header's digest, still read (all parsed and checked then). */
const STATE_VERSION_UNCHECKED = 3;
/** The single-object layout of earlier builds, still read (and rewritten as version 4 by the next save). */
const STATE_VERSION_OBJECT = 2;
/** Characters of a line's check kept (of SHA-1's 27 in base64url): 96 bits, to tell a damaged line. */
const LINE_CHECK_LENGTH = 16;

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

/** The last run of a task that has no record (it never succeeded, or its record was lost): it failed, or was stopped. */
export interface FailedRun {
  /** The id of the build in which it failed. */
  build: string;
  /** When that build ended (ISO 8601). */
  at?: string;
  /** The failure, in one line. */
  error?: string;
  /**
   * It did not fail: it was cancelled while it ran, the build interrupted (Ctrl-C, a signal) or another task failed;
   * `started: false` when the build stopped before it started it, or skipped it (`skipped`: an upstream task did not
   * succeed; with -k the build went on).
   */
  stopped?: { interrupted: boolean; started?: false; skipped?: string };
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
  /** Not persisted: where a task without a record last failed (the build records'; see builds/records.ts). */
  lastFailure?: (taskId: string) => FailedRun | undefined;
  /** Lines of the base that were damaged beyond naming what they held (loading only). */
  damagedLines?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

function isOutputStamp(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.path === 'string' &&
    typeof v.sha256 === 'string' &&
    typeof v.size === 'number' &&
    typeof v.mtimeNs === 'string' &&
    typeof v.ino === 'number'
  );
}

/** Whether a value read from disk is a task record (of the key its line names, when it names one). */
export function isTaskRecord(v: unknown, key: string | undefined): boolean {
  return (
    isObject(v) &&
    typeof v.key === 'string' &&
    (key === undefined || v.key === key) &&
    typeof v.buildId === 'string' &&
    (v.check === undefined || typeof v.check === 'string') &&
    isObject(v.outputs) &&
    Object.values(v.outputs).every(isOutputStamp) &&
    (v.items === undefined ||
      (Array.isArray(v.items) &&
        v.items.every((item) => isObject(item) && typeof item.id === 'string' && isStrings(item.files)))) &&
    (v.warnings === undefined || isStrings(v.warnings))
  );
}

/** Whether a value read from disk is a hash memo entry. */
export function isMemoEntry(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    (v.length === 4 || v.length === 5) &&
    typeof v[0] === 'number' &&
    typeof v[1] === 'string' &&
    typeof v[2] === 'number' &&
    typeof v[3] === 'string' &&
    (v[4] === undefined || typeof v[4] === 'string')
  );
}

/** `datasets[23523]` → `datasets` (target names have no brackets). */
export function targetOfTaskId(id: string): string {
  const bracket = id.indexOf('[');
  return bracket < 0 ? id : id.slice(0, bracket);
}

/**
 * The targets that have a task recorded now (read from the ids: no record is parsed). Taken as a plan or a build
 * begins: a task of a fan-out without a record, whose target is among them, is an item new since (plan/decide.ts).
 */
export function recordedTargets(data: StateData): Set<string> {
  const targets = new Set<string>();
  for (const id of data.tasks.keys()) targets.add(targetOfTaskId(id));
  return targets;
}

/** The fingerprint record of task `id`'s last build (undefined when it is not known any more). */
export function previousRecord(data: StateData, id: string): FingerprintRecord | undefined {
  const rec = data.tasks.get(id);
  if (!rec) return undefined;
  return rec.fp ?? data.fingerprints?.get(id, rec.key);
}

export interface LoadedState {
  data: StateData;
  /** Set when the file existed but was discarded (and why), or when damaged records were dropped (which). */
  note?: string;
  /** Whether records or memo entries were found damaged, and dropped: its tasks are planned afresh. */
  damaged?: boolean;
}

export function emptyState(): StateData {
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    writtenAt: 0,
    files: new RecordTable([], isMemoEntry),
    tasks: new RecordTable(TASK_MARKS, isTaskRecord),
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
  const damaged = damageNote(file, data);
  // A base with damaged lines, or without checks (an older version), is rewritten by the next save.
  saved.set(data, {
    baseBytes: loaded.bytes ?? 0,
    journalBytes,
    torn,
    rewrite: damaged !== undefined || loaded.unchecked === true,
  });
  const note = [loaded.note, damaged].filter((n) => n !== undefined).join('; ');
  return { data, ...(note ? { note } : {}), ...(damaged ? { damaged: true } : {}) };
}

/** What was found damaged (and dropped) while loading, for a note; undefined when nothing was. */
function damageNote(file: string, data: StateData): string | undefined {
  const tasks = data.tasks.damaged;
  const files = data.files.damaged;
  const lines = data.damagedLines ?? 0;
  if (tasks.length + files.length + lines === 0) return undefined;
  const list = (names: string[], what: string) =>
    names.length === 0
      ? []
      : [`${what} ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`];
  const parts = [
    ...list(tasks, `the record${tasks.length === 1 ? '' : 's'} of task${tasks.length === 1 ? '' : 's'}`),
    ...list(files, `the hash memo of`),
    ...(lines > 0 ? [`${lines} unreadable line${lines === 1 ? '' : 's'}`] : []),
  ];
  return `${file}: damaged: ${parts.join('; ')}; dropped (those tasks are checked afresh, those files re-hashed)`;
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
  /** Whether the base must be rewritten (it had damaged lines, or no checks) rather than appended to. */
  rewrite?: boolean;
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

function readState(file: string): LoadedState & { bytes?: number; unchecked?: boolean } {
  let bytes: Buffer;
  try {
    // Bytes, then decoded: the digest is over them, and this is twice as fast as reading as 'utf8' (node 20).
    bytes = readFileSync(file);
  } catch {
    return { data: emptyState() };
  }
  const nl = bytes.indexOf(10);
  let header: Partial<
    Record<'format' | 'version' | 'writtenAt' | 'journal' | 'root' | 'files' | 'tasks' | 'digest', unknown>
  >;
  try {
    header = JSON.parse(bytes.toString('utf8', 0, nl < 0 ? bytes.length : nl));
  } catch {
    return { data: emptyState(), note: `${file}: not valid JSON; discarded and rebuilt` };
  }
  if (header?.format !== STATE_FORMAT)
    return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
  const data = emptyState();
  let unchecked = false;
  if (header.version === STATE_VERSION_OBJECT && nl < 0) {
    const { files, tasks } = header;
    if (typeof files !== 'object' || typeof tasks !== 'object' || !files || !tasks)
      return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
    data.files = RecordTable.of(files as Record<string, MemoEntry>, [], isMemoEntry);
    data.tasks = RecordTable.of(tasks as Record<string, TaskRecord>, TASK_MARKS, isTaskRecord);
    unchecked = true;
  } else if (header.version === STATE_VERSION || header.version === STATE_VERSION_UNCHECKED) {
    const body = bytes.subarray(nl + 1);
    const intact = header.version === STATE_VERSION && header.digest === bodyDigest(body);
    const text = body.toString('utf8');
    if (header.version === STATE_VERSION_UNCHECKED) {
      if (!readLines(text, data, 'unchecked'))
        return { data: emptyState(), note: `${file}: not valid state lines; discarded and rebuilt` };
      // No digest to vouch for the lines: every record is parsed and checked now.
      data.tasks.verifyAll();
      data.files.verifyAll();
      unchecked = true;
    } else if (!readLines(text, data, intact ? 'intact' : 'verify')) {
      return { data: emptyState(), note: `${file}: not valid state lines; discarded and rebuilt` };
    }
  } else {
    return {
      data: emptyState(),
      note: `${file}: state version ${String(header.version)} is not ${STATE_VERSION}; discarded and rebuilt`,
    };
  }
  if (typeof header.writtenAt === 'number') data.writtenAt = header.writtenAt;
  if (typeof header.journal === 'string' && header.version !== STATE_VERSION_OBJECT)
    data.journal = header.journal;
  if (typeof header.root === 'string') data.root = header.root;
  return { data, bytes: bytes.length, ...(unchecked ? { unchecked } : {}) };
}

/** The header's digest of the lines after it. */
function bodyDigest(body: Uint8Array): string {
  return hash('sha1', body, 'base64url');
}

/** A line's check: of its text up to (not including) the tab before the check. */
function lineCheck(line: string): string {
  return hash('sha1', line, 'base64url').slice(0, LINE_CHECK_LENGTH);
}

/** A JSON string as it appears in a line (most ids and paths need no unescaping). */
function jsonString(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

/**
 * Read the value lines of a base into `data`'s tables (unparsed). 'intact' (the digest matched): every line is as
 * written, false when one is malformed (a bug). 'verify': each line is checked by its own check, a damaged one
 * dropped. 'unchecked': lines of version 3 (no checks; the caller parses and checks every record).
 */
function readLines(text: string, data: StateData, mode: 'intact' | 'verify' | 'unchecked'): boolean {
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    let valueEnd = end;
    // An intact line ends in a tab and its check, of fixed length; a line to verify may have lost them.
    if (mode === 'intact') valueEnd = end - LINE_CHECK_LENGTH - 1;
    else if (mode === 'verify') valueEnd = Math.max(at, text.lastIndexOf('\t', end - 1));
    if (mode === 'verify' && text.slice(valueEnd + 1, end) !== lineCheck(text.slice(at, valueEnd))) {
      damagedLine(text, at, end, data);
      at = end + 1;
      continue;
    }
    if (!readLine(text, at, valueEnd, data)) {
      if (mode !== 'verify') return false;
      damagedLine(text, at, end, data); // a check that matched a malformed line: dropped all the same
    }
    at = end + 1;
  }
  return true;
}

/** Read one value line (`at` to `end`, without its check) into `data`'s tables; false when malformed. */
function readLine(text: string, at: number, end: number, data: StateData): boolean {
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
  return true;
}

/** A line that failed its check: what it held is dropped (named when its name can still be read). */
function damagedLine(text: string, at: number, end: number, data: StateData): void {
  const t1 = text.indexOf('\t', at + 2);
  const quoted = t1 < 0 || t1 > end ? '' : text.slice(at + 2, t1);
  let name: string | undefined;
  try {
    const parsed: unknown = JSON.parse(quoted);
    if (typeof parsed === 'string') name = parsed;
  } catch {}
  const table =
    text.charCodeAt(at) === 116 ? data.tasks : text.charCodeAt(at) === 102 ? data.files : undefined;
  // A damaged line may hold a name it never had: only a value of that name read before it is dropped with it.
  if (name !== undefined && table) table.drop(name);
  else data.damagedLines = (data.damagedLines ?? 0) + 1;
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
  if (before && data.journal && !before.rewrite) {
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
  const lines: string[] = [];
  const checked = (line: string) => lines.push(`${line}\t${lineCheck(line)}`);
  for (const k of files.keys()) checked(`f\t${JSON.stringify(k)}\t${files.textOf(k)}`);
  for (const id of tasks.keys())
    checked(`t\t${JSON.stringify(id)}\t${tasks.keyOf(id)}\t${tasks.marksOf(id)}\t${tasks.textOf(id)}`);
  const body = Buffer.from(lines.length > 0 ? `${lines.join('\n')}\n` : '');
  const digest = bodyDigest(body);
  const head = `${JSON.stringify({ format, version: STATE_VERSION, writtenAt, journal, root, digest })}\n`;
  const text = Buffer.concat([Buffer.from(head), body]);
  await writeFileAtomic(file, text);
  files.markSaved();
  tasks.markSaved();
  // A crash here leaves the old journal, of another id: ignored, the new base alone is the state.
  const journalBytes = await startJournal(stateJournalFile(file), journal);
  saved.set(data, { baseBytes: text.length, journalBytes, torn: false });
}
