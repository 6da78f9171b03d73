/**
 * Rendering diagnostics for a terminal:
 *
 *     pipe.yaml:12:5: error: unknown key 'ouputs' in target 'stack'
 *        12 |     ouputs:
 *           |     ^~~~~~
 *       hint: did you mean 'outputs'?
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic, SourceSpan } from '../model/types.js';

export interface RenderOptions {
  /** Paths are printed relative to this directory when inside it (default: process.cwd()). */
  cwd?: string;
  /** Returns a file's text (default: read from disk, cached per render call). */
  readSource?: (file: string) => string | undefined;
}

/** Render one diagnostic: location, severity, message, source line with squiggle, hint, related notes. */
export function renderDiagnostic(d: Diagnostic, options: RenderOptions = {}): string {
  const read = options.readSource ?? cachedReader();
  const cwd = options.cwd ?? process.cwd();
  const lines = [...renderAt(d.span, d.severity, d.message, read, cwd)];
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  for (const r of d.related ?? []) lines.push(...renderAt(r.span, 'note', r.message, read, cwd));
  return lines.join('\n');
}

/** Render a list of diagnostics, separated by blank lines, with a summary line. */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], options: RenderOptions = {}): string {
  const read = options.readSource ?? cachedReader();
  const parts = diagnostics.map((d) => renderDiagnostic(d, { ...options, readSource: read }));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const summary = [plural(errors, 'error'), warnings ? plural(warnings, 'warning') : '']
    .filter(Boolean)
    .join(', ');
  return `${parts.join('\n\n')}\n\n${summary}`;
}

function renderAt(
  span: SourceSpan | undefined,
  label: string,
  message: string,
  read: (file: string) => string | undefined,
  cwd: string,
): string[] {
  if (!span) return [`${label}: ${message}`];
  const out = [`${displayPath(span.file, cwd)}:${span.line}:${span.col}: ${label}: ${message}`];
  const sourceLine = read(span.file)?.split(/\r\n|\r|\n/)[span.line - 1];
  if (sourceLine === undefined) return out;
  const gutter = String(span.line);
  const pad = ' '.repeat(gutter.length);
  // Control bytes would drive the terminal (a binary file given as a config): shown as '?', one column each.
  const shown = clipped(Array.from(sourceLine, printable).join(''), span.col);
  // Keep tabs in the indentation so the squiggle lines up with the text above it.
  const before = shown.text.slice(0, shown.col - 1).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(span.length, shown.text.length - (shown.col - 1)));
  out.push(` ${gutter} | ${shown.text}`, ` ${pad} | ${before}^${'~'.repeat(width - 1)}`);
  return out;
}

/** A character as shown: a control character (but a tab) or U+FFFD (an undecodable byte) as '?'. */
function printable(c: string): string {
  const code = c.codePointAt(0) as number;
  return (code < 0x20 && c !== '\t' && c !== '\n') || code === 0x7f || code === 0xfffd ? '?' : c;
}

/** Columns of a source line shown at most (a minified or binary file can be one line of megabytes). */
const SHOWN_COLUMNS = 160;

/** A long line cut to a window around column `col` (1-based), marked with … where cut; `col` within it. */
function clipped(line: string, col: number): { text: string; col: number } {
  if (line.length <= SHOWN_COLUMNS) return { text: line, col };
  const start = Math.max(0, Math.min(col - 1 - 40, line.length - SHOWN_COLUMNS));
  const end = Math.min(line.length, start + SHOWN_COLUMNS);
  const head = start > 0 ? '…' : '';
  return {
    text: `${head}${line.slice(start, end)}${end < line.length ? '…' : ''}`,
    col: col - start + head.length,
  };
}

/** `file` relative to `cwd` when inside it, else as given. */
export function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function cachedReader(): (file: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (file) => {
    if (!cache.has(file)) {
      try {
        cache.set(file, readFileSync(file, 'utf8'));
      } catch {
        cache.set(file, undefined);
      }
    }
    return cache.get(file);
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
