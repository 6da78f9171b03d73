/**
 * Checks of the items a step emits and of item ids, apart from the glob helpers of items.ts: a worker thread checks
 * the items of every step that emits some (the observation selection, first in every fan-out build), and importing
 * items.ts there loaded picomatch and tinyglobby on that critical path (~10 ms in a fresh thread).
 */
import path from 'node:path';
import { canonicalJson } from '../fingerprint/canonical.js';
import type { TaskItem } from '../model/types.js';

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

/** The keys of an emitted item: `{id, files, data?}`. */
const ITEM_KEYS = new Set(['id', 'files', 'data']);

/**
 * Why the `items` a step returned cannot fan out, or undefined. They must be a list of `{id, files, data?}`: ids safe
 * in a path (itemIdProblem) and used once (two items with one id would be one task, the second item's data lost);
 * files a list of absolute paths (hashed as the inputs of the item's tasks: a relative one would hang on where pipe
 * was started); no other key (only `data` enters the keys of the item's tasks: a value elsewhere could change and
 * rerun nothing); and all of it plain JSON (items travel in cache manifests: NaN, Infinity or a function cannot).
 */
export function emittedItemsProblem(items: unknown): string | undefined {
  if (!Array.isArray(items))
    return `the step emitted items that are not a list (${describeValue(items)}): return {items: [{id, files, data?}, ...]}`;
  try {
    // canonicalJson refuses NaN, Infinity and functions; JSON, which manifests are written in, refuses bigints.
    canonicalJson(items);
    JSON.stringify(items);
  } catch (error) {
    return `the step emitted items that are not plain JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    const problem = itemShapeProblem(item, i);
    if (problem) return `the step emitted a bad item: ${problem}`;
    const id = (item as TaskItem).id;
    if (seen.has(id)) return `the step emitted two items with id ${JSON.stringify(id)}`;
    seen.add(id);
  }
  return undefined;
}

function itemShapeProblem(item: unknown, index: number): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    return `items[${index}] is ${describeValue(item)}, not {id, files, data?}`;
  const { id, files } = item as Record<string, unknown>;
  const idProblem = itemIdProblem(id);
  // A problem with an id names the id; one with a missing id needs the item's place in the list.
  if (idProblem) return typeof id === 'string' && id !== '' ? idProblem : `items[${index}]: ${idProblem}`;
  const name = `item ${JSON.stringify(id)}`;
  const unknown = Object.keys(item).filter((k) => !ITEM_KEYS.has(k));
  if (unknown.length > 0)
    return `${name} has ${unknown.map((k) => `'${k}'`).join(', ')}: an item holds only id, files and data (put what its tasks read in data, which enters their keys)`;
  if (files === undefined) return `${name} has no files: give files: [] when it names none`;
  if (!Array.isArray(files))
    return `${name}: files must be a list of absolute paths, not ${describeValue(files)}`;
  const bad = files.findIndex((f) => typeof f !== 'string' || !path.isAbsolute(f));
  if (bad >= 0) return `${name}: files[${bad}] is ${describeValue(files[bad])}, not an absolute path`;
  return undefined;
}

/** A value a step returned, in a few words. */
function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}
