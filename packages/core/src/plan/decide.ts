/**
 * The decision for one task whose upstream outputs are known: run, restore from the cache, or up
 * to date — with the reasons. Used by the planner (for tasks whose upstream is settled) and by the
 * scheduler (for a task behind one that ran, once it has finished). It reads file stamps, hashes and
 * cache manifests through `PlanIO`, and runs nothing.
 */
import type { Manifest } from '@pipe/cache';
import {
  envDigest,
  type FingerprintRecord,
  keyOf,
  makeRecord,
  type StepIdentity,
} from '../fingerprint/record.js';
import type { Target, Task } from '../model/types.js';
import { type FileStamp, sameFileStamp } from '../state/hash-memo.js';
import type { FailedRun, OutputStamp, TaskRecord } from '../state/state-file.js';
import { type KeyRoots, keyPath } from '../workspace/key-paths.js';
import { relPath } from '../workspace/layout.js';
import type { UpstreamOutputs } from './known-outputs.js';
import { taskCheck } from './quick-check.js';
import { diffRecords, type Reason } from './reasons.js';

/** The I/O the planner needs, behind one seam (tests pass an in-memory file system). */
export interface PlanIO {
  /** XXH64 of a raw input file (memoised), undefined when missing or unreadable. */
  inputHash(abs: string): string | undefined;
  /** Why inputHash found no file at `abs` when something is there (a symlink loop, a folder, unreadable). */
  whyMissing?(abs: string): string | undefined;
  /**
   * Whether a raw input file was modified (or removed) since inputHash read its stamp in this process: a task
   * that ran meanwhile may have read other bytes than its key says. False for a file never hashed here.
   */
  changedSinceHashed?(abs: string): boolean;
  /** Stat stamp of a product in the workspace, undefined when missing. */
  stamp(abs: string): FileStamp | undefined;
  /** SHA-256 of a product in the workspace (only when its stamp changed), undefined when missing. */
  productSha256(abs: string): Promise<string | undefined>;
  /** The cache manifest of a key (undefined when absent or corrupt). */
  manifest(key: string): Promise<Manifest | undefined>;
  env(name: string): string | undefined;
}

/** An output as known to downstream tasks. */
export interface KnownOutput {
  path: string;
  sha256: string;
  size: number;
}

export type Decision =
  /**
   * adopted: the outputs in the workspace are right but the task record must be (re)written (new stamps, a
   * new check digest, or taken from the cache). `record` is left out when the quick check decided.
   */
  | {
      action: 'up-to-date';
      key: string;
      record?: FingerprintRecord;
      check?: string;
      outputs: Record<string, KnownOutput>;
      adopted?: boolean;
      /** Adopted from a cache entry: the build its provenance says made the outputs. */
      madeBy?: string;
    }
  | {
      action: 'restore';
      key: string;
      record: FingerprintRecord;
      check?: string;
      manifest: Manifest;
      reasons: Reason[];
    }
  | { action: 'run'; key: string; record: FingerprintRecord; check?: string; reasons: Reason[] }
  /**
   * Behind upstream tasks that must run. `reasons` (plans that explain, e.g. `pipe plan`): what of the task's own
   * changed (a raw input, its item file, a parameter, the code…), so it runs whatever its upstream produces.
   */
  | { action: 'blocked'; upstream: string[]; reasons?: Reason[] }
  /** `why`: what is at the path when it is not simply absent (a symlink loop, a folder, unreadable). */
  | { action: 'missing-input'; input: string; path: string; why?: string };

export interface DecideContext {
  root: string;
  io: PlanIO;
  /** Last build's record of this task. */
  previous: TaskRecord | undefined;
  /** The fingerprint record of the last build (read on demand: only a changed task needs it, for its reasons). */
  previousRecord?: () => FingerprintRecord | undefined;
  /** Where the task last failed, when it has no record (read on demand, as previousRecord). */
  lastFailure?: () => FailedRun | undefined;
  /** Outputs of upstream tasks (all settled), by task id. */
  upstream: UpstreamOutputs;
  step: StepIdentity;
  target: Target;
  forced: boolean;
  /** Folders outside the workspace that input paths start from, by variable (Pipeline.pathRoots; see keyPath). */
  keyRoots?: KeyRoots;
  /**
   * Whether a target had tasks recorded when the plan or build began (state-file.ts recordedTargets): a fan-out task
   * of it with no record of its own is then a new item, not a first build. Taken before a build records anything, so
   * that the items of a fan-out's first build, recorded as they end, do not make the later ones look new.
   */
  recordedTarget?: (target: string) => boolean;
}

