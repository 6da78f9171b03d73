/**
 * Source files of a pipeline definition (pipe.yaml, includes, the parameter file), parsed with
 * `yaml`'s parseDocument + LineCounter so that every node maps back to file:line:col.
 */
import { readFile } from 'node:fs/promises';
import {
  Composer,
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  visit,
  YAMLParseError,
} from 'yaml';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { whyMissing } from '../workspace/why-missing.js';
import { makeDiagnostic } from './diagnostics.js';

export interface SourceFile {
  /** Absolute path. */
  file: string;
  text: string;
  lineCounter: LineCounter;
  doc: Document.Parsed;
  /** The text's YAML tokens (the parser's CST), kept for checks of the text itself (a config schema's checkText). */
  tokens: readonly unknown[];
}

/** How a file's program reads what YAML 1.2 leaves to the reader. */
export interface ReadOptions {
  /**
   * A key set twice in one mapping: an error (YAML 1.2: keys are unique), or 'last': the last value is kept and the
   * earlier ones are warned about, as PyYAML (gammapy's config reader) reads them.
   */
  duplicateKeys?: 'error' | 'last';
}

/** What Python's float() reads, case folded and unsigned (one base-60 part of PyYAML's float). */
const PY_FLOAT = /^(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?|inf|infinity|nan)$/;

/**
 * An explicit `!!float` tag, read as PyYAML (gammapy's config reader) and YAML 1.2's core schema read it: any float
 * text, an integer's too (`!!float 3` is 3.0), `.inf`/`.nan`, underscores between digits, and YAML 1.1's base 60
 * (`1:30.5`). The yaml package's float tags take only texts its own float pattern matches (a decimal point or an
 * exponent), so `!!float 3` was the string "3" there, with an "Unresolved tag" warning, where gammapy reads 3.0.
 */
const EXPLICIT_FLOAT = {
  tag: 'tag:yaml.org,2002:float',
  resolve(text: string, onError: (message: string) => void): number | string {
    // PyYAML's construct_yaml_float: underscores dropped, case folded, the sign taken off, then Python's float().
    let value = text.replace(/_/g, '').toLowerCase().trim();
    const sign = value.startsWith('-') ? -1 : 1;
    if (value.startsWith('-') || value.startsWith('+')) value = value.slice(1);
    if (value === '.inf') return sign * Number.POSITIVE_INFINITY;
    if (value === '.nan') return Number.NaN;
    const parts = value.split(':');
    if (parts.every((part) => PY_FLOAT.test(part))) {
      const number = (part: string) =>
        part === 'nan' ? Number.NaN : part.startsWith('inf') ? Number.POSITIVE_INFINITY : Number(part);
      // Base 60, the last part the units: 1:30.5 is 90.5.
      return sign * parts.reduce((sum, part) => sum * 60 + number(part), 0);
    }
    // Said of pipe.yaml files too (this reader is theirs as well as gammapy configs'): not "gammapy refuses it" alone.
    onError(
      `!!float ${text}: not a number (the float tag takes a number's text; PyYAML, gammapy's config reader, refuses it too: "could not convert string to float")`,
    );
    return text;
  },
};

