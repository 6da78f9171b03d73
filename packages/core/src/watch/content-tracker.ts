/**
 * Tells a content change from a mere write: editors and `touch` rewrite files without changing
 * their bytes, and an inotify event alone says nothing about content. Each watched file keeps its
 * stamp (size, mtime, inode) and, for files small enough to hash at once, its XXH64. A changed
 * stamp with an unchanged hash is "unchanged"; a large file without a known hash counts as changed
 * (the planner then hashes it and runs nothing if its bytes are the same).
 */
import { statSync } from 'node:fs';
import { xxh64FileSync } from '../fingerprint/file-hash.js';

/** Files up to this size are hashed when first seen, so that a touch can be recognised later. */
export const EAGER_HASH_LIMIT = 4 * 1024 * 1024;

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  hash?: string;
}

export type ContentVerdict = 'changed' | 'unchanged' | 'removed' | 'created';

function look(file: string): Seen | undefined {
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    const seen: Seen = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    if (st.size <= EAGER_HASH_LIMIT) seen.hash = xxh64FileSync(file);
    return seen;
  } catch {
    return undefined;
  }
}

/** Needs `loadXxhash()` to have resolved once (openSession does that). */
export class ContentTracker {
  private readonly seen = new Map<string, Seen | null>();

  /** Record the current content of files not seen yet (or all of `files` with `refresh`). */
  baseline(files: Iterable<string>, refresh = false): void {
    for (const file of files) if (refresh || !this.seen.has(file)) this.seen.set(file, look(file) ?? null);
  }

  /** Compare a file with what was last recorded, and record its new state. */
  check(file: string): ContentVerdict {
    const now = look(file);
    const verdict = this.compare(file, now);
    this.seen.set(file, now ?? null);
    return verdict;
  }

  /** Compare a file with what was last recorded, recording nothing. */
  peek(file: string): ContentVerdict {
    return this.compare(file, look(file));
  }

  private compare(file: string, now: Seen | undefined): ContentVerdict {
    const before = this.seen.get(file);
    if (!now) return before === null ? 'unchanged' : 'removed';
    if (!before) return 'created';
    // Hashes decide when both are known (a same-stamp rewrite within mtime granularity is still seen).
    if (before.hash !== undefined && now.hash !== undefined)
      return before.hash === now.hash ? 'unchanged' : 'changed';
    const sameStamp = before.size === now.size && before.mtimeMs === now.mtimeMs && before.ino === now.ino;
    return sameStamp ? 'unchanged' : 'changed';
  }

  /** Whether `file` has a record. */
  knows(file: string): boolean {
    return this.seen.has(file);
  }

  /** Forget files no longer watched. */
  retain(files: Set<string>): void {
    for (const file of this.seen.keys()) if (!files.has(file)) this.seen.delete(file);
  }
}
