/**
 * The planner: for every task of a graph, what a build would do and why. Pure with respect to
 * the workspace: it reads stamps, hashes and cache manifests (through PlanIO) and runs nothing.
 *
 * Tasks are visited in dependency order. A task whose upstream all settled (up to date or
 * restorable) is decided now; a task behind one that must run is `blocked` ("runs if its upstream
 * outputs change"): its key depends on bytes not yet produced.
 */

import type { StepIdentity } from '../fingerprint/record.js';
import type { Pipeline, Task, TaskGraph, TaskItem } from '../model/types.js';
import type { RecordTable } from '../state/record-table.js';
import { previousRecord, recordedTargets, type StateData, type TaskRecord } from '../state/state-file.js';
import { keyRootsOf } from '../workspace/key-paths.js';
import {
  type DecideContext,
  type Decision,
  decideTask,
  type KnownOutput,
  ownChanges,
  type PlanIO,
  restoredOutputs,
} from './decide.js';
import { KnownOutputs } from './known-outputs.js';

export interface PlannedTask {
  task: Task;
  decision: Decision;
}

export interface Plan {
  /** Tasks in a dependency order (upstream first). */
  order: string[];
  tasks: Map<string, PlannedTask>;
  /** Dynamic targets whose tasks are not known yet: they expand once `after` has produced its items. */
  pending: Array<{ target: string; after: string }>;
  /** Items of dynamic fan-outs already known (from settled tasks), by the target that emitted them. */
  items: Map<string, TaskItem[]>;
  /**
   * Tasks of the planned targets that an earlier build recorded and the pipeline no longer has (a file gone from a
   * glob, an entry from a list), and what a build that succeeds does with their outputs (builds/retire.ts). Only in
   * plans that explain (`pipe plan`, `--dry-run`; builds/session.ts planSession).
   */
  departed?: DepartedTask[];
}

/** A task that left the pipeline: its recorded outputs removed from the workspace, and those left in place. */
export interface DepartedTask {
  id: string;
  /** Workspace-relative paths removed (the cache holds them). */
  removed: string[];
  /** Workspace-relative paths left in place: modified since recorded, or not in the cache. */
  kept: string[];
  /** Those of `kept` modified since recorded (the others the cache does not hold). */
  modified?: string[];
}

export interface PlanOptions {
  pipeline: Pipeline;
  graph: TaskGraph;
  state: StateData;
  io: PlanIO;
  /** Step identity by target name (see steps.ts). */
  steps: Map<string, StepIdentity>;
  /** Force these targets to run (`true`: all). */
  force?: boolean | Set<string>;
  /** Re-expand the graph once dynamic items are known (graph/expandGraph with `items`). */
  expand?: (items: Map<string, TaskItem[]>) => TaskGraph;
  /** Called as each task is decided (a build warms its executors on the first task that must run). */
  onDecided?: (planned: PlannedTask) => void;
  /**
   * Tasks known unchanged since their record was last confirmed (the CLI's no-op snapshot: every raw input,
   * item file and output has the stamp it had then, and the state is the one written then). Such a task
   * whose upstream tasks are all up to date as recorded is up to date as recorded, without the quick check.
   */
  clean?: (task: Task) => boolean;
  /** `graph`'s tasks in dependency order, when known (topoOrder of the same graph, e.g. cached with it). */
  order?: string[];
  /**
   * Say, of each blocked task, what of its own changed (`pipe plan`, `--dry-run`): it then runs whatever its
   * upstream produces. A build re-decides blocked tasks as their upstream settles and does not need it.
   */
  explain?: boolean;
}

/** Up to date as recorded, when `clean` vouches for the task and its upstream is up to date as recorded. */
function cleanDecision(
  task: Task,
  options: PlanOptions,
  decided: Map<string, PlannedTask>,
): Decision | undefined {
  const records = options.state.tasks;
  const key = records.keyOf(task.id);
  if (key === undefined || !options.clean || isForced(options.force, task.target)) return undefined;
  for (const dep of task.deps) {
    const d = decided.get(dep)?.decision;
    if (d?.action !== 'up-to-date' || d.adopted) return undefined;
  }
  if (!options.clean(task)) return undefined;
  return recordedDecision(records, task.id, key);
}