/** Build the task's fingerprint record; a missing raw input is returned as such. */
export function fingerprintTask(
  task: Task,
  ctx: DecideContext,
): FingerprintRecord | { missing: { input: string; path: string; why?: string } } {
  const missing = (input: string, abs: string, raw = true) => {
    const why = raw ? ctx.io.whyMissing?.(abs) : undefined;
    return { missing: { input, path: relPath(ctx.root, abs), ...(why ? { why } : {}) } };
  };
  const byPath = new Map<string, string>();
  for (const dep of task.deps) {
    for (const out of Object.values(ctx.upstream.get(dep) ?? {})) byPath.set(out.path, out.sha256);
  }
  const inputs: Record<string, Array<[string, string]>> = {};
  const seen = new Set<string>();
  for (const [name, files] of Object.entries(task.inputs)) {
    const list: Array<[string, string]> = [];
    for (const f of files) {
      const rel = relPath(ctx.root, f.path);
      seen.add(f.path);
      const hash = f.producer ? byPath.get(rel) : ctx.io.inputHash(f.path);
      if (hash === undefined) return missing(name, f.path, !f.producer);
      list.push([f.producer ? rel : keyPath(ctx.root, f.path, ctx.keyRoots), hash]);
    }
    inputs[name] = list;
  }
  const itemFiles = (task.item?.files ?? []).filter((f) => !seen.has(f));
  if (itemFiles.length > 0) {
    const list: Array<[string, string]> = [];
    for (const f of itemFiles) {
      const hash = ctx.io.inputHash(f);
      if (hash === undefined) return missing('{item}', f);
      list.push([keyPath(ctx.root, f, ctx.keyRoots), hash]);
    }
    inputs['{item}'] = list;
  }
  const env: Record<string, string | null> = {};
  for (const name of [...ctx.target.env].sort()) env[name] = envDigest(ctx.io.env(name));
  const item = task.item
    ? task.item.data === undefined
      ? { id: task.item.id }
      : { id: task.item.id, data: task.item.data }
    : undefined;
  const outputs: Record<string, string> = {};
  for (const [name, abs] of Object.entries(task.outputs)) outputs[name] = relPath(ctx.root, abs);
  return makeRecord({
    step: ctx.step,
    ...(ctx.target.command ? { argv: ctx.target.command } : {}),
    params: task.params,
    inputs,
    env,
    ...(item ? { item } : {}),
    outputs,
  });
}

/** A reason when an output is missing or modified; 'restamp' when intact but its stamp changed (e.g. touched). */
async function outputsIntact(
  task: Task,
  recorded: Record<string, OutputStamp>,
  io: PlanIO,
  root: string,
): Promise<Reason | 'restamp' | undefined> {
  let restamp = false;
  for (const [name, abs] of Object.entries(task.outputs)) {
    const rec = recorded[name];
    const st = io.stamp(abs);
    // The path the task writes now (an output renamed in pipe.yaml is missing at its new path, not its old one).
    if (!st || !rec) return { type: 'output-missing', output: name, path: relPath(root, abs) };
    if (sameFileStamp(st, rec)) continue;
    if (st.size !== rec.size || (await io.productSha256(abs)) !== rec.sha256) {
      return { type: 'output-modified', output: name, path: rec.path };
    }
    restamp = true;
  }
  return restamp ? 'restamp' : undefined;
}

/** Whether the workspace already holds exactly the manifest's outputs (e.g. published before a crash). */
async function workspaceMatches(task: Task, manifest: Manifest, io: PlanIO): Promise<boolean> {
  for (const [name, abs] of Object.entries(task.outputs)) {
    const out = manifest.outputs.find((o) => o.name === name);
    const st = io.stamp(abs);
    if (!out || !st || st.size !== out.size) return false;
    if ((await io.productSha256(abs)) !== out.sha256) return false;
  }
  return true;
}

function manifestOutputs(task: Task, root: string, manifest: Manifest): Record<string, KnownOutput> {
  const outputs: Record<string, KnownOutput> = {};
  for (const [name, abs] of Object.entries(task.outputs)) {
    const out = manifest.outputs.find((o) => o.name === name);
    if (out) outputs[name] = { path: relPath(root, abs), sha256: out.sha256, size: out.size };
  }
  return outputs;
}

