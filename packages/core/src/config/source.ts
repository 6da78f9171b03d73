/**
 * Source files of a pipeline definition (pipe.yaml, includes, the parameter file), parsed with
 * `yaml`'s parseDocument + LineCounter so that every node maps back to file:line:col.
 */
import { readFile } from 'node:fs/promises';
import { type Document, isNode, LineCounter, type Node, Parser, parseDocument } from 'yaml';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { makeDiagnostic } from './diagnostics.js';

export interface SourceFile {
  /** Absolute path. */
  file: string;
  text: string;
  lineCounter: LineCounter;
  doc: Document.Parsed;
}

/** Parse YAML text; syntax errors become diagnostics (all of them), the document is returned regardless. */
export function parseSource(file: string, text: string): { source: SourceFile; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, keepSourceTokens: false });
  const source: SourceFile = { file, text, lineCounter, doc };
  const diagnostics: Diagnostic[] = [];
  const linesWithError = new Set<number>();
  for (const [severity, list] of [
    ['error', doc.errors],
    ['warning', doc.warnings],
  ] as const) {
    for (const e of list) {
      const [start, end] = e.pos;
      let at = spanAt(source, start, Math.max(1, end - start));
      // One broken line sets off a cascade of errors on it (an unquoted {item}: a dozen): its first says it.
      if (severity === 'error') {
        if (linesWithError.has(at.line)) continue;
        linesWithError.add(at.line);
      }
      // yaml reports an unclosed quote, [ or { where the text runs out (the end of the file, the next key); the
      // character that opened it is what to fix.
      const opened = unclosedOpening(text, e.code, e.message, start);
      if (opened !== undefined) at = spanAt(source, opened, 1);
      const unquoted = (text.split('\n')[at.line - 1] ?? '').replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '');
      const placeholder = /\{(?:item|(?:inputs|outputs|params)\.[\w.-]+)\}/.test(unquoted);
      diagnostics.push(
        makeDiagnostic({
          code: 'yaml-syntax',
          severity,
          message: firstLine(e.message),
          at,
          ...(placeholder && severity === 'error'
            ? { hint: `quote a value with {…} in it: YAML reads {x} as a map (e.g. "out/{item}.txt")` }
            : {}),
        }),
      );
    }
  }
  return { source, diagnostics };
}

/** Read and parse a YAML file; a missing file is a diagnostic at `from` (e.g. the include entry). */
export async function readSource(
  file: string,
  from?: SourceSpan,
): Promise<{ source?: SourceFile; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    return {
      diagnostics: [
        makeDiagnostic({ code: 'file-not-found', message: `cannot read ${file}: ${reason}`, at: from }),
      ],
    };
  }
  return parseSource(file, text);
}

/** The span of a YAML node (start to end of its value); undefined for nodes created in memory. */
export function spanOf(source: SourceFile, node: unknown): SourceSpan | undefined {
  if (!isNode(node) || !node.range) return undefined;
  const [start, valueEnd] = (node as Node).range!;
  return spanAt(source, start, Math.max(1, valueEnd - start));
}

/** The span of `length` characters at character `offset` of a source file. */
export function spanAt(source: SourceFile, offset: number, length: number): SourceSpan {
  const { line, col } = source.lineCounter.linePos(offset);
  return { file: source.file, line: Math.max(1, line), col, length };
}

/**
 * The offset of what opened the construct a syntax error at `offset` says is not closed: a quote (MISSING_CHAR), a
 * flow map's { or a flow sequence's [ without its closing character (BAD_INDENT "Flow map/sequence … end with"); the
 * innermost one before the error. Undefined for other errors.
 */
function unclosedOpening(text: string, code: string, message: string, offset: number): number | undefined {
  const quote = code === 'MISSING_CHAR' && /quote/.test(message);
  const open =
    code !== 'BAD_INDENT'
      ? undefined
      : /^Flow map/.test(message)
        ? '{'
        : /^Flow sequence/.test(message)
          ? '['
          : undefined;
  if (!quote && !open) return undefined;
  const close = open === '{' ? '}' : ']';
  let found: number | undefined;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const token = node as {
      type?: string;
      offset?: number;
      source?: string;
      start?: { source?: string };
      end?: Array<{ source?: string }>;
    };
    const at = token.offset;
    if (at !== undefined && at < offset && (found === undefined || at > found)) {
      const unclosedQuote =
        quote &&
        (token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar') &&
        at + (token.source?.length ?? 0) >= offset;
      const unclosedFlow =
        open !== undefined &&
        token.type === 'flow-collection' &&
        token.start?.source === open &&
        !(token.end ?? []).some((t) => t.source === close);
      if (unclosedQuote || unclosedFlow) found = at;
    }
    for (const value of Object.values(node)) visit(value);
  };
  for (const token of new Parser().parse(text)) visit(token);
  return found;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
