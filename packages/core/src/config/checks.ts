/**
 * Checks across targets, after each was built on its own: references to unknown targets or outputs,
 * file inputs that are another target's outputs (turned into dependencies), input files that do not
 * exist or are folders, empty or duplicate fan-outs, globs over another target's outputs, and the outputs'
 * paths (output-owners.ts: two targets writing one path, one inside the other; output-paths.ts: over a source
 * or input file).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { didYouMean } from '../graph/closest-names.js';
import {
  brokenLinks,
  isGlob,
  itemIdProblem,
  linkTrouble,
  literalPath,
  matchFiles,
  splitGlob,
} from '../graph/items.js';
import type { Diagnostic, ListItem, SourceSpan } from '../model/types.js';
import { whyMissing } from '../workspace/why-missing.js';
import { makeDiagnostic } from './diagnostics.js';
import { checkOutputPaths } from './output-owners.js';
import {
  checkOutputsOverInputs,
  checkOutputsOverSources,
  type KnownItems,
  knownItems,
  type PipelineSourceFile,
  type SelfRead,
} from './output-paths.js';
import type { TargetDraft } from './targets.js';

/**
 * Run every cross-target check; drafts are updated in place (file inputs that are outputs become target inputs).
 * `sources`: the files the pipeline is read from, which no output may overwrite.
 */
export function checkTargets(
  drafts: Map<string, TargetDraft>,
  root: string,
  broken: ReadonlySet<string> = new Set(),
  sources: readonly PipelineSourceFile[] = [],
  replaced: ReadonlyMap<string, string> = new Map(),
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const selfReads = linkOutputsAsInputs(drafts);
  checkReferences(drafts, broken, diagnostics, replaced);
  // A glob fan-out's files, matched once for the empty-foreach check and the output checks.
  const known = knownItems(root);
  checkInputFiles(drafts, root, known, diagnostics);
  checkOutputPaths(drafts, known, diagnostics);
  checkOutputsOverSources(drafts, root, sources, known, diagnostics);
  checkOutputsOverInputs(drafts, selfReads, known, diagnostics, root);
  checkGlobsOverOutputs(drafts, diagnostics);
  // A glob over another target's output that matches nothing yet: that it reads an output is the problem, not
  // that the output is not there (two errors at one place would contradict each other).
  // Likewise an input naming one item's product (output-paths.ts): not "does not exist" besides.
  const overOutputs = diagnostics.filter(
    (d) => (d.code === 'glob-matches-output' || d.code === 'input-is-item-output') && d.span,
  );
  return diagnostics.filter(
    (d) =>
      (d.code !== 'missing-input' && d.code !== 'empty-foreach') ||
      !overOutputs.some(
        (o) => o.span!.file === d.span?.file && o.span!.line === d.span.line && o.span!.col === d.span.col,
      ),
  );
}

/**
 * A glob input that can match another target's output would read that product as raw data: present or not, old or
 * new, depending on whether that target happened to run first. Refused: the product is read as {target: NAME}.
 * (A target's globs never match its own outputs: graph/expand.ts leaves them out.)
 */
