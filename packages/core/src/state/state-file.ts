/**
 * `.pipe/state.json`: what the planner remembers between builds, in one file read once per build.
 *
 *   { "format": "pipe-state", "version": 1, "writtenAt": <ms since epoch>,
 *     "files": { "<abs path>": [size, "<mtime ns>", ino, "<xxh64>"] },     hash memo of raw inputs
 *     "tasks": { "<task id>": TaskRecord } }                              last build of each task
 *
 * An unknown format or version, or a file that does not parse, is discarded with a note and
 * rebuilt (every task then plans as "no previous build", and the cache restores what it can).
 * Written atomically (temp + fsync + rename), and only when something changed.
 */
import { readFileSync } from 'node:fs';
import type { TaskItem } from '../model/types.js';
import type { FingerprintRecord } from '../fingerprint/record.js';
import { writeFileAtomic } from '../workspace/atomic.js';

export const STATE_FORMAT = 'pipe-state';
export const STATE_VERSION = 1;

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
  fp: FingerprintRecord;
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
  if (d?.format !== STATE_FORMAT || typeof d.files !== 'object' || typeof d.tasks !== 'object' || !d.files || !d.tasks) {
    return { data: emptyState(), note: `${file}: not a pipe state file; discarded and rebuilt` };
  }
  if (d.version !== STATE_VERSION) {
    return { data: emptyState(), note: `${file}: state version ${String(d.version)} is not ${STATE_VERSION}; discarded and rebuilt` };
  }
  return { data: d as StateData };
}

export async function saveState(file: string, data: StateData): Promise<void> {
  data.writtenAt = Date.now();
  await writeFileAtomic(file, JSON.stringify(data));
}
