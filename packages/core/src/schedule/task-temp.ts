/**
 * Where a task writes its outputs before they are moved into place: flat names in one run folder (no folder to
 * make per task: on a journaling file system a mkdir costs about what a small task does), each
 * `<task>~<hash of the task>~<final name>`. So the temporary outputs of one task are siblings under their own names
 * with one prefix: a program that names a file after an output (x.bam → x.bam.bai, a shapefile's .shx beside its
 * .shp) writes the declared one, and what else it writes beside them carries the task's prefix, to be said and
 * removed when the task ends. The names are fixed by the task (no build id), so a program that writes its own output
 * path into the file makes the same bytes in every build. The run folder is cleared when a build starts and ends
 * (one build at a time holds the workspace lock, so names cannot clash).
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { relPath, taskFileName, type WorkspaceLayout } from '../workspace/layout.js';

export function runTempDir(layout: Pick<WorkspaceLayout, 'tmpDir'>): string {
  return path.join(layout.tmpDir, 'run');
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * `<task>~<hash>~`: the hash of the task id keeps apart what the readable part folds together (`each[a/b]` and
 * `each[a_b]` both read `each[a_b]`; long ids are cut).
 */
export function taskTempPrefix(taskId: string): string {
  return `${taskFileName(taskId).slice(0, 100)}~${digest(taskId)}~`;
}

/**
 * The temporary path of each output: the prefix and its final name (the name last: a step may look at its
 * extension). Two outputs of one name (in two folders) also get their output's hash, to stay apart.
 */
export function taskTempPaths(
  runTmp: string,
  taskId: string,
  outputs: Record<string, string>,
): Record<string, string> {
  const prefix = taskTempPrefix(taskId);
  const names = Object.values(outputs).map((f) => path.basename(f));
  const temps: Record<string, string> = {};
  for (const [name, final] of Object.entries(outputs)) {
    const base = path.basename(final).slice(-120);
    const shared = names.filter((n) => n === path.basename(final)).length > 1;
    temps[name] = path.join(runTmp, `${prefix}${shared ? `${digest(`${taskId}\0${name}`)}~` : ''}${base}`);
  }
  return temps;
}

/** The names in the run folder (none when it does not exist). */
export function runFolderNames(runTmp: string): string[] {
  try {
    return readdirSync(runTmp);
  } catch {
    return [];
  }
}

/**
 * What of a task is left in the run folder: its names in `names` (the folder read when the task's work ended), less
 * the temporary outputs its success moved into place (`published`, paths).
 */
export function taskLeftovers(
  names: readonly string[],
  taskId: string,
  published: Iterable<string> = [],
): string[] {
  const prefix = taskTempPrefix(taskId);
  const moved = new Set(Array.from(published, (p) => path.basename(p)));
  return names.filter((f) => f.startsWith(prefix) && !moved.has(f)).sort();
}

/**
 * Files in the run folder under no task's prefix: a program wrote them beside its output under a name of its own
 * (`dirname(out)/extra.txt`), so which task did is known only when no other task was running.
 */
export function unownedFiles(names: readonly string[]): string[] {
  return names.filter((f) => !OWNED.test(f)).sort();
}

/**
 * pipe's own names: the `~<hash>~` every task's temporary outputs carry (taskTempPrefix), and the `.pipe-tmp-…`
 * folder a Slurm job writes its outputs in (slurm/submission.ts tempOutputPath), which a job killed for its memory
 * leaves behind and was named as a file the task wrote.
 */
const OWNED = /~[0-9a-f]{16}~|^\.pipe-tmp-/;

/**
 * The warning for files a task wrote beside its outputs (the first five named): as workspace paths when its outputs
 * share one folder (the one the program meant them for). `leftovers` carry the task's prefix; `unowned` do not.
 */
export function undeclaredText(
  id: string,
  leftovers: string[],
  outputs: Record<string, string>,
  root: string,
  unowned: string[] = [],
): string {
  const prefix = taskTempPrefix(id);
  const folders = new Set(Object.values(outputs).map((f) => path.dirname(f)));
  const folder = folders.size === 1 ? relPath(root, [...folders][0]!) : undefined;
  const shown = [...leftovers.map((f) => f.slice(prefix.length)), ...unowned].map((name) =>
    folder && folder !== '.' ? `${folder}/${name}` : name,
  );
  const named = shown.slice(0, 5).map((f) => `'${f}'`);
  const more = shown.length > 5 ? ` and ${shown.length - 5} more files` : '';
  return `${id}: wrote ${named.join(', ')}${more} beside its outputs; not a declared output, so not kept (declare it under outputs: to keep it)`;
}

/** The warning for unowned files no task could be named for (several ran at once when they appeared). */
export function unownedText(unowned: string[]): string {
  const named = unowned.slice(0, 5).map((f) => `'${f}'`);
  const more = unowned.length > 5 ? ` and ${unowned.length - 5} more files` : '';
  return `a task wrote ${named.join(', ')}${more} beside its outputs while others ran (pipe -j 1 names it); not a declared output, so not kept (declare it under outputs: to keep it)`;
}
