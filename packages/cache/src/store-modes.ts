/**
 * The permissions of what a local store creates, one policy for folders and files alike (README "Sharing a cache
 * on one file system"):
 * - by default the process's umask decides, as for any file the user makes (ccache's and sccache's default, Bazel's
 *   disk cache, git's core.sharedRepository=umask): folders 0o777, files 0o666 and blobs 0o444 (read-only:
 *   content-addressed, never changed in place), less the umask's bits;
 * - a store whose own folder is group-writable is shared by that group (`chgrp GROUP dir && chmod 2775 dir`, as a
 *   group's shared folder is set up; git's core.sharedRepository=group): what pipe creates in it is also readable
 *   and writable by the group (blobs readable) whatever the user's umask, so that a colleague whose umask is 022 does
 *   not leave fan-out folders (cas/ab/) the group cannot add to. The setgid bit, which the kernel passes to new
 *   folders, keeps them in the folder's group; pipe keeps it when it sets a folder's mode.
 * The owner keeps read and write (and search on folders) whatever the umask.
 */
import { statSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirs } from './make-dirs.js';

export interface StoreModes {
  /** Folders: cas/, cas/ab/, ac/, quarantine/. */
  dir: number;
  /** Files written whole or appended: manifests, store.json, the access log, pins, the usage hint, the lock. */
  file: number;
  /** Blobs: read-only for everyone who may read them. */
  blob: number;
  /** The store's folder is group-writable: the group gets what the owner gets. */
  groupShared: boolean;
  /** The modes give bits the umask takes from open() and mkdir(): what those create is chmod-ed after. */
  widened: boolean;
}

/** The modes of a store whose folder has mode `rootMode` (undefined: not made yet), for a process with `umask`. */
export function storeModes(rootMode: number | undefined, umask: number): StoreModes {
  const groupShared = rootMode !== undefined && (rootMode & 0o020) !== 0;
  const mask = (groupShared ? umask & ~0o070 : umask) & 0o077;
  return {
    dir: 0o777 & ~mask,
    file: 0o666 & ~mask,
    blob: 0o444 & ~mask,
    groupShared,
    widened: mask !== (umask & 0o777),
  };
}

/**
 * This process's umask. process.umask() without an argument sets it and back (DEP0139, deprecated in the
 * documentation only, for that race with other threads' file creation): asked once per store (StoreLayout.modes),
 * before it writes.
 */
export function processUmask(): number {
  return process.umask();
}

/** The store's modes, from its folder's mode now (statted once the folder exists; see StoreLayout.modes). */
export function modesOfStore(root: string): { modes: StoreModes; final: boolean } {
  const st = statSync(root, { throwIfNoEntry: false });
  return { modes: storeModes(st?.mode, processUmask()), final: st !== undefined };
}

/**
 * `mkdir -p dir` inside the store; when the modes are widened, each folder it created is given `modes.dir` (with
 * the setgid bit the kernel gave it from its parent).
 */
export async function makeStoreDir(dir: string, modes: StoreModes): Promise<void> {
  const first = await makeDirs(dir);
  if (first === undefined || !modes.widened) return;
  for (let d = dir; ; d = dirname(d)) {
    await giveDirMode(d, modes.dir);
    if (d === first || dirname(d) === d) break;
  }
}

async function giveDirMode(dir: string, mode: number): Promise<void> {
  try {
    const st = await stat(dir);
    const want = mode | (st.mode & 0o2000);
    if ((st.mode & 0o7777) !== want) await chmod(dir, want);
  } catch {
    // Made by another user meanwhile (theirs to set), or gone: a write into it says what is wrong.
  }
}

/** Give a file the store created `mode` when the umask took bits from it (a file another user owns is theirs). */
export async function giveFileMode(file: string, modes: StoreModes, mode: number): Promise<void> {
  if (!modes.widened) return;
  try {
    const st = await stat(file);
    if ((st.mode & 0o777) !== mode && st.uid === process.getuid?.()) await chmod(file, mode);
  } catch {
    // Gone, or not ours: nothing to give.
  }
}
