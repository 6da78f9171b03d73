/**
 * Markdown rendering of a comparison report for CI job summaries and pull-request comments: a verdict,
 * a table of the products that are not identical, their differing parts with difference images, and the
 * identical products folded away.
 */
import { formatDiff } from './numeric.js';
import { formatTolerance, summaryParts } from './render-text.js';
import type { CompareReport, CompareStatus, DiffDetail, ProductComparison } from './report.js';

const ICON: Record<CompareStatus, string> = {
  identical: '✅',
  'within-tolerance': '🟡',
  different: '❌',
  'missing-in-new': '❌',
  'missing-in-ref': '🆕',
  error: '💥',
};

export interface RenderMarkdownOptions {
  /** Heading text (default 'pipe compare'). */
  title?: string;
  /**
   * Prefix of difference-image links, relative to where the Markdown file will be read (default: the
   * report's diffDir as given). Pass '' to link the bare file names.
   */
  diffLinkPrefix?: string;
}

/** The report as GitHub-flavoured Markdown. */
export function renderCompareMarkdown(report: CompareReport, options: RenderMarkdownOptions = {}): string {
  const prefix = options.diffLinkPrefix ?? report.diffDir ?? '';
  const link = (file: string) => (prefix === '' ? file : `${prefix.replace(/\/+$/, '')}/${file}`);
  const out: string[] = [];
  out.push(`### ${options.title ?? 'pipe compare'}: ${code(report.ref)} → ${code(report.new)}`, '');
  const counts = summaryParts(report.summary).join(', ');
  out.push(
    report.regression
      ? `❌ **Regression** — ${report.summary.total} products: ${counts}.`
      : `✅ **No regression** — ${report.summary.total} products: ${counts || 'none'}.`,
    '',
  );

  const changed = report.products.filter((p) => p.status !== 'identical');
  if (changed.length > 0) {
    out.push('| | Product | Status | Max abs diff | Max rel diff | Differing | Tolerance | Where |');
    out.push('|---|---|---|---|---|---|---|---|');
    for (const p of changed) out.push(productRow(p));
    out.push('');
    for (const p of changed) {
      if (p.details.every((d) => d.status === 'identical') && !p.error) continue;
      out.push(`#### ${code(p.path)}`, '');
      if (p.error) out.push(`- error: ${cell(p.error)}`);
      for (const d of p.details) if (d.status !== 'identical') out.push(`- ${detailLine(d)}`);
      for (const d of p.details) {
        if (d.diffImage) out.push('', `![${d.item}: new − ref](${link(d.diffImage.file)})`);
      }
      out.push('');
    }
  }
  const identical = report.products.filter((p) => p.status === 'identical');
  if (identical.length > 0) {
    out.push(
      `<details><summary>${identical.length} identical product${identical.length === 1 ? '' : 's'}</summary>`,
      '',
    );
    for (const p of identical)
      out.push(`- ${code(p.path)}${p.bytesIdentical ? '' : ' (equal content, bytes differ)'}`);
    out.push('', '</details>', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The worst part of a product stands for it in the table: largest differences, summed counts. */
function productRow(p: ProductComparison): string {
  const label = p.status.replaceAll('-', ' ');
  const numeric = p.details.filter((d) => d.maxAbsDiff !== undefined && d.status !== 'identical');
  if (numeric.length === 0) {
    const note = p.error ?? p.details.find((d) => d.status !== 'identical')?.item ?? '';
    return `| ${ICON[p.status]} | ${code(p.path)} | ${label} | | | | | ${cell(note)} |`;
  }
  const worst = numeric.reduce((w, d) =>
    rank(d) > rank(w) || (rank(d) === rank(w) && (d.maxAbsDiff ?? 0) > (w.maxAbsDiff ?? 0)) ? d : w,
  );
  const maxRel = Math.max(...numeric.map((d) => d.maxRelDiff ?? 0));
  const differing = numeric.reduce((s, d) => s + (d.differing ?? 0), 0);
  const elements = numeric.reduce((s, d) => s + (d.elements ?? 0), 0);
  // A JSON key path says it all; a pixel or row needs the HDU or column it is in.
  const where =
    worst.where === undefined
      ? worst.item
      : worst.kind === 'json'
        ? worst.where
        : `${worst.item} ${worst.where}`;
  const maxAbs = Math.max(...numeric.map((d) => d.maxAbsDiff ?? 0));
  // Values that became NaN (or stopped being NaN) have no difference to show: the columns say what changed.
  const nanOnly = maxAbs === 0 && maxRel === 0 && numeric.some((d) => (d.nanMismatch ?? 0) > 0);
  return [
    '',
    ` ${ICON[p.status]} `,
    ` ${code(p.path)} `,
    ` ${label} `,
    ` ${nanOnly ? 'NaN pattern' : formatDiff(maxAbs)} `,
    ` ${nanOnly ? 'NaN pattern' : formatDiff(maxRel)} `,
    ` ${differing} / ${elements} `,
    ` ${worst.tolerance ? formatTolerance(worst.tolerance) : ''} `,
    ` ${cell(where)} `,
    '',
  ].join('|');
}

function rank(d: DiffDetail): number {
  return d.status === 'different' ? 2 : d.status === 'within-tolerance' ? 1 : 0;
}

function detailLine(d: DiffDetail): string {
  const parts: string[] = [`**${cell(d.item)}**: ${d.status.replaceAll('-', ' ')}`];
  if (d.maxAbsDiff !== undefined) {
    const counts =
      d.differing !== undefined && d.elements !== undefined
        ? `${d.differing} of ${d.elements} outside tolerance`
        : '';
    const nan = d.nanMismatch ? `, ${d.nanMismatch} NaN pattern mismatches` : '';
    // Only NaN mismatches: no finite difference to show (a max abs of 0 read as "no change").
    const finite = (d.differing ?? 0) > (d.nanMismatch ?? 0) || d.status === 'within-tolerance';
    parts.push(
      // The place is the largest absolute difference's: written next to it, as the terminal report does.
      `${counts}${nan}${finite ? `; max abs ${formatDiff(d.maxAbsDiff)}${d.where ? ` at ${cell(d.where)}` : ''}, max rel ${formatDiff(d.maxRelDiff)}` : d.where ? `; first at ${cell(d.where)}` : ''}`,
    );
    if (d.tolerance) parts.push(formatTolerance(d.tolerance));
  }
  if (d.changes?.length) {
    const list = d.changes.map(
      (c) =>
        `${code(c.item)}: ${c.ref === undefined ? '(absent)' : code(c.ref)} → ${c.new === undefined ? '(absent)' : code(c.new)}`,
    );
    if (d.moreChanges) list.push(`+${d.moreChanges} more`);
    parts.push(list.join(', '));
  }
  if (d.message) parts.push(cell(d.message));
  return parts.join(' — ');
}

/** Text safe inside a table cell. */
function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** An inline code span that survives backticks and pipes in the text. */
function code(s: string): string {
  if (s === '') return '(empty)';
  const fence = s.includes('`') ? '``' : '`';
  const pad = s.includes('`') ? ' ' : '';
  return `${fence}${pad}${s.replaceAll('|', '\\|')}${pad}${fence}`;
}
