/**
 * Graph expansion: Pipeline → TaskGraph for the requested targets and everything they need. A target
 * becomes one task, or one per item for foreach; a target reading a foreach target gathers the outputs
 * of all its tasks (or, with per_item, of the task with the same item). Linear in tasks + edges:
 * gathered input lists are built once per (target, input) and shared by the tasks that read them.
 */

import path from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import { outputPathProblem } from '../config/output-paths.js';
import type {
  Diagnostic,
  InputSpec,
  ListItem,
  Pipeline,
  Target,
  Task,
  TaskGraph,
  TaskItem,
} from '../model/types.js';
import { relPath } from '../workspace/layout.js';
import { unknownTargetHint } from './closest-names.js';
import { dependencyOrder, targetEdges } from './edges.js';
import { matchFiles, matchItemFiles, outputTemplateMatcher, staticItems, templateItem } from './items.js';
import { paramsHoldItem, substituteItem } from './substitute.js';

export interface ExpandOptions {
  /** Targets to build (their dependencies are added). */
  targets: string[];
  /** Items emitted so far by targets that others fan out over (`foreach: {items: T}`), by target name. */
  items?: ReadonlyMap<string, TaskItem[]>;
}

type InputFile = { path: string; producer?: string };

/**
 * Expand targets into tasks. Targets that fan out over items not yet known, and everything downstream
 * of them, are listed in `pending` and get no tasks. Task ids are `target` or `target[item]`; task
 * inputs, deps and outputs are absolute and deterministic (shuffling declarations changes nothing).
 * Arrays in task inputs and deps may be shared between tasks: treat them as read-only.
 */
/**
 * For a name that is no target but a task id (`calibrate[img1]`) or an output path (`build/cal/img1.txt`, as make
 * and Snakemake build files): the target it belongs to, since pipe builds targets.
 */
function ownerOf(name: string, targets: Pipeline['targets']): string | undefined {
  const task = /^(.+)\[.*\]$/.exec(name)?.[1];
  if (task !== undefined && targets.has(task))
    return `'${name}' is a task of target '${task}': pipe builds targets (pipe build ${task})`;
  const file = path.posix.normalize(name.replaceAll('\\', '/'));
  const all = [...targets.values()];
  // A path written out wins over a fan-out's {item} template that would also match it.
  const owner =
    all.find((t) => Object.values(t.outputs).includes(file)) ??
    all.find((t) => Object.values(t.outputs).some((template) => templateItem(template, file) !== undefined));
  return owner
    ? `'${name}' is an output of target '${owner.name}': pipe builds targets, not files (pipe build ${owner.name})`
    : undefined;
}

/** `unknown target 'NAME'`, with the likeliest meaning as its hint (a config's replacement, an output, a close name). */
export function unknownTargetDiagnostic(pipeline: Pipeline, name: string): Diagnostic {
  return {
    severity: 'error',
    code: 'unknown-target',
    message: `unknown target '${name}'`,
    hint:
      (pipeline.replacedTargets?.[name] !== undefined
        ? `'${name}' is written in the pipeline, but the config replaces it: ${pipeline.replacedTargets[name]}`
        : undefined) ??
      ownerOf(name, pipeline.targets) ??
      unknownTargetHint(name, pipeline.targets.keys()),
  };
}

