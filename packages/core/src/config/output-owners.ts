/**
 * Each output path belongs to one target: declared twice, a listed item's path declared by another target, an
 * {item} output of a glob or items fan-out that names another target's path, and an output that is the folder of
 * another are refused at load, at both places. expandGraph checks the paths of the tasks again, once the items
 * are known.
 */
import path from 'node:path';
import { templateItem } from '../graph/items.js';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { formatLocation, makeDiagnostic } from './diagnostics.js';
import { type KnownItems, outputItem } from './output-paths.js';
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
 * The {item} outputs of glob and items fan-outs against the other targets' outputs: a path another target writes
 * (declared, or a listed item's) that such an output names is refused, and so are two of them that name one file.
 * A glob's items are its files now; a step's items are not known here, so any id counts (two such outputs are
 * compared exactly when each has one {item}; with {item} twice, expandGraph's check sees the items). Refused
 * before anything runs: built one at a time, the two targets would overwrite each other's product, each build
 * "up to date".
 */
function checkOutputTemplates(
  drafts: ReadonlyMap<string, TargetDraft>,
  known: KnownItems,
  diagnostics: Diagnostic[],
): void {
  interface Written {
    draft: TargetDraft;
    name: string;
    path: string;
    /** A listed item's path: the item, and the output as declared. */
    item?: string;
    template?: string;
  }
  const paths: Written[] = [];
  const templates: Written[] = [];
  for (const draft of drafts.values()) {
    const { foreach } = draft.target;
    for (const [name, p] of Object.entries(draft.target.outputs)) {
      if (!p.includes('{item}')) paths.push({ draft, name, path: p });
      else if (foreach?.kind === 'list')
        for (const item of foreach.items)
          paths.push({ draft, name, path: p.replaceAll('{item}', item), item, template: p });
      else templates.push({ draft, name, path: p });
    }
  }
  const at = (w: Written) => w.draft.outputSpans.get(w.name);
  const name = (w: Written) => w.draft.target.name;
  const report = (w: Written, t: Written, message: string) =>
    diagnostics.push(
      makeDiagnostic({
        code: 'duplicate-output',
        message,
        at: at(w),
        related: [
          { message: `'${t.template ?? t.path}' declared here, by target '${name(t)}'`, span: at(t) },
        ],
        hint: ownFolderHint(t.draft.target.name, t.template ?? t.path),
      }),
    );

  // Listed items of two targets whose outputs differ as written (as written alike: reported above).
  const listed = new Map<string, Written>();
  for (const w of paths) {
    if (w.item === undefined) continue;
    const other = listed.get(w.path);
    if (!other) listed.set(w.path, w);
    else if (other.draft !== w.draft && other.template !== w.template)
      report(
        w,
        other,
        `'${w.path}' (item '${w.item}' of target '${name(w)}') is also item '${other.item}' of target '${name(other)}' ('${other.template}', ${formatLocation(at(other))})`,
      );
  }
  const reported = new Set<string>();
  for (const t of templates) {
    for (const w of paths) {
      // One error per pair of outputs (not one per listed item).
      const pair = JSON.stringify([name(t), t.name, name(w), w.name]);
      if (w.draft === t.draft || w.template === t.path || reported.has(pair)) continue;
      const id = outputItem(t.draft.target, t.path, w.path, known);
      if (id === undefined) continue;
      reported.add(pair);
      const whose = w.item === undefined ? `target '${name(w)}'` : `item '${w.item}' of target '${name(w)}'`;
      const by = known(t.draft.target) ? 'is also written by' : 'can also be written by';
      report(
        w,
        t,
        `'${w.path}' (${whose}) ${by} target '${name(t)}', for item '${id}' ('${t.path}', ${formatLocation(at(t))})`,
      );
    }
  }
  templates.forEach((a, i) => {
    for (const b of templates.slice(i + 1)) {
      if (a.draft === b.draft || a.path === b.path) continue; // one target's own: expandGraph; same text: above
      const meet = commonPath(a, b, known);
      if (meet)
        report(
          b,
          a,
          `'${b.path}' of target '${name(b)}' and '${a.path}' of target '${name(a)}' (${formatLocation(at(a))}) name one file: '${meet.path}' is item '${meet.ids[1]}' of '${name(b)}' and item '${meet.ids[0]}' of '${name(a)}'`,
        );
    }
  });
}

/**
 * A path two {item} outputs both name, with the id of each, or undefined. A side whose items are known is tried
 * item by item; two outputs of step-emitted items are decided when each has one {item}: they meet exactly when
 * one head is a prefix of the other and one tail a suffix of the other (any id counts: 'ID' stands for one).
 */
function commonPath(
  a: { draft: TargetDraft; path: string },
  b: { draft: TargetDraft; path: string },
  known: KnownItems,
): { path: string; ids: [string, string] } | undefined {
  for (const [x, y, swap] of [
    [a, b, false],
    [b, a, true],
  ] as const) {
    const ids = known(x.draft.target);
    if (!ids) continue;
    for (const id of ids) {
      const p = x.path.replaceAll('{item}', id);
      const other = outputItem(y.draft.target, y.path, p, known);
      if (other) return { path: p, ids: swap ? [other, id] : [id, other] };
    }
    return undefined;
  }
  const [ha, ta, ...restA] = a.path.split('{item}');
  const [hb, tb, ...restB] = b.path.split('{item}');
  if (ta === undefined || tb === undefined || restA.length > 0 || restB.length > 0) return undefined;
  if (!(ha!.startsWith(hb!) || hb!.startsWith(ha!)) || !(ta.endsWith(tb) || tb.endsWith(ta)))
    return undefined;
  const p = `${ha!.length >= hb!.length ? ha : hb}ID${ta.length >= tb.length ? ta : tb}`;
  return { path: p, ids: [templateItem(a.path, p)!, templateItem(b.path, p)!] };
}

function ownFolderHint(target: string, template: string): string {
  const base = path.posix.basename(template);
  const example = base.includes('{item}')
    ? ` (e.g. '${path.posix.join(path.posix.dirname(template), target, base)}')`
    : '';
  return `every output path belongs to one target: give the outputs of '${target}' a folder of their own${example}`;
}
