/**
 * The comparison report: per product a status and details (per HDU, map, table column, JSON key, text
 * or bytes), summary counts, and whether the comparison is a regression. The JSON form is the model
 * itself with a fixed field order, so CI can diff two reports and tools can read them.
 */

/** Outcome of one product. */
export type CompareStatus =
  | 'identical'
  | 'within-tolerance'
  | 'different'
  | 'missing-in-new'
  | 'missing-in-ref'
  | 'error';

/** Outcome of one compared part of a product (a header, an image, a column, a JSON key, ...). */
export type DetailStatus = 'identical' | 'within-tolerance' | 'different';

/** The tolerance a comparison used: |new − ref| ≤ atol + rtol·|ref|; `exact` for integer data. */
export interface ToleranceUsed {
  rtol: number;
  atol: number;
  /** True when the data was compared exactly (integer data, strings, flags). */
  exact: boolean;
  /** Which config entries chose it, e.g. ['default', "products['maps/*.fits']", "hdus['COUNTS']"]. */
  from: string[];
}

/** One differing (or compared) value listed by name: a header card, a JSON key, a text line. */
export interface ValueChange {
  /** Header keyword, JSON key path or line number. */
  item: string;
  /** The reference value as text; undefined when absent in the reference. */
  ref?: string;
  /** The new value as text; undefined when absent in the new product. */
  new?: string;
}

/** A difference image written for a 2-D or 3-D map. */
export interface DiffImage {
  /** File name relative to the report's diffDir. */
  file: string;
  width: number;
  height: number;
  /** How a cube was reduced to one image: its worst plane, the sum over planes, or a 2-D map as is. */
  mode: 'map' | 'worst-plane' | 'sum';
  /** The plane shown (0-based) for 'worst-plane'. */
  plane?: number;
  /** Where the map itself is drawn in the image (pixels, y down), for tools that read it back. */
  mapArea?: { x: number; y: number; width: number; height: number };
}

/** Comparison of one part of a product. Numeric fields are present when numbers were compared. */
export interface DiffDetail {
  /** What was compared, e.g. "HDU 0 'PRIMARY' data", "HDU 2 'EVENTS' column TIME", 'key stats.max'. */
  item: string;
  kind: 'data' | 'header' | 'column' | 'json' | 'text' | 'bytes' | 'structure';
  status: DetailStatus;
  /** Elements compared. */
  elements?: number;
  /** Elements outside the tolerance (NaN mismatches included). */
  differing?: number;
  /** Elements where exactly one side is NaN. */
  nanMismatch?: number;
  /** Largest |new − ref| over elements that are not NaN on either side; Infinity when an infinity differs. */
  maxAbsDiff?: number;
  /** Largest |new − ref| / |ref| (Infinity where ref is 0 and new is not). */
  maxRelDiff?: number;
  /** Where the largest difference is: a pixel, a row, a key path. */
  where?: string;
  tolerance?: ToleranceUsed;
  /** Named differences (header cards, JSON keys, text lines), at most a few; see `moreChanges`. */
  changes?: ValueChange[];
  /** How many changes were left out of `changes`. */
  moreChanges?: number;
  /** A human-readable note (shape mismatch, missing column, ...). */
  message?: string;
  diffImage?: DiffImage;
}

/** Comparison of one product (a file paired by its relative path). */
export interface ProductComparison {
  /** Path relative to the product sets' roots, '/'-separated. */
  path: string;
  status: CompareStatus;
  /** True when the bytes are identical (then no comparator ran). */
  bytesIdentical: boolean;
  /** The comparator that compared the contents ('fits', 'json', 'text', 'bytes'), when one ran. */
  comparator?: string;
  refSha256?: string;
  newSha256?: string;
  /** Why the product could not be compared (status 'error'). */
  error?: string;
  details: DiffDetail[];
}

export interface CompareSummary {
  total: number;
  identical: number;
  withinTolerance: number;
  different: number;
  missingInNew: number;
  missingInRef: number;
  error: number;
  /** Products of either set left out by the tolerance file (`skip: true`): not compared, not in `total`. */
  skipped?: number;
}

export const REPORT_VERSION = 1;

export interface CompareReport {
  version: typeof REPORT_VERSION;
  /** Labels of the two sides (directories, build ids, 'reference'). */
  ref: string;
  new: string;
  /** True when any product is different, missing in the new set, or could not be compared. */
  regression: boolean;
  summary: CompareSummary;
  /** Sorted by path. */
  products: ProductComparison[];
  /** Where difference images were written (as the caller gave it), when they were. */
  diffDir?: string;
  /** Paths the tolerance file skips (`skip: true`), sorted: in neither `products` nor the verdict. */
  skipped?: string[];
}

