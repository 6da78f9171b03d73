/**
 * Checking one snapshot stamp against its file now: shared by the no-op check (fast-path/snapshot.ts) and the
 * checking of a declined snapshot's other stamps for its hint (fast-path/stamp-job.ts), so that both decide alike.
 *
 * This module imports nothing but node:fs (and raw-stat.ts): it runs before anything heavy is loaded.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type RawStat, statInto } from './raw-stat.js';

/**
 * [path, kind, size (-1: missing), mtime ns, inode, ctime ns, sha256?]. The ctime catches a file rewritten in place
 * with its size and mtime restored (cp -p). The SHA-256 is kept only for an output whose stamp was racily clean
 * when written (its task record's hash): the check then re-hashes the file.
 */
export type SnapshotStamp = [string, 'f' | 'd', number, string, number, string, string?];

/** Index of the SHA-256 kept with a racily clean output's stamp (or STAMP_SETTLED). */
export const STAMP_SHA = 6;

/**
 * In place of the SHA-256: a racily clean output the writing build published and found unchanged, past the racy
 * window, when it took the stamp (fast-path/record.ts keepOutputHashes): its stamp alone vouches for it.
 */
export const STAMP_SETTLED = 'settled';

/**
 * Whether `ms` is the time `ns` (mtimeNs of it) names, without making a string per stamp: `ns` is the decimal of a
 * double, which reads back as that double exactly.
 */
export function sameNs(ms: number, ns: string): boolean {
  return Math.round(ms * 1e6) === Number(ns);
}

/** Chunk of the racily clean check's read: a multi-GB output is hashed in bounded memory. */
const SAME_BYTES_CHUNK = 4 << 20;

/** Whether the file's SHA-256 is `sha256` (a racily clean output: its bytes decide). node:crypto loads only then. */
export function sameBytes(file: string, sha256: string): boolean {
  let fd: number | undefined;
  try {
    const { createHash } = process.getBuiltinModule('node:crypto') as typeof import('node:crypto');
    const hash = createHash('sha256');
    fd = openSync(file, 'r');
    const chunk = Buffer.allocUnsafe(SAME_BYTES_CHUNK);
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
    return hash.digest('hex') === sha256;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * How a stamp's file is now: 'changed' (kind, size, inode, mtime or ctime differ, or it appeared or vanished),
 * 'racy' (unchanged, but modified at or after `racyMs` and without a kept hash its bytes still have), 'verified'
 * (racily clean, but its bytes are the kept hash's: `st.mtimeMs` says when it was written), or undefined (it holds).
 * `own`: pipe's own state file or journal, exempt from the racy rule (see snapshot.ts). `st` receives the stat.
 * Throws as statSync does for a path it cannot look at (below a file, no permission).
 */
export function checkStamp(
  stamp: SnapshotStamp,
  abs: string,
  st: RawStat,
  racyMs: number,
  own: boolean,
): 'changed' | 'racy' | 'verified' | undefined {
  const there = statInto(abs, st);
  const kind = stamp[1];
  if (!there || st.kind !== kind) return stamp[2] !== -1 ? 'changed' : undefined;
  if (
    stamp[2] === -1 ||
    (kind === 'f' && st.size !== stamp[2]) ||
    st.ino !== stamp[4] ||
    !sameNs(st.mtimeMs, stamp[3]) ||
    !sameNs(st.ctimeMs, stamp[5])
  )
    return 'changed';
  if (own || st.mtimeMs < racyMs || stamp[STAMP_SHA] === STAMP_SETTLED) return undefined;
  return stamp[STAMP_SHA] && sameBytes(abs, stamp[STAMP_SHA]) ? 'verified' : 'racy';
}
