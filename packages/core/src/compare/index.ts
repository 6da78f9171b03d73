/**
 * Comparison of two product sets (`pipe compare`): pairing by relative path, SHA-256 short-circuit,
 * pluggable per-format comparators (JSON, text and bytes built in; FITS in @pipe/astro), tolerances
 * from a YAML/JSON config, a report model with text, Markdown and JSON renderings.
 */
export {
  type ComparatorOutcome,
  type CompareContext,
  diffImageName,
  type FileComparator,
  limitChanges,
} from './comparator.js';
export {
  type CompareDirsResult,
  type CompareOptions,
  compareProductDirs,
  compareProductSets,
} from './compare.js';
export { compareJsonValues, jsonComparator } from './json-comparator.js';
export {
  type ArrayComparison,
  compareArrays,
  compareNumbers,
  EXACT,
  formatDiff,
  type NumberArray,
  type Tolerance,
} from './numeric.js';
export {
  DEFAULT_LIST_IGNORE,
  type ListResult,
  listProductDir,
  type ProductEntry,
  type ProductPair,
  pairProducts,
} from './product-sets.js';
export { type RenderMarkdownOptions, renderCompareMarkdown } from './render-markdown.js';
export {
  describeDetail,
  formatTolerance,
  type RenderTextOptions,
  renderCompareText,
  summaryLine,
} from './render-text.js';
export {
  type CompareReport,
  type CompareStatus,
  type CompareSummary,
  type DetailStatus,
  type DiffDetail,
  type DiffImage,
  makeReport,
  type ProductComparison,
  REGRESSION_STATUSES,
  REPORT_VERSION,
  renderCompareJson,
  summarize,
  type ToleranceUsed,
  type ValueChange,
  worstStatus,
} from './report.js';
export { bytesComparator, diffLines, looksLikeText, textComparator } from './text-comparator.js';
export {
  DEFAULT_TOLERANCE,
  defaultTolerances,
  loadTolerances,
  type ProductPart,
  type ProductRule,
  type ProductRuleSpec,
  parseTolerances,
  productRule,
  type ResolvedTolerance,
  type ToleranceConfig,
  type ToleranceSpec,
  type TolerancesResult,
  toleranceUsed,
  VOLATILE_HEADER_KEYS,
} from './tolerances.js';
