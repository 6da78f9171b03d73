/**
 * Each output path belongs to one target: declared twice, a path of a list or glob fan-out's item that another
 * target writes, and an output that is the folder of another are refused at load, at both places. expandGraph
 * checks the paths of the tasks again, with the items steps emit.
 */
import path from 'node:path';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { formatLocation, makeDiagnostic } from './diagnostics.js';
import type { KnownItems } from './output-paths.js';
import type { TargetDraft } from './targets.js';

/** Output paths: each belongs to one target, and none is inside another (a file cannot be a folder too). */
export function checkOutputPaths(
  drafts: ReadonlyMap<string, TargetDraft>,
  known: KnownItems,
  diagnostics: Diagnostic[],
): void {
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
  checkOutputTemplates(drafts, known, diagnostics);
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

/**
 * The {item} outputs of list and glob fan-outs against the other targets' outputs: every path they write now (a
 * list's items, a glob's files as they are at this load; every load matches the glob again) goes into one map with
 * the declared paths, and a path two targets write is refused, once per pair of outputs. Built one at a time, the two
 * targets would overwrite each other's product, each build "up to date". Items a step emits are not known here:
 * their paths are checked when the graph is expanded. Linear in the number of paths.
 */
function checkOutputTemplates(
  drafts: ReadonlyMap<string, TargetDraft>,
  known: KnownItems,
  diagnostics: Diagnostic[],
): void {
  interface Written {
    draft: TargetDraft;
    name: string;
    /** The output as declared. */
    template: string;
    /** The item whose path this is (undefined for a path without {item}). */
    item?: string;
  }
  const at = (w: Written) => w.draft.outputSpans.get(w.name);
  const whose = (w: Written) =>
    w.item === undefined
      ? `target '${w.draft.target.name}'`
      : `item '${w.item}' of target '${w.draft.target.name}'`;
  const owners = new Map<string, Written>();
  const reported = new Set<string>();
  const add = (p: string, w: Written) => {
    const other = owners.get(p);
    if (!other) {
      owners.set(p, w);
      return;
    }
    // One target's own outputs: expandGraph; the same text twice: checkOutputPaths and the listed items above.
    if (other.draft === w.draft || other.template === w.template) return;
    const pair = `${other.draft.target.name}\0${other.name}\0${w.draft.target.name}\0${w.name}`;
    if (reported.has(pair)) return;
    reported.add(pair);
    diagnostics.push(
      makeDiagnostic({
        code: 'duplicate-output',
        message: `'${p}' (${whose(w)}) is also written by target '${other.draft.target.name}'${other.item === undefined ? '' : `, for item '${other.item}'`} ('${other.template}', ${formatLocation(at(other))})`,
        at: at(w),
        related: [
          {
            message: `'${other.template}' declared here, by target '${other.draft.target.name}'`,
            span: at(other),
          },
        ],
        // The fan-out is the one to move (its template shows where), else the target reported.
        hint:
          w.item === undefined && other.item !== undefined
            ? ownFolderHint(other.draft.target.name, other.template)
            : ownFolderHint(w.draft.target.name, w.template),
      }),
    );
  };
  // The fan-outs' paths first: a declared path that meets one is reported at the declared output.
  for (const draft of drafts.values()) {
    const ids = known(draft.target);
    if (!ids) continue;
    for (const [name, p] of Object.entries(draft.target.outputs))
      if (p.includes('{item}'))
        for (const item of ids) add(p.replaceAll('{item}', item), { draft, name, template: p, item });
  }
  for (const draft of drafts.values())
    for (const [name, p] of Object.entries(draft.target.outputs))
      if (!p.includes('{item}')) add(p, { draft, name, template: p });
}

function ownFolderHint(target: string, template: string): string {
  const base = path.posix.basename(template);
  const example = base.includes('{item}')
    ? ` (e.g. '${path.posix.join(path.posix.dirname(template), target, base)}')`
    : '';
  return `every output path belongs to one target: give the outputs of '${target}' a folder of their own${example}`;
}
