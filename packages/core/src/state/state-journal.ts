/**
 * `.pipe/state.journal`: what changed in the state since its base (`state.json`) was written, so that a
 * build that changed a few tasks appends a few records instead of rewriting every task's.
 *
 *   pipe-state-journal 1 <journal id>                     first line: signature, version, and the id of
 *                                                          the base it extends (the base's `journal`)
 *   {"w":<ms>,"t":{"<id>":TaskRecord|null},"f":{"<path>":MemoEntry|null}}   one line per save (a batch)
 *
 * A batch is applied whole or not at all: only lines ended by a newline that parse are replayed, and
 * replay stops at the first that is not (a crash while appending leaves a torn tail: it is ignored, and
 * the next save rewrites the journal instead of appending after it). A journal of another base (a crash
 * between the base's rename and the journal's) or of another version is ignored in full: the base alone
 * is then the state. Appends are fsync'd; the header is written atomically (temp + fsync + rename).
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../workspace/atomic.js';
import type { RecordTable } from './record-table.js';
import type { MemoEntry, TaskRecord } from './state-file.js';

export const JOURNAL_SIGNATURE = 'pipe-state-journal';
export const JOURNAL_VERSION = 1;
/** Name of the journal, next to the state file. */
export const STATE_JOURNAL_FILE = 'state.journal';

/** One save's changes: records and memo entries set (null: removed), and the save's time. */
export interface JournalBatch {
  w: number;
  t?: Record<string, TaskRecord | null>;
  f?: Record<string, MemoEntry | null>;
}

/** The journal of the state file `stateFile`. */
export function stateJournalFile(stateFile: string): string {
  return path.join(path.dirname(stateFile), STATE_JOURNAL_FILE);
}

function headerLine(id: string): string {
  return `${JOURNAL_SIGNATURE} ${JOURNAL_VERSION} ${id}\n`;
}

export interface JournalReplay {
  /** Batches applied. */
  batches: number;
  /** Length in bytes of the journal's whole part (header and applied batches): appends go after it. */
  validBytes: number;
  /** Whether bytes follow the whole part (a torn or unreadable tail). */
  torn: boolean;
}

/**
 * Apply the journal of base `id` to `tasks` and `files` (in place); undefined when there is no journal
 * of that base (missing, foreign, another version or another base).
 */
export function replayJournal(
  file: string,
  id: string,
  tasks: RecordTable<TaskRecord>,
  files: RecordTable<MemoEntry>,
): (JournalReplay & { writtenAt?: number }) | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const header = headerLine(id);
  if (bytes.length < header.length || bytes.toString('latin1', 0, header.length) !== header) return undefined;
  let at = header.length;
  let batches = 0;
  let writtenAt: number | undefined;
  while (at < bytes.length) {
    const nl = bytes.indexOf(10, at);
    if (nl < 0) break; // torn: no newline yet
    let batch: JournalBatch;
    try {
      batch = JSON.parse(bytes.toString('utf8', at, nl)) as JournalBatch;
    } catch {
      break;
    }
    if (!batch || typeof batch !== 'object' || typeof batch.w !== 'number') break;
    if (batch.t) for (const k in batch.t) tasks.restore(k, batch.t[k]!);
    if (batch.f) for (const k in batch.f) files.restore(k, batch.f[k]!);
    writtenAt = batch.w;
    batches++;
    at = nl + 1;
  }
  return {
    batches,
    validBytes: at,
    torn: at < bytes.length,
    ...(writtenAt !== undefined ? { writtenAt } : {}),
  };
}

/** Start the journal of base `id` (atomically), with `batch` as its first line when given. Returns its length. */
export async function startJournal(file: string, id: string, batch?: string): Promise<number> {
  const text = headerLine(id) + (batch ?? '');
  await writeFileAtomic(file, text);
  return Buffer.byteLength(text);
}

/**
 * Append one batch line (ending in a newline) and fsync it, if the journal still is exactly `expectBytes`
 * long (else something else wrote it, or a torn tail is there: the caller rewrites instead). Returns the
 * new length, or undefined when it did not append.
 */
export function appendBatch(file: string, expectBytes: number, line: string): number | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st || st.size !== expectBytes) return undefined;
  const data = Buffer.from(line);
  const fd = openSync(file, 'a');
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return expectBytes + data.length;
}
