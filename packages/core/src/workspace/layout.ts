/**
 * Where pipe keeps its own state inside a workspace (`<root>/.pipe/`):
 *
 *   .pipe/state.json           hash memo + last build's record per task (state/state-file.ts)
 *   .pipe/state.journal        the changes since state.json was written, one line per save (state/state-journal.ts)
 *   .pipe/builds/<id>.json     one record per build (builds/records.ts)
 *   .pipe/logs/<id>/<task>.log task logs
 *   .pipe/tmp/run/...          outputs being written (one fixed name per task output), moved into place on success
 *   .pipe/cache/               the local cache (cas/, ac/) unless --cache-dir / PIPE_CACHE_DIR
 *   .pipe/lock                 the build lock (workspace/lock.ts)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface WorkspaceLayout {
  root: string;
  dir: string;
  stateFile: string;
  buildsDir: string;
  logsDir: string;
  tmpDir: string;
  lockFile: string;
  cacheDir: string;
}

/** The layout of `root`; `cacheDir` overrides the default `.pipe/cache` (e.g. from PIPE_CACHE_DIR). */
export function workspaceLayout(root: string, cacheDir?: string): WorkspaceLayout {
  const dir = path.join(root, '.pipe');
  return {
    root,
    dir,
    stateFile: path.join(dir, 'state.json'),
    buildsDir: path.join(dir, 'builds'),
    logsDir: path.join(dir, 'logs'),
    tmpDir: path.join(dir, 'tmp'),
    lockFile: path.join(dir, 'lock'),
    cacheDir: cacheDir ? path.resolve(root, cacheDir) : path.join(dir, 'cache'),
  };
}

/** A workspace-relative POSIX path (what enters keys and records), or the absolute path when outside. */
export function relPath(root: string, abs: string): string {
  // Fast path (called for every input of every task): a path below the root, already normalised.
  if (
    abs.length > root.length + 1 &&
    abs.charCodeAt(root.length) === 47 &&
    abs.startsWith(root) &&
    path.sep === '/' &&
    !abs.includes('/.')
  ) {
    return abs.slice(root.length + 1);
  }
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return abs.split(path.sep).join('/');
  return rel.split(path.sep).join('/');
}

/** `p` if it exists, else its nearest ancestor that does: a file there is in the way of a folder at `p`. */
export function nearestExisting(p: string): string {
  let existing = p;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  return existing;
}

/** A task id made safe as one file name (`reduce[23523]` → `reduce[23523]`, slashes replaced). */
export function taskFileName(taskId: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must not reach a file name
  return taskId.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').slice(0, 200);
}
