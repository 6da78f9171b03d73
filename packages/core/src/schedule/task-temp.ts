/**
 * Where a task writes its outputs before they are moved into place: a folder of its own in the run folder, in which
 * each output has its workspace path. Cleared when a build starts and ends.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { taskFileName, type WorkspaceLayout } from '../workspace/layout.js';

/**
 * Where tasks write their outputs before they are moved into place: a folder of a fixed name, cleared when a build
 * starts and ends (one build at a time holds the workspace lock, so names cannot clash).
 */
export function runTempDir(layout: Pick<WorkspaceLayout, 'tmpDir'>): string {
  return path.join(layout.tmpDir, 'run');
}

/**
 * A task's own folder in the run folder, `<task>~<hash>`, in which each output has its workspace path: a program
 * that names a file after an output (x.bam → x.bam.bai, a shapefile's .shx beside its .shp) finds the declared one
 * there, and the names are fixed by the task (no build id), so a program that writes its own output path into the
 * file makes the same bytes in every build. The hash of the task id keeps apart what the readable part folds
 * together (`each[a/b]` and `each[a_b]` both read `each[a_b]`; long ids are cut).
 */
export function taskTempDir(runTmp: string, taskId: string): string {
  const digest = createHash('sha256').update(taskId).digest('hex').slice(0, 16);
  return path.join(runTmp, `${taskFileName(taskId).slice(0, 100)}~${digest}`);
}

/** The warning for files a task wrote beside its outputs (the first five named). */
export function undeclaredText(id: string, files: string[]): string {
  const named = files.slice(0, 5).map((f) => `'${f}'`);
  const more = files.length > 5 ? ` and ${files.length - 5} more files` : '';
  return `${id}: wrote ${named.join(', ')}${more} beside its outputs; not a declared output, so not kept (declare it under outputs: to keep it)`;
}

/** Files below `dir`, relative to it (posix); none when it is absent. */
export function filesBelow(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => !e.isDirectory())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
  } catch {
    return [];
  }
}