/**
 * Up to date as recorded, with the record read only when its outputs or check digest are asked for: of 10,000
 * tasks vouched for, only those upstream of a task that changed are asked (known-outputs.ts), and the others'
 * records stay unparsed (state/record-table.ts).
 */
function recordedDecision(records: RecordTable<TaskRecord>, id: string, key: string): Decision {
  return new RecordedUpToDate(records, id, key);
}

/** A class, not an object literal with getters: one object per task, no closures (10,000 tasks per plan). */
class RecordedUpToDate {
  readonly action = 'up-to-date' as const;
  constructor(
    private readonly records: RecordTable<TaskRecord>,
    private readonly id: string,
    readonly key: string,
  ) {}

  private stored(): TaskRecord {
    const rec = this.records.get(this.id);
    if (!rec) throw new Error(`task ${this.id}: its record vanished while it was planned`);
    return rec;
  }

  get outputs(): Record<string, KnownOutput> {
    return this.stored().outputs;
  }

  get check(): string | undefined {
    return this.stored().check;
  }
}

/** Dependency order (Kahn's algorithm; ties in id order so plans are stable). Throws on a cycle (a bug upstream). */
export function topoOrder(tasks: Map<string, Task>): string[] {
  const indegree = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const [id, task] of tasks) {
    let n = 0;
    for (const dep of new Set(task.deps)) {
      if (!tasks.has(dep)) continue;
      n++;
      let list = dependants.get(dep);
      if (!list) dependants.set(dep, (list = []));
      list.push(id);
    }
    indegree.set(id, n);
  }
  const ready = [...tasks.keys()].filter((id) => indegree.get(id) === 0).sort();
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    order.push(id);
    for (const d of dependants.get(id) ?? []) {
      const n = indegree.get(d)! - 1;
      indegree.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  if (order.length !== tasks.size) throw new Error('task graph has a cycle');
  return order;
}

export function isForced(force: PlanOptions['force'], target: string): boolean {
  return force === true || (force instanceof Set && force.has(target));
}

/** The outputs a settled decision makes known downstream (undefined while unsettled). */
export function settledOutputs(planned: PlannedTask, root: string): Record<string, KnownOutput> | undefined {
  const d = planned.decision;
  if (d.action === 'up-to-date') return d.outputs;
  if (d.action === 'restore') return restoredOutputs(planned.task, root, d.manifest);
  return undefined;
}

/**
 * The items a task's record holds, if the record is the one of `key`: a task found up to date under another key
 * (adopted from a cache entry, e.g. after a build with another config) has another key's items in its record —
 * another run list, or the same runs in another data store — and takes them from that entry's manifest instead.
 */
export function recordedItems(state: StateData, id: string, key: string): TaskItem[] | undefined {
  if (!state.tasks.mayHave(id, 'items')) return undefined; // most records: without parsing them
  const rec = state.tasks.get(id);
  return rec && rec.key === key ? rec.items : undefined;
}

/** Items a settled task produced (from its record or cache manifest). */
export function settledItems(
  planned: PlannedTask,
  state: StateData,
  recovered?: ReadonlyMap<string, TaskItem[]>,
): TaskItem[] | undefined {
  const d = planned.decision;
  if (d.action === 'restore') return d.manifest.items as TaskItem[] | undefined;
  if (d.action === 'up-to-date')
    return recordedItems(state, planned.task.id, d.key) ?? recovered?.get(planned.task.id);
  return undefined;
}

/**
 * Items of every target in `targets` whose tasks have all settled, in task order; a target with an
 * unsettled task is left out (its dependants stay pending).
 */