/** Parse YAML text; syntax errors become diagnostics (all of them), the document is returned regardless. */
export function parseSource(
  file: string,
  text: string,
  options: ReadOptions = {},
): { source: SourceFile; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const lastWins = options.duplicateKeys === 'last';
  // merge: YAML 1.1's << merge keys, which PyYAML (gammapy's config reader) applies: a gammapy config may use them.
  // yaml's parseDocument, with the tokens kept: a config's text checks read them instead of lexing the file again.
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  let first: Document.Parsed | undefined;
  for (const next of new Composer({
    // yaml's warnings (a key that is a list, "stringified due to JS Object restrictions") went to stderr as node
    // process warnings, once per conversion; what they warn of is a diagnostic here (collectionKeys).
    logLevel: 'error',
    merge: true,
    customTags: (tags) => [EXPLICIT_FLOAT, ...tags],
    ...(lastWins ? { uniqueKeys: false } : {}),
  }).compose(tokens, true, text.length)) {
    if (!first) first = next;
    else {
      first.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  // compose(…, true) always ends with a document, an empty one for an empty text.
  const doc = first as Document.Parsed;
  const source: SourceFile = { file, text, lineCounter, doc, tokens };
  const diagnostics: Diagnostic[] = [];
  if (doc.errors.length === 0) {
    diagnostics.push(...collectionKeys(source));
    if (lastWins) diagnostics.push(...dropEarlierDuplicates(source));
    const merges = text.includes('<<') ? badMergeSources(source) : [];
    const aliases = merges.length > 0 ? undefined : aliasBomb(source);
    if (merges.length > 0) diagnostics.push(...merges);
    else if (aliases) diagnostics.push(aliases);
    else if (text.includes('<<')) expandMergeKeys(doc); // (most files have none: no walk)
    diagnostics.push(...unrepresentableNumbers(source));
  }
  const linesWithError = new Set<number>();
  const misaligned = new Map<number, number>();
  let lines: string[] | undefined; // split once, at the first error
  // A tab in an indentation throws every later line's indentation off (a key "indented 2 spaces, more than the key
  // above it (1)"): the tabs alone are said, the rest is their consequence.
  const tabs = doc.errors.filter((e) => e.code === 'TAB_AS_INDENT');
  for (const [severity, list] of [
    ['error', tabs.length > 0 ? tabs : doc.errors],
    ['warning', tabs.length > 0 ? [] : doc.warnings],
  ] as const) {
    for (const e of list) {
      const [start, end] = e.pos;
      if (severity === 'error') {
        const told = spanAt(source, start, 1).line;
        lines ??= text.split('\n');
        const indent = misalignedKey(lines, e.code, e.message, told, misaligned);
        if (indent === 'cascade') continue;
        if (indent) {
          // One error per line: yaml may also report the line it was told on (a second message on `step: x`).
          const seen = linesWithError.has(indent.line);
          linesWithError.add(told);
          linesWithError.add(indent.line);
          if (seen) continue;
          diagnostics.push(
            makeDiagnostic({
              code: 'yaml-syntax',
              message: indent.message,
              at: { file, line: indent.line, col: indent.col, length: indent.length },
              hint: indent.hint,
            }),
          );
          continue;
        }
      }
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
          ...(e.code === 'TAB_AS_INDENT'
            ? { hint: 'indent with spaces: YAML reads a tab as no indentation' }
            : placeholder && severity === 'error'
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
  options: ReadOptions = {},
): Promise<{ source?: SourceFile; diagnostics: Diagnostic[] }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    // What stands there, in words (a folder, a loop of links, no permission), before node's "EISDIR: illegal
    // operation on a directory, read".
    const reason =
      whyMissing(file) ??
      ((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message);
    return {
      diagnostics: [
        makeDiagnostic({ code: 'file-not-found', message: `cannot read ${file}: ${reason}`, at: from }),
      ],
    };
  }
  // Data given where YAML goes (gzip, FITS, UTF-16 text, anything with a NUL byte, which UTF-8 would decode all the
  // same): said for what it is, before it is decoded.
  const kind = binaryKind(bytes);
  if (kind)
    return {
      diagnostics: [
        makeDiagnostic({
          code: 'not-utf8',
          message: 'the file is not UTF-8 text',
          at: { file, line: 1, col: 1, length: 1 },
          hint: kind,
        }),
      ],
    };
  const decoded = decodeUtf8(file, bytes);
  if ('diagnostic' in decoded) return { diagnostics: [decoded.diagnostic] };
  // A CR alone ends a line in YAML (and for Python's text files: gammapy reads an old Mac file), but not for the
  // parser: the whole file was one line. Made a LF, which keeps every offset.
  return parseSource(file, decoded.text.replace(/\r(?!\n)/g, '\n'), options);
}

/**
 * The file's text, or an error at the first byte that is not UTF-8 (a Latin-1 'é', a binary file): decoding it
 * anyway would put U+FFFD into a key or a path, refused later as something else or not at all.
 */
function decodeUtf8(file: string, bytes: Buffer): { text: string } | { diagnostic: Diagnostic } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    // Feed the bytes one by one: the decoder throws at the byte that breaks a sequence; the sequence's first byte
    // (a Latin-1 'é' read as the start of a 3-byte one) is the one to point at.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let line = 1;
    let lineStart = 0;
    let at = 0;
    let sequenceStart = 0;
    try {
      for (; at < bytes.length; at++) {
        if (decoder.decode(bytes.subarray(at, at + 1), { stream: true }) !== '') sequenceStart = at + 1;
        if (bytes[at] === 0x0a) {
          line++;
          lineStart = at + 1;
        }
      }
      decoder.decode();
    } catch {}
    at = Math.min(sequenceStart, bytes.length - 1);
    // The column counts characters, as the other diagnostics do: those before the bad byte on its line.
    const col = bytes.subarray(lineStart, at).toString('utf8').length + 1;
    const hex = bytes[at]!.toString(16).toUpperCase().padStart(2, '0');
    return {
      diagnostic: makeDiagnostic({
        code: 'not-utf8',
        message: `the file is not UTF-8 text: byte 0x${hex} at line ${line}, column ${col} (byte offset ${at}) is not valid UTF-8`,
        at: { file, line, col, length: 1 },
        hint: 'YAML files are read as UTF-8: save the file in that encoding',
      }),
    };
  }
}

/** Why these bytes are no YAML text (a data file given as the config, UTF-16 text), as a hint; undefined for text. */
function binaryKind(bytes: Buffer): string | undefined {
  if (isUtf16(bytes))
    return 'this file is UTF-16 text: YAML files are read as UTF-8, save it in that encoding';
  const kind =
    bytes[0] === 0x1f && bytes[1] === 0x8b
      ? 'gzip-compressed data'
      : bytes.subarray(0, 9).toString('latin1') === 'SIMPLE  ='
        ? 'a FITS file'
        : bytes.includes(0)
          ? 'binary data'
          : undefined;
  return kind && `this is ${kind}, not YAML text: name the YAML file here, and the data in it`;
}

/** UTF-16 text (an editor's "Unicode"): a byte-order mark, or ASCII with every other byte 0. */
function isUtf16(bytes: Buffer): boolean {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return true;
  const n = Math.min(bytes.length, 64) & ~1;
  if (n < 4) return false;
  const zerosAt = (parity: number) => {
    for (let i = parity; i < n; i += 2) if (bytes[i] !== 0) return false;
    return true;
  };
  return zerosAt(0) !== zerosAt(1);
}

/**
 * A key that is a list or a mapping (`[a, b]: c`, `? {x: 1}`): YAML allows it, but no pipeline or config setting is
 * named so, and PyYAML (gammapy's reader) refuses it ("found unhashable key"). An error at the key; the pair is removed,
 * so that no reader meets it again (as an unknown key '[ a, b ]'). Said of pipe.yaml files too: pipe's reason first,
 * PyYAML's as well (as for !!float above), not "gammapy refuses it" alone.
 */
function collectionKeys(source: SourceFile): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(source.doc, {
    Map(_key, map) {
      const isCollection = (k: unknown) => isMap(k) || isSeq(k);
      if (!map.items.some((p) => isCollection(p.key))) return;
      map.items = map.items.filter((pair) => {
        if (!isCollection(pair.key)) return true;
        found.push(
          makeDiagnostic({
            code: 'yaml-key',
            message: `a key that is ${isSeq(pair.key) ? 'a list' : 'a mapping'}: no target, field or setting is named so (PyYAML, gammapy's config reader, refuses such a key too: "found unhashable key")`,
            at: spanOf(source, pair.key),
            hint: 'write the key as a plain name; a list or mapping goes after the colon, as its value',
          }),
        );
        return false;
      });
    },
  });
  return found;
}

/**
 * A key set more than once in a mapping, read as PyYAML reads it (its construct_mapping stores each pair in turn): the
 * last pair is kept, the earlier ones are removed from the document, each with a warning at its key.
 */
function dropEarlierDuplicates(source: SourceFile): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(source.doc, {
    Map(_key, map) {
      const last = new Map<string, Pair>();
      for (const pair of map.items)
        if (isScalar(pair.key) && !isMergeKey(pair.key)) last.set(String(pair.key.value), pair);
      if (last.size === map.items.filter((p) => isScalar(p.key) && !isMergeKey(p.key)).length) return;
      map.items = map.items.filter((pair) => {
        if (!isScalar(pair.key) || isMergeKey(pair.key)) return true;
        const kept = last.get(String(pair.key.value))!;
        if (kept === pair) return true;
        keepAnchoredValues(source.doc, pair);
        const again = spanOf(source, kept.key);
        found.push(
          makeDiagnostic({
            code: 'yaml-duplicate-key',
            severity: 'warning',
            message: `'${String(pair.key.value)}' is set again${again ? ` on line ${again.line}` : ''}: only the last value is read (as gammapy's YAML reader, PyYAML, reads it), this one is ignored`,
            at: spanOf(source, pair.key),
            hint: 'remove one of them, or merge them into one',
          }),
        );
        return false;
      });
    },
  });
  return found;
}

