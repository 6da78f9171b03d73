/** `pipe build --out DIR`: copy the requested targets' outputs out of the workspace, atomically. */
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Task } from '../model/types.js';
import { relPath } from '../workspace/layout.js';

/**
 * Copy every output of the tasks of `targets` to `outDir`, named by their paths below the folder they all share
 * (so `products/excess_map/counts.fits.gz` lands as `DIR/counts.fits.gz`; outputs in several folders keep the
 * folders below the common one). Each file is copied to a temporary name in its destination directory and
 * renamed. Returns the copies.
 */
export async function exportOutputs(
  root: string,
  tasks: Iterable<Task>,
  targets: string[],
  outDir: string,
): Promise<string[]> {
  const wanted = new Set(targets);
  const sources: string[] = [];
  for (const task of tasks) if (wanted.has(task.target)) sources.push(...Object.values(task.outputs));
  const rel = sources.map((src) => relPath(root, src));
  const base = commonFolder(rel);
  // All files are copied beside their destinations first, then renamed into place: a copy that fails (a full
  // disk, a folder not writable) replaces nothing, so the folder never holds products of two builds.
  const staged: Array<[tmp: string, dest: string]> = [];
  try {
    for (const [i, src] of sources.entries()) {
      const dest = path.join(outDir, path.posix.relative(base, rel[i]!));
      await mkdir(path.dirname(dest), { recursive: true });
      if ((await stat(dest).catch(() => undefined))?.isDirectory())
        throw Object.assign(new Error(`${dest} is a folder`), { code: 'EISDIR', path: dest });
      const tmp = `${dest}.pipe-tmp-${process.pid}`;
      staged.push([tmp, dest]);
      await copyFile(src, tmp);
    }
    for (let i = 0; i < staged.length; i++) {
      await rename(staged[i]![0], staged[i]![1]);
      staged[i]![0] = '';
    }
  } catch (error) {
    await Promise.all(staged.map(([tmp]) => (tmp ? rm(tmp, { force: true }) : undefined)));
    // How many files were already replaced when it failed (0 unless a rename failed after the copies).
    throw Object.assign(error as Error, { replaced: staged.filter(([tmp]) => tmp === '').length });
  }
  return staged.map(([, dest]) => dest);
}

/** The deepest folder (workspace-relative, '/'-separated) holding every path; '' when they share none. */
export function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return '';
  let parts = path.posix.dirname(paths[0]!).split('/');
  for (const p of paths.slice(1)) {
    const other = path.posix.dirname(p).split('/');
    let n = 0;
    while (n < parts.length && n < other.length && parts[n] === other[n]) n++;
    parts = parts.slice(0, n);
  }
  const folder = parts.join('/');
  return folder === '.' ? '' : folder;
}