export function expandGraph(pipeline: Pipeline, options: ExpandOptions): TaskGraph {
  const { targets, root } = pipeline;
  const diagnostics: Diagnostic[] = [];
  const { order, unknown } = dependencyOrder(targets, options.targets);
  // The loader's errors of single targets (a missing input file) stop this graph only if it needs them.
  const needed = new Set(order);
  for (const d of pipeline.deferred ?? [])
    if (d.target !== undefined && needed.has(d.target)) diagnostics.push(d);
  for (const name of unknown) diagnostics.push(unknownTargetDiagnostic(pipeline, name));

  const tasks = new Map<string, Task>();
  const tasksOf = new Map<string, Task[]>();
  const pending = new Set<string>();
  const writers = new Map<string, { id: string; output: string; target: string }>();

  for (const name of order) {
    const target = targets.get(name)!;
    if (dependsOnPending(target, pending)) {
      pending.add(name);
      continue;
    }
    const items = resolveItems(target, root, options.items, diagnostics);
    if (items === 'pending') {
      pending.add(name);
      continue;
    }
    const own: Task[] = [];
    const shared = sharedInputs(target, tasksOf, root);
    const hasItemParams = items !== undefined && paramsHoldItem(target.params);
    // A list's entries: their values (a number or boolean for a param written "{item}") and validated params.
    const listed =
      hasItemParams && target.foreach?.kind === 'list'
        ? new Map(target.foreach.items.map((i) => [i.id, i]))
        : undefined;
    for (const item of items ?? [undefined]) {
      const id = item ? `${name}[${item.id}]` : name;
      if (tasks.has(id)) {
        diagnostics.push(duplicateItem(target, item!, tasks.get(id)!.item, root));
        continue;
      }
      const params = item && hasItemParams ? itemParams(target, item, listed?.get(item.id)) : target.params;
      const task = buildTask(target, id, item, shared, tasks, root, params, diagnostics);
      if (item) {
        const bad = itemOutputProblem(task, target, item, root);
        if (bad) {
          diagnostics.push(bad);
          continue;
        }
      }
      for (const [output, out] of Object.entries(task.outputs)) {
        const other = writers.get(out);
        if (other) diagnostics.push(duplicateOutput(other, { id, output, target: name }, out, pipeline));
        else writers.set(out, { id, output, target: name });
      }
      tasks.set(id, task);
      own.push(task);
    }
    tasksOf.set(name, own);
  }
  // An output that is a folder of another's (items 'sub' and 'sub/e' of 'build/{item}'): the build would fail on it
  // half-way, blaming a folder it made itself. Each folder outputs go in is looked up once, with its ancestors (100,000
  // outputs lie in a few hundred folders), and told with one output written into it.
  const writtenInto = new Map<string, string>();
  for (const out of writers.keys()) {
    const folder = path.dirname(out);
    if (!writtenInto.has(folder)) writtenInto.set(folder, out);
  }
  for (const [folder, out] of writtenInto)
    for (let dir = folder; dir.length > root.length; dir = path.dirname(dir)) {
      const holder = writers.get(dir);
      if (!holder) continue;
      diagnostics.push(nestedOutput(holder, writers.get(out)!, dir, out, pipeline));
      break;
    }
  const pendingOrder = order.filter((n) => pending.has(n));
  const pendingFrom = Object.fromEntries(
    pendingOrder.map((n) => [n, [...new Set(targetEdges(targets.get(n)!).map((e) => e.to))].sort()]),
  );
  return {
    tasks,
    pending: pendingOrder,
    ...(pendingOrder.length > 0 ? { pendingFrom } : {}),
    diagnostics,
  };
}

/**
 * Two tasks writing one file, found once their items are known (the loader refuses what it can decide from the
 * declarations alone): the workspace-relative path, each task's output name, and its target's place.
 */
function duplicateOutput(
  first: { id: string; output: string; target: string },
  second: { id: string; output: string; target: string },
  out: string,
  pipeline: Pipeline,
): Diagnostic {
  const rel = relPath(pipeline.root, out);
  const span = pipeline.targets.get(second.target)?.span;
  const firstSpan = pipeline.targets.get(first.target)?.span;
  return {
    severity: 'error',
    code: 'duplicate-output',
    message: `tasks '${first.id}' (output '${first.output}') and '${second.id}' (output '${second.output}') both write '${rel}'`,
    ...(span ? { span } : {}),
    ...(first.target !== second.target && firstSpan
      ? { related: [{ message: `target '${first.target}' declared here`, span: firstSpan }] }
      : {}),
    hint:
      first.target === second.target
        ? `every output path belongs to one task: make the outputs of '${first.target}' differ for every item`
        : `every output path belongs to one target: give the outputs of '${first.target}' or '${second.target}' a folder of their own`,
  };
}

