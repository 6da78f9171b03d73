/** `pipe build --out DIR`: copy the requested targets' outputs out of the workspace, atomically. */
import { realpathSync } from 'node:fs';
import { copyFile, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs } from '@pipe/cache/make-dirs';
import { removeEmptiedFolders } from '../builds/retire.js';
import { templateItem } from '../graph/items.js';
import { rawInputReader } from '../graph/raw-inputs.js';
import type { Pipeline, Task } from '../model/types.js';
import { replaceFile } from '../workspace/atomic.js';
import { nearestExisting, relPath } from '../workspace/layout.js';

/** What a destination of `--out` is in the workspace (a raw input, the pipeline, a product), or undefined. */
export type ExportGuard = (realDest: string) => string | undefined;

/**
 * The workspace files a copy to `--out` must never replace: what the pipeline is read from (its files, the config,
 * step modules), the inputs of `tasks` (raw data the cache does not hold), any target's outputs (declared paths,
 * and `{item}` templates for items not expanded now: the workspace would no longer match its state), files a glob of
 * the pipeline would read (a foreach or input glob: the copy would become data), and pipe's own folder. Paths are compared with symbolic links resolved.
 */
export function exportGuard(pipeline: Pipeline, tasks: Iterable<Task>): ExportGuard {
  const files = new Map<string, string>();
  const add = (file: string, what: string) => {
    const real = realPathOf(file);
    if (!files.has(real)) files.set(real, what);
  };
  add(pipeline.file, 'the pipeline file');
  for (const file of pipeline.sourceFiles) add(file, 'a file the pipeline is read from');
  if (pipeline.config) add(pipeline.config.file, 'the config file');
  for (const target of pipeline.targets.values())
    if (target.stepModule) add(target.stepModule, `the step module of target '${target.name}'`);
  for (const task of tasks) {
    for (const [name, list] of Object.entries(task.inputs))
      for (const input of list)
        add(input.path, input.producer ? `an output of ${input.producer}` : `input '${name}' of ${task.id}`);
    for (const output of Object.values(task.outputs)) add(output, `an output of ${task.id}`);
  }
  const root = realPathOf(pipeline.root);
  const readsAsData = rawInputReader(pipeline);
  return (dest) => {
    if (inStateFolder(root, dest)) return "inside pipe's own folder (.pipe/)";
    const known = files.get(dest);
    if (known !== undefined) return known;
    const rel = path.relative(root, dest).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    for (const target of pipeline.targets.values())
      for (const template of Object.values(target.outputs))
        if (templateItem(template, rel) !== undefined) return `an output of target '${target.name}'`;
    // A file no task reads now, that a glob would take in: the next build would read the copy as data.
    const reader = readsAsData(rel);
    if (reader === undefined) return undefined;
    return reader.byGlob
      ? `a file ${reader.what} would read (its glob matches it)`
      : `a file ${reader.what} reads`;
  };
}

/** Whether `outDir` lies in the workspace's `.pipe/` folder (links resolved): known before any product's name. */
export function insideStateFolder(root: string, outDir: string): boolean {
  return inStateFolder(realPathOf(root), realPathOf(outDir));
}

/** `real` (links resolved) is the workspace's `.pipe/` folder or below it. */
function inStateFolder(realRoot: string, real: string): boolean {
  const stateDir = path.join(realRoot, '.pipe');
  return real === stateDir || real.startsWith(`${stateDir}${path.sep}`);
}

/** The path with its existing part's symbolic links resolved (a folder linked into the workspace is seen through). */
function realPathOf(p: string): string {
  const abs = path.resolve(p);
  const existing = nearestExisting(abs);
  return path.join(realpathSync(existing), path.relative(existing, abs));
}

/**
 * Copy every output of the tasks of `targets` to `outDir`, named by their paths below the folder they all share
 * (so `products/excess_map/counts.fits.gz` lands as `DIR/counts.fits.gz`; outputs in several folders keep the
 * folders below the common one). Each file is copied to a temporary name in its destination directory and
 * renamed. Returns the copies, and the files an earlier copy there made that this one does not (removed: see
 * EXPORT_LIST). A destination `guard` names (a raw input, the pipeline, another product, pipe's
 * `.pipe/` folder) fails the whole copy before anything is written (code EEXPORTCLASH); a product
 * whose destination is the product itself is left as it is.
 */