function checkGlobsOverOutputs(drafts: Map<string, TargetDraft>, diagnostics: Diagnostic[]): void {
  const outputs: Array<{ target: string; path: string }> = [];
  for (const { target } of drafts.values())
    for (const p of Object.values(target.outputs))
      outputs.push({ target: target.name, path: p.replaceAll('{item}', 'ITEM') });
  for (const { target } of drafts.values()) {
    for (const [name, specs] of Object.entries(target.inputs)) {
      for (const spec of specs) {
        if (spec.kind !== 'file' || !isDynamicPattern(spec.pattern) || spec.pattern.includes('{item}'))
          continue;
        const matches = picomatch(spec.pattern, { dot: true });
        const hit = outputs.find((o) => o.target !== target.name && matches(o.path));
        if (!hit) continue;
        diagnostics.push(
          makeDiagnostic({
            code: 'glob-matches-output',
            message: `input '${name}' of target '${target.name}': glob '${spec.pattern}' matches '${hit.path.replaceAll('ITEM', '{item}')}', an output of target '${hit.target}'`,
            at: spec.span,
            hint: `read it as {target: ${hit.target}}, and narrow the glob to raw files`,
          }),
        );
      }
    }
    const foreach = target.foreach;
    if (foreach?.kind === 'glob') {
      const matches = picomatch(foreach.pattern, { dot: true });
      const hit = outputs.find((o) => o.target !== target.name && matches(o.path));
      if (hit)
        diagnostics.push(
          makeDiagnostic({
            code: 'glob-matches-output',
            message: `foreach glob '${foreach.pattern}' of target '${target.name}' matches '${hit.path.replaceAll('ITEM', '{item}')}', an output of target '${hit.target}'`,
            at: foreach.span,
            hint: `fan out over the target's items with {items: ${hit.target}} (its step emits them), or narrow the glob to raw files`,
          }),
        );
    }
    // A per-item input path that, for a listed item, is another target's output: it would be read as raw data,
    // with no edge to the target that writes it (present or not, old or new, by the order things ran).
    if (foreach?.kind === 'list') {
      for (const [name, specs] of Object.entries(target.inputs)) {
        for (const spec of specs) {
          if (spec.kind !== 'file' || !spec.pattern.includes('{item}')) continue;
          for (const { id: item } of foreach.items) {
            const p = spec.pattern.replaceAll('{item}', item);
            const hit = outputs.find(
              (o) =>
                o.target !== target.name &&
                (o.path === p || picomatch.isMatch(p, o.path.replaceAll('ITEM', '*'), { dot: true })),
            );
            if (!hit) continue;
            diagnostics.push(
              makeDiagnostic({
                code: 'input-is-output',
                message: `input '${name}' of target '${target.name}': for item '${item}', '${p}' is an output of target '${hit.target}'`,
                at: spec.span,
                hint: hit.path.includes('ITEM')
                  ? `read it as {target: ${hit.target}, per_item: true}`
                  : `read it as {target: ${hit.target}}`,
              }),
            );
            break;
          }
        }
      }
    }
  }
}

/**
 * A file input equal to another target's declared output depends on that target, as in make. It may
 * be written relative to the declaring file or, like outputs, relative to the workspace. A target's own output
 * is not linked (it would be a cycle of one): returned, for checkOutputsOverInputs to refuse.
 */
function linkOutputsAsInputs(drafts: Map<string, TargetDraft>): SelfRead[] {
  const producers = new Map<string, { target: string; output: string }>();
  for (const { target } of drafts.values()) {
    for (const [output, p] of Object.entries(target.outputs))
      producers.set(p, { target: target.name, output });
  }
  const selfReads: SelfRead[] = [];
  for (const draft of drafts.values()) {
    const { target, writtenPatterns } = draft;
    for (const [input, specs] of Object.entries(target.inputs)) {
      specs.forEach((spec, i) => {
        if (spec.kind !== 'file') return;
        const written = writtenPatterns.get(spec);
        const producer =
          producers.get(spec.pattern) ??
          (written === undefined ? undefined : producers.get(path.posix.normalize(written)));
        if (!producer) return;
        if (producer.target === target.name) {
          selfReads.push({ draft, input, output: producer.output, span: spec.span });
          return;
        }
        const perItem = spec.pattern.includes('{item}');
        specs[i] = {
          kind: 'target',
          target: producer.target,
          output: producer.output,
          span: spec.span,
          ...(perItem ? { perItem } : {}),
        };
      });
    }
  }
  return selfReads;
}

