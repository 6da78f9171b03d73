/**
 * The FITS comparator for `pipe compare`: pairs HDUs by position, compares each pair's header and data
 * (images element-wise, tables column by column) with the tolerance for that HDU, and writes a
 * difference image for every map that is not identical. Register it with core's engine:
 *
 *     compareProductDirs(ref, neu, { comparators: [fitsComparator()], diffDir, tolerances })
 */
import type { ComparatorOutcome, CompareContext, DiffDetail, FileComparator } from '@pipe/core';
import { FitsError, type FitsFile, type Hdu, readFits } from '../fits/index.js';
import { compareImages, compareTables } from './data-diff.js';
import { type CubeReduction, writeDiffImage } from './diff-image.js';
import { compareHeaders } from './header-diff.js';

export interface FitsComparatorOptions {
  /** How a cube's difference becomes one image: its worst plane (default) or the sum over planes. */
  cube?: CubeReduction;
}

/** Files the FITS comparator takes: .fits, .fit, .fts, optionally gzipped. */
export const FITS_PATH = /\.(fits|fit|fts)(\.gz)?$/i;

/** A FileComparator for FITS files (plain or gzip). */
export function fitsComparator(options: FitsComparatorOptions = {}): FileComparator {
  return {
    name: 'fits',
    handles: (relPath) => FITS_PATH.test(relPath),
    compare: (refPath, newPath, ctx) =>
      compareFitsFiles(refPath, newPath, ctx, options.cube ?? 'worst-plane'),
  };
}

async function compareFitsFiles(
  refPath: string,
  newPath: string,
  ctx: CompareContext,
  cube: CubeReduction,
): Promise<ComparatorOutcome> {
  let ref: FitsFile;
  let neu: FitsFile;
  try {
    ref = await readFits(refPath);
    neu = await readFits(newPath);
  } catch (error) {
    if (error instanceof FitsError) return { ok: false, error: error.message };
    throw error;
  }
  try {
    return { ok: true, details: compareFitsContents(ref, neu, ctx, cube) };
  } catch (error) {
    // Malformed data found while decoding (a truncated image, a bad TFORM) is an outcome, not a crash.
    if (error instanceof FitsError) return { ok: false, error: error.message };
    throw error;
  }
}

/** Compares two parsed FITS files (exported for callers that hold them already). */
export function compareFitsContents(
  ref: FitsFile,
  neu: FitsFile,
  ctx: CompareContext,
  cube: CubeReduction = 'worst-plane',
): DiffDetail[] {
  const details: DiffDetail[] = [];
  if (ref.hdus.length !== neu.hdus.length) {
    const list = (f: FitsFile, from: number) =>
      f.hdus
        .slice(from)
        .map((h) => label(h))
        .join(', ');
    const n = Math.min(ref.hdus.length, neu.hdus.length);
    details.push({
      item: 'HDUs',
      kind: 'structure',
      status: 'different',
      message:
        ref.hdus.length > n
          ? `${ref.hdus.length} HDUs → ${neu.hdus.length}; missing in new: ${list(ref, n)}`
          : `${ref.hdus.length} HDUs → ${neu.hdus.length}; only in new: ${list(neu, n)}`,
    });
  }
  const pairs = Math.min(ref.hdus.length, neu.hdus.length);
  for (let i = 0; i < pairs; i++) {
    details.push(...compareHduPair(ref.hdus[i] as Hdu, neu.hdus[i] as Hdu, ctx, cube));
  }
  return details;
}

function compareHduPair(ref: Hdu, neu: Hdu, ctx: CompareContext, cube: CubeReduction): DiffDetail[] {
  const item = label(ref);
  const tolerance = ctx.rule.tolerance({ hdu: { name: ref.name, index: ref.index } });
  const details = [compareHeaders(ref.header, neu.header, item, tolerance, ctx)];
  if (ref.kind !== neu.kind) {
    details.push({
      item: `${item} data`,
      kind: 'structure',
      status: 'different',
      message: `${ref.kind} HDU → ${neu.kind}`,
    });
    return details;
  }
  if (ref.kind === 'primary' || ref.kind === 'image') {
    if (!ref.hasData && !neu.hasData) return details;
    const refImage = ref.image();
    const newImage = neu.image();
    const { detail, comparison } = compareImages(refImage, newImage, item, tolerance);
    if (comparison && comparison.status !== 'identical' && ctx.diffDir !== undefined) {
      const image = writeDiffImage({
        ref: refImage,
        neu: newImage,
        header: ref.header,
        diffDir: ctx.diffDir,
        relPath: ctx.relPath,
        hduLabel: ref.name ? `${ref.index}-${ref.name}` : String(ref.index),
        worstIndex: comparison.worstIndex,
        reduction: cube,
      });
      if (image) detail.diffImage = image;
    }
    details.push(detail);
    return details;
  }
  if (ref.kind === 'bintable') {
    details.push(...compareTables(ref.table(), neu.table(), item, tolerance, ctx));
    return details;
  }
  // ASCII tables and unknown extensions: the raw data bytes must match.
  const a = ref.rawData();
  const b = neu.rawData();
  const same = a.length === b.length && a.every((v, i) => v === b[i]);
  details.push({
    item: `${item} data`,
    kind: 'bytes',
    status: same ? 'identical' : 'different',
    elements: Math.max(a.length, b.length),
    ...(same ? {} : { message: `${ref.kind} HDU data bytes differ (not compared numerically)` }),
  });
  return details;
}

/** "HDU 0 'PRIMARY'", or "HDU 3" for an unnamed extension. */
function label(h: Hdu): string {
  return h.name ? `HDU ${h.index} '${h.name}'` : `HDU ${h.index}`;
}
