/**
 * Output paths. One output on its own: a file inside the workspace, outside pipe's own `.pipe/` folder. Across
 * targets: no output is a file the pipeline is read from or a raw input file (a build would overwrite what it
 * reads); that each path belongs to one target is output-owners.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { staticItems, templateItem } from '../graph/items.js';
import type { Diagnostic, SourceSpan, Target } from '../model/types.js';
import { makeDiagnostic } from './diagnostics.js';
import type { TargetDraft } from './targets.js';

/** pipe's own folder in the workspace (workspace/layout.ts): state, cache, logs, outputs being written. */
const STATE_DIR = '.pipe';

/** A file the pipeline is read from, and what it is, for messages ('the pipeline file'). */
export interface PipelineSourceFile {
  file: string;
  what: string;
}

/** A target's input that is one of its own outputs (found where inputs are linked to outputs, checks.ts). */
export interface SelfRead {
  draft: TargetDraft;
  input: string;
  output: string;
  span: SourceSpan | undefined;
}

/** Why one output path cannot be written, or undefined. `normal` is the path normalised (posix). */
export function outputPathProblem(
  raw: string,
  normal: string,
  target: string,
): { code: string; message: string; hint: string } | undefined {
  // Absolute, it may well name a file in the workspace: not "outside" (outputHint gives the relative path).
  if (path.isAbsolute(raw))
    return {
      code: 'output-absolute',
      message: `output '${raw}' is an absolute path`,
      hint: 'outputs are paths relative to the workspace root',
    };
  if (normal === '..' || normal.startsWith('../'))
    return {
      code: 'output-outside-workspace',
      message: `output '${raw}' is outside the workspace`,
      hint: 'outputs are paths relative to the workspace root',
    };
  // '' and '.' name the workspace itself; a trailing '/' a folder: a task's output is one file it writes.
  if (normal === '.' || normal === './')
    return {
      code: 'output-not-a-file',
      message: `output '${raw}' of target '${target}' names the workspace folder, not a file`,
      hint: `an output is a file path relative to the workspace root, e.g. 'build/${target}.txt'`,
    };
  if (normal.endsWith('/'))
    return {
      code: 'output-not-a-file',
      message: `output '${raw}' of target '${target}' ends with '/': it names a folder, and an output is a file`,
      hint: `name the file, e.g. '${normal}${target}.txt'; declare each file of a folder as an output (or write one archive)`,
    };
  if (normal === STATE_DIR || normal.startsWith(`${STATE_DIR}/`))
    return {
      code: 'output-in-state-folder',
      message: `output '${raw}' of target '${target}' is inside ${STATE_DIR}/, pipe's own folder (state, cache, logs)`,
      hint: `write products elsewhere, e.g. '${path.posix.join('build', normal.slice(STATE_DIR.length + 1) || target)}'`,
    };
  return undefined;
}

/**
 * The ids of a fan-out as far as they are known at load: a foreach list's, or a glob's (its files now: every load
 * matches the glob again, so a file added later is checked then); undefined for items a step emits, any id.
 */
export type KnownItems = (target: Target) => ReadonlySet<string> | undefined;

export function knownItems(root: string): KnownItems {
  const memo = new Map<Target, ReadonlySet<string> | undefined>();
  return (target) => {
    if (!memo.has(target)) {
      const items = target.foreach && staticItems(target.foreach, root);
      memo.set(target, items && new Set(items.map((i) => i.id)));
    }
    return memo.get(target);
  };
}

/** The item for which an output of `target` is the path `p` ('' for an output without {item}), or undefined. */
export function outputItem(
  target: Target,
  template: string,
  p: string,
  known: KnownItems,
): string | undefined {
  const id = templateItem(template, p);
  if (!id) return id;
  const ids = known(target);
  return !ids || ids.has(id) ? id : undefined;
}

/** Outputs that would overwrite a file the pipeline is read from: the next load would read the product. */
export function checkOutputsOverSources(
  drafts: ReadonlyMap<string, TargetDraft>,
  root: string,
  sources: readonly PipelineSourceFile[],
  known: KnownItems,
  diagnostics: Diagnostic[],
): void {
  // Each file once (10,000 targets may share one step module), by absolute path.
  const files = new Map<string, string>();
  for (const { file, what } of sources) if (!files.has(file)) files.set(file, what);
  for (const { target } of drafts.values())
    if (target.stepModule && !files.has(target.stepModule))
      files.set(target.stepModule, `the step module of target '${target.name}'`);
  for (const { target, outputSpans } of drafts.values()) {
    for (const [name, template] of Object.entries(target.outputs)) {
      const abs = `${root}/${template}`;
      // A declared path is looked up; a fan-out's {item} output is tried against each file.
      let hit: { file: string; what: string; item: string } | undefined;
      if (!template.includes('{item}')) {
        const what = files.get(abs);
        if (what !== undefined) hit = { file: abs, what, item: '' };
      } else
        for (const [file, what] of files) {
          const item = outputItem(target, abs, file, known);
          if (item !== undefined) {
            hit = { file, what, item };
            break;
          }
        }
      if (!hit) continue;
      const { file, what, item } = hit;
      const rel = path.relative(root, file).split(path.sep).join('/');
      diagnostics.push(
        makeDiagnostic({
          code: 'output-is-source',
          message: `output '${template}' of target '${target.name}' is ${item ? `(for item '${item}') ` : ''}${what}, ${rel}: a build would overwrite it`,
          at: outputSpans.get(name),
          hint: 'a product is written to a path of its own, e.g. under build/',
        }),
      );
    }
  }
}

/**
 * Outputs over input files. A file input equal to another target's output was made a dependency on it
 * (checks.ts); what is left is a raw input, which no output may be: the target's own input (its task would
 * overwrite what it reads), a file an {item} output can name, or a literal output a fan-out's per-item input
 * can name (`cal/{item}.txt` and `cal/a.txt`).
 */
