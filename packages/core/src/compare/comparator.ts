/**
 * The plugin seam of `pipe compare`: a FileComparator compares the contents of one kind of file
 * (FITS in @pipe/astro; JSON and text here). Core never depends on a domain package: the caller
 * passes the comparators it wants, tried in order before the built-in ones.
 */
import type { DiffDetail } from './report.js';
import type { ProductRule } from './tolerances.js';

/** What a comparator knows about the product it compares. */
export interface CompareContext {
  /** Path relative to the product sets' roots, '/'-separated. */
  relPath: string;
  /** Tolerances and ignored header keys for this product. */
  rule: ProductRule;
  /**
   * Directory for difference images (created on demand); undefined when the caller wants none.
   * Comparators name their files after `relPath` so that products never overwrite each other's.
   */
  diffDir: string | undefined;
  /** At most this many named changes per detail (the rest are counted in `moreChanges`). */
  maxChanges: number;
}

/** What a comparator returns: details (the product status is their worst), or why it could not compare. */
export type ComparatorOutcome = { ok: true; details: DiffDetail[] } | { ok: false; error: string };

/** Compares one kind of file. */
export interface FileComparator {
  /** Short name shown in reports, e.g. 'fits'. */
  readonly name: string;
  /** True when this comparator handles the product at `relPath` (usually by its extension). */
  handles(relPath: string): boolean;
  /**
   * Compares the two files (whose bytes are known to differ). Unreadable or malformed input is an
   * outcome (`ok: false`), not an exception.
   */
  compare(refPath: string, newPath: string, context: CompareContext): Promise<ComparatorOutcome>;
}

/** A file name for a difference image of `relPath` (and a part of it), flat and safe on every file system. */
export function diffImageName(relPath: string, part: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${safe(relPath.replaceAll('/', '__'))}--${safe(part)}.png`;
}

/** Keeps the first `max` changes and counts the rest, in the fields of a detail. */
export function limitChanges<T>(changes: T[], max: number): { changes: T[]; moreChanges?: number } {
  if (changes.length <= max) return { changes };
  return { changes: changes.slice(0, max), moreChanges: changes.length - max };
}