function checkReferences(
  drafts: Map<string, TargetDraft>,
  broken: ReadonlySet<string>,
  diagnostics: Diagnostic[],
  replaced: ReadonlyMap<string, string>,
): void {
  const names = [...drafts.keys()];
  const unknown = (name: string, what: string, span: SourceSpan | undefined) =>
    broken.has(name) ||
    diagnostics.push(
      makeDiagnostic({
        code: 'unknown-target',
        message: `${what} unknown target '${name}'`,
        at: span,
        hint: replaced.has(name)
          ? `'${name}' is written in the pipeline, but this config replaces it: ${replaced.get(name)}`
          : didYouMean(name, names),
      }),
    );
  for (const { target, needSpans, withSpans } of drafts.values()) {
    for (const need of target.needs)
      if (!drafts.has(need)) unknown(need, `'needs' names`, needSpans.get(need));
    for (const name of target.with) if (!drafts.has(name)) unknown(name, `'with' names`, withSpans.get(name));
    if (target.foreach?.kind === 'items' && !drafts.has(target.foreach.target)) {
      unknown(target.foreach.target, `'foreach' takes its items from`, target.foreach.span);
    }
    const source = target.foreach?.kind === 'items' ? drafts.get(target.foreach.target)?.target : undefined;
    if (source?.step === 'command') {
      // It would expand to no task at all, and the build would say it succeeded.
      const same =
        source.foreach?.kind === 'glob'
          ? `foreach: {glob: "${source.foreach.pattern}"}`
          : source.foreach?.kind === 'list'
            ? 'the same foreach list'
            : undefined;
      diagnostics.push(
        makeDiagnostic({
          code: 'items-from-command',
          message: `'foreach' takes its items from target '${source.name}', which runs a command: a command emits no items`,
          at: target.foreach!.span,
          hint: same
            ? `to fan out over the items of '${source.name}', write ${same} here and read its outputs with {target: ${source.name}, per_item: true}`
            : `items come from a step module whose run returns {items: [...]}`,
        }),
      );
    }
    for (const [name, specs] of Object.entries(target.inputs)) {
      for (const spec of specs) {
        if (spec.kind !== 'target') continue;
        const upstream = drafts.get(spec.target)?.target;
        if (!upstream) {
          unknown(spec.target, `input '${name}' reads from`, spec.span);
          continue;
        }
        if (spec.output !== undefined && !(spec.output in upstream.outputs)) {
          const outputs = Object.keys(upstream.outputs);
          diagnostics.push(
            makeDiagnostic({
              code: 'unknown-output',
              message: `target '${spec.target}' has no output '${spec.output}'`,
              at: spec.span,
              hint:
                didYouMean(spec.output, outputs) ??
                (outputs.length ? `its outputs: ${outputs.join(', ')}` : undefined),
            }),
          );
        }
        if (spec.perItem && (!target.foreach || !upstream.foreach)) {
          diagnostics.push(
            makeDiagnostic({
              code: 'per-item-without-foreach',
              message: `input '${name}' is per item, but '${target.foreach ? spec.target : target.name}' has no foreach`,
              at: spec.span,
              hint: 'per_item pairs task t[i] with upstream task u[i]; both targets need a foreach',
            }),
          );
        }
      }
    }
  }
}