export async function exportOutputs(
  root: string,
  tasks: Iterable<Task>,
  targets: string[],
  outDir: string,
  guard: ExportGuard = () => undefined,
  /** The targets the pipeline declares now (a copy of one it no longer has may be removed by any later copy). */
  declared: ReadonlySet<string> = new Set(targets),
  /** Ctrl-C: stops the copies before any file is renamed into place (an 'ABORT_ERR'; nothing there replaced). */
  signal?: AbortSignal,
): Promise<{ copied: string[]; removed: string[] }> {
  tasks = [...tasks];
  const { sources, destOf, clash } = exportPlan(root, tasks, targets, outDir, guard);
  if (clash)
    throw Object.assign(new Error(clash.message), { code: 'EEXPORTCLASH', path: clash.path, replaced: 0 });
  // All files are copied beside their destinations first, then renamed into place: a copy that fails (a full
  // disk, a folder not writable) replaces nothing, so the folder never holds products of two builds.
  // The temp names are the cache's (host and pid in them): the partial copies of an export killed half-way (kill -9,
  // a second Ctrl-C) are removed by the next one, as a killed restore's are; nothing else looks in this folder.
  const { removeDeadTempsIn, tempPathFor } = await import('@pipe/cache');
  await removeDeadTempsIn(new Set(sources.map((src) => path.dirname(destOf(src))))).catch(() => 0);
  const staged: Array<[tmp: string, dest: string]> = [];
  try {
    for (const src of sources) {
      signal?.throwIfAborted();
      const dest = destOf(src);
      await makeDirs(path.dirname(dest));
      if ((await stat(dest).catch(() => undefined))?.isDirectory())
        throw Object.assign(new Error(`${dest} is a folder`), { code: 'EISDIR', path: dest });
      const tmp = tempPathFor(dest);
      staged.push([tmp, dest]);
      await copyFile(src, tmp);
    }
    // A signal during the last copy: still nothing in place.
    signal?.throwIfAborted();
    for (let i = 0; i < staged.length; i++) {
      await rename(staged[i]![0], staged[i]![1]);
      staged[i]![0] = '';
    }
  } catch (error) {
    await Promise.all(staged.map(([tmp]) => (tmp ? rm(tmp, { force: true }) : undefined)));
    // How many files were already replaced when it failed (0 unless a rename failed after the copies).
    throw Object.assign(error as Error, { replaced: staged.filter(([tmp]) => tmp === '').length });
  }
  const copied = staged.map(([, dest]) => dest);
  // Which target made each copy: a later copy removes only what a target it delivers (or one the pipeline no longer
  // has) put there, never another target's or another workspace's products.
  const targetOf = new Map<string, string>();
  const wanted = new Set(targets);
  for (const task of tasks)
    if (wanted.has(task.target))
      for (const src of Object.values(task.outputs)) targetOf.set(path.resolve(destOf(src)), task.target);
  const removed = await dropEarlierCopies(outDir, copied, guard, {
    workspace: realPathOf(root),
    targetOf,
    delivered: wanted,
    declared,
  });
  return { copied, removed };
}

/**
 * The list of what the last `--out` into a folder copied there, kept in that folder: the next copy removes what it
 * listed and this one does not make (a product a pipeline no longer declares), so the folder holds one build's
 * products, and a comparison with it (`pipe compare`) sees no product that was dropped. Files pipe did not put
 * there are never touched.
 */
export const EXPORT_LIST = '.pipe-out.json';

/** What the list says of one copy: who made it, and its size and mtime right after (a file edited since is kept). */
interface ListedCopy {
  workspace?: string;
  target?: string;
  size?: number;
  mtimeMs?: number;
}

/**
 * Removes the files an earlier copy into `outDir` listed that this copy does not make, that a target this build
 * delivers (or one the pipeline no longer declares) of this same workspace made, and that nobody changed since;
 * lists `copied` and the earlier copies it leaves.
 */
