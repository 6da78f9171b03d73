/** `pipe build --out DIR`: copy the requested targets' outputs out of the workspace, atomically. */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Task } from '../model/types.js';
import { relPath } from '../workspace/layout.js';

/**
 * Copy every output of the tasks of `targets` to `outDir`, keeping workspace-relative paths. Each
 * file is copied to a temporary name in its destination directory and renamed. Returns the copies.
 */
export async function exportOutputs(
  root: string,
  tasks: Iterable<Task>,
  targets: string[],
  outDir: string,
): Promise<string[]> {
  const wanted = new Set(targets);
  const copied: string[] = [];
  for (const task of tasks) {
    if (!wanted.has(task.target)) continue;
    for (const src of Object.values(task.outputs)) {
      const dest = path.join(outDir, relPath(root, src));
      await mkdir(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.pipe-tmp-${process.pid}`;
      await copyFile(src, tmp);
      await rename(tmp, dest);
      copied.push(dest);
    }
  }
  return copied;
}
