/**
 * Tasks that left the pipeline: a foreach item whose file was deleted, a run no longer selected, a fan-out that
 * narrowed. After a build that succeeded, the state records of the built targets' tasks that the build no longer
 * has are dropped, and their outputs are removed from the workspace when they are unmodified and the cache holds
 * them (should the item come back, its task is restored from there): the products are then this pipeline's, not
 * a mix with earlier ones, and `pipe why` no longer presents them. An output edited since, or one the cache does
 * not hold, is left in place (and named): only what can be had again is removed.
 *
 * The same holds for an output a task that stays no longer declares (a config that stops asking for a map): after
 * the task ran or was restored without it, the file its last record names is removed on the same terms, so that a
 * product folder never shows a map of an earlier configuration next to the new ones. Only an output whose name is
 * gone: a task of the same id in another pipeline file of the folder (they share the state) records its own paths
 * under the same names, and those are not this target's to remove (so an output moved to a new path leaves its old
 * file, as make would).
 */
import { rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CacheBackend } from '@pipe/cache';
import { outputTemplateMatcher } from '../graph/items.js';
import { rawInputReader } from '../graph/raw-inputs.js';
import type { Pipeline } from '../model/types.js';
import type { PlanIO } from '../plan/decide.js';
import type { DepartedTask } from '../plan/planner.js';
import { inBatches } from '../schedule/in-batches.js';
import { sameFileStamp } from '../state/hash-memo.js';
import { type OutputStamp, type StateData, targetOfTaskId } from '../state/state-file.js';

/** Recorded tasks of `targets` that are not among `current` (task ids of the build), in taskIdOrder. */
export function departedTasks(
  state: StateData,
  targets: ReadonlySet<string>,
  current: { has(id: string): boolean },
): string[] {
  const out: string[] = [];
  for (const id of state.tasks.keys()) if (targets.has(targetOfTaskId(id)) && !current.has(id)) out.push(id);
  // In id order, not the order the tasks were recorded in (as they ended): the note and `pipe plan` list them.
  return out.sort(taskIdOrder);
}

/** A number in a task id: digits, and a fraction after a point (`0.05`, `23523`). */
const NUMBER = /(\d+(?:\.\d+)?)/;

/**
 * Task ids as a reader counts them: the numbers in an id by their value (`scan[2]` before `scan[10]`, `scan[0.05]`
 * before `scan[0.1]`, `datasets[23523]` before `datasets[110380]`), the text between them and ties (`r007`, `r7`) in
 * code-unit order. By code unit alone, the first five of 5,000 departed items were scan[0], scan[1000],
 * scan[1001], …, as if scan[1] to scan[999] had stayed.
 */