/**
 * A merge key whose value is not a mapping, an alias of one or a list of those (`<<: 5`, `<<: [*list]`): PyYAML refuses
 * it ("expected a mapping or list of mappings for merging"); yaml threw from toJS(), a stack trace, or dropped it.
 */
function badMergeSources(source: SourceFile): Diagnostic[] {
  const found: Diagnostic[] = [];
  const resolved = (n: unknown) => (isAlias(n) ? n.resolve(source.doc) : n);
  visit(source.doc, {
    Pair(_key, pair) {
      if (!isMergeKey(pair.key)) return;
      const value = resolved(pair.value);
      const items = isSeq(value) && !isAlias(pair.value) ? value.items : [pair.value];
      for (const item of items) {
        if (isMap(resolved(item))) continue;
        const what = resolved(item);
        found.push(
          makeDiagnostic({
            code: 'yaml-merge',
            message: `a merge key (<<) takes a mapping, an alias of one or a list of them, not ${isSeq(what) ? 'a list' : isScalar(what) ? `the value ${JSON.stringify(what.value)}` : 'this'}${isAlias(item) ? ` (*${(item as { source: string }).source})` : ''}`,
            at: spanOf(source, item) ?? spanOf(source, pair.key),
            hint: 'merge a mapping: <<: *anchor, where &anchor names a mapping ({key: value, …})',
          }),
        );
      }
    },
  });
  return found;
}

