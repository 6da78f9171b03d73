/**
 * Atomic writes: temp file in the same directory, fsync, rename, fsync of the directory, so a
 * crash leaves either the old or the new content under the final name, never half of one.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs, makeDirsSync } from '@pipe/cache/make-dirs';

function tempName(file: string): string {
  return `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Write `data` to `file` atomically (creating parent directories). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await makeDirs(path.dirname(file));
  const tmp = tempName(file);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    // A full disk: the partial temp would stay for good, and hold the space it took.
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

/**
 * Replace `file` atomically (temp + rename) without fsync: for derived data (the pipeline cache, no-op snapshots), which a crash
 * may lose or leave empty, and whose reader then rebuilds it. An fsync here would wait for the writeback of
 * everything the build wrote before (hundreds of MB on a large build), on the path of a no-op rebuild.
 */
export async function replaceFile(file: string, data: string | Uint8Array): Promise<void> {
  await makeDirs(path.dirname(file));
  const tmp = tempName(file);
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Make a file replaceFile wrote durable, as writeFileAtomic would have: fsync it, then its folder (the rename). */
export async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(path.dirname(file));
}

/** Synchronous twin of writeFileAtomic, for exit paths where no event loop turn is left. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  makeDirsSync(path.dirname(file));
  const tmp = tempName(file);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** fsync a directory so a rename in it is durable; some file systems refuse, which is harmless. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EINVAL/EPERM on some file systems: the rename is atomic, only not yet durable.
  }
}