/** One task's output path is a folder another task writes into. */
function nestedOutput(
  holder: { id: string; output: string; target: string },
  inner: { id: string; output: string; target: string },
  dir: string,
  out: string,
  pipeline: Pipeline,
): Diagnostic {
  const span = pipeline.targets.get(inner.target)?.span;
  return {
    severity: 'error',
    code: 'duplicate-output',
    message: `task '${holder.id}' (output '${holder.output}') writes '${relPath(pipeline.root, dir)}', a folder that task '${inner.id}' (output '${inner.output}') writes '${relPath(pipeline.root, out)}' into`,
    ...(span ? { span } : {}),
    hint: 'an output is a file, and no task writes into it: give the outputs names that are not folders of each other (e.g. build/{item}/out.txt)',
  };
}

/**
 * An output path an item's id made unwritable (the loader checks the declared templates; an id like `.pipe` puts
 * `{item}/x.fits` inside pipe's own folder, over its cache or state).
 */
function itemOutputProblem(task: Task, target: Target, item: TaskItem, root: string): Diagnostic | undefined {
  for (const out of Object.values(task.outputs)) {
    const rel = relPath(root, out);
    const problem = outputPathProblem(rel, rel, target.name);
    if (problem)
      return {
        severity: 'error',
        code: problem.code,
        message: `task '${task.id}' (item ${JSON.stringify(item.id)}): ${problem.message}`,
        ...(target.span ? { span: target.span } : {}),
        hint: `rename the item, or put the outputs of '${target.name}' under a folder of their own (e.g. build/{item}/...)`,
      };
  }
  return undefined;
}

function dependsOnPending(target: Target, pending: ReadonlySet<string>): boolean {
  if (pending.size === 0) return false;
  if (target.needs.some((n) => pending.has(n))) return true;
  if (target.foreach?.kind === 'items' && pending.has(target.foreach.target)) return true;
  return Object.values(target.inputs).some((specs) =>
    specs.some((s) => s.kind === 'target' && pending.has(s.target)),
  );
}

function resolveItems(
  target: Target,
  root: string,
  known: ReadonlyMap<string, TaskItem[]> | undefined,
  diagnostics: Diagnostic[],
): TaskItem[] | undefined | 'pending' {
  if (!target.foreach) return undefined;
  const items =
    staticItems(target.foreach, root) ??
    (target.foreach.kind === 'items' ? known?.get(target.foreach.target) : undefined);
  if (!items) return 'pending';
  if (target.foreach.kind === 'glob') {
    // Not over its own products (outputs written next to the files it fans out over).
    const isOwnOutput = ownOutputMatcher(target, root);
    const kept = items.filter((item) => !item.files.some(isOwnOutput));
    if (kept.length < items.length) return kept;
  }
  if (items.length === 0 && target.foreach.kind === 'glob') {
    diagnostics.push({
      severity: 'warning',
      code: 'empty-foreach',
      message: `foreach glob '${target.foreach.pattern}' of target '${target.name}' matches no file`,
    });
  }
  return items;
}

/** Whether an absolute path is one of the target's outputs (an output template with {item} matches any id). */
function ownOutputMatcher(target: Target, root: string): (p: string) => boolean {
  return outputTemplateMatcher(Object.values(target.outputs).map((rel) => `${root}/${rel}`));
}

/** Inputs that are the same for every task of a target, computed once: files and gathered outputs. */
function sharedInputs(target: Target, tasksOf: ReadonlyMap<string, Task[]>, root: string) {
  const inputs = new Map<InputSpec, InputFile[]>();
  // A glob never reads the target's own outputs: a build would feed its last result back in, and never settle.
  const isOwnOutput = ownOutputMatcher(target, root);
  for (const specs of Object.values(target.inputs)) {
    for (const spec of specs) {
      if (spec.kind === 'file' && !spec.pattern.includes('{item}')) {
        const matched = matchFiles(spec.pattern, root);
        inputs.set(
          spec,
          (isDynamicPattern(spec.pattern) ? matched.filter((p) => !isOwnOutput(p)) : matched).map((path) => ({
            path,
          })),
        );
      } else if (spec.kind === 'target' && !spec.perItem) {
        inputs.set(spec, gather(tasksOf.get(spec.target) ?? [], spec.output));
      }
    }
  }
  const deps: string[] = [];
  const seen = new Set<string>();
  const addDeps = (list: readonly Task[] | undefined) => {
    for (const t of list ?? []) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      deps.push(t.id);
    }
  };
  for (const [spec] of inputs) if (spec.kind === 'target') addDeps(tasksOf.get(spec.target));
  for (const need of target.needs) addDeps(tasksOf.get(need));
  if (target.foreach?.kind === 'items') addDeps(tasksOf.get(target.foreach.target));
  // Output templates split at {item} once, so each task only joins: `${root}/build/` + id + `.fits`.
  const outputs = Object.entries(target.outputs).map(
    ([name, rel]) => [name, `${root}/${rel}`.split('{item}')] as const,
  );
  return { inputs, inputEntries: Object.entries(target.inputs), deps, seen, outputs };
}

