/**
 * Checks across targets, after each was built on its own: references to unknown targets or outputs,
 * file inputs that are another target's outputs (turned into dependencies), input files that do not
 * exist or are folders, empty or duplicate fan-outs, two targets writing one path or one inside the other, globs
 * over another target's outputs.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { didYouMean } from '../graph/closest-names.js';
import { itemIdProblem, matchFiles } from '../graph/items.js';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { formatLocation, makeDiagnostic } from './diagnostics.js';
import type { TargetDraft } from './targets.js';

/** Run every cross-target check; drafts are updated in place (file inputs that are outputs become target inputs). */
export function checkTargets(
  drafts: Map<string, TargetDraft>,
  root: string,
  broken: ReadonlySet<string> = new Set(),
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  linkOutputsAsInputs(drafts);
  checkReferences(drafts, broken, diagnostics);
  checkInputFiles(drafts, root, diagnostics);
  checkOutputPaths(drafts, diagnostics);
  checkGlobsOverOutputs(drafts, diagnostics);
  // A glob over another target's output that matches nothing yet: that it reads an output is the problem, not
  // that the output is not there (two errors at one place would contradict each other).
  const overOutputs = diagnostics.filter((d) => d.code === 'glob-matches-output' && d.span);
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
          for (const item of foreach.items) {
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
 * be written relative to the declaring file or, like outputs, relative to the workspace.
 */
function linkOutputsAsInputs(drafts: Map<string, TargetDraft>): void {
  const producers = new Map<string, { target: string; output: string }>();
  for (const { target } of drafts.values()) {
    for (const [output, p] of Object.entries(target.outputs))
      producers.set(p, { target: target.name, output });
  }
  for (const { target, writtenPatterns } of drafts.values()) {
    for (const specs of Object.values(target.inputs)) {
      specs.forEach((spec, i) => {
        if (spec.kind !== 'file') return;
        const written = writtenPatterns.get(spec);
        const producer =
          producers.get(spec.pattern) ??
          (written === undefined ? undefined : producers.get(path.posix.normalize(written)));
        if (!producer) return;
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
}

function checkReferences(
  drafts: Map<string, TargetDraft>,
  broken: ReadonlySet<string>,
  diagnostics: Diagnostic[],
): void {
  const names = [...drafts.keys()];
  const unknown = (name: string, what: string, span: SourceSpan | undefined) =>
    broken.has(name) ||
    diagnostics.push(
      makeDiagnostic({
        code: 'unknown-target',
        message: `${what} unknown target '${name}'`,
        at: span,
        hint: didYouMean(name, names),
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

function checkInputFiles(drafts: Map<string, TargetDraft>, root: string, diagnostics: Diagnostic[]): void {
  for (const { target } of drafts.values()) {
    for (const [name, specs] of Object.entries(target.inputs)) {
      for (const spec of specs) {
        if (spec.kind !== 'file' || spec.pattern.includes('{item}')) continue;
        if (
          !isDynamicPattern(spec.pattern) &&
          statSync(path.resolve(root, spec.pattern), { throwIfNoEntry: false })?.isDirectory()
        ) {
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
        const glob = isDynamicPattern(spec.pattern);
        const looksLikeRef = /(^|\/)target:/.exec(spec.pattern);
        diagnostics.push(
          makeDiagnostic({
            target: target.name,
            code: 'missing-input',
            message: glob
              ? `input '${name}' of target '${target.name}': glob '${spec.pattern}' matches no file`
              : `input '${name}' of target '${target.name}': file '${spec.pattern}' does not exist`,
            at: spec.span,
            hint: looksLikeRef
              ? "to read another target's outputs, write {target: NAME}"
              : spec.span && target.span && spec.span.file !== target.span.file
                ? // The path is a value of the parameter file (`${config.x}`): its own rules, not the target's.
                  `the path is this value of ${path.basename(spec.span.file)}: relative to that file, with $NAME from the environment (else the root pipe.yaml's vars:)`
                : 'paths are relative to the file that declares the target; outputs of other targets are found by their exact path',
          }),
        );
      }
    }
    const foreach = target.foreach;
    if (foreach?.kind === 'glob' && countMatches(foreach.pattern, root) === 0) {
      diagnostics.push(
        makeDiagnostic({
          target: target.name,
          code: 'empty-foreach',
          message: `foreach glob '${foreach.pattern}' of target '${target.name}' matches no file`,
          at: foreach.span,
        }),
      );
    }
    if (foreach?.kind === 'list') {
      const seen = new Set<string>();
      for (const item of foreach.items) {
        const problem = itemIdProblem(item);
        if (problem)
          diagnostics.push(
            makeDiagnostic({
              code: 'bad-item',
              message: `foreach of target '${target.name}': ${problem}`,
              at: foreach.span,
            }),
          );
        if (seen.has(item))
          diagnostics.push(
            makeDiagnostic({
              code: 'duplicate-item',
              message: `foreach item '${item}' of target '${target.name}' is listed twice`,
              at: foreach.span,
            }),
          );
        seen.add(item);
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

/** Files matching a workspace-relative or absolute path or glob. */
export function countMatches(pattern: string, root: string): number {
  if (!isDynamicPattern(pattern)) return existsSync(path.resolve(root, pattern)) ? 1 : 0;
  // From the glob's fixed directory: globbing an absolute pattern from the workspace crawls far more
  // (~10–30 ms for a data store's index, against 0.4 ms).
  return matchFiles(pattern, root).length;
}

/** Output paths: each belongs to one target, and none is inside another (a file cannot be a folder too). */
function checkOutputPaths(drafts: Map<string, TargetDraft>, diagnostics: Diagnostic[]): void {
  const writers = new Map<string, { target: string; span: SourceSpan | undefined }>();
  for (const { target, outputSpans } of drafts.values()) {
    for (const [name, p] of Object.entries(target.outputs)) {
      const span = outputSpans.get(name);
      const first = writers.get(p);
      if (!first) {
        writers.set(p, { target: target.name, span });
        continue;
      }
      const by =
        first.target === target.name
          ? `is declared twice by target '${target.name}'`
          : `is written by target '${target.name}' and by target '${first.target}'`;
      diagnostics.push(
        makeDiagnostic({
          code: 'duplicate-output',
          message: `'${p}' ${by} (${formatLocation(first.span)})`,
          at: span,
          related: [{ message: `'${p}' first declared here, by target '${first.target}'`, span: first.span }],
          hint: 'every output path belongs to one target',
        }),
      );
    }
  }
  // A listed item's output that is another target's declared path: known before anything runs, so refused here
  // (built one at a time, the two would overwrite each other's product, each build "up to date").
  for (const { target, outputSpans } of drafts.values()) {
    if (target.foreach?.kind !== 'list') continue;
    for (const [name, template] of Object.entries(target.outputs)) {
      if (!template.includes('{item}')) continue;
      for (const item of target.foreach.items) {
        const p = template.replaceAll('{item}', item);
        const other = writers.get(p);
        if (!other || other.target === target.name) continue;
        diagnostics.push(
          makeDiagnostic({
            code: 'duplicate-output',
            message: `'${p}' (item '${item}' of target '${target.name}') is also written by target '${other.target}' (${formatLocation(other.span)})`,
            at: outputSpans.get(name),
            related: [{ message: `'${p}' declared here, by target '${other.target}'`, span: other.span }],
            hint: 'every output path belongs to one target',
          }),
        );
        break;
      }
    }
  }
  // An output that is a folder of another: one task would write a file where the other needs a directory.
  for (const { target, outputSpans } of drafts.values()) {
    for (const [name, p] of Object.entries(target.outputs)) {
      for (let dir = path.dirname(p); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const parent = writers.get(dir);
        if (!parent) continue;
        diagnostics.push(
          makeDiagnostic({
            code: 'nested-output',
            message: `output '${p}' of target '${target.name}' is inside '${dir}', an output file of target '${parent.target}' (${formatLocation(parent.span)})`,
            at: outputSpans.get(name),
            hint: 'an output path cannot be both a file and the folder of another output',
          }),
        );
        break;
      }
    }
  }
}
