/** Building diagnostics: one helper, so every config error has the same shape. */
import type { Diagnostic, Severity, SourceSpan } from '../model/types.js';

export interface DiagnosticInit {
  /** Stable code, e.g. 'unknown-key'. */
  code: string;
  message: string;
  /** Where the problem is (see spanOf in source.ts); undefined when there is no place in a file. */
  at: SourceSpan | undefined;
  hint?: string | undefined;
  severity?: Severity;
  related?: Array<{ message: string; span?: SourceSpan | undefined }>;
  /** The one target it stops (Diagnostic.target). */
  target?: string;
}

/** The one way diagnostics are built in config/ and graph/. */
export function makeDiagnostic(init: DiagnosticInit): Diagnostic {
  const d: Diagnostic = { severity: init.severity ?? 'error', code: init.code, message: init.message };
  if (init.at) d.span = init.at;
  if (init.hint) d.hint = init.hint;
  if (init.target !== undefined) d.target = init.target;
  if (init.related?.length) {
    d.related = init.related.map((r) =>
      r.span ? { message: r.message, span: r.span } : { message: r.message },
    );
  }
  return d;
}

/** `file:line:col` of a span, for messages that mention another place. */
export function formatLocation(span: SourceSpan | undefined): string {
  return span ? `${span.file}:${span.line}:${span.col}` : '(command line)';
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Sort by file, line, column (stable for same place), so reports read top to bottom. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const sa = a.span;
    const sb = b.span;
    if (!sa || !sb) return sa ? -1 : sb ? 1 : 0;
    if (sa.file !== sb.file) return sa.file < sb.file ? -1 : 1;
    return sa.line - sb.line || sa.col - sb.col;
  });
}
