/**
 * Content hashes of raw input files, memoised by (path, size, mtime ns, inode, ctime ns).
 *
 * Racily clean files: a file modified in the same timestamp tick as it was hashed could change
 * again without its stamp changing. So an entry is only remembered when the file's mtime is more
 * than RACY_GRANULARITY_MS older than the moment hashing began (and so older than the state file's
 * write time by at least that much); a racily clean file is simply re-hashed by every build until it
 * has aged past the window.
 */
import { type Stats, statSync } from 'node:fs';
import { xxh64FileSync } from '../fingerprint/file-hash.js';
import type { RecordTable } from './record-table.js';
import type { MemoEntry } from './state-file.js';

/** Larger than the coarse kernel clock tick of common file systems (ext4, xfs, btrfs: ≤ 10 ms). */
export const RACY_GRANULARITY_MS = 100;

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ino: number;
}

/** Whether a file's stamp now (`undefined`: nothing there) is the one recorded: same size, mtime and inode. */
export function sameFileStamp(now: FileStamp | undefined, recorded: FileStamp): boolean {
  return (
    now !== undefined &&
    now.size === recorded.size &&
    now.mtimeNs === recorded.mtimeNs &&
    now.ino === recorded.ino
  );
}

/** A stat as remembered: kind ('f' file, 'd' folder, '' other or nothing there), size, mtime, inode, ctime. */
export type SeenStat = [kind: 'f' | 'd' | '', size: number, mtimeMs: number, ino: number, ctimeMs: number];

/** The stats statIfThere took in this process, by path, while rememberStats is on. */
let seen: Map<string, SeenStat> | undefined;

/**
 * Remember from now on what every statIfThere finds (a fresh memory each call). The CLI's no-op snapshot takes a
 * file's stamp from the plan's own stat instead of stating every file again (10^5 files: seconds). A stamp
 * older than the file's present one can only make the next check decline, never vouch for a change.
 */
export function rememberStats(): void {
  seen = new Map();
}

/** The last stat statIfThere took of `file` since rememberStats, if any. */
export function seenStat(file: string): SeenStat | undefined {
  return seen?.get(file);
}

/**
 * Errors of stat that mean no usable file is there: below a file (ENOTDIR: `build/x.txt` once `build` is a file),
 * a loop of symbolic links, a folder on the way that may not be searched.
 */
const UNUSABLE = new Set(['ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG']);

/**
 * Stat a path, undefined when nothing usable is there: missing, below a file, a symlink loop, not searchable —
 * as missing to a plan as to a build (the planner says which, through whyMissing).
 */
export function statIfThere(file: string): Stats | undefined {
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    if (!UNUSABLE.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  if (seen)
    seen.set(
      file,
      st
        ? [st.isFile() ? 'f' : st.isDirectory() ? 'd' : '', st.size, st.mtimeMs, st.ino, st.ctimeMs]
        : ['', 0, 0, 0, 0],
    );
  return st;
}

/** Stat a file (undefined when missing or not a regular file). */
export function stampOf(file: string): FileStamp | undefined {
  const st = statIfThere(file);
  if (!st?.isFile()) return undefined;
  return { size: st.size, mtimeNs: nsOf(st.mtimeMs), ino: st.ino };
}

/**
 * A stat time (mtime, ctime) in ns from the float ms of a plain stat (sub-µs resolution at today's epoch). BigInt stats
 * would be exact but cost several times more per file; the racy-clean rule covers what rounding hides.
 */
export function nsOf(ms: number): string {
  return String(Math.round(ms * 1e6));
}

export class HashMemo {
  /** Number of files actually read and hashed (for tests and benchmarks). */
  hashed = 0;
  dirty = false;

  /** The stamp each file had when this process hashed it (or found its hash memoised), as stampKey gives it. */
  private readonly hashedAt = new Map<string, string>();

  /** `entries` is the memo of the state file; it is updated in place. */
  constructor(private readonly entries: RecordTable<MemoEntry>) {}

  /** XXH64 of a file's content, or undefined when it does not exist or cannot be read. */
  hash(file: string): string | undefined {
    const st = statIfThere(file);
    if (!st?.isFile()) return undefined;
    const size = st.size;
    const mtimeNs = nsOf(st.mtimeMs);
    const ino = st.ino;
    const ctimeNs = nsOf(st.ctimeMs);
    this.hashedAt.set(file, stampKey(st));
    const entry = this.entries.get(file);
    if (entry && entry[0] === size && entry[1] === mtimeNs && entry[2] === ino && entry[4] === ctimeNs) {
      return entry[3];
    }
    const started = Date.now();
    let hash: string;
    try {
      hash = xxh64FileSync(file);
    } catch {
      return undefined; // unreadable (permissions, I/O error) or gone since the stat: the task cannot use it
    }
    this.hashed++;
    if (started - st.mtimeMs > RACY_GRANULARITY_MS) {
      this.entries.set(file, [size, mtimeNs, ino, hash, ctimeNs]);
      this.dirty = true;
    } else if (entry) {
      this.entries.delete(file);
      this.dirty = true;
    }
    return hash;
  }

  /**
   * Whether `file` is no longer what it was when this process hashed it (other stamp, or gone). An editor saving
   * an input while a task that reads it runs: the task's key names the old bytes, its outputs may come from the
   * new ones. False for a file not hashed here.
   */
  changedSinceHashed(file: string): boolean {
    const before = this.hashedAt.get(file);
    if (before === undefined) return false;
    let st: Stats | undefined;
    try {
      st = statSync(file, { throwIfNoEntry: false });
    } catch {
      return true; // its folder became a file, or unreadable: not what was hashed
    }
    return !st?.isFile() || stampKey(st) !== before;
  }
}

/**
 * Size, mtime and inode: what a write changes. Not ctime, which a hard link to the file (`ln in.txt {outputs.o}`),
 * a chmod or a backup tool's xattr also changes, without changing a byte.
 */
function stampKey(st: { size: number; mtimeMs: number; ino: number }): string {
  return `${st.size}/${nsOf(st.mtimeMs)}/${st.ino}`;
}