export function checkOutputsOverInputs(
  drafts: ReadonlyMap<string, TargetDraft>,
  selfReads: readonly SelfRead[],
  known: KnownItems,
  diagnostics: Diagnostic[],
  root: string,
): void {
  for (const { draft, input, output, span } of selfReads) {
    const p = draft.target.outputs[output]!;
    diagnostics.push(
      makeDiagnostic({
        code: 'output-is-input',
        message: `output '${p}' of target '${draft.target.name}' is also its input '${input}': its task would overwrite the file it reads`,
        at: draft.outputSpans.get(output),
        related: [{ message: `'${p}' read here, as input '${input}'`, span }],
        hint: `write the product to a path of its own, e.g. '${path.posix.join('build', p)}'`,
      }),
    );
  }
  const overwrites = (
    writer: TargetDraft,
    output: string,
    reader: TargetDraft,
    input: string,
    spec: { pattern: string; span?: SourceSpan | undefined },
  ) => {
    const template = writer.target.outputs[output]!;
    const whose =
      writer === reader ? `its own input '${input}'` : `input '${input}' of target '${reader.target.name}'`;
    // An {item} output over a literal input, or a literal output over a per-item input.
    const fanOut = template.includes('{item}');
    const item = fanOut
      ? outputItem(writer.target, template, spec.pattern, known)
      : outputItem(reader.target, spec.pattern, template, known);
    // Another target naming, by its path, one item's product that is no file yet: a dependency pipe has no edge for
    // (with a file there, it is a raw input the item would overwrite).
    if (fanOut && writer !== reader && !existsSync(path.resolve(root, spec.pattern))) {
      diagnostics.push(
        makeDiagnostic({
          code: 'input-is-item-output',
          message: `input '${input}' of target '${reader.target.name}' is '${spec.pattern}', the output '${output}' of ${writer.target.name}[${item}]: one item's product cannot be read by its path`,
          at: spec.span,
          related: [{ message: `'${template}' written here`, span: writer.outputSpans.get(output) }],
          hint: `read all of them, {target: ${writer.target.name}, output: ${output}}, or item by item from a foreach over the same items, {target: ${writer.target.name}, output: ${output}, per_item: true}`,
        }),
      );
      return;
    }
    diagnostics.push(
      makeDiagnostic({
        code: 'output-is-input',
        message: fanOut
          ? `output '${template}' of target '${writer.target.name}' is, for item '${item}', '${spec.pattern}': ${whose}, which a build would overwrite`
          : `output '${template}' of target '${writer.target.name}' is ${whose} ('${spec.pattern}') for item '${item}', which a build would overwrite`,
        at: writer.outputSpans.get(output),
        related: [{ message: `'${spec.pattern}' read here`, span: spec.span }],
        // The file may also be that item's product, from an earlier build: these checks cannot tell (the state can).
        hint:
          fanOut && writer !== reader
            ? `give the outputs of '${writer.target.name}' a folder of their own, where no input is read from; or, if '${spec.pattern}' is the product ${writer.target.name}[${item}] wrote, read all of them, {target: ${writer.target.name}, output: ${output}}, or item by item from a foreach over the same items, {target: ${writer.target.name}, output: ${output}, per_item: true}`
            : `give the outputs of '${writer.target.name}' a folder of their own, where no input is read from`,
      }),
    );
  };
  // Declared outputs by path, sorted (a per-item input finds those its template can name by its fixed head), and
  // the {item} outputs: no pass over every target for every input.
  const declared: Array<{ path: string; writer: TargetDraft; output: string }> = [];
  const templates: Array<{ writer: TargetDraft; output: string; template: string }> = [];
  for (const writer of drafts.values())
    for (const [output, template] of Object.entries(writer.target.outputs))
      if (template.includes('{item}')) templates.push({ writer, output, template });
      else declared.push({ path: template, writer, output });
  declared.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const startingWith = (head: string) => {
    let lo = 0;
    let hi = declared.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (declared[mid]!.path < head) lo = mid + 1;
      else hi = mid;
    }
    const out: typeof declared = [];
    for (let i = lo; i < declared.length && declared[i]!.path.startsWith(head); i++) out.push(declared[i]!);
    return out;
  };
  for (const reader of drafts.values()) {
    const foreach = reader.target.foreach;
    const inForeachGlob = foreach?.kind === 'glob' ? picomatch(foreach.pattern, { dot: true }) : () => false;
    for (const [input, specs] of Object.entries(reader.target.inputs)) {
      for (const spec of specs) {
        if (spec.kind !== 'file' || isDynamicPattern(spec.pattern)) continue;
        const perItem = spec.pattern.includes('{item}');
        // A listed item's input that is an output: checks.ts ('input-is-output', per item); a glob's own files: its
        // foreach glob ('glob-matches-output').
        if (perItem && foreach?.kind === 'list') continue;
        // Only fan-outs whose items are known now (a list's, a glob's files): any id a step might emit would refuse
        // common layouts (per-run products next to an index file); expandGraph sees those paths.
        const hit = perItem
          ? known(reader.target) &&
            startingWith(spec.pattern.slice(0, spec.pattern.indexOf('{item}'))).find(
              (d) =>
                d.writer !== reader &&
                !inForeachGlob(d.path) &&
                outputItem(reader.target, spec.pattern, d.path, known) !== undefined,
            )
          : templates.find(
              (t) =>
                known(t.writer.target) &&
                outputItem(t.writer.target, t.template, spec.pattern, known) !== undefined,
            );
        if (hit) overwrites(hit.writer, hit.output, reader, input, spec);
      }
    }
  }
}
