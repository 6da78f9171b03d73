/**
 * The two sides of a comparison as lists of products {relPath, absPath, sha256?}: listed from a
 * directory here, or built by the caller from a build record or a cache manifest (which know the
 * SHA-256 of every output, so identical products are recognised without reading them).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

/** One product of a set. */
export interface ProductEntry {
  /** Path relative to the set's root, '/'-separated; products of the two sets are paired by it. */
  relPath: string;
  /** Where the bytes are. */
  absPath: string;
  /** SHA-256 (hex) of the bytes when already known (from a manifest); computed when absent. */
  sha256?: string;
}

/** Paths never compared when listing a directory: pipe's own state and temporary files of atomic writes. */
export const DEFAULT_LIST_IGNORE: readonly string[] = [
  '**/.pipe/**',
  '**/*.tmp-*',
  '**/*.pipe-tmp-*',
  '**/.*.tmp',
  '**/.pipe-out.json', // what `pipe build --out` copied into a folder (store/export.ts)
];

export type ListResult =
  | { ok: true; entries: ProductEntry[] }
  | { ok: false; reason: 'not-a-directory' | 'unreadable'; path: string; message: string };

/** Lists the files under `dir` (recursively, symbolic links to files followed, sorted by relPath). */
export async function listProductDir(
  dir: string,
  options: { ignore?: readonly string[] } = {},
): Promise<ListResult> {
  const root = path.resolve(dir);
  const ignored = picomatch([...(options.ignore ?? DEFAULT_LIST_IGNORE)], { dot: true });
  const entries: ProductEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const items = await readdir(abs, { withFileTypes: true });
    for (const item of items) {
      const childRel = rel === '' ? item.name : `${rel}/${item.name}`;
      const childAbs = path.join(abs, item.name);
      if (item.isDirectory()) {
        if (!ignored(`${childRel}/`)) await walk(childAbs, childRel);
      } else if ((item.isFile() || item.isSymbolicLink()) && !ignored(childRel)) {
        entries.push({ relPath: childRel, absPath: childAbs });
      }
    }
  };
  try {
    await walk(root, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' || code === 'ENOTDIR' ? 'not-a-directory' : 'unreadable';
    return { ok: false, reason, path: dir, message: `${dir}: ${(error as Error).message}` };
  }
  entries.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return { ok: true, entries };
}

/** A product paired by relative path; one side is undefined when the product exists only on the other. */
export interface ProductPair {
  relPath: string;
  ref: ProductEntry | undefined;
  new: ProductEntry | undefined;
}

/** Pairs two product sets by relative path (sorted). A path listed twice on one side is a caller bug. */
export function pairProducts(ref: readonly ProductEntry[], neu: readonly ProductEntry[]): ProductPair[] {
  const byPath = new Map<string, ProductPair>();
  for (const [side, list] of [
    ['ref', ref],
    ['new', neu],
  ] as const) {
    for (const entry of list) {
      const relPath = normaliseRelPath(entry.relPath);
      const pair = byPath.get(relPath) ?? { relPath, ref: undefined, new: undefined };
      if (pair[side] !== undefined)
        throw new Error(`pairProducts: '${relPath}' is listed twice in the ${side} set`);
      pair[side] = entry;
      byPath.set(relPath, pair);
    }
  }
  return [...byPath.values()].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}

function normaliseRelPath(p: string): string {
  return path.posix.normalize(p.replaceAll('\\', '/')).replace(/^\.\//, '');
}