function checkInputFiles(
  drafts: Map<string, TargetDraft>,
  root: string,
  known: KnownItems,
  diagnostics: Diagnostic[],
): void {
  for (const { target } of drafts.values()) {
    // Globs of one input under one folder that does not exist (a data store's two index files): said once.
    const missingFolders = new Set<string>();
    for (const [name, specs] of Object.entries(target.inputs)) {
      for (const spec of specs) {
        if (spec.kind !== 'file' || spec.pattern.includes('{item}')) continue;
        const fixed = !isGlob(spec.pattern);
        const abs = path.resolve(root, fixed ? literalPath(spec.pattern) : spec.pattern);
        if (fixed && isDirectory(abs)) {
          // A folder has no bytes to hash: its files are the inputs.
          diagnostics.push(
            makeDiagnostic({
              code: 'input-is-directory',
              message: `input '${name}' of target '${target.name}': '${spec.pattern}' is a directory`,
              at: spec.span,
              hint: `name its files with a glob, e.g. '${spec.pattern.replace(/\/$/, '')}/**'`,
            }),
          );
          continue;
        }
        if (countMatches(spec.pattern, root) > 0) continue;
        const glob = !fixed;
        if (glob) {
          const { base } = splitGlob(abs);
          const key = `${name}\0${base}\0${spec.span?.file}:${spec.span?.line}:${spec.span?.col}`;
          if (!isDirectory(base) && missingFolders.has(key)) continue;
          missingFolders.add(key);
        }
        // Something is there that is no file (a symlink loop, a dangling link): say what, not "does not exist".
        const why = fixed ? whyMissing(abs) : undefined;
        const looksLikeRef = /(^|\/)target:/.exec(spec.pattern);
        diagnostics.push(
          makeDiagnostic({
            target: target.name,
            code: 'missing-input',
            message: `${
              glob
                ? `input '${name}' of target '${target.name}': glob '${spec.pattern}' matches no file`
                : `input '${name}' of target '${target.name}': file '${spec.pattern}' ${why ? `is unusable: ${why}` : 'does not exist'}`
            }${spec.override ? ` (value from ${spec.override})` : ''}`,
            // A value given with --param has no place in a file: the message names the override instead.
            at: spec.override ? undefined : spec.span,
            hint: spec.override
              ? "a relative path given with --param for a config value is relative to the config file's folder, as the config's own values are (the path above); give an absolute path"
              : looksLikeRef
                ? "to read another target's outputs, write {target: NAME}"
                : (fixed && !why && sameNameAs(abs)) ||
                  (glob && emptyGlobHint(spec.pattern, root)) ||
                  [
                    spec.span && target.span && spec.span.file !== target.span.file
                      ? // The path is a value of the parameter file (`${config.x}`): its own rules, not the target's.
                        writtenAbsolute(spec.span)
                        ? `the path is this value of ${path.basename(spec.span.file)}`
                        : `the path is this value of ${path.basename(spec.span.file)}: relative to that file, with $NAME from the environment (else the root pipe.yaml's vars:)`
                      : 'paths are relative to the file that declares the target; outputs of other targets are found by their exact path',
                    glob && baseHint(spec.pattern, root),
                  ]
                    .filter(Boolean)
                    .join('; '),
          }),
        );
      }
    }
    const globs = Object.entries(target.inputs).flatMap(([name, specs]) =>
      specs.flatMap((spec) =>
        spec.kind === 'file' && !spec.pattern.includes('{item}')
          ? [{ what: `input '${name}'`, pattern: spec.pattern, span: spec.span }]
          : [],
      ),
    );
    if (target.foreach?.kind === 'glob')
      globs.push({ what: 'foreach', pattern: target.foreach.pattern, span: target.foreach.span });
    for (const glob of globs)
      for (const link of brokenLinks(glob.pattern, root))
        diagnostics.push(
          makeDiagnostic({
            code: 'broken-link',
            severity: 'warning',
            message: `${glob.what} of target '${target.name}': '${path.relative(root, link)}' matches glob '${glob.pattern}' but is ${linkTrouble(link)}, so it is left out`,
            at: glob.span,
            hint: 'mount or restore what it points to (the next build sees it), or remove the link',
          }),
        );
    const foreach = target.foreach;
    if (foreach?.kind === 'glob' && known(target)?.size === 0) {
      diagnostics.push(
        makeDiagnostic({
          target: target.name,
          code: 'empty-foreach',
          message: `foreach glob '${foreach.pattern}' of target '${target.name}' matches no file`,
          at: foreach.span,
          hint: emptyGlobHint(foreach.pattern, root) ?? baseHint(foreach.pattern, root),
        }),
      );
    }
    if (foreach?.kind === 'list') {
      // By id (it names the task and its files) and by value: 0.1 and 0.10 would be two tasks computing one thing.
      const seen = new Map<string, ListItem>();
      const seenValues: ListItem[] = [];
      for (const entry of foreach.items) {
        const item = entry.id;
        const at = entry.span ?? foreach.span;
        const problem = itemIdProblem(item);
        // `foreach: ["${config.samples}"]`: a config list is not substituted there (as `foreach: "${config…}"` is
        // refused); the item was the text itself, its outputs named `build/s-${config.samples}.txt`.
        if (!problem && item.includes('${config.'))
          diagnostics.push(
            makeDiagnostic({
              code: 'bad-item',
              message: `foreach item '${item}' of target '${target.name}': \${config…} is not substituted in foreach`,
              at,
              hint: 'list the items here, or glob their files',
            }),
          );
        if (problem)
          diagnostics.push(
            makeDiagnostic({
              code: 'bad-item',
              message: `foreach of target '${target.name}': ${problem}`,
              at,
            }),
          );
        const first =
          seen.get(item) ??
          (typeof entry.value === 'string' ? undefined : seenValues.find((s) => s.value === entry.value));
        if (first)
          diagnostics.push(
            makeDiagnostic({
              code: 'duplicate-item',
              message:
                first.id === item
                  ? `foreach item '${item}' of target '${target.name}' is listed twice`
                  : `foreach item '${item}' of target '${target.name}' is listed twice (as '${first.id}'): both are the ${typeof entry.value} ${String(entry.value)}`,
              at,
              ...(first.span
                ? { related: [{ message: `'${first.id}' listed here`, span: first.span }] }
                : {}),
              ...(first.id === item
                ? {}
                : { hint: 'list each value once: its two tasks would compute the same' }),
            }),
          );
        if (!seen.has(item)) seen.set(item, entry);
        if (typeof entry.value !== 'string') seenValues.push(entry);
      }
      if (foreach.items.length === 0)
        diagnostics.push(
          makeDiagnostic({
            code: 'empty-foreach',
            message: `foreach of target '${target.name}' lists no items`,
            at: foreach.span,
          }),
        );
    }
  }
}

/** Why a glob may match no file: a bracket or brace left open (read literally), or only folders matching. */
function emptyGlobHint(pattern: string, root: string): string | undefined {
  return unclosedHint(pattern) ?? foldersHint(pattern, root);
}

/**
 * For a file that is not there: a file of its folder whose name differs only in letter case, Unicode normalisation
 * (an 'é' composed or not: macOS writes NFD) or blanks around it, as a hint; else undefined.
 */
