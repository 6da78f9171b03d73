/**
 * The rest of a declined no-op check (fast-path/snapshot.ts): the check declines at the first changed task file,
 * and the stamps after it serve only the hint, which the full path needs once it has loaded the engine, the
 * pipeline and the state. Meanwhile the build's first step thread (core's early-thread.ts), booted by then and idle
 * until the first task runs, checks them on another core; the main thread, when it needs the hint, checks whatever
 * is left alongside it. Both take chunks of stamps from a shared cursor, so that neither ever waits for work the
 * other has not begun, and a thread that never started (or died, or waits for a core) only costs the main thread the
 * work it would have done anyway.
 *
 * Shared memory (SharedArrayBuffer): Int32 cursor (the next chunk to take), an Int32 per chunk (DONE once it is
 * checked to its end; what the cursor has passed and is not DONE, the thread has not finished or could not look at),
 * then a byte per stamp, set to 1 where the stamp differs now or is racily clean. Flags are only ever set (never
 * cleared), by whichever side checked the stamp: a stamp checked twice stays marked if either saw it differ.
 *
 * This module imports nothing but node:fs (and stamp-check.ts): the thread loads it by itself (`runStampJob`).
 */
import type { RawStat } from './raw-stat.js';
import { checkStamp, type SnapshotStamp } from './stamp-check.js';

/** Stamps per chunk taken from the cursor (about a millisecond of stat calls). */
export const STAMP_CHUNK = 512;

/** A chunk's state once checked to its end (0 until then). */
const DONE = 2;

/** What the thread is given (structured-cloned with the shared memory). */
export interface StampJobData {
  /** The stamps' list as the snapshot stores it. */
  text: string;
  from: number;
  /** The workspace root and a separator; relative stamps are stat'ed as they are when `inRoot`. */
  prefix: string;
  inRoot: boolean;
  racyMs: number;
  /** Stored paths exempt from the racy rule (the state file and its journal). */
  own: string[];
  shared: SharedArrayBuffer;
}

/** Where the stamps are stat'ed and how they are judged (as the no-op check does, see snapshot.ts). */
export interface StampWhere {
  prefix: string;
  inRoot: boolean;
  racyMs: number;
  own: ReadonlySet<string>;
}

interface Views {
  cursor: Int32Array;
  states: Int32Array;
  bad: Uint8Array;
  chunks: number;
}

function chunksOf(count: number, from: number): number {
  return Math.max(0, Math.ceil((count - from) / STAMP_CHUNK));
}

/** Shared memory for checking stamps from..count-1 of `count`. */
export function stampJobMemory(count: number, from: number): SharedArrayBuffer {
  const head = 4 * (1 + chunksOf(count, from));
  return new SharedArrayBuffer(head + count);
}

export function stampJobViews(shared: SharedArrayBuffer, count: number, from: number): Views {
  const chunks = chunksOf(count, from);
  return {
    cursor: new Int32Array(shared, 0, 1),
    states: new Int32Array(shared, 4, chunks),
    bad: new Uint8Array(shared, 4 * (1 + chunks), count),
    chunks,
  };
}

/** Check the stamps of chunk `c` into `bad` (throws as statSync does). */
function checkChunk(
  stamps: readonly SnapshotStamp[],
  from: number,
  c: number,
  bad: Uint8Array,
  where: StampWhere,
): void {
  const st: RawStat = { kind: '', size: 0, ino: 0, mtimeMs: 0, ctimeMs: 0 };
  const end = Math.min(stamps.length, from + (c + 1) * STAMP_CHUNK);
  for (let i = from + c * STAMP_CHUNK; i < end; i++) {
    const stamp = stamps[i]!;
    const p = stamp[0];
    // POSIX only (snapshot.ts hands no stamps over elsewhere): '/' begins an absolute path.
    const relative = p.charCodeAt(0) !== 47;
    const why = checkStamp(
      stamp,
      relative && !where.inRoot ? where.prefix + p : p,
      st,
      where.racyMs,
      where.own.has(p),
    );
    if (why === 'changed' || why === 'racy') bad[i] = 1;
  }
}

/** Take and check chunks until none is left (the thread's side): a chunk it cannot look at is not marked DONE. */
function takeChunks(stamps: readonly SnapshotStamp[], data: Omit<StampJobData, 'text'>): void {
  const v = stampJobViews(data.shared, stamps.length, data.from);
  const where = { ...data, own: new Set(data.own) };
  for (;;) {
    const c = Atomics.add(v.cursor, 0, 1);
    if (c >= v.chunks) return;
    try {
      checkChunk(stamps, data.from, c, v.bad, where);
      Atomics.store(v.states, c, DONE);
    } catch {
      // left to the main thread, which checks it again and throws as statSync does
    }
  }
}

/** The thread's entry (core's pool-worker.ts runs a job module's default export with its data). */
export default function runStampJob(data: StampJobData): void {
  let stamps: SnapshotStamp[];
  try {
    stamps = JSON.parse(data.text) as SnapshotStamp[];
  } catch {
    return; // nothing taken: the main thread checks every chunk
  }
  if (Array.isArray(stamps)) takeChunks(stamps, data);
}

/**
 * The main thread's side: take and check the chunks left, then check again itself any chunk the thread took and has
 * not finished (it may be waiting for a core: a chunk checked twice costs a millisecond, a wait for it could cost
 * more), or could not look at. Throws as statSync does for a stamp it cannot look at.
 */
export function finishStampJob(
  stamps: readonly SnapshotStamp[],
  shared: SharedArrayBuffer,
  from: number,
  where: StampWhere,
): void {
  const v = stampJobViews(shared, stamps.length, from);
  for (;;) {
    const c = Atomics.add(v.cursor, 0, 1);
    if (c >= v.chunks) break;
    checkChunk(stamps, from, c, v.bad, where);
    Atomics.store(v.states, c, DONE);
  }
  for (let c = 0; c < v.chunks; c++) {
    if (Atomics.load(v.states, c) === DONE) continue;
    checkChunk(stamps, from, c, v.bad, where);
    Atomics.store(v.states, c, DONE);
  }
}
