/**
 * Errors of the FITS layer. Every error names the file, and where it applies the HDU and the column,
 * so that a user can find the broken input without a debugger.
 */

/** Why a FITS file could not be read or written. */
export type FitsErrorReason =
  | 'io'
  | 'truncated-gzip'
  | 'truncated-file'
  | 'bad-block-size'
  | 'missing-end'
  | 'bad-header'
  | 'missing-hdu'
  | 'not-a-table'
  | 'not-an-image'
  | 'missing-column'
  | 'unsupported-tform'
  | 'unsupported-bitpix'
  | 'data-too-short'
  | 'bad-value'
  | 'unknown-unit'
  | 'write-failed';

/** Where in a FITS file an error occurred. */
export interface FitsLocation {
  file: string;
  /** HDU name (EXTNAME) or index, when known. */
  hdu?: string | number;
  column?: string;
}

/**
 * An error of the FITS layer (or of a reader built on it: DL3, IRF). Its message names the file, the HDU and
 * the column; the fields carry the same for programs.
 */
export class FitsError extends Error {
  readonly reason: FitsErrorReason;
  readonly file: string;
  readonly hdu: string | number | undefined;
  readonly column: string | undefined;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(reason: FitsErrorReason, where: FitsLocation, detail: string, options?: { cause?: unknown }) {
    super(`${formatLocation(where)}: ${detail}`, options);
    this.name = 'FitsError';
    this.reason = reason;
    this.file = where.file;
    this.hdu = where.hdu;
    this.column = where.column;
    this.detail = detail;
  }
}

/** `file.fits[HDU 'EVENTS'] column 'TIME'` */
export function formatLocation(where: FitsLocation): string {
  let s = where.file;
  if (where.hdu !== undefined)
    s += typeof where.hdu === 'number' ? `[HDU ${where.hdu}]` : `[HDU '${where.hdu}']`;
  if (where.column !== undefined) s += ` column '${where.column}'`;
  return s;
}

/** Result type for the `try*` variants of the readers. */
export type FitsResult<T> = { ok: true; value: T } | { ok: false; error: FitsError };

/** Runs `fn`, turning a thrown FitsError into a failure value; other exceptions (bugs) propagate. */
export function catchFits<T>(fn: () => T): FitsResult<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof FitsError) return { ok: false, error: e };
    throw e;
  }
}

/** Async form of {@link catchFits}. */
export async function catchFitsAsync<T>(fn: () => Promise<T>): Promise<FitsResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof FitsError) return { ok: false, error: e };
    throw e;
  }
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to be a likely typo. */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const target = name.toUpperCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(target, c.toUpperCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(target.length / 3)) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
