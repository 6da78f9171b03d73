/**
 * What `pipe watch` watches: exactly the inputs of the target's graph — the pipeline and config
 * files, the data files tasks read, the sources of the steps they run (the code-hash closure) and
 * of the kernels those steps use — and never the graph's own outputs, the workspace's .pipe/
 * folder, the cache, or editor swap files. Watching happens per directory (one watch per folder
 * that holds an input), so new files matching a glob input and re-created files are seen.
 */
import { type Dirent, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { codeHash } from '../fingerprint/code-hash.js';
import { absolutePattern, splitGlob } from '../graph/items.js';
import type { Pipeline, Task } from '../model/types.js';

/** Why a file is watched; decides what a change to it sets off. */
export type WatchKind = 'pipeline' | 'config' | 'data' | 'step' | 'kernel' | 'product';

/** The part of a kernel a source file belongs to (decides what is recompiled). */
export interface KernelPart {
  kernel: string;
  part: 'reference' | 'assembly' | 'native';
}

/** The source files of one kernel, absolute (what `kernelSourceFiles` of @pipe/kernels returns). */
export interface KernelSources {
  name: string;
  reference: string[];
  assembly: string[];
  native: string[];
}

export interface WatchSet {
  /** Watched files (absolute) and why. */
  files: Map<string, WatchKind>;
  /** Kernel source files → the kernels (and parts) they belong to; shared helpers map to several. */
  kernelFiles: Map<string, KernelPart[]>;
  /** Directories to watch (each existing; a missing input's nearest existing ancestor stands in). */
  dirs: Set<string>;
  /** Directories between a watched ancestor and a missing input: their creation is a change. */
  missingDirs: Set<string>;
  /**
   * Glob inputs and foreach globs: a new file matching one is a change. `deep`: the pattern reaches below its base's
   * own files (a `**` segment, or a wildcard folder before the last segment), so every folder under the base is watched, and a new one is a change.
   */
  globs: Array<{ base: string; deep?: boolean; match: (absolute: string) => boolean }>;
  /** Roots whose contents are never inputs (.pipe/, the cache, outputs' folders are filtered by file). */
  excluded: string[];
  /**
   * The graph's outputs: not inputs (their writes change nothing), but one deleted is restored, as `pipe build`
   * restores it (from the cache). Only their disappearance counts.
   */
  products: Set<string>;
}

export interface WatchSetOptions {
  pipeline: Pipeline;
  /** The tasks of the graph (expanded as far as is known). */
  tasks: Iterable<Task>;
  /** Targets in the graph (their step sources are watched). */
  targets: Iterable<string>;
  /** Sources of the kernels the graph's steps use. */
  kernels: KernelSources[];
  /** Folders that hold pipe's own state (`.pipe/`, the cache directory). */
  excluded: string[];
}

/** Editor temp and swap files (vim .swp/.swx/~/4913, emacs .#x/#x#, JetBrains ___jb_*, generic .tmp). */
const SWAP_FILE = /(^\.#|^#.*#$|~$|\.sw[a-p]$|\.swx$|^4913$|___jb_\w+___$|\.tmp$|\.crswap$)/;

export function isSwapFile(file: string): boolean {
  return SWAP_FILE.test(path.basename(file));
}

function within(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** A glob of the watch set: its fixed folder, whether it reaches below it, and which files it takes. */
function watchedGlob(pattern: string, takes: (absolute: string) => boolean): WatchSet['globs'][number] {
  const { base, rest } = splitGlob(pattern);
  const matcher = picomatch(pattern, { dot: false });
  return { base, deep: rest.includes('/'), match: (f) => takes(f) && !isSwapFile(f) && matcher(f) };
}

/** Compute the watch set of a pipeline's graph. */
export function computeWatchSet(options: WatchSetOptions): WatchSet {
  const { pipeline } = options;
  const excluded = options.excluded.map((d) => path.resolve(d));
  const files = new Map<string, WatchKind>();
  const kernelFiles = new Map<string, KernelPart[]>();
  const globs: WatchSet['globs'] = [];
  const outputs = new Set<string>();
  const isExcluded = (f: string) => outputs.has(f) || excluded.some((root) => within(f, root));
  const add = (file: string, kind: WatchKind) => {
    const abs = path.resolve(pipeline.root, file);
    if (isExcluded(abs) || isSwapFile(abs)) return;
    // The stronger reason wins: a pipeline file read as data is still a pipeline file.
    if (!files.has(abs) || kind !== 'data') files.set(abs, kind);
  };

  const tasks = [...options.tasks];
  for (const task of tasks) for (const out of Object.values(task.outputs)) outputs.add(path.resolve(out));

  for (const file of pipeline.sourceFiles) add(file, 'pipeline');
  // A new file matching an include glob adds targets (or clashes with one).
  for (const glob of pipeline.includeGlobs ?? []) {
    globs.push(watchedGlob(glob, () => true));
  }
  if (pipeline.config) add(pipeline.config.file, 'config');

  for (const task of tasks) {
    for (const list of Object.values(task.inputs))
      for (const input of list) if (!input.producer) add(input.path, 'data');
    for (const file of task.item?.files ?? []) add(file, 'data');
  }

  const targetNames = [...options.targets];
  const stepModules = new Set<string>();
  for (const name of targetNames) {
    const target = pipeline.targets.get(name);
    if (!target) continue;
    if (target.stepModule) stepModules.add(target.stepModule);
    // New files matching a glob input or a foreach glob change the graph.
    const patterns = Object.values(target.inputs)
      .flat()
      .flatMap((spec) => (spec.kind === 'file' ? [spec.pattern] : []));
    if (target.foreach?.kind === 'glob') patterns.push(target.foreach.pattern);
    for (const pattern of patterns) {
      const abs = absolutePattern(pipeline.root, pattern.replaceAll('{item}', '*'));
      // A fixed input (perhaps missing: its coming is the fix) is watched as a file.
      if (!isDynamicPattern(abs)) {
        add(abs, 'data');
        continue;
      }
      const glob = watchedGlob(abs, (f) => !outputs.has(f));
      if (!isExcluded(glob.base)) globs.push(glob);
    }
  }
  for (const module of stepModules) for (const file of codeHash(module).files) add(file, 'step');

  for (const kernel of options.kernels) {
    for (const part of ['reference', 'assembly', 'native'] as const) {
      for (const file of kernel[part]) {
        add(file, 'kernel');
        const abs = path.resolve(file);
        const parts = kernelFiles.get(abs) ?? [];
        if (!parts.some((p) => p.kernel === kernel.name && p.part === part))
          parts.push({ kernel: kernel.name, part });
        kernelFiles.set(abs, parts);
      }
    }
  }

  return reanchor({
    files,
    kernelFiles,
    dirs: new Set(),
    missingDirs: new Set(),
    globs,
    excluded,
    products: outputs,
  });
}

/**
 * The folders to watch for a set's files and globs, as the file system is now: each input's folder,
 * or for a missing one its nearest existing ancestor (and the missing folders between, whose
 * creation is a change). Called again when inputs disappear while the pipeline cannot be reloaded.
 */
export function reanchor(set: WatchSet): WatchSet {
  const dirs = new Set<string>();
  const missingDirs = new Set<string>();
  const watchDir = (dir: string) => {
    let current = dir;
    while (!existsSync(current) && path.dirname(current) !== current) {
      missingDirs.add(current);
      current = path.dirname(current);
    }
    dirs.add(current);
  };
  for (const file of set.files.keys()) watchDir(path.dirname(file));
  for (const glob of set.globs) {
    watchDir(glob.base);
    if (glob.deep) for (const dir of foldersBelow(glob.base, set.excluded)) dirs.add(dir);
  }
  for (const file of set.products) watchDir(path.dirname(file));
  return { ...set, dirs, missingDirs };
}

/** Most folders watched below one glob's base (a deeper tree is watched as far as that; a rescan finds the rest). */
const MAX_FOLDERS_BELOW = 10_000;

/**
 * The folders below `base` (not itself), as a deep glob may match files in any of them: not hidden ones (globs match
 * with dot: false), not pipe's own, and without following symbolic links (which may loop).
 */
function foldersBelow(base: string, excluded: readonly string[]): string[] {
  const found: string[] = [];
  const queue = [base];
  while (queue.length > 0 && found.length < MAX_FOLDERS_BELOW) {
    const dir = queue.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // gone or unreadable: nothing below to watch
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const sub = path.join(dir, entry.name);
      if (excluded.some((root) => within(sub, root))) continue;
      found.push(sub);
      queue.push(sub);
    }
  }
  return found;
}

/** Whether a path reported by the file watcher is one of the watch set's inputs (or may become one). */
export function isWatchedPath(set: WatchSet, file: string): boolean {
  if (set.files.has(file) || set.dirs.has(file) || set.missingDirs.has(file) || set.products.has(file))
    return true;
  if (isSwapFile(file) || set.excluded.some((root) => within(file, root))) return false;
  if (set.globs.some((g) => within(file, g.base) && g.match(file))) return true;
  // A new folder under a deep glob's base may come to hold matches: its creation is a change (the next watch set
  // watches it).
  return (
    set.globs.some((g) => g.deep && within(file, g.base)) &&
    !path.basename(file).startsWith('.') &&
    statSync(file, { throwIfNoEntry: false })?.isDirectory() === true
  );
}

/** The kind of a changed path: its watch kind, 'data' for a new glob match or a re-created folder. */
export function kindOf(set: WatchSet, file: string): WatchKind {
  return set.files.get(file) ?? (set.products.has(file) ? 'product' : 'data');
}

/** Both sets' inputs in one (the first's kinds win), its folders anchored anew: see reanchor. */
export function mergeWatchSets(a: WatchSet, b: WatchSet): WatchSet {
  const files = new Map([...b.files, ...a.files]);
  const kernelFiles = new Map([...b.kernelFiles, ...a.kernelFiles]);
  return reanchor({
    files,
    kernelFiles,
    dirs: new Set(),
    missingDirs: new Set(),
    globs: [...a.globs, ...b.globs],
    excluded: a.excluded,
    products: new Set([...a.products, ...b.products]),
  });
}

/** Per set: each folder above a product → the products below it; each folder above an input. */
const folderIndex = new WeakMap<WatchSet, { products: Map<string, string[]>; inputs: Set<string> }>();

function ancestors(file: string, root: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); dir !== root && within(dir, root); dir = path.dirname(dir))
    out.push(dir);
  return out;
}

/**
 * The products below `dir` when it holds products and no input (a products folder deleted whole, or re-created by
 * a build): only their disappearance counts there. Undefined for any other folder or path. Indexed once per set.
 */
export function productsOnlyUnder(set: WatchSet, dir: string): string[] | undefined {
  let index = folderIndex.get(set);
  if (!index) {
    const root = path.parse(dir).root;
    index = { products: new Map(), inputs: new Set() };
    for (const p of set.products)
      for (const d of ancestors(p, root)) {
        const list = index.products.get(d);
        if (list) list.push(p);
        else index.products.set(d, [p]);
      }
    for (const f of set.files.keys()) for (const d of ancestors(f, root)) index.inputs.add(d);
    for (const g of set.globs) for (const d of [g.base, ...ancestors(g.base, root)]) index.inputs.add(d);
    folderIndex.set(set, index);
  }
  const products = index.products.get(dir);
  if (!products || index.inputs.has(dir) || set.globs.some((g) => within(dir, g.base))) return undefined;
  return products;
}
