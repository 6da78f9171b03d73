/**
 * FITS-aware comparison for `pipe compare`: a FileComparator for core's comparison engine (headers,
 * images, tables, difference images of maps).
 */
export { compareImages, compareTables, formatPixel, isIntegerArray } from './data-diff.js';
export { type CubeReduction, type DiffImageRequest, writeDiffImage } from './diff-image.js';
export {
  compareFitsContents,
  FITS_PATH,
  type FitsComparatorOptions,
  fitsComparator,
} from './fits-comparator.js';
export { compareHeaders, formatValue } from './header-diff.js';
export { comparePixels, PNG_PATH, pngComparator } from './png-comparator.js';