/** A `<<` merge key, as yaml reads one with `merge: true`. */
function isMergeKey(key: unknown): boolean {
  return (
    isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'))
  );
}

/**
 * Merge keys (`energy_true: {<<: *e, max: 20 TeV}`) written out in the document itself, as PyYAML applies them: each
 * map's `<<` pair is replaced by copies of the merged maps' pairs that the map does not set itself (an earlier map
 * of a `<<: [*a, *b]` list wins over a later one). Every reader of the document (params, the config lookup, the
 * schema's places) then sees plain maps, and a merged value's place is where it is written (the anchor's map).
 */
function expandMergeKeys(doc: Document.Parsed): void {
  // Merged maps may hold merge keys of their own: expanded over again until none is left (bounded: cycles are
  // refused by yaml, and each round expands at least one level).
  for (let round = 0; round < 32; round++) {
    let found = false;
    visit(doc, {
      Map(_key, map) {
        const at = map.items.findIndex((p) => isMergeKey(p.key));
        if (at < 0) return;
        found = true;
        const merge = map.items[at]!.value;
        const sources = (isSeq(merge) ? merge.items : [merge]).map((n) => (isAlias(n) ? n.resolve(doc) : n));
        const own = new Set(
          map.items
            .filter((p) => !isMergeKey(p.key))
            .map((p) => (isScalar(p.key) ? String(p.key.value) : p.key)),
        );
        keepAnchoredValues(doc, merge);
        const added: Pair[] = [];
        for (const src of sources) {
          if (!isMap(src)) continue;
          for (const pair of src.items) {
            const name = isScalar(pair.key) ? String(pair.key.value) : pair.key;
            if (isMergeKey(pair.key) || own.has(name)) continue;
            own.add(name);
            added.push(pair.clone() as Pair);
          }
        }
        map.items.splice(at, 1, ...added);
      },
    });
    if (!found) return;
  }
}