function gather(upstream: readonly Task[], output: string | undefined): InputFile[] {
  const files: InputFile[] = [];
  for (const task of upstream) {
    if (output !== undefined) {
      const p = task.outputs[output];
      if (p !== undefined) files.push({ path: p, producer: task.id });
    } else {
      for (const p of Object.values(task.outputs)) files.push({ path: p, producer: task.id });
    }
  }
  return files;
}

function buildTask(
  target: Target,
  id: string,
  item: TaskItem | undefined,
  shared: ReturnType<typeof sharedInputs>,
  tasks: ReadonlyMap<string, Task>,
  root: string,
  params: Record<string, unknown>,
  diagnostics: Diagnostic[],
): Task {
  const inputs: Task['inputs'] = {};
  let deps = shared.deps;
  for (const [name, specs] of shared.inputEntries) {
    const only = specs.length === 1 ? shared.inputs.get(specs[0]!) : undefined;
    if (only) {
      inputs[name] = only; // shared, not copied: a gather over 100,000 tasks stays linear
      continue;
    }
    const files: InputFile[] = [];
    for (const spec of specs) {
      const common = shared.inputs.get(spec);
      if (common) files.push(...common);
      else if (spec.kind === 'file') {
        for (const path of matchItemFiles(spec.pattern, item?.id ?? '', root)) files.push({ path });
      } else {
        // per_item: the upstream task with the same item.
        const upstream = tasks.get(`${spec.target}[${item?.id ?? ''}]`);
        if (!upstream) {
          diagnostics.push({
            severity: 'error',
            code: 'missing-item',
            message: `task '${id}' reads per item from '${spec.target}[${item?.id ?? ''}]', which does not exist`,
            ...(spec.span ? { span: spec.span } : {}),
          });
          continue;
        }
        files.push(...gather([upstream], spec.output));
        if (!shared.seen.has(upstream.id) && !deps.includes(upstream.id)) deps = [...deps, upstream.id];
      }
    }
    inputs[name] = files;
  }
  const outputs: Record<string, string> = {};
  for (const [name, parts] of shared.outputs) outputs[name] = item ? parts.join(item.id) : parts[0]!;
  const task: Task = { id, target: target.name, deps, inputs, outputs, params };
  if (item) task.item = item;
  return task;
}

/**
 * An item's task's params: a listed item's as its step validated them at load, else the target's with `{item}`
 * substituted (a list's number or boolean as itself where a param is exactly "{item}").
 */
function itemParams(target: Target, item: TaskItem, listed: ListItem | undefined): Record<string, unknown> {
  if (listed?.params) return listed.params;
  return substituteItem(target.params, item.id, listed?.value ?? item.id) as Record<string, unknown>;
}

/** Two items of one fan-out with one id: which files (or items) they are, and for a glob how ids are made. */
function duplicateItem(
  target: Target,
  item: TaskItem,
  first: TaskItem | undefined,
  root: string,
): Diagnostic {
  const files = [...(first?.files ?? []), ...item.files].map((f) => path.relative(root, f));
  const glob = target.foreach?.kind === 'glob';
  return {
    severity: 'error',
    code: 'duplicate-item',
    message: `target '${target.name}' has two items with id '${item.id}'${files.length > 0 ? ` (${files.join(' and ')})` : ''}`,
    ...(glob
      ? {
          hint: "a glob's item id is the file's path below the glob's folder without its extension: rename one of the files, or narrow the glob to one extension",
        }
      : {}),
    ...(target.foreach?.span ? { span: target.foreach.span } : {}),
  };
}