function sameNameAs(abs: string): string | undefined {
  const fold = (n: string) => n.normalize('NFC').toLowerCase().trim();
  const wanted = fold(path.basename(abs));
  let names: string[];
  try {
    names = readdirSync(path.dirname(abs));
  } catch {
    return undefined;
  }
  const found = names.find((n) => fold(n) === wanted);
  return found === undefined
    ? undefined
    : `did you mean '${found}'? Its name differs only in letter case, Unicode normalisation (é composed or not) or blanks, and file names are matched exactly`;
}

/** Whether the value at `span` is written as an absolute path (read from its file: an error's path only). */
function writtenAbsolute(span: SourceSpan): boolean {
  try {
    const line = readFileSync(span.file, 'utf8').split(/\r?\n/)[span.line - 1] ?? '';
    return /^["']?\//.test(line.slice(span.col - 1));
  } catch {
    return false;
  }
}

/**
 * For a glob that matches no file: that its fixed folder does not exist, or the files that folder holds (a typo in
 * the extension, `*.fits` over `.fit` files); else undefined.
 */
function baseHint(pattern: string, root: string): string | undefined {
  const { base } = splitGlob(path.resolve(root, pattern));
  // A folder outside the workspace is shown whole: as '../../work/…' it would read as a path relative to the config.
  const rel = path.relative(root, base);
  const shownBase =
    rel.startsWith('..') || path.isAbsolute(rel) ? base : rel.split(path.sep).join('/') || '.';
  if (!isDirectory(base)) return `the folder '${shownBase}' does not exist`;
  // Its own files only: a listing of the whole tree could be long (one folder per night of data).
  let files: string[];
  try {
    files = readdirSync(base, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  } catch {
    return undefined;
  }
  if (files.length === 0) return undefined;
  const shown = files.slice(0, 3).map((f) => `'${f}'`);
  // A wildcard escaped: from a config value or variable, which is a literal path (a folder `LST-1 (2021)`).
  const escaped = /\\[*?]|\[[*?]\]/.test(pattern)
    ? "; its '*' or '?' came from a config value or variable, which is taken as a literal path: write the wildcard in the pipeline file (e.g. \"${config.dir}/*.fits\")"
    : '';
  return `'${shownBase}' holds ${files.length === 1 ? 'one file' : `${files.length} files`}, none matching: ${shown.join(', ')}${files.length > 3 ? ', …' : ''}${escaped}`;
}

/** The first '{' or '[' of a glob that is never closed (the glob library then reads it as a literal character). */
function unclosedHint(pattern: string): string | undefined {
  const open: Array<{ char: string; at: number }> = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '{' || c === '[') open.push({ char: c, at: i });
    else if ((c === '}' || c === ']') && open.at(-1)?.char === (c === '}' ? '{' : '[')) open.pop();
  }
  const first = open[0];
  if (!first) return undefined;
  return `the '${first.char}' at character ${first.at + 1} is never closed with '${first.char === '{' ? '}' : ']'}': it is read as a literal '${first.char}'`;
}

/**
 * For a glob that matches no file: when it matches folders (one per night, per run), that a glob names files, with
 * the folders it found and a pattern into them; else undefined.
 */
function foldersHint(pattern: string, root: string): string | undefined {
  const { base, rest } = splitGlob(path.resolve(root, pattern));
  let folders: string[];
  try {
    folders = globSync(rest, { cwd: base, onlyDirectories: true, expandDirectories: false });
  } catch {
    return undefined;
  }
  if (folders.length === 0) return undefined;
  const shown = folders
    .sort()
    .slice(0, 3)
    .map((f) => path.relative(root, path.join(base, f)).split(path.sep).join('/'));
  const more = folders.length > 3 ? `, … (${folders.length})` : '';
  return `it matches only folders (${shown.join(', ')}${more}): a glob names files, e.g. '${pattern.replace(/\/$/, '')}/*'`;
}

/** Whether `abs` is a folder; false when nothing usable is there (missing, a symlink loop, not searchable). */
function isDirectory(abs: string): boolean {
  try {
    return statSync(abs, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/** Files matching a workspace-relative or absolute path or glob. */
export function countMatches(pattern: string, root: string): number {
  if (!isGlob(pattern)) return existsSync(path.resolve(root, literalPath(pattern))) ? 1 : 0;
  // From the glob's fixed directory: globbing an absolute pattern from the workspace crawls far more
  // (~10–30 ms for a data store's index, against 0.4 ms).
  return matchFiles(pattern, root).length;
}