export function taskIdOrder(a: string, b: string): number {
  const pa = a.split(NUMBER);
  const pb = b.split(NUMBER);
  // split with a group alternates: text, number, text, … (a number at an odd index).
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const by = i % 2 === 1 ? Number(x) - Number(y) : 0;
    if (by !== 0) return by;
    if (x !== y && i % 2 === 0) return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

export interface Retired {
  /** Workspace-relative paths removed (restorable from the cache). */
  removed: string[];
  /** Workspace-relative paths left in place: modified since recorded, or not in the cache. */
  kept: string[];
  /** Those of `kept` modified since recorded (the others the cache does not hold). */
  modified?: string[];
}

/** What retiring reads and changes: the state, the pipeline's declarations, the workspace and the cache. */
export interface RetireContext {
  state: StateData;
  pipeline: Pick<Pipeline, 'root' | 'targets'>;
  io: Pick<PlanIO, 'stamp' | 'manifest'>;
  /** Whether the cache holds a blob (its bytes, not only a manifest naming it). */
  hasBlob: (sha256: string) => Promise<boolean>;
  /** Say what retiring would do, and change nothing: no file removed, no record dropped (`pipe plan`). */
  dryRun?: boolean;
  /** Remove the outputs but keep the tasks' records (`pipe clean`: the tasks stay, and the next build restores). */
  keepRecords?: boolean;
}

/**
 * RetireContext's `hasBlob` on a cache: re-hashed where the cache can (`verify`: the workspace copy is deleted on the
 * strength of the cache's), else asked; an unreachable cache holds nothing.
 */
export function cacheHolds(cache: CacheBackend, verify: boolean): RetireContext['hasBlob'] {
  return async (sha) => {
    const has = await (verify && cache.verifyBlob ? cache.verifyBlob(sha) : cache.hasBlob(sha)).catch(
      () => undefined,
    );
    return has?.ok === true && has.value;
  };
}

/**
 * Drop the records of `ids` (departed tasks) from `state` and remove their outputs as the module comment says.
 * `current`: the task ids of the build, whose recorded outputs are never touched (a path a departed task wrote may
 * be another task's now).
 */
export async function retireTasks(
  ids: readonly string[],
  current: Iterable<string>,
  ctx: RetireContext,
): Promise<Retired> {
  const each = await retireEach(ids, current, ctx);
  const modified = each.flatMap((t) => t.modified ?? []);
  return {
    removed: each.flatMap((t) => t.removed),
    kept: each.flatMap((t) => t.kept),
    ...(modified.length > 0 ? { modified } : {}),
  };
}

/** Departed tasks a preview (`dryRun`) looks up at once: bounded, as each holds a file open while it reads. */
const PREVIEW_CONCURRENCY = 16;

/** retireTasks, task by task: what it did (or with `dryRun`, would do) with the outputs of each. */
export async function retireEach(
  ids: readonly string[],
  current: Iterable<string>,
  ctx: RetireContext,
): Promise<DepartedTask[]> {
  const { state, pipeline, io } = ctx;
  const each: DepartedTask[] = [];
  const owned = new Set<string>();
  for (const id of current)
    for (const out of Object.values(state.tasks.get(id)?.outputs ?? {})) owned.add(out.path);
  // Paths other targets declare now are theirs, whatever a departed task once wrote there.
  const declaredByTarget = new Map(
    [...pipeline.targets].map(
      ([name, t]) => [name, outputTemplateMatcher(Object.values(t.outputs))] as const,
    ),
  );
  const readAsInput = rawInputReader(pipeline);
  const declaredElsewhere = (target: string, p: string) => {
    for (const [name, declares] of declaredByTarget) if (name !== target && declares(p)) return true;
    return readAsInput(p) !== undefined;
  };
  const retireOne = async (id: string): Promise<DepartedTask | undefined> => {
    const record = state.tasks.get(id);
    if (!record) return undefined;
    const retired: DepartedTask = { id, removed: [], kept: [] };
    // Only a path the target declares now: a task of that name from another pipeline file or an older version of
    // this one (the state is the folder's) wrote elsewhere, and what it wrote is not ours to remove.
    const target = targetOfTaskId(id);
    const declared = declaredByTarget.get(target) ?? (() => false);
    const held = await io.manifest(record.key);
    for (const out of Object.values(record.outputs)) {
      if (owned.has(out.path) || !declared(out.path) || declaredElsewhere(target, out.path)) continue;
      await retireOutput(out, held?.outputs, ctx, retired);
    }
    if (!ctx.dryRun && !ctx.keepRecords) state.tasks.delete(id);
    return retired;
  };
  // A preview changes nothing: its lookups (a manifest and a blob per task, each a round trip to a remote tier) go
  // PREVIEW_CONCURRENCY at a time; one after the other, 5,000 departed items added seconds to `pipe plan`. A build
  // removes files and folders: one task at a time.
  if (ctx.dryRun)
    return (await inBatches(ids, PREVIEW_CONCURRENCY, retireOne)).filter((t) => t !== undefined);
  for (const id of ids) {
    const retired = await retireOne(id);
    if (retired) each.push(retired);
  }
  return each;
}

/** Remove one recorded output when unmodified and held by the cache (`held`: its task's manifest outputs), else keep it. */
async function retireOutput(
  out: OutputStamp,
  held: ReadonlyArray<{ sha256: string }> | undefined,
  { pipeline, io, hasBlob, dryRun }: RetireContext,
  retired: Retired,
): Promise<void> {
  const abs = path.resolve(pipeline.root, out.path);
  const st = io.stamp(abs);
  if (!st) return;
  const unmodified = sameFileStamp(st, out);
  // The manifest and its bytes: a cache may keep an entry whose blob it evicted.
  const inCache = held?.some((o) => o.sha256 === out.sha256) === true && (await hasBlob(out.sha256));
  if (unmodified && inCache) {
    if (!dryRun) {
      await unlink(abs).catch(() => {});
      await removeEmptiedFolders(path.dirname(abs), pipeline.root);
    }
    retired.removed.push(out.path);
  } else {
    retired.kept.push(out.path);
    if (!unmodified) (retired.modified ??= []).push(out.path);
  }
}

/**
 * The folders a removed output leaves empty go too, up to the workspace (as git does): a retired run's folder does
 * not linger. rmdir removes only an empty folder; the first that is not (or is not ours to remove) stops the walk.
 */
export async function removeEmptiedFolders(dir: string, root: string): Promise<void> {
  for (let d = dir; d !== root && d.startsWith(`${root}${path.sep}`); d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
  }
}

/** An output a task's last record names under a name the task no longer declares. */
export interface DroppedOutput {
  taskId: string;
  /** The key of that record: its manifest tells whether the cache holds the output. */
  key: string;
  out: OutputStamp;
}

/**
 * The outputs the last records of `tasks` name that the tasks no longer declare: taken before a build replaces those
 * records (give it the tasks the build runs, restores or adopts), retired after it succeeded (retireDroppedOutputs).
 */
export function droppedOutputs(
  state: StateData,
  tasks: Iterable<{ id: string; outputs: Record<string, string> }>,
): DroppedOutput[] {
  const dropped: DroppedOutput[] = [];
  for (const task of tasks) {
    const record = state.tasks.get(task.id);
    for (const [name, out] of Object.entries(record?.outputs ?? {}))
      if (!(name in task.outputs)) dropped.push({ taskId: task.id, key: record!.key, out });
  }
  return dropped;
}

/**
 * Remove `dropped` outputs (of tasks that ran, were restored or adopted) as retireTasks removes a departed task's —
 * unless a task's record names that path now, or a target declares it.
 */
export async function retireDroppedOutputs(
  dropped: readonly DroppedOutput[],
  ctx: RetireContext,
): Promise<Retired> {
  const retired: Retired = { removed: [], kept: [] };
  if (dropped.length === 0) return retired;
  const owned = new Set<string>();
  for (const [, record] of ctx.state.tasks.entries())
    for (const out of Object.values(record.outputs)) owned.add(out.path);
  const readAsInput = rawInputReader(ctx.pipeline);
  const declares = [
    ...[...ctx.pipeline.targets.values()].map((t) => outputTemplateMatcher(Object.values(t.outputs))),
    (p: string) => readAsInput(p) !== undefined,
  ];
  for (const { key, out } of dropped) {
    if (owned.has(out.path) || declares.some((d) => d(out.path))) continue;
    await retireOutput(out, (await ctx.io.manifest(key))?.outputs, ctx, retired);
  }
  return retired;
}