/** Statuses that make a comparison a regression. A product only in the new set is not one. */
export const REGRESSION_STATUSES: readonly CompareStatus[] = ['different', 'missing-in-new', 'error'];

const DETAIL_RANK: Record<DetailStatus, number> = { identical: 0, 'within-tolerance': 1, different: 2 };

/** The worst of some detail statuses ('identical' for none). */
export function worstStatus(statuses: Iterable<DetailStatus>): DetailStatus {
  let worst: DetailStatus = 'identical';
  for (const s of statuses) if (DETAIL_RANK[s] > DETAIL_RANK[worst]) worst = s;
  return worst;
}

/** Counts per status. */
export function summarize(products: readonly ProductComparison[]): CompareSummary {
  const summary: CompareSummary = {
    total: products.length,
    identical: 0,
    withinTolerance: 0,
    different: 0,
    missingInNew: 0,
    missingInRef: 0,
    error: 0,
  };
  for (const p of products) {
    switch (p.status) {
      case 'identical':
        summary.identical++;
        break;
      case 'within-tolerance':
        summary.withinTolerance++;
        break;
      case 'different':
        summary.different++;
        break;
      case 'missing-in-new':
        summary.missingInNew++;
        break;
      case 'missing-in-ref':
        summary.missingInRef++;
        break;
      case 'error':
        summary.error++;
        break;
    }
  }
  return summary;
}

/** Assembles a report from product comparisons (sorted here) and computes summary and regression. */
export function makeReport(init: {
  ref: string;
  new: string;
  products: ProductComparison[];
  diffDir?: string | undefined;
  skipped?: readonly string[];
}): CompareReport {
  const products = [...init.products].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const report: CompareReport = {
    version: REPORT_VERSION,
    ref: init.ref,
    new: init.new,
    regression: products.some((p) => REGRESSION_STATUSES.includes(p.status)),
    summary: summarize(products),
    products,
  };
  if (init.diffDir !== undefined) report.diffDir = init.diffDir;
  if (init.skipped && init.skipped.length > 0) {
    report.skipped = [...init.skipped].sort();
    report.summary.skipped = init.skipped.length;
  }
  return report;
}

/**
 * The report as JSON with a fixed field order (the order of the interfaces above), whatever order the
 * objects were built in. Non-finite numbers (an infinite relative difference) become null, as in JSON.
 */
export function renderCompareJson(report: CompareReport): string {
  return `${JSON.stringify(ordered(report), null, 2)}\n`;
}

const FIELD_ORDER = {
  report: ['version', 'ref', 'new', 'regression', 'summary', 'products', 'diffDir', 'skipped'],
  summary: [
    'total',
    'identical',
    'withinTolerance',
    'different',
    'missingInNew',
    'missingInRef',
    'error',
    'skipped',
  ],
  product: ['path', 'status', 'bytesIdentical', 'comparator', 'refSha256', 'newSha256', 'error', 'details'],
  detail: [
    'item',
    'kind',
    'status',
    'elements',
    'differing',
    'nanMismatch',
    'maxAbsDiff',
    'maxRelDiff',
    'where',
    'tolerance',
    'changes',
    'moreChanges',
    'message',
    'diffImage',
  ],
  tolerance: ['rtol', 'atol', 'exact', 'from'],
  change: ['item', 'ref', 'new'],
  diffImage: ['file', 'width', 'height', 'mode', 'plane', 'mapArea'],
} as const;

function pick(obj: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (obj as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function ordered(report: CompareReport): Record<string, unknown> {
  const out = pick(report, FIELD_ORDER.report);
  out.summary = pick(report.summary, FIELD_ORDER.summary);
  out.products = report.products.map((p) => {
    const po = pick(p, FIELD_ORDER.product);
    po.details = p.details.map((d) => {
      const dd = pick(d, FIELD_ORDER.detail);
      if (d.tolerance) dd.tolerance = pick(d.tolerance, FIELD_ORDER.tolerance);
      if (d.changes) dd.changes = d.changes.map((c) => pick(c, FIELD_ORDER.change));
      if (d.diffImage) {
        const di = pick(d.diffImage, FIELD_ORDER.diffImage);
        if (d.diffImage.mapArea) di.mapArea = pick(d.diffImage.mapArea, ['x', 'y', 'width', 'height']);
        dd.diffImage = di;
      }
      return dd;
    });
    return po;
  });
  return out;
}