function recordOutputs(recorded: Record<string, OutputStamp>): Record<string, KnownOutput> {
  const outputs: Record<string, KnownOutput> = {};
  for (const [name, o] of Object.entries(recorded))
    outputs[name] = { path: o.path, sha256: o.sha256, size: o.size };
  return outputs;
}

/** Decide what to do with one task whose upstream is settled. */
export async function decideTask(task: Task, ctx: DecideContext): Promise<Decision> {
  const prev = ctx.previous;
  const check = taskCheck(task, ctx);
  if (!ctx.forced && prev && check !== undefined && prev.check === check) {
    // Nothing the key depends on changed: the key is the recorded one, no fingerprint is built.
    const broken = await outputsIntact(task, prev.outputs, ctx.io, ctx.root);
    // The recorded stamps carry every field of a KnownOutput: passed on as they are (no copy per task).
    if (!broken) return { action: 'up-to-date', key: prev.key, check, outputs: prev.outputs };
  }
  const record = fingerprintTask(task, ctx);
  if ('missing' in record) return { action: 'missing-input', ...record.missing };
  const key = keyOf(record);
  const withCheck = check === undefined ? {} : { check };
  if (ctx.forced) return { action: 'run', key, record, ...withCheck, reasons: [{ type: 'forced' }] };
  if (prev && prev.key === key) {
    const broken = await outputsIntact(task, prev.outputs, ctx.io, ctx.root);
    // Up to date; the record is rewritten when its check digest is out of date (so the next no-op is quick).
    if (!broken)
      return {
        action: 'up-to-date',
        key,
        record,
        ...withCheck,
        outputs: recordOutputs(prev.outputs),
        ...(prev.check !== check ? { adopted: true } : {}),
      };
    // Same bytes under a new stamp: up to date, and the record takes the new stamp (no re-hash next time).
    if (broken === 'restamp')
      return {
        action: 'up-to-date',
        key,
        record,
        ...withCheck,
        outputs: recordOutputs(prev.outputs),
        adopted: true,
      };
    const manifest = await ctx.io.manifest(key);
    if (manifest && manifestCovers(task, manifest))
      return { action: 'restore', key, record, ...withCheck, manifest, reasons: [broken] };
    return { action: 'run', key, record, ...withCheck, reasons: [broken] };
  }
  const reasons = previousReasons(task, prev, ctx, record, key);
  const manifest = await ctx.io.manifest(key);
  if (manifest && manifestCovers(task, manifest)) {
    if (await workspaceMatches(task, manifest, ctx.io)) {
      return {
        action: 'up-to-date',
        key,
        record,
        ...withCheck,
        outputs: manifestOutputs(task, ctx.root, manifest),
        adopted: true,
        ...(typeof manifest.provenance.buildId === 'string' ? { madeBy: manifest.provenance.buildId } : {}),
      };
    }
    return { action: 'restore', key, record, ...withCheck, manifest, reasons };
  }
  return { action: 'run', key, record, ...withCheck, reasons };
}

/**
 * What changed in a blocked task's own share of its key: its record, with each unsettled upstream output taken at
 * the hash its last build recorded, against the last build's record. Empty when nothing of its own changed (it
 * runs only if its upstream outputs change); undefined when that cannot be told (no record of an upstream's
 * outputs, a raw input missing).
 */
export function ownChanges(
  task: Task,
  ctx: DecideContext,
  recordedOutputs: (taskId: string) => Record<string, OutputStamp> | undefined,
): Reason[] | undefined {
  if (!ctx.previous) return [withoutRecord(task, ctx)];
  // Only this task's deps (fingerprintTask reads no other): a copy of all settled outputs per blocked task
  // would make a 10,000-task plan quadratic.
  const upstream = new Map<string, Record<string, KnownOutput>>();
  let unknown = false;
  for (const dep of task.deps) {
    const settled = ctx.upstream.get(dep);
    const recorded = settled ? undefined : recordedOutputs(dep);
    if (settled || recorded) upstream.set(dep, settled ?? recordOutputs(recorded!));
    else {
      // An upstream task new since the last build (a file added to a foreach glob): its outputs' bytes are not
      // known, but their paths are, and the key holds them; a gather that gains or loses a file runs in any case.
      unknown = true;
      upstream.set(dep, unknownOutputs(task, dep, ctx.root));
    }
  }
  const record = fingerprintTask(task, { ...ctx, upstream });
  if ('missing' in record) return undefined;
  // Its key holds, but an output gone from the workspace is restored (or recomputed) whatever the upstream makes.
  if (keyOf(record) === ctx.previous.key) return missingOutputs(task, ctx.io, ctx.root);
  if (!unknown) return previousReasons(task, ctx.previous, ctx, record, keyOf(record));
  const old = ctx.previous.fp ?? ctx.previousRecord?.();
  if (!old) return undefined;
  // A changed hash of an unknown output says nothing (the bytes may come out the same); an added one does.
  return diffRecords(old, record).filter(
    (r) => !(r.type === 'input-changed' && r.new === UNKNOWN_HASH && r.old !== null),
  );
}