/**
 * Before `removed` leaves the document (a duplicate key's earlier pair, a merge key's inline source): each alias of an
 * anchor set inside it becomes a copy of the anchored value. PyYAML registers an anchor as it reads the node, whatever
 * becomes of the node afterwards, so `<<: &centre {…}` or `binsize: &b 0.1, binsize: 0.2` still give *centre and *b a
 * value; with the node gone, yaml's alias named nothing (toJS() threw: a stack trace, or "no anchor set before it").
 * The copy keeps the anchored value's place, for diagnostics.
 */
function keepAnchoredValues(doc: Document.Parsed, removed: unknown): void {
  const anchored = new Set<unknown>();
  visit(removed as Node, {
    Node(_key, node) {
      if (!isAlias(node) && node.anchor) anchored.add(node);
    },
  });
  if (anchored.size === 0) return;
  visit(doc, {
    Alias(_key, alias) {
      const target = alias.resolve(doc);
      if (!target || !anchored.has(target)) return;
      const copy = (target as Node).clone() as Node;
      delete copy.anchor;
      return copy;
    },
  });
}

/**
 * An error when expanding the document's aliases would exceed yaml's limit (the "billion laughs": a few lines of
 * nested aliases expanding to millions of nodes): toJS() throws a ReferenceError there, which each reader of the
 * document would let through as a stack trace. Reported at the first alias.
 */
function aliasBomb(source: SourceFile): Diagnostic | undefined {
  let first: Node | undefined;
  visit(source.doc, {
    Alias(_key, node) {
      first = node;
      return visit.BREAK;
    },
  });
  // Without an alias (nearly every file) there is nothing to expand: no conversion just to find that out.
  if (!first) return undefined;
  try {
    source.doc.toJS();
    return undefined;
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    // An alias whose anchor comes later (or nowhere): YAML reads top to bottom. Not a bomb: said at that alias.
    let unresolved: (Node & { source: string }) | undefined;
    visit(source.doc, {
      Alias(_key, node) {
        if (node.resolve(source.doc) !== undefined) return;
        unresolved = node as Node & { source: string };
        return visit.BREAK;
      },
    });
    if (unresolved)
      return makeDiagnostic({
        code: 'yaml-alias-unresolved',
        message: `alias *${unresolved.source} names no anchor set before it`,
        at: spanOf(source, unresolved) ?? { file: source.file, line: 1, col: 1, length: 1 },
        hint: `YAML reads top to bottom: put the anchor (&${unresolved.source}) on a value above its first use`,
      });
    const at = spanOf(source, first) ??
      spanOf(source, source.doc.contents) ?? { file: source.file, line: 1, col: 1, length: 1 };
    return makeDiagnostic({
      code: 'yaml-aliases',
      message: `aliases expand to too many nodes (${firstLine(error.message)})`,
      at,
      hint: 'write the repeated values out, or use fewer nested aliases',
    });
  }
}

/**
 * Why a number written as `text` (read as `value`) cannot enter a task's key as written, or undefined: not finite
 * (.inf, .nan, 1e400: no setting means them, and canonical JSON cannot hold them), or an integer beyond 2^53 (YAML
 * reads 12345678901234567890 as 12345678901234567000, so the key and a command's argv would carry another value,
 * and an edit of the last digits change nothing). One rule for the YAML files and `--param`; `reading` says what
 * the YAML value became, for a file's diagnostic.
 */
