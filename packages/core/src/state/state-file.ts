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
 * Written atomically (temp + fsync + rename), and only when something changed.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FingerprintRecord } from '../fingerprint/record.js';
import type { TaskItem } from '../model/types.js';
import { writeFileAtomic } from '../workspace/atomic.js';
import { FingerprintLog } from './fingerprint-log.js';

export const STATE_FORMAT = 'pipe-state';
export const STATE_VERSION = 2;

/** size, mtime in ns (decimal string), inode, hash. */
export type MemoEntry = [number, string, number, string];

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
  buildId: string;
}

export interface StateData {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  writtenAt: number;
  files: Record<string, MemoEntry>;
  tasks: Record<string, TaskRecord>;
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
  loaded.data.fingerprints = new FingerprintLog(path.join(path.dirname(file), FINGERPRINTS_FILE));
  return loaded;
}

/** The state file's stat stamp (size, mtime, inode), '' when missing: tells whether another build has saved since. */
export function stateFileStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}:${st.ino}` : '';
}

/** Name of the fingerprint log, next to the state file. */
export const FINGERPRINTS_FILE = 'fingerprints.log';

function readState(file: string): LoadedState {
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
  return { data: d as StateData };
}

/** Write the state file (and append new fingerprint records to the log first: a key never lacks its record for long). */
export async function saveState(file: string, data: StateData): Promise<void> {
  data.writtenAt = Date.now();
  const log = data.fingerprints ?? new FingerprintLog(path.join(path.dirname(file), FINGERPRINTS_FILE));
  data.fingerprints = log;
  for (const [id, rec] of Object.entries(data.tasks)) {
    if (!rec.fp) continue;
    log.set(id, rec.key, rec.fp);
    delete rec.fp;
  }
  await log.save(data.tasks);
  const { format, version, writtenAt, files, tasks } = data;
  await writeFileAtomic(file, JSON.stringify({ format, version, writtenAt, files, tasks }));
}
