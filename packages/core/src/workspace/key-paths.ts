/**
 * How a file outside the workspace is named where names must not depend on the machine: in task keys and in the
 * items of cache manifests. Below the folder of a variable that starts an input path (Pipeline.pathRoots:
 * `$GAMMAPY_DATA/hess-dl3-dr1/...`) it is `$NAME/rest`, so machines keeping that folder elsewhere agree; any other
 * file outside the workspace keeps its absolute path.
 */
import path from 'node:path';
import { relPath } from './layout.js';

/** Pipeline.pathRoots as keyPath reads them: [NAME, folder], the longest folder first. */
export type KeyRoots = ReadonlyArray<readonly [string, string]>;

const keyRootsMemo = new WeakMap<object, KeyRoots>();

/** The pipeline's path roots, longest folder first (memoised per pipeline). */
export function keyRootsOf(pipeline: { pathRoots?: Record<string, string> }): KeyRoots {
  let roots = keyRootsMemo.get(pipeline);
  if (!roots) {
    roots = Object.entries(pipeline.pathRoots ?? {}).sort(
      (a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1),
    );
    keyRootsMemo.set(pipeline, roots);
  }
  return roots;
}

/**
 * A file's path as a task's key names it: relative to the workspace; outside it, below the folder of a variable that
 * starts an input path, as `$NAME/rest` (two machines keeping the data in other folders compute the same keys, as
 * their products are the same bytes), else absolute.
 */
export function keyPath(root: string, abs: string, roots: KeyRoots | undefined): string {
  const rel = relPath(root, abs);
  if (!roots || roots.length === 0 || !path.isAbsolute(rel)) return rel;
  for (const [name, dir] of roots)
    if (abs.startsWith(dir) && abs.charCodeAt(dir.length) === 47)
      return `$${name}/${abs
        .slice(dir.length + 1)
        .split(path.sep)
        .join('/')}`;
  return rel;
}

/** `$NAME/rest` back to a file of this machine, through `roots`; undefined when it is no such name or NAME is unknown. */
export function fromKeyPath(named: string, roots: KeyRoots | undefined): string | undefined {
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)\/(.+)$/.exec(named);
  if (!m) return undefined;
  const dir = roots?.find(([name]) => name === m[1])?.[1];
  return dir === undefined ? undefined : path.join(dir, ...m[2]!.split('/'));
}