export function numberProblem(
  text: string,
  value: unknown,
): { code: string; message: string; hint: string; reading: string } | undefined {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return undefined;
  const written = text.trim();
  if (!Number.isFinite(value))
    return {
      code: 'not-finite',
      message: `the number ${written} is not finite`,
      reading: `(it reads as ${value})`,
      hint: 'write a finite number (a value meaning "no limit" is best left out, or quoted as text)',
    };
  // An integer literal as YAML 1.2's core schema reads one: decimal, 0x or 0o (1e20 is a float, exact or not).
  const digits = /^[-+]?((?:[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+))$/.exec(written)?.[1];
  if (digits === undefined || BigInt(digits) <= BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    code: 'inexact-integer',
    message: `the integer ${written} cannot be held exactly`,
    reading: `(it would be read as ${value})`,
    hint: 'quote it to keep it as text ("12345678901234567890"); integers beyond 2^53 (9007199254740992) lose digits as numbers',
  };
}

/** The numbers of a file that numberProblem refuses, each at its place. */
function unrepresentableNumbers(source: SourceFile): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(source.doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'number' || Number.isSafeInteger(node.value) || !node.range) return;
      const problem = numberProblem(source.text.slice(node.range[0], node.range[1]), node.value);
      if (problem)
        found.push(
          makeDiagnostic({
            code: problem.code,
            message: `${problem.message} ${problem.reading}`,
            hint: problem.hint,
            at: spanOf(source, node),
          }),
        );
    },
  });
  return found;
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

const indentOf = (line: string): number => line.length - line.trimStart().length;
const isContent = (line: string): boolean => line.trim() !== '' && !line.trimStart().startsWith('#');
const KEY = /^\s*(?:-\s+)?([^\s:#][^:#]*?)\s*:(?:\s|$)/;

/** The nearest line above `line` (1-based) that holds YAML, not a blank or a comment: its number, or 0. */
function contentAbove(lines: readonly string[], line: number): number {
  for (let l = line - 1; l >= 1; l--) if (isContent(lines[l - 1]!)) return l;
  return 0;
}

/**
 * A key indented unlike its neighbours, as the user sees it: yaml says "All mapping items must start at the same
 * column" at column 1 of the line (and again for the next, correctly indented line), or "Nested mappings are not
 * allowed in compact mappings" on the line above when a key is indented more than the `key: value` before it. Told
 * at the key, with both indentations; 'cascade' for the error yaml reports on the line after a misaligned one that
 * lines up with the lines before it. `misaligned`: the lines told so far, with the indentation of the line above them.
 */
function misalignedKey(
  lines: readonly string[],
  code: string,
  message: string,
  line: number,
  misaligned: Map<number, number>,
): { line: number; col: number; length: number; message: string; hint: string } | 'cascade' | undefined {
  let at = line;
  if (code === 'BLOCK_AS_IMPLICIT_KEY') {
    // Told on `step: x`; the culprit is the next line, indented more than `step`.
    let next = line + 1;
    while (next <= lines.length && !isContent(lines[next - 1]!)) next++;
    if (next > lines.length || indentOf(lines[next - 1]!) <= indentOf(lines[line - 1]!)) return undefined;
    at = next;
  } else if (code !== 'BAD_INDENT' || !/^All mapping items must start at the same column/.test(message)) {
    return undefined;
  }
  const here = lines[at - 1] ?? '';
  const above = contentAbove(lines, at);
  if (above === 0) return undefined;
  const indent = indentOf(here);
  const aboveIndent = indentOf(lines[above - 1]!);
  if (code === 'BAD_INDENT' && misaligned.get(above) === indent) return 'cascade';
  if (indent === aboveIndent) return undefined;
  misaligned.set(at, aboveIndent);
  const key = KEY.exec(here)?.[1];
  const aboveMatch = KEY.exec(lines[above - 1]!);
  const aboveKey = aboveMatch?.[1];
  const aboveValue = aboveMatch ? lines[above - 1]!.slice(aboveMatch[0].length).trim() : '';
  const what = key ? `'${key}'` : 'this line';
  const than = aboveKey
    ? `the key above it ('${aboveKey}', ${aboveIndent})`
    : `the line above (${aboveIndent})`;
  return {
    line: at,
    col: indent + 1,
    length: Math.max(1, key?.length ?? here.trim().length),
    message: `${what} is indented ${indent} space${indent === 1 ? '' : 's'}, ${indent < aboveIndent ? 'less' : 'more'} than ${than}`,
    hint:
      // Above, `key: value` with a plain value: the line was perhaps meant as that key's content.
      indent > aboveIndent && aboveKey && /^[^{["'|>&*#]/.test(aboveValue)
        ? `keys of one mapping start at the same column; to nest it under '${aboveKey}', that key's value must start on the next line ('${aboveKey}:' alone)`
        : 'keys of one mapping start at the same column (YAML counts the spaces)',
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
