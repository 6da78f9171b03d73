/**
 * Terminal rendering of a comparison report: one line per product that is not identical, with its
 * differing parts indented below, and a summary line. Identical products are only counted (unless
 * `verbose`), so a clean run prints two lines.
 */
import { formatDiff } from './numeric.js';
import type {
  CompareReport,
  CompareStatus,
  CompareSummary,
  DiffDetail,
  ToleranceUsed,
  ValueChange,
} from './report.js';

const LABEL: Record<CompareStatus, string> = {
  identical: 'identical',
  'within-tolerance': 'within tolerance',
  different: 'DIFFERENT',
  'missing-in-new': 'MISSING in new',
  'missing-in-ref': 'new product',
  error: 'ERROR',
};
const LABEL_WIDTH = Math.max(...Object.values(LABEL).map((l) => l.length));

export interface RenderTextOptions {
  /** List identical products too. */
  verbose?: boolean;
}

/** The report for a terminal (plain text, no colour: the CLI may colour the labels). */
export function renderCompareText(report: CompareReport, options: RenderTextOptions = {}): string {
  const lines = [`compare ${report.ref} -> ${report.new}`];
  for (const p of report.products) {
    if (p.status === 'identical' && !options.verbose) continue;
    const head = `  ${LABEL[p.status].padEnd(LABEL_WIDTH)}  ${p.path}`;
    if (p.status === 'error') {
      lines.push(`${head}: ${p.error ?? 'unknown error'}`);
      continue;
    }
    const shown = p.details.filter((d) => d.status !== 'identical');
    if (p.status === 'within-tolerance' && shown.length === 1) {
      lines.push(`${head}  (${describeDetail(shown[0] as DiffDetail, report.diffDir)})`);
      continue;
    }
    lines.push(head);
    for (const d of shown) lines.push(`      ${describeDetail(d, report.diffDir)}`);
  }
  lines.push(summaryLine(report.summary, report.regression));
  return `${lines.join('\n')}\n`;
}

/** "12 products: 9 identical, 1 within tolerance, 2 different - REGRESSION" */
export function summaryLine(s: CompareSummary, regression: boolean): string {
  const parts = summaryParts(s);
  const verdict = regression ? 'REGRESSION' : 'no regression';
  return `${s.total} product${s.total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} - ${verdict}`;
}

/** The non-zero counts of a summary, e.g. ['9 identical', '2 different']. */
export function summaryParts(s: CompareSummary): string[] {
  const counts: [number, string][] = [
    [s.identical, 'identical'],
    [s.withinTolerance, 'within tolerance'],
    [s.different, 'different'],
    [s.missingInNew, 'missing in new'],
    [s.missingInRef, 'only in new'],
    [s.error, s.error === 1 ? 'error' : 'errors'],
    [s.skipped ?? 0, 'not compared (skip: true in the tolerances)'],
  ];
  return counts.filter(([n]) => n > 0).map(([n, label]) => `${n} ${label}`);
}

/** One line about one part: counts, largest differences, where, tolerance, named changes. */
export function describeDetail(d: DiffDetail, diffDir?: string): string {
  const parts: string[] = [];
  if (d.maxAbsDiff !== undefined && d.status !== 'identical') {
    if (d.status === 'different' && d.differing !== undefined && d.elements !== undefined) {
      let counts = `${d.differing} of ${d.elements} differ`;
      if (d.nanMismatch) counts += ` (${d.nanMismatch} NaN pattern)`;
      parts.push(counts);
    }
    if ((d.differing ?? 0) > (d.nanMismatch ?? 0) || d.status === 'within-tolerance') {
      parts.push(
        `max abs ${formatDiff(d.maxAbsDiff)}${d.where ? ` at ${d.where}` : ''}, max rel ${formatDiff(d.maxRelDiff)}`,
      );
    } else if (d.where) parts.push(`first at ${d.where}`);
    if (d.tolerance) parts.push(formatTolerance(d.tolerance));
  }
  if (d.changes?.length) {
    let text = d.changes.map(formatChange).join('; ');
    if (d.moreChanges) text += `; +${d.moreChanges} more`;
    parts.push(text);
  }
  if (d.message) parts.push(d.message);
  // The folder as the user gave it, `--diff-dir diffs/` (the README's) too: one slash before the file.
  if (d.diffImage)
    parts.push(`diff image ${diffDir ? `${diffDir.replace(/\/+$/, '')}/` : ''}${d.diffImage.file}`);
  return `${d.item}: ${parts.join('; ') || d.status}`;
}

/** 'rtol 1e-6, atol 0' or 'exact'. */
export function formatTolerance(t: ToleranceUsed): string {
  return t.exact ? 'exact' : `rtol ${formatDiff(t.rtol)}, atol ${formatDiff(t.atol)}`;
}

function formatChange(c: ValueChange): string {
  const ref = c.ref ?? '(absent)';
  const neu = c.new ?? '(absent)';
  return `${c.item}: ${ref} -> ${neu}`;
}
