/**
 * Where a user's step module threw, for its failure message: node's error says what went wrong, and the stack (kept
 * in the task's log) says where, but the build printed only the message. pipe's own steps (packages/…) and
 * installed ones (node_modules) make messages that name the file and place of the data; they get nothing added.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { relativeImports } from '../fingerprint/relative-imports.js';

/** The folder pipe's packages are in (this file is packages/core/dist/… or a bundle under packages/cli/dist/…). */
const PIPE_PACKAGES = (() => {
  const here = fileURLToPath(import.meta.url);
  const at = here.lastIndexOf(`${path.sep}packages${path.sep}`);
  return at < 0 ? undefined : here.slice(0, at + '/packages/'.length);
})();

/** A stack frame's file, line and column: `at f (file:///x/y.mjs:4:10)`, `at /x/y.cjs:4:10`. */
const FRAME = /^\s*at (?:.*?\()?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?$/;

/**
 * `/ws/steps/boom.mjs:4:10`: the topmost frame of `error`'s stack in the step module's folder (or below it, outside
 * node_modules), or undefined.
 */
export function stepErrorPlace(error: unknown, module: string): string | undefined {
  if (PIPE_PACKAGES && module.startsWith(PIPE_PACKAGES)) return undefined;
  if (module.split(path.sep).includes('node_modules')) return undefined;
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return undefined;
  const folder = path.dirname(module) + path.sep;
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (file.startsWith(folder) && !file.split(path.sep).includes('node_modules'))
      return sourcePlace(file, Number(m[2]), Number(m[3])) ?? `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/**
 * `/ws/src/step.ts:21:11`: where line:col (1-based) of a compiled module comes from, through its source map (a
 * `//# sourceMappingURL=` file beside it, as tsc's `sourceMap: true` writes it), or undefined. Read only on the
 * error path, so the steps' workers need not run with source maps enabled.
 */
function sourcePlace(file: string, line: number, column: number): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (!url || url.startsWith('data:')) return undefined;
    const mapFile = path.resolve(path.dirname(file), url);
    const payload = JSON.parse(readFileSync(mapFile, 'utf8')) as { sourceRoot?: string };
    const entry = new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]).findEntry(
      line - 1,
      column - 1,
    ) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
    const source = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : path.resolve(path.dirname(mapFile), payload.sourceRoot ?? '', entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  } catch {
    return undefined;
  }
}

/**
 * A step's failure message, with the place its own code threw when it is known (`oops (at /ws/steps/a.mjs:4:10)`)
 * and the error blames no param.
 */
export function stepErrorMessage(error: unknown, module: string): string {
  const message = error instanceof Error ? error.message : thrownValueText(error);
  // An error that blames a param value is located where that value was set (`; set at pipe.yaml:6:22`); one
  // whose `param` is malformed meant to blame one too.
  const blames = typeof error === 'object' && error !== null && 'param' in error;
  const place = blames ? undefined : stepErrorPlace(error, module);
  return place && !message.includes(place) ? `${message} (at ${place})` : message;
}

/** A thrown value that is no Error, as text: an object as its JSON (String() gives "[object Object]"). */
function thrownValueText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const text = String(value);
  if (text !== '[object Object]') return text;
  try {
    const json = JSON.stringify(value);
    return `threw ${json.length > 500 ? `${json.slice(0, 500)}…` : json} (not an Error: no stack)`;
  } catch {
    return `threw an object that is not an Error (${Object.keys(value).join(', ') || 'no keys'})`;
  }
}

/**
 * `file:line:col` from what `node --check` prints: `file:line`, the line, and a caret line under the error (its
 * leading whitespace copied from the line, so its length is the column). `file:line` when there is no caret (the
 * end of the input).
 */
export function checkedPlace(stderr: string): string | undefined {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => /^.+:\d+$/.test(l));
  if (at < 0) return undefined;
  const caret = /^(\s*)\^+\s*$/.exec(lines[at + 2] ?? '');
  return caret ? `${lines[at]}:${caret[1]!.length + 1}` : lines[at];
}

/**
 * Where a module's syntax error is (`file:line:col`): node's import() error says what, not where. `node --check`
 * prints the place first; only the error path pays for it. Undefined when the module parses (the error is at run
 * time, or in a module it imports).
 */
function syntaxErrorPlace(modulePath: string): string | undefined {
  // The module, then the modules it imports by relative path: node names neither the importing nor the imported file
  // of a syntax error met during import (found by helper-113: a helper's error was reported as the step's, without a
  // place).
  for (const { file } of relativeModules(modulePath)) {
    const checked = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
    const place = checkedPlace(checked.stderr ?? '');
    if (place) return place;
  }
  return undefined;
}

/** A module and the modules it imports by relative path, breadth first (50 at most), each with its text. */
function* relativeModules(modulePath: string): Generator<{ file: string; text: string }> {
  const queue = [modulePath];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length && i < 50; i++) {
    const file = queue[i]!;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    yield { file, text };
    for (const spec of relativeImports(text)) {
      const next = path.resolve(path.dirname(file), spec);
      if (!seen.has(next) && existsSync(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
}

/** `file:line:col` of `offset` in `text`. */
function placeAt(file: string, text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${file}:${before.length}:${before[before.length - 1]!.length + 1}`;
}

/**
 * Where a name is imported that the module named does not export (node says which name and module, not which import:
 * found by helper-155, a helper saved empty mid-write in a watch): the import of it in the step or a module it
 * imports by relative path, breadth first.
 */
function missingExportPlace(modulePath: string, message: string): string | undefined {
  const missing = /does not provide an export named '([^']+)'/.exec(message)?.[1];
  const from = /The requested module '([^']+)'/.exec(message)?.[1];
  if (!missing || !from) return undefined;
  const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const statement = new RegExp(
    `\\bimport\\s*(?:[\\w$]+\\s*,\\s*)?\\{([^}]*)\\}\\s*from\\s*(['"])${literal(from)}\\2`,
    'g',
  );
  const name = new RegExp(`(^|[\\s,{])(${literal(missing)})\\b`);
  for (const { file, text } of relativeModules(modulePath)) {
    for (const m of text.matchAll(statement)) {
      const at = name.exec(m[1]!);
      if (at) return placeAt(file, text, m.index + m[0].indexOf('{') + 1 + at.index + at[1]!.length);
    }
  }
  return undefined;
}

/**
 * A module's import failure: `cannot import M: what node said`, with the line of a syntax error when there is one,
 * and for one of pipe's own packages (`@pipe/astro`) that does not resolve from the module's folder, how to install
 * it: they are not published, so a step outside pipe's repository has them only from a checkout (docs/steps.md).
 */
export function importErrorMessage(modulePath: string, message: string): string {
  const place = missingExportPlace(modulePath, message) ?? syntaxErrorPlace(modulePath);
  const ours = /Cannot find package '(@pipe\/[^'/]+)'/.exec(message)?.[1];
  const install = ours
    ? `; pipe's packages are not published: install ${ours} from pipe's checkout into the step's folder or one above it (npm install ${PIPE_PACKAGES ?? '/path/to/pipe/packages/'}${ours.slice('@pipe/'.length)}, see docs/steps.md)`
    : '';
  return `cannot import ${modulePath}: ${message}${place ? ` (at ${place})` : ''}${install}`;
}
