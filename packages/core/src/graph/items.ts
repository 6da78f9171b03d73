/**
 * The items a foreach target fans out over: a declared list, the files matching a glob (sorted; an
 * item's id is the path below the glob's fixed directory, without its extension), or the items an
 * upstream task emitted (dynamic, passed in by the caller).
 */
import path from 'node:path';
import { escapePath, globSync, isDynamicPattern } from 'tinyglobby';
import type { ForeachSpec, TaskItem } from '../model/types.js';

/** Compression suffixes stripped together with the extension before them (`x.fits.gz` → `x`). */
const COMPRESSION = new Set(['.gz', '.bz2', '.xz', '.zst', '.zip']);

/** Items of a static foreach (list or glob); undefined for `{items: T}` (see expandGraph). */
export function staticItems(foreach: ForeachSpec, root: string): TaskItem[] | undefined {
  if (foreach.kind === 'list') return foreach.items.map((id) => ({ id, files: [] }));
  if (foreach.kind === 'glob') return globItems(foreach.pattern, root);
  return undefined;
}

/** One item per file matching `pattern` (workspace-relative or absolute), sorted by path. */
export function globItems(pattern: string, root: string): TaskItem[] {
  const { base, rest } = splitGlob(path.resolve(root, pattern));
  const matches = globSync(rest, { cwd: base, onlyFiles: true, expandDirectories: false });
  matches.sort();
  return matches.map((rel) => ({ id: itemId(rel), files: [`${base}/${rel}`] }));
}

/** Files matching a path or glob, absolute and sorted. */
export function matchFiles(pattern: string, root: string): string[] {
  const absolute = path.resolve(root, pattern);
  if (!isDynamicPattern(pattern)) return [absolute];
  const { base, rest } = splitGlob(absolute);
  const matches = globSync(rest, { cwd: base, onlyFiles: true, expandDirectories: false });
  matches.sort();
  return matches.map((rel) => `${base}/${rel}`);
}

/** `/data/runs/**\/*.fits` → base `/data/runs`, rest `**\/*.fits`: the fixed directory and the glob below it. */
export function splitGlob(absolutePattern: string): { base: string; rest: string } {
  const segments = absolutePattern.split('/');
  const firstDynamic = segments.findIndex((s) => isDynamicPattern(s));
  if (firstDynamic < 0) {
    return { base: segments.slice(0, -1).join('/') || '/', rest: segments[segments.length - 1]! };
  }
  return {
    base: segments.slice(0, firstDynamic).join('/') || '/',
    rest: segments.slice(firstDynamic).join('/'),
  };
}

/** `obs/run_023523.fits.gz` → `obs/run_023523`; `a.b.txt` → `a.b`. */
export function itemId(relativePath: string): string {
  let id = relativePath;
  let ext = path.posix.extname(id);
  if (COMPRESSION.has(ext)) {
    id = id.slice(0, -ext.length);
    ext = path.posix.extname(id);
  }
  return ext && ext !== id ? id.slice(0, -ext.length) : id;
}

/**
 * Why an item id cannot name files, or undefined. An id is substituted into output (and input) paths as is: empty,
 * absolute, or with a `..` segment it would put a product outside its folder — over a raw input, or outside the
 * workspace.
 */
export function itemIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return 'an item id must be a non-empty string';
  if (id.includes('\0')) return `item id ${JSON.stringify(id)} contains a NUL character`;
  if (id.startsWith('/') || /^[A-Za-z]:/.test(id)) return `item id ${JSON.stringify(id)} is an absolute path`;
  const segments = id.split(/[\\/]/);
  if (segments.includes('..'))
    return `item id ${JSON.stringify(id)} has a '..' segment: its files would leave their folder`;
  // 'x/./y', 'x//y' and 'x/y/' name the file 'x/y' names: two tasks would write one output.
  if (segments.includes('.') || segments.includes(''))
    return `item id ${JSON.stringify(id)} has an empty or '.' segment: write it as ${JSON.stringify(segments.filter((s) => s !== '' && s !== '.').join('/'))}`;
  return undefined;
}

/**
 * The files an input pattern names for an item: a template without glob characters names one path (the id taken
 * literally, even if it holds brackets or stars); a glob template matches with the id's glob characters escaped.
 */
export function matchItemFiles(template: string, id: string, root: string): string[] {
  if (!isDynamicPattern(template)) return [path.resolve(root, template.replaceAll('{item}', id))];
  return matchFiles(template.replaceAll('{item}', escapePath(id)), root);
}

/** Whether a path is one of these output templates (`{item}` standing for any non-empty id). */
export function outputTemplateMatcher(templates: readonly string[]): (p: string) => boolean {
  const split = templates.map((t) => t.split('{item}'));
  return (p) =>
    split.some((parts) =>
      parts.length === 1
        ? p === parts[0]
        : p.startsWith(parts[0]!) && p.endsWith(parts[parts.length - 1]!) && p.length > parts[0]!.length,
    );
}