export function collectItems(
  plan: Plan,
  state: StateData,
  targets: Iterable<string>,
  recovered?: ReadonlyMap<string, TaskItem[]>,
): Map<string, TaskItem[]> {
  const items = new Map<string, TaskItem[]>();
  for (const target of new Set(targets)) {
    const list: TaskItem[] = [];
    let settled = true;
    let any = false;
    for (const id of plan.order) {
      const planned = plan.tasks.get(id)!;
      if (planned.task.target !== target) continue;
      any = true;
      const got = settledItems(planned, state, recovered);
      if (planned.decision.action !== 'up-to-date' && planned.decision.action !== 'restore') settled = false;
      else list.push(...(got ?? []));
    }
    if (any && settled) items.set(target, list);
  }
  return items;
}

/**
 * Plan every task of the graph; with `expand`, dynamic targets whose item source is settled are
 * expanded and planned too (repeatedly, for chains of dynamic targets).
 */
export async function planGraph(options: PlanOptions): Promise<Plan> {
  // Read once, when a task without a record first asks (a plan records nothing: the state does not change meanwhile).
  let recorded: Set<string> | undefined;
  const recordedTarget = (target: string) => (recorded ??= recordedTargets(options.state)).has(target);
  let plan = await planOnce(options, options.graph, recordedTarget);
  const items = new Map<string, TaskItem[]>();
  const recovered = new Map<string, TaskItem[]>();
  while (options.expand && plan.pending.length > 0) {
    await recoverItems(
      plan,
      options,
      plan.pending.map((p) => p.after),
      recovered,
    );
    const ready = collectItems(
      plan,
      options.state,
      plan.pending.map((p) => p.after),
      recovered,
    );
    const fresh = [...ready.keys()].filter((t) => !items.has(t));
    if (fresh.length === 0) break;
    for (const t of fresh) items.set(t, ready.get(t)!);
    plan = await planOnce(options, options.expand(new Map(items)), recordedTarget);
  }
  plan.items = items;
  return plan;
}

/**
 * An up-to-date task that fans out must know its items. If the state lost them (a build that died between
 * recording the task and recording its items) or holds another key's (recordedItems), take them from the task's
 * cache manifest, which stores them with its outputs; without them the fan-out would expand to nothing, or to
 * another configuration's runs.
 */
async function recoverItems(
  plan: Plan,
  options: PlanOptions,
  targets: Iterable<string>,
  recovered: Map<string, TaskItem[]>,
): Promise<void> {
  const sources = new Set(targets);
  for (const planned of plan.tasks.values()) {
    const d = planned.decision;
    const id = planned.task.id;
    if (d.action !== 'up-to-date' || !sources.has(planned.task.target) || recovered.has(id)) continue;
    if (recordedItems(options.state, id, d.key) !== undefined) continue;
    const manifest = await options.io.manifest(d.key);
    if (manifest?.items) recovered.set(id, manifest.items as TaskItem[]);
  }
}

/** The deps of `task` planned but not settled (undefined when none: the common case allocates nothing). */
function unsettledDeps(
  task: Task,
  planned: ReadonlyMap<string, PlannedTask>,
  known: { has(id: string): boolean },
): string[] | undefined {
  let out: string[] | undefined;
  for (const d of task.deps) if (planned.has(d) && !known.has(d)) (out ??= []).push(d);
  return out;
}

/** Tasks decided together at most (see planOnce): bounds a remote cache's concurrent lookups. */
const DECIDE_TOGETHER = 16;

/**
 * The decisions of a run, those not known yet decided together; all settled before a failure is thrown (no lookup left
 * running behind it), the first in order. (A run of tasks all vouched for, as in a no-op, waits for nothing.)
 */
async function decideAll(
  run: ReadonlyArray<{ task: Task; decision: Decision | undefined; ctx?: DecideContext }>,
): Promise<Decision[]> {
  const settled = await Promise.allSettled(run.map((r) => r.decision ?? decideTask(r.task, r.ctx!)));
  const thrown = settled.find((r) => r.status === 'rejected');
  if (thrown) throw thrown.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<Decision>).value);
}

