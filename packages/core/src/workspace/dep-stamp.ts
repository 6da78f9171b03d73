/**
 * Stat stamps of the files a derived entry was read from (the pipeline cache, the kernels memo): the entry holds
 * while every stamp is unchanged, and is written only when none of them was modified within RACY_GRANULARITY_MS of
 * the moment reading began (racily clean: an edit in the same tick could go unseen).
 */
import { statSync } from 'node:fs';
import { nsOf, RACY_GRANULARITY_MS } from '../state/hash-memo.js';

/** [path, 'f' file | 'd' directory, size (-1: missing), mtime ns, inode, ctime ns]. */
export type DepStamp = [string, 'f' | 'd', number, string, number, string];

export function stampDep(p: string, kind: 'f' | 'd'): DepStamp {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p, { throwIfNoEntry: false });
  } catch {
    // A loop of symbolic links (ELOOP: a glob's match the loader warns about), a folder on the way that cannot be
    // searched (EACCES): nothing to read there, stamped as missing; whatever fixes it changes the stamp.
    st = undefined;
  }
  if (!st || (kind === 'f' ? !st.isFile() : !st.isDirectory())) return [p, kind, -1, '', 0, ''];
  return [p, kind, kind === 'd' ? 0 : st.size, nsOf(st.mtimeMs), st.ino, nsOf(st.ctimeMs)];
}

export function sameStamp(a: DepStamp, b: DepStamp): boolean {
  return a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5];
}

/** Whether `dep` is as stamped now. */
export function unchangedDep(dep: DepStamp): boolean {
  return sameStamp(dep, stampDep(dep[0], dep[1]));
}

/** Whether no stamped file was modified after `startedMs - RACY_GRANULARITY_MS` (then an entry may be written). */
export function racilyClean(deps: readonly DepStamp[], startedMs: number): boolean {
  const limitNs = (startedMs - RACY_GRANULARITY_MS) * 1e6;
  return deps.every((dep) => dep[2] < 0 || Number(dep[3]) < limitNs);
}