async function dropEarlierCopies(
  out: string,
  copied: string[],
  guard: ExportGuard,
  who: {
    workspace: string;
    targetOf: ReadonlyMap<string, string>;
    delivered: ReadonlySet<string>;
    declared: ReadonlySet<string>;
  },
): Promise<string[]> {
  // Nothing copied (--out names the products' own folder): no list there, and nothing to drop.
  if (copied.length === 0) return [];
  const outDir = path.resolve(out);
  const listFile = path.join(outDir, EXPORT_LIST);
  if (guard(realPathOf(listFile)) !== undefined) return [];
  const realOut = realPathOf(outDir);
  const relOf = (dest: string) => path.relative(outDir, path.resolve(dest)).split(path.sep).join('/');
  const now = new Map<string, ListedCopy>();
  for (const dest of copied) {
    const st = await stat(dest).catch(() => undefined);
    const target = who.targetOf.get(path.resolve(dest));
    now.set(relOf(dest), {
      workspace: who.workspace,
      ...(target ? { target } : {}),
      ...(st ? { size: st.size, mtimeMs: st.mtimeMs } : {}),
    });
  }
  const kept = new Map<string, ListedCopy>();
  const removed: string[] = [];
  for (const [rel, copy] of await earlierCopies(listFile)) {
    if (now.has(rel)) continue;
    const file = path.join(outDir, rel);
    const real = realPathOf(file);
    // Only a file still below the folder (a list edited by hand — `../x`, `x/..` — or a link may point elsewhere)
    // that nothing of the workspace guards.
    if (!real.startsWith(`${realOut}${path.sep}`) || guard(real) !== undefined) continue;
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    // Another workspace's copy, or another target's that this build does not deliver: theirs, left and listed.
    const ours =
      copy.workspace === undefined ||
      (copy.workspace === who.workspace &&
        (copy.target === undefined || who.delivered.has(copy.target) || !who.declared.has(copy.target)));
    // Changed since pipe copied it (the user's own edit, or a copy of something else): left, and no longer listed.
    const unchanged = copy.size === undefined || (st.size === copy.size && st.mtimeMs === copy.mtimeMs);
    if (!unchanged) continue;
    if (!ours) {
      kept.set(rel, copy);
      continue;
    }
    await rm(file, { force: true });
    removed.push(file);
    await removeEmptiedFolders(path.dirname(file), outDir);
  }
  const all = new Map([...kept, ...now]);
  await replaceFile(
    listFile,
    `${JSON.stringify(
      {
        format: 'pipe-out',
        version: 1,
        files: [...all.keys()].sort(),
        copies: Object.fromEntries([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      },
      null,
      1,
    )}\n`,
  );
  return removed;
}

/** The files an earlier copy listed, with what it said of each (none when there is no list, or one pipe cannot read). */
async function earlierCopies(listFile: string): Promise<Map<string, ListedCopy>> {
  try {
    const list = JSON.parse(await readFile(listFile, 'utf8')) as {
      format?: unknown;
      files?: unknown;
      copies?: Record<string, ListedCopy>;
    };
    if (list.format !== 'pipe-out' || !Array.isArray(list.files)) return new Map();
    const copies = list.copies && typeof list.copies === 'object' ? list.copies : {};
    return new Map(
      list.files
        .filter((f): f is string => typeof f === 'string' && f !== '')
        .map((f) => [f, typeof copies[f] === 'object' && copies[f] !== null ? copies[f] : {}]),
    );
  } catch {
    return new Map();
  }
}

/**
 * What `exportOutputs` would copy, and where: the sources, their destinations, and the first destination `guard`
 * refuses. `pipe build --out` asks it before building too, for the tasks known then (a fan-out's come later).
 */
export function exportPlan(
  root: string,
  tasks: Iterable<Task>,
  targets: string[],
  outDir: string,
  guard: ExportGuard = () => undefined,
): { sources: string[]; destOf: (src: string) => string; clash?: { message: string; path: string } } {
  const wanted = new Set(targets);
  const all: string[] = [];
  for (const task of tasks) if (wanted.has(task.target)) all.push(...Object.values(task.outputs));
  const base = commonFolder(all.map((src) => relPath(root, src)));
  const destOf = (src: string) => path.join(outDir, path.posix.relative(base, relPath(root, src)));
  // Compared with symbolic links resolved on both sides: `--out data` through a link is still data/.
  const realRoot = realPathOf(root);
  const sources: string[] = [];
  for (const src of all) {
    const dest = realPathOf(destOf(src));
    if (dest === realPathOf(src)) continue; // --out names the products' own folder: they are there already
    const what = guard(dest);
    if (what !== undefined)
      return {
        sources,
        destOf,
        clash: {
          message: `${relPath(root, src)} would replace ${shown(realRoot, dest)}, ${what}`,
          path: destOf(src),
        },
      };
    sources.push(src);
  }
  return { sources, destOf };
}

/** A path as messages show it: relative to the workspace when inside it. */
function shown(root: string, p: string): string {
  const rel = path.relative(root, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel.split(path.sep).join('/');
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