/** An output-missing reason for each output not in the workspace. */
function missingOutputs(task: Task, io: PlanIO, root: string): Reason[] {
  const reasons: Reason[] = [];
  for (const [output, abs] of Object.entries(task.outputs))
    if (!io.stamp(abs)) reasons.push({ type: 'output-missing', output, path: relPath(root, abs) });
  return reasons;
}

/** Stands for the bytes of an output not made yet (no hash has this form). */
const UNKNOWN_HASH = '?';

/** The outputs of `dep` that `task` reads, by path, with unknown bytes. */
function unknownOutputs(task: Task, dep: string, root: string): Record<string, KnownOutput> {
  const outputs: Record<string, KnownOutput> = {};
  for (const files of Object.values(task.inputs))
    for (const f of files)
      if (f.producer === dep) {
        const rel = relPath(root, f.path);
        outputs[rel] = { path: rel, sha256: UNKNOWN_HASH, size: 0 };
      }
  return outputs;
}

/** Why the key differs from the last build's: the differences of the records, when the old one is still known. */
function previousReasons(
  task: Task,
  prev: TaskRecord | undefined,
  ctx: DecideContext,
  record: FingerprintRecord,
  key: string,
): Reason[] {
  if (!prev) return [withoutRecord(task, ctx)];
  const old = prev.fp ?? ctx.previousRecord?.();
  if (!old) return [{ type: 'key-changed', old: prev.key, new: key }];
  const reasons = diffRecords(old, record);
  return reasons.length > 0 ? reasons : [{ type: 'key-changed', old: prev.key, new: key }];
}

/** Why a task with no record runs: its last run failed, or it never ran here (a new item, or a first build). */
function withoutRecord(task: Task, ctx: DecideContext): Reason {
  const failed = ctx.lastFailure?.();
  if (!failed) return newItem(task, ctx) ?? { type: 'no-previous-build' };
  const { stopped, ...run } = failed;
  return stopped
    ? {
        type: 'last-run-stopped',
        build: run.build,
        ...(run.at ? { at: run.at } : {}),
        interrupted: stopped.interrupted,
        ...(stopped.started === false ? { started: false as const } : {}),
        ...(stopped.skipped ? { skipped: stopped.skipped } : {}),
      }
    : { type: 'last-run-failed', ...run };
}

/** The new-item reason of a fan-out task without a record whose target had others recorded (else undefined). */
function newItem(task: Task, ctx: DecideContext): Reason | undefined {
  const foreach = ctx.target.foreach;
  if (!task.item || !foreach || !ctx.recordedTarget?.(task.target)) return undefined;
  const item = { type: 'new-item', target: task.target, item: task.item.id } as const;
  if (foreach.kind === 'list') return { ...item, foreach: 'list' };
  if (foreach.kind === 'items') return { ...item, foreach: 'items', from: foreach.target };
  const file = task.item.files[0];
  return { ...item, foreach: 'glob', ...(file ? { path: keyPath(ctx.root, file, ctx.keyRoots) } : {}) };
}

/** A manifest can stand for a task only if it has every output the task declares. */
function manifestCovers(task: Task, manifest: Manifest): boolean {
  return Object.keys(task.outputs).every((name) => manifest.outputs.some((o) => o.name === name));
}

/** The outputs of a restored task, as downstream tasks will see them. */
export function restoredOutputs(task: Task, root: string, manifest: Manifest): Record<string, KnownOutput> {
  return manifestOutputs(task, root, manifest);
}