async function planOnce(
  options: PlanOptions,
  graph: TaskGraph,
  recordedTarget: (target: string) => boolean,
): Promise<Plan> {
  const { pipeline, state, io } = options;
  const order =
    graph === options.graph && options.order?.length === graph.tasks.size
      ? options.order
      : topoOrder(graph.tasks);
  const tasks = new Map<string, PlannedTask>();
  const known = new KnownOutputs();
  // Tasks are decided in runs of consecutive ones none of which depends on another of the run, together: a lookup
  // in a remote cache is a round trip, and 105 runs' lookups one after another took 105 of them. Each run is
  // recorded in order, as one at a time would.
  for (let next = 0; next < order.length; ) {
    const run: Array<{ task: Task; decision: Decision | undefined; ctx?: DecideContext }> = [];
    const inRun = new Set<string>();
    while (next < order.length && run.length < DECIDE_TOGETHER) {
      const task = graph.tasks.get(order[next]!)!;
      if (run.length > 0 && task.deps.some((d) => inRun.has(d))) break;
      next++;
      inRun.add(task.id);
      const unsettled = unsettledDeps(task, tasks, known);
      // Blocked behind a task that must run; else up to date as recorded if vouched for; else decided in full.
      const decision: Decision | undefined = unsettled
        ? { action: 'blocked', upstream: unsettled }
        : cleanDecision(task, options, tasks);
      if (decision && !(decision.action === 'blocked' && options.explain)) {
        run.push({ task, decision });
        continue;
      }
      const target = pipeline.targets.get(task.target);
      const step = options.steps.get(task.target);
      if (!target || !step) throw new Error(`task ${task.id}: target '${task.target}' has no step identity`);
      const id = task.id;
      const ctx: DecideContext = {
        root: pipeline.root,
        io,
        previous: state.tasks.get(id),
        previousRecord: () => previousRecord(state, id),
        lastFailure: () => state.lastFailure?.(id),
        upstream: known,
        step,
        target,
        forced: isForced(options.force, task.target),
        keyRoots: keyRootsOf(pipeline),
        recordedTarget,
      };
      run.push({ task, decision, ctx });
    }
    const decided = run.every((r) => r.decision) ? run.map((r) => r.decision!) : await decideAll(run);
    for (const [k, r] of run.entries()) {
      let decision = decided[k]!;
      if (r.decision?.action === 'blocked' && r.ctx) {
        const reasons = r.ctx.forced
          ? [{ type: 'forced' as const }]
          : ownChanges(r.task, r.ctx, (dep) => state.tasks.get(dep)?.outputs);
        if (reasons && reasons.length > 0) decision = { ...r.decision, reasons };
      }
      const planned = { task: r.task, decision };
      tasks.set(r.task.id, planned);
      options.onDecided?.(planned);
      if (decision.action === 'up-to-date') known.setFrom(r.task.id, decision);
      else if (decision.action === 'restore') known.set(r.task.id, settledOutputs(planned, pipeline.root)!);
    }
  }
  const pending = graph.pending.map((target) => ({
    target,
    after: pendingAfter(pipeline, graph.pending, target),
  }));
  return { order, tasks, pending, items: new Map() };
}

/**
 * What a pending target waits for: the target whose items it fans out over, or (for a target behind one that
 * is itself pending) that upstream target.
 */
export function pendingAfter(pipeline: Pipeline, pending: readonly string[], target: string): string {
  const t = pipeline.targets.get(target);
  if (t?.foreach?.kind === 'items') return t.foreach.target;
  const upstream = [
    ...Object.values(t?.inputs ?? {}).flatMap((specs) =>
      specs.flatMap((s) => (s.kind === 'target' ? [s.target] : [])),
    ),
    ...(t?.needs ?? []),
  ];
  return upstream.find((u) => pending.includes(u)) ?? upstream[0] ?? '?';
}

/** Counts by action (for summaries). */
export function planSummary(plan: Plan): Record<Decision['action'], number> {
  const counts = { 'up-to-date': 0, restore: 0, run: 0, blocked: 0, 'missing-input': 0 };
  for (const { decision } of plan.tasks.values()) counts[decision.action]++;
  return counts;
}
