/**
 * The scheduler: carries out a plan. Tasks start when their upstream has settled; a task that was
 * `blocked` in the plan is decided again once its upstream finished (if the upstream wrote the same
 * bytes, its key is unchanged and it is up to date: the cascade stops). Work goes to executors
 * bounded by `jobs`; restores from the cache run alongside. After a failure, no new task starts
 * unless `keepGoing`; an abort stops dispatching and cancels what runs. Dynamic fan-outs expand
 * when the target emitting their items has finished.
 */
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { CacheBackend, Manifest } from '@pipe/cache';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import { BUILD_ID, readBuildRecord } from '../builds/records.js';
import {
  type ExecFailure,
  type ExecOutcome,
  type ExecRequest,
  type Executor,
  type OutputFailure,
  renderFailedOutcome,
  renderFailure,
} from '../execute/executor.js';
import { submitWithRetries } from '../execute/retries.js';
import { codeHash, editedSince } from '../fingerprint/code-hash.js';
import type { StepIdentity } from '../fingerprint/record.js';
import type { ParamPath } from '../model/step.js';
import type { Pipeline, Task, TaskGraph, TaskItem } from '../model/types.js';
import { type Decision, decideTask, type KnownOutput, type PlanIO, restoredOutputs } from '../plan/decide.js';
import { KnownOutputs } from '../plan/known-outputs.js';
import { isForced, type Plan, pendingAfter, recordedItems } from '../plan/planner.js';
import type { Reason } from '../plan/reasons.js';
import {
  KEPT_METADATA_PER_BUILD,
  keptMetadata,
  madeInOf,
  provenanceRecord,
  provenanceWarnings,
} from '../provenance/record.js';
import { sameFileStamp } from '../state/hash-memo.js';
import { previousRecord, recordedTargets, type StateData, type TaskRecord } from '../state/state-file.js';
import { describeCacheFailure } from '../store/lazy-cache.js';
import {
  type CacheWarning,
  cacheWarningText,
  currentStamps,
  outputFolderProblem,
  publishOutputs,
  restoreOutputs,
  storeOutputs,
} from '../store/products.js';
import { notReproducedText } from '../store/reproduced.js';
import { keyRootsOf } from '../workspace/key-paths.js';
import { relPath, taskFileName, type WorkspaceLayout } from '../workspace/layout.js';
import type { BuildEvent, BuildStatus, TaskReport, TaskState } from './events.js';
import { LinkedPaths } from './linked-paths.js';
import { missingInputError, notKeptText, notWrittenHint, thrownMessage } from './report-texts.js';
import {
  runFolderNames,
  runTempDir,
  taskLeftovers,
  taskTempPaths,
  undeclaredText,
  unownedFiles,
  unownedText,
} from './task-temp.js';
import { recordedWarningList, replayEvent, replayedWarnings, stepWarnings } from './task-warnings.js';

export interface RunBuildOptions {
  buildId: string;
  pipeline: Pipeline;
  plan: Plan;
  expand?: (items: Map<string, TaskItem[]>) => TaskGraph;
  state: StateData;
  io: PlanIO;
  steps: Map<string, StepIdentity>;
  kernelBackend: string;
  cache: CacheBackend;
  /** By name: 'process' (commands), 'local' (step modules), optionally 'slurm'. */
  executors: Record<string, Executor>;
  jobs: number;
  keepGoing?: boolean;
  force?: boolean | Set<string>;
  layout: WorkspaceLayout;
  signal: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
  /**
   * Where a param value was set (`set at file:line:col`, or `set by --param …`), for a step that blamed one (see
   * StepDefinition.run); called on that failure only. `item`: the failed task's fan-out item, whose place in a
   * `foreach` list a param written "{item}" was set at.
   */
  locateParam?: (target: string, param: ParamPath, item?: string) => Promise<string | undefined>;
}

export interface BuildOutcome {
  status: BuildStatus;
  reports: Map<string, TaskReport>;
  /** Whether state.tasks was changed (the caller saves the state file). */
  stateChanged: boolean;
  /**
   * Settles once the cache entries of the tasks that ran are stored and their warnings emitted (never rejects).
   * The caller awaits it before the build ends; saving the state and the build record need not wait for it.
   */
  committed: Promise<void>;
}

const FINAL: ReadonlySet<TaskState> = new Set(['up-to-date', 'restored', 'ran']);

/** Run a build to the end (or until aborted). Never throws for task failures. */
export function runBuild(options: RunBuildOptions): Promise<BuildOutcome> {
  return new Scheduler(options).run();
}

class Scheduler {
  private readonly tasks = new Map<string, Task>();
  private readonly reports = new Map<string, TaskReport>();
  private readonly known = new KnownOutputs();
  private readonly itemsOf = new Map<string, TaskItem[]>();
  private readonly dependants = new Map<string, string[]>();
  private readonly waitingOn = new Map<string, number>();
  private readonly runQueue: Array<{ id: string; decision: Extract<Decision, { action: 'run' }> }> = [];
  private readonly restoreQueue: Array<{ id: string; decision: Extract<Decision, { action: 'restore' }> }> =
    [];
  private readonly expandedItems: Map<string, TaskItem[]>;
  /** Whether a target had tasks recorded when the build began (DecideContext.recordedTarget). */
  private readonly recordedTarget: (target: string) => boolean;
  /** Characters of step metadata the build record may still keep (provenance/record.ts keptMetadata). */
  private readonly metadataBudget = { left: KEPT_METADATA_PER_BUILD };
  /** Tasks submitted to a batch executor before their upstream finished: their decision, once made. */
  private readonly speculative = new Map<
    string,
    { decided: Promise<Decision | undefined>; resolve: (d: Decision | undefined) => void }
  >();
  private pending: Plan['pending'];
  private inFlight = 0;
  /** Inside addTasks: more tasks are about to be advanced, the build cannot be over. */
  private adding = 0;
  private running = 0;
  /**
   * The run folder's unowned files seen so far, and those put down to a task: a file a program wrote beside its
   * output under a name of its own is that task's when no other task or batch was running.
   */
  private readonly unownedSeen = new Set<string>();
  /** Symbolic links that make an output a file the pipeline reads, or a raw input another task's output. */
  private readonly links: LinkedPaths;
  private readonly unownedOf = new Map<string, string[]>();
  private readonly unownedNamed = new Set<string>();
  /** Batches in flight at batch executors (not bounded by `jobs`: the executor has its own limits). */
  private batching = 0;
  private restoring = 0;
  private stopped = false;
  private failed = false;
  private stateChanged = false;
  /** Tasks whose work has ended and whose outputs are being stored and published (they hold no job slot). */
  private completing = 0;
  /** Cache entries of tasks that ran, still being made durable (see storeOutputs): the build ends after them. */
  private readonly commits = new Set<Promise<void>>();
  /** Directories created for this build (temp and output folders): one mkdir each. */
  private readonly madeDirs = new Set<string>();
  /** Reasons of cache failures already reported (cacheWarning). */
  private readonly cacheReasons = new Set<string>();
  /** Whether a target's tasks go to a batch executor, by target name. */
  private readonly batchedTargets = new Map<string, boolean>();
  private readonly anyBatchExecutor: boolean;
  private finish!: () => void;

  constructor(private readonly o: RunBuildOptions) {
    // Before this build records any task: its own records would make a fan-out's later items look new.
    const recorded = recordedTargets(o.state);
    this.recordedTarget = (target) => recorded.has(target);
    this.expandedItems = new Map(o.plan.items);
    this.pending = o.plan.pending;
    this.anyBatchExecutor = Object.values(o.executors).some((e) => e.batches === true);
    this.links = new LinkedPaths(this.tasks, o.pipeline);
  }

  async run(): Promise<BuildOutcome> {
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const onAbort = () => {
      this.stopped = true;
      this.maybeFinish();
    };
    this.o.signal.addEventListener('abort', onAbort, { once: true });
    const initial = [...this.o.plan.order].map((id) => this.o.plan.tasks.get(id)!.task);
    this.addTasks(initial, (id) => this.o.plan.tasks.get(id)?.decision);
    this.maybeFinish();
    await done;
    const committed = this.allCommitted();
    this.o.signal.removeEventListener('abort', onAbort);
    // Unowned files no task could be named for (written while others ran, or by a batch's jobs), if still there (a
    // scratch file its program removed is no loss); after a stop, what cancelled tasks left is no news.
    const unowned = unownedFiles(runFolderNames(runTempDir(this.o.layout))).filter(
      (f) => !this.unownedNamed.has(f),
    );
    if (unowned.length > 0 && !this.o.signal.aborted)
      this.emit({ type: 'warning', message: unownedText(unowned) });
    await rm(runTempDir(this.o.layout), { recursive: true, force: true });
    for (const [id] of this.tasks) {
      if (!this.reports.has(id))
        this.report({ id, state: this.o.signal.aborted ? 'cancelled' : 'not-started' });
    }
    const status: BuildStatus = this.o.signal.aborted ? 'interrupted' : this.failed ? 'failed' : 'succeeded';
    return { status, reports: this.reports, stateChanged: this.stateChanged, committed };
  }

  /**
   * Every pending cache commit settled (they are added only while tasks complete, so none comes after), then
   * the store's last writes made durable: a store that batches its fsyncs would otherwise leave the directory
   * entry of the last manifest unsynced, and a power loss could drop that entry (a cache miss, not a corrupt one).
   */
  private async allCommitted(): Promise<void> {
    if (this.commits.size === 0) return;
    while (this.commits.size > 0) await Promise.all(this.commits);
    const synced = await this.o.cache.sync?.();
    if (!synced || synced.ok) return;
    // Once per reason, as the outputs' failures: a store that could not take them fails its sync alike.
    const reason = await describeCacheFailure(synced.failure);
    if (this.newCacheReason(reason)) this.emit({ type: 'warning', message: `cache: ${reason}` });
  }

  private emit(event: BuildEvent) {
    this.o.onEvent?.(event);
  }

  /**
   * A cache failure, said once per reason: a store that cannot be made (a --cache-dir under a file) fails every
   * task's outputs alike, and 3,000 lines would bury the build's own report.
   */
  private cacheWarning(w: CacheWarning) {
    if (!this.newCacheReason(w.reason)) return;
    this.emit({
      type: 'warning',
      message: `${cacheWarningText(w)} (not repeated for other outputs that fail for this reason)`,
    });
  }

  /**
   * Whether this build has not said `reason` of a cache failure yet (it is now taken as said). The entry a reason
   * names (`write cas/<sha>`, the file in node's message) is left out: a full or read-only store fails each alike.
   */
  private newCacheReason(reason: string): boolean {
    const key = reason.replace(/\b(cas|ac)\/[0-9a-f]{64}\b/g, '$1/…').replace(/'[^']*'/g, "'…'");
    if (this.cacheReasons.has(key)) return false;
    this.cacheReasons.add(key);
    return true;
  }

  private report(r: TaskReport) {
    this.reports.set(r.id, r);
    this.emit({ type: 'task-end', report: r });
  }

  private addTasks(list: Task[], planned: (id: string) => Decision | undefined) {
    this.adding++;
    try {
      this.addTasksNow(list, planned);
    } finally {
      this.adding--;
    }
    // Batch executors get everything that became ready at once (see dispatchBatches).
    this.pump();
  }

  private addTasksNow(list: Task[], planned: (id: string) => Decision | undefined) {
    for (const task of list) this.tasks.set(task.id, task);
    const ready: string[] = [];
    for (const task of list) {
      let waiting = 0;
      let upstreamFailed: string | undefined;
      // Deps are unique as expanded; a Set guards a graph from elsewhere (one per task with several deps only).
      for (const dep of task.deps.length > 1 ? new Set(task.deps) : task.deps) {
        if (!this.tasks.has(dep)) continue;
        const r = this.reports.get(dep);
        if (r && FINAL.has(r.state)) continue;
        if (r) upstreamFailed = dep;
        waiting++;
        let ds = this.dependants.get(dep);
        if (!ds) this.dependants.set(dep, (ds = []));
        ds.push(task.id);
      }
      if (upstreamFailed) this.skip(task.id, upstreamFailed);
      else if (waiting > 0) this.waitingOn.set(task.id, waiting);
      else {
        // Up to date as planned, its upstream settled: settle it here, in O(1) (the list is in dependency order).
        const decision = planned(task.id);
        if (
          decision?.action === 'up-to-date' &&
          !this.stopped &&
          !this.speculative.has(task.id) &&
          this.o.state.tasks.keyOf(task.id) === decision.key
        )
          this.settleUpToDate(task.id, decision);
        else ready.push(task.id);
      }
    }
    for (const id of ready) void this.advance(id, planned(id));
  }

  private skip(id: string, upstream: string) {
    if (this.reports.has(id)) return;
    // One cancelled by a stop did not fail: "did not succeed" read as if it had.
    const error =
      this.reports.get(upstream)?.state === 'cancelled'
        ? `upstream task ${upstream} was cancelled: the build was stopped`
        : `upstream task ${upstream} did not succeed`;
    this.report({ id, state: 'skipped', error });
    this.speculative.get(id)?.resolve(undefined);
    for (const d of this.dependants.get(id) ?? []) this.skip(d, upstream);
  }

  /** A task settled, its outputs known (this.known): its dependants may go on. */
  private succeed(id: string, items: TaskItem[] | undefined) {
    if (items) this.itemsOf.set(id, items);
    for (const d of this.dependants.get(id) ?? []) {
      const n = (this.waitingOn.get(d) ?? 1) - 1;
      this.waitingOn.set(d, n);
      if (n === 0) void this.advance(d, undefined);
    }
    this.expandAfter(this.tasks.get(id)!.target);
  }

  private fail(id: string, state: 'failed' | 'cancelled', extra: Omit<TaskReport, 'id' | 'state'>) {
    // Cancelled while this build neither was interrupted nor stopped: something outside ended it (scancel, an
    // administrator). Its product is missing, so the build failed; said as such, not as a quiet 'cancelled'.
    if (state === 'cancelled' && !this.o.signal.aborted && !this.stopped) {
      state = 'failed';
      // The executor's own word for it ('cancelled') would only repeat itself in parentheses.
      const detail = extra.error && extra.error !== 'cancelled' ? ` (${extra.error})` : '';
      extra = { ...extra, error: `cancelled outside pipe${detail}` };
    }
    this.report({ id, state, ...extra });
    if (state === 'failed') {
      this.failed = true;
      if (!this.o.keepGoing && !this.stopped) {
        this.stopped = true;
        for (const e of Object.values(this.o.executors)) void e.stopPending?.().catch(() => undefined);
      }
    }
    for (const d of this.dependants.get(id) ?? []) this.skip(d, id);
  }

  private expandAfter(target: string) {
    if (!this.o.expand || !this.pending.some((p) => p.after === target)) return;
    const items: TaskItem[] = [];
    let emitted = false;
    for (const [id, task] of this.tasks) {
      if (task.target !== target) continue;
      const r = this.reports.get(id);
      if (!r || !FINAL.has(r.state)) return;
      const own = this.itemsOf.get(id);
      if (own) emitted = true;
      items.push(...(own ?? []));
    }
    // An empty list is an answer (no run selected); no list at all is a step that does not emit items.
    if (!emitted && !this.failed)
      for (const p of this.pending)
        if (itemsSource(this.o.pipeline, p.target) === target)
          this.emit({
            type: 'warning',
            message: `target '${p.target}' fans out over the items of '${target}', whose step emitted none (its run returns no {items: [...]}): '${p.target}' has no tasks`,
          });
    this.expandedItems.set(target, items);
    const graph = this.o.expand(new Map(this.expandedItems));
    // What the loader could not check, the items being a step's: two items with one id, two tasks writing one path.
    // Their tasks would overwrite each other's products: none of them runs, and the build fails saying why.
    const errors = (graph.diagnostics ?? []).filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      for (const d of errors)
        this.emit({
          type: 'warning',
          message: `the items of '${target}' cannot be built: ${d.message}${d.hint ? ` (${d.hint})` : ''}`,
        });
      this.failed = true;
      this.stopped = true;
      this.pending = [];
      return;
    }
    this.pending = graph.pending.map((t) => ({
      target: t,
      after: pendingAfter(this.o.pipeline, graph.pending, t),
    }));
    const fresh = [...graph.tasks.values()].filter((t) => !this.tasks.has(t.id));
    const counts = new Map<string, number>();
    for (const t of fresh) counts.set(t.target, (counts.get(t.target) ?? 0) + 1);
    for (const [t, n] of counts) this.emit({ type: 'expanded', target: t, tasks: n });
    this.addTasks(fresh, () => undefined);
  }

  /** Decide a task and queue it; a throw while deciding (an input that cannot be read, a bug) is its failure. */
  private async advance(id: string, planned: Decision | undefined) {
    try {
      await this.decideAndQueue(id, planned);
    } catch (error) {
      this.failUnexpectedly(id, undefined, error);
      this.maybeFinish();
    }
  }

  private async decideAndQueue(id: string, planned: Decision | undefined) {
    // A task already submitted with its upstream is decided even after a stop: its job ends either way.
    if (this.speculative.has(id) && !this.reports.has(id)) return this.decideSpeculative(id);
    if (this.stopped || this.reports.has(id)) return this.maybeFinish();
    const task = this.tasks.get(id)!;
    this.inFlight++;
    let decision: Decision;
    let items: TaskItem[] | undefined;
    try {
      decision =
        planned && planned.action !== 'blocked'
          ? planned
          : await decideTask(task, {
              root: this.o.pipeline.root,
              io: this.o.io,
              previous: this.o.state.tasks.get(id),
              previousRecord: () => previousRecord(this.o.state, id),
              lastFailure: () => this.o.state.lastFailure?.(id),
              upstream: this.known,
              step: this.o.steps.get(task.target)!,
              target: this.o.pipeline.targets.get(task.target)!,
              forced: isForced(this.o.force, task.target),
              keyRoots: keyRootsOf(this.o.pipeline),
              recordedTarget: this.recordedTarget,
            });
      if (decision.action === 'up-to-date') items = await this.upToDateItems(task, decision.key);
    } finally {
      this.inFlight--;
    }
    switch (decision.action) {
      case 'up-to-date':
        this.settleUpToDate(id, decision, items);
        break;
      case 'restore':
        this.restoreQueue.push({ id, decision });
        break;
      case 'run':
        this.runQueue.push({ id, decision });
        break;
      case 'missing-input':
        this.fail(id, 'failed', {
          error: missingInputError(decision, this.tasks.get(id), this.o.pipeline.root),
        });
        break;
      case 'blocked':
        throw new Error(`task ${id} still blocked after its upstream settled`);
    }
    this.pump();
  }

  /**
   * The items of an up-to-date task: from its record when the record is this key's. Else (adopted under another
   * key, see planner.ts recordedItems), or when a pending fan-out waits for items the record lost (a build that
   * died between recording the task and its items), from the task's cache manifest.
   */
  private async upToDateItems(task: Task, key: string): Promise<TaskItem[] | undefined> {
    const rec = this.o.state.tasks.get(task.id);
    if (rec?.key === key && (rec.items !== undefined || !this.pending.some((p) => p.after === task.target)))
      return rec.items;
    const manifest = await this.o.io.manifest(key);
    return manifest?.items as TaskItem[] | undefined;
  }

  private settleUpToDate(
    id: string,
    decision: Extract<Decision, { action: 'up-to-date' }>,
    items = recordedItems(this.o.state, id, decision.key),
  ) {
    if (this.reports.has(id)) return;
    const warnings = recordedWarningList(this.o.state, id);
    for (const replay of replayedWarnings(id, warnings)) this.emit(replayEvent(replay));
    if (decision.adopted) {
      // Under the key it has (new stamps after a touch, a new check digest) the record keeps the build that made
      // the outputs, so `pipe why` still tells that build and its reason; adopted under another key, it is this one's.
      const previous = this.o.state.tasks.get(id);
      this.record(
        id,
        {
          key: decision.key,
          ...recordParts(decision),
          outputs: currentStamps(this.o.pipeline.root, this.tasks.get(id)!, decision.outputs),
          ...(items ? { items } : {}),
          ...(warnings ? { warnings } : {}),
        },
        previous?.key === decision.key ? previous.buildId : this.madeHere(id, decision),
      );
    }
    this.report({ id, key: decision.key, state: 'up-to-date' });
    // Its outputs are taken from the decision only when a task downstream asks (known-outputs.ts).
    this.known.setFrom(id, decision);
    this.succeed(id, items);
  }

  /** Build records read by madeHere (many adopted tasks name one build). */
  private readonly madeRecords = new Map<string, ReturnType<typeof readBuildRecord>>();

  /**
   * The build of this workspace that made an adopted task's outputs, when its provenance names one whose record
   * lists the task as run with this key (a build killed after the task ended: its products are in place, its
   * record was completed from its journal); otherwise undefined (this build is then credited).
   */
  private madeHere(id: string, decision: Extract<Decision, { action: 'up-to-date' }>): string | undefined {
    if (decision.madeBy === undefined || !BUILD_ID.test(decision.madeBy)) return undefined;
    let made = this.madeRecords.get(decision.madeBy);
    if (!made)
      this.madeRecords.set(
        decision.madeBy,
        (made = readBuildRecord(this.o.layout.buildsDir, decision.madeBy)),
      );
    const report = made.ok ? made.record.tasks[id] : undefined;
    return report?.state === 'ran' && report.key === decision.key ? decision.madeBy : undefined;
  }

  private record(id: string, rec: Omit<TaskRecord, 'buildId'>, buildId = this.o.buildId) {
    this.o.state.tasks.set(id, { ...rec, buildId });
    this.stateChanged = true;
  }

  private pump() {
    // Wait until nothing is being decided, so that one batch holds every task that is ready now.
    if (this.anyBatchExecutor && !this.stopped && this.adding === 0 && this.inFlight === 0)
      this.dispatchBatches();
    while (!this.stopped && this.restoring < Math.max(4, this.o.jobs) && this.restoreQueue.length > 0) {
      const next = this.restoreQueue.shift()!;
      this.restoring++;
      void this.restore(next.id, next.decision).finally(() => {
        this.restoring--;
        this.pump();
      });
    }
    while (!this.stopped && this.running < this.o.jobs) {
      // Tasks of a batch executor wait in the queue for dispatchBatches.
      const at = this.anyBatchExecutor
        ? this.runQueue.findIndex((e) => !this.isBatched(e.id))
        : this.runQueue.length > 0
          ? 0
          : -1;
      if (at < 0) break;
      const next = this.runQueue.splice(at, 1)[0]!;
      this.running++;
      void this.execute(next.id, next.decision)
        .catch((error: unknown) => this.failUnexpectedly(next.id, next.decision, error))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
    this.maybeFinish();
  }

  private maybeFinish() {
    if (
      this.adding > 0 ||
      this.inFlight > 0 ||
      this.running > 0 ||
      this.restoring > 0 ||
      this.batching > 0 ||
      this.completing > 0
    )
      return;
    if (!this.stopped && (this.runQueue.length > 0 || this.restoreQueue.length > 0)) return;
    // Nothing is deciding, queued or running: every unreported task waits on one that will never
    // finish (only after a stop), so the build is over.
    this.finish();
  }

  private async restore(id: string, decision: Extract<Decision, { action: 'restore' }>) {
    const task = this.tasks.get(id)!;
    const started = Date.now();
    this.emit({ type: 'task-start', id, action: 'restore', reasons: decision.reasons });
    const failed = (error: string) =>
      this.fail(id, 'failed', { key: decision.key, reasons: decision.reasons, error });
    const blocked = this.makeOutputFolders(task);
    if (blocked) return failed(blocked);
    let got: Awaited<ReturnType<typeof restoreOutputs>>;
    try {
      got = await restoreOutputs(this.o.cache, this.o.pipeline.root, task, decision.manifest);
    } catch (error) {
      // What the cache cannot answer is a failure value (below); a throw is the workspace's (EACCES, ENOSPC, ...).
      return failed(`its outputs could not be restored: ${thrownMessage(error)}`);
    }
    if (!got.ok) {
      // A corrupt or incomplete entry counts as missing: compute the task instead. A remote that went down is
      // not a corrupt entry, and the cache already said so once.
      const unreachable = got.failure?.type === 'unavailable' || got.failure?.type === 'unauthorized';
      if (!unreachable)
        this.emit({
          type: 'warning',
          message: `cache entry ${decision.key.slice(0, 12)} of ${id} unusable (${got.detail}); recomputing`,
        });
      const reasons: Reason[] = [
        unreachable
          ? { type: 'cache-unavailable', detail: got.detail }
          : { type: 'cache-corrupt', detail: got.detail },
        ...decision.reasons,
      ];
      this.runQueue.push({
        id,
        decision: {
          action: 'run',
          key: decision.key,
          record: decision.record,
          ...(decision.check ? { check: decision.check } : {}),
          reasons,
        },
      });
      return;
    }
    const items = decision.manifest.items as TaskItem[] | undefined;
    // Products restored from a cache come with what their step warned about when it made them (a run left out
    // of a stack, say): told as for an up-to-date task, and kept in the record for the builds after.
    const warnings = provenanceWarnings(decision.manifest.provenance);
    for (const replay of replayedWarnings(id, warnings, 'restored')) this.emit(replayEvent(replay));
    this.record(id, {
      key: decision.key,
      ...recordParts(decision),
      outputs: got.stamps,
      ...(items ? { items } : {}),
      ...(warnings ? { warnings } : {}),
    });
    const madeIn = madeInOf(decision.manifest.provenance);
    const metadata = keptMetadata(decision.manifest.provenance['metadata'], this.metadataBudget);
    this.report({
      id,
      key: decision.key,
      state: 'restored',
      reasons: decision.reasons,
      ms: Date.now() - started,
      outputs: outputHashes(got.stamps),
      ...(madeIn ? { madeIn } : {}),
      ...(metadata ? { metadata } : {}),
    });
    this.known.set(id, restoredOutputs(task, this.o.pipeline.root, decision.manifest));
    this.succeed(id, items);
  }

  /** The cache's entry for `key`, if it holds one (a failed lookup is none: the check it serves is a bonus). */
  private async cachedEntry(key: string): Promise<Manifest | undefined> {
    const got = await this.o.cache.getManifest(key);
    return got.ok ? got.value : undefined;
  }

  private executorFor(task: Task): { executor: Executor; request: ExecRequest['work'] } | string {
    const target = this.o.pipeline.targets.get(task.target)!;
    const wanted = target.executor ?? this.o.pipeline.defaults.executor;
    const work: ExecRequest['work'] = target.command
      ? { kind: 'command', argv: target.command }
      : { kind: 'step', module: target.stepModule! };
    const name = wanted === 'slurm' ? 'slurm' : work.kind === 'command' ? 'process' : 'local';
    const executor = this.o.executors[name];
    if (!executor) return `no '${name}' executor is configured`;
    return { executor, request: work };
  }

  private async execute(id: string, decision: Extract<Decision, { action: 'run' }>) {
    const task = this.tasks.get(id)!;
    const chosen = this.executorFor(task);
    const reasons = decision.reasons;
    if (typeof chosen === 'string')
      return this.fail(id, 'failed', { key: decision.key, reasons, error: chosen });
    const { executor, request } = chosen;
    const req = await this.prepare(id, request, decision);
    if (typeof req === 'string') return this.fail(id, 'failed', { key: decision.key, reasons, error: req });
    const start = new Date();
    let jobId: string | undefined;
    let runningSince: Date | undefined;
    this.emit({ type: 'task-start', id, action: 'run', executor: executor.name, reasons });
    const outcome = await submitWithRetries(executor, req, {
      signal: this.o.signal,
      onEvent: (e) => {
        if (e.type !== 'started') return;
        runningSince ??= new Date();
        if (e.jobId) jobId = e.jobId;
      },
      again: (next, of, failed) => {
        // A build that stops after another task's failure starts no more work, retries included.
        if (this.stopped) return false;
        this.emit({
          type: 'warning',
          message: `${id}: ${renderFailure(failed)}; retrying (attempt ${next} of ${of})`,
        });
        return true;
      },
    });
    // The run folder once, now the work ended: what this task left there (less what publishing moves) and files of
    // no task's. A file first seen now was written by this task or another running one: this task's when it is the
    // only one.
    const runNames = runFolderNames(runTempDir(this.o.layout));
    const unowned = unownedFiles(runNames).filter((f) => !this.unownedSeen.has(f));
    for (const f of unowned) this.unownedSeen.add(f);
    if (unowned.length > 0 && this.running === 1 && this.batching === 0) {
      this.unownedOf.set(id, unowned);
      for (const f of unowned) this.unownedNamed.add(f);
    }
    // Storing and publishing is I/O: it gives the job slot back, so the next task's work starts meanwhile.
    this.completing++;
    void this.complete(runNames, id, decision, executor, req, outcome, start, jobId, runningSince)
      .catch((error: unknown) => this.failUnexpectedly(id, decision, error))
      .finally(() => {
        this.completing--;
        this.maybeFinish();
      });
  }

  /**
   * For a command that failed: the variables set where pipe was started that programs commonly need to find their
   * code and libraries (a Python path, a conda or virtual env) and that it did not see, its target not listing them
   * under `env:` (a ModuleNotFoundError from a PYTHONPATH set by hand).
   */
  private unseenEnv(targetName: string): string[] {
    const declared = new Set(this.o.pipeline.targets.get(targetName)?.env ?? []);
    return LIBRARY_ENV.filter((name) => !declared.has(name) && this.o.io.env(name) !== undefined);
  }

  /**
   * An output a task did not deliver as a file, as said to the user, whoever found it (the engine, or Slurm's job,
   * which names the temporary path it was given): the declared path, and why it is likely missing.
   */
  private outputFailureText(
    task: Task,
    failure: OutputFailure,
    attempts: number | undefined,
    req: ExecRequest,
    start: Date,
  ): string {
    const declared = task.outputs[failure.output];
    const f = declared ? { ...failure, path: relPath(this.o.pipeline.root, declared) } : failure;
    const hint = f.type === 'output-not-written' ? notWrittenHint(this.o.pipeline.root, f, req, start) : '';
    return `${renderFailedOutcome({ ok: false, failure: f, ...(attempts ? { attempts } : {}) })}${hint}`;
  }

  /**
   * A throw out of deciding, running or completing a task (a file-system error no guard foresaw, a bug) fails that
   * task, with its message, instead of escaping as an unhandled rejection that kills the build and leaves its lock
   * behind. Without a decision, it was deciding that threw.
   */
  private failUnexpectedly(
    id: string,
    decision: Extract<Decision, { action: 'run' }> | undefined,
    error: unknown,
  ): void {
    if (this.reports.has(id)) return;
    this.fail(id, 'failed', {
      ...(decision ? { key: decision.key, reasons: decision.reasons } : {}),
      error: decision ? thrownMessage(error) : `it could not be decided: ${thrownMessage(error)}`,
    });
  }

  private ensureDir(dir: string) {
    if (this.madeDirs.has(dir)) return;
    makeDirsSync(dir);
    this.madeDirs.add(dir);
  }

  /**
   * Make the folders a task's outputs go in; why not, if one cannot be (a file in its place): the task fails, not
   * the build.
   */
  private makeOutputFolders(task: Task): string | undefined {
    for (const [name, final] of Object.entries(task.outputs)) {
      const dir = path.dirname(final);
      try {
        this.ensureDir(dir);
      } catch (error) {
        return outputFolderProblem(this.o.pipeline.root, name, dir, error);
      }
      // Found now, before the work runs, not when its outputs are put in place (after some of them were).
      if (statSync(final, { throwIfNoEntry: false })?.isDirectory())
        return `a folder stands where output '${name}' goes (${relPath(this.o.pipeline.root, final)}): move or remove it, pipe does not`;
      const linked = this.links.outputThroughLink(final);
      if (linked)
        return `output '${name}' (${relPath(this.o.pipeline.root, final)}) is, ${linked}: a build would overwrite it; give the outputs a folder of their own`;
    }
    return undefined;
  }

  /**
   * The request for a task: temporary output paths, declared env, inputs, resources, log file; or why its outputs
   * have no folder to go in.
   */
  private async prepare(
    id: string,
    work: ExecRequest['work'],
    decision: Extract<Decision, { action: 'run' }> | undefined,
  ): Promise<ExecRequest | string> {
    const task = this.tasks.get(id)!;
    const target = this.o.pipeline.targets.get(task.target)!;
    const temps: Record<string, string> = {};
    const runTmp = runTempDir(this.o.layout);
    this.ensureDir(runTmp);
    Object.assign(temps, taskTempPaths(runTmp, id, task.outputs));
    const blocked = this.makeOutputFolders(task) ?? this.links.inputLinkedToOutput(task);
    if (blocked) return blocked;
    const env: Record<string, string> = {};
    for (const name of target.env) {
      const v = this.o.io.env(name);
      if (v !== undefined) env[name] = v;
    }
    const inputs: Record<string, string[]> = {};
    for (const [name, files] of Object.entries(task.inputs)) inputs[name] = files.map((f) => f.path);
    const logFile = path.join(this.o.layout.logsDir, this.o.buildId, `${taskFileName(id)}.log`);
    return {
      id,
      target: task.target,
      ...(decision ? { key: decision.key } : {}),
      ...(decision?.reasons.some((r) => r.type === 'forced') ? { fresh: true as const } : {}),
      deps: [],
      work,
      inputs,
      outputs: temps,
      finalOutputs: { ...task.outputs },
      params: task.params,
      env,
      ...(task.item ? { item: task.item } : {}),
      resources: { ...this.o.pipeline.defaults.resources, ...target.resources },
      kernelBackend: this.o.kernelBackend,
      cwd: this.o.pipeline.root,
      logFile,
    };
  }

  /**
   * After a task's work ended: store, publish, record and report (or fail); then what is left of it in the run
   * folder goes (task-temp.ts), what it wrote there undeclared said once it succeeded (a file it may have meant to
   * keep).
   */
  private async complete(runNames: string[], ...args: Parameters<Scheduler['storeAndPublish']>) {
    const [id, , , req] = args;
    const runTmp = runTempDir(this.o.layout);
    let ran = false;
    try {
      await this.storeAndPublish(...args);
      ran = this.reports.get(id)?.state === 'ran';
    } finally {
      // What is left of the task: after a success, files it wrote beside its outputs (said); else its outputs too.
      const left = taskLeftovers(runNames, id, ran ? Object.values(req.outputs) : []);
      const unowned = this.unownedOf.get(id) ?? [];
      this.unownedOf.delete(id);
      if (ran && left.length + unowned.length > 0)
        this.emit({
          type: 'warning',
          message: undeclaredText(id, left, this.tasks.get(id)!.outputs, this.o.pipeline.root, unowned),
        });
      await Promise.all(left.map((f) => rm(path.join(runTmp, f), { recursive: true, force: true })));
    }
  }

  private async storeAndPublish(
    id: string,
    decision: Extract<Decision, { action: 'run' }>,
    executor: Executor,
    req: ExecRequest,
    outcome: ExecOutcome,
    handedOver: Date,
    startedJob: string | undefined,
    /** When the executor said the work started (a batch job left the queue), if it did. */
    runningSince?: Date,
  ) {
    const task = this.tasks.get(id)!;
    const temps = req.outputs;
    const reasons = decision.reasons;
    // A batch job may wait in a queue for minutes: where the executor says when the work ran, that is the task's time.
    const ran = outcome.ok ? outcome.ran : undefined;
    const start = ran ? new Date(ran.start) : handedOver;
    const end = ran ? new Date(ran.end) : new Date();
    // A failed batch job has no clock of its own: timed from when it was seen to run, not from its submission (a wait
    // in the queue, and behind its upstream's jobs, is no time of its own).
    const timedFrom = ran ? start : (runningSince ?? handedOver);
    // What a step warned about is shown, not only kept in its log (a run left out of a stack, say). Only a step
    // writes `warn` lines; a command's log is its program's output, not read here.
    const warned = req.work.kind === 'step' ? stepWarnings(req.logFile) : [];
    for (const w of warned) this.emit({ type: 'warning', message: `${id}: ${w}`, step: { id, text: w } });
    const jobId = outcome.jobId ?? startedJob;
    // A batch job cancelled in the queue never ran: no start, as a task a stop found waiting for a slot.
    const neverStarted =
      !outcome.ok && outcome.failure.type === 'cancelled' && outcome.failure.started === false;
    const base = {
      key: decision.key,
      reasons,
      executor: executor.name,
      ...(neverStarted ? {} : { startedAt: timedFrom.toISOString() }),
      endedAt: end.toISOString(),
      ...(neverStarted ? {} : { ms: Math.max(0, end.getTime() - timedFrom.getTime()) }),
      log: req.logFile,
      ...(jobId ? { jobId } : {}),
      ...(outcome.attempts ? { attempts: outcome.attempts } : {}),
      ...(outcome.ok && outcome.adoptedFrom ? { adoptedFrom: outcome.adoptedFrom } : {}),
    };
    if (!outcome.ok) {
      const f = outcome.failure;
      const state = f.type === 'cancelled' ? 'cancelled' : 'failed';
      const error =
        f.type === 'output-not-written' || f.type === 'output-is-symlink'
          ? this.outputFailureText(task, f, outcome.attempts, req, start)
          : `${renderFailedOutcome(outcome)}${await this.blamedParamText(task.target, f, task.item?.id)}`;
      const failed = this.fail(id, state, { ...base, error });
      // A warning beside the failure, not in it: the failure's text stays what the program did.
      const unseen =
        f.type === 'exit-non-zero' && req.work.kind === 'command' ? this.unseenEnv(task.target) : [];
      if (unseen.length > 0)
        this.emit({
          type: 'warning',
          message: `${id}: the command did not see ${unseen.join(', ')}, set where pipe was started: a command sees PATH, HOME, TMPDIR and the locale (LANG, LC_ALL, LC_*), and the variables its target lists under env: (which enter its key)`,
        });
      return failed;
    }
    // An input edited while the task ran: its outputs may hold the new bytes under the old bytes' key, which the
    // cache would then serve for the old content. Nothing is kept; the next build sees the new content and reruns.
    const changed = this.changedInput(task);
    if (changed)
      return this.fail(id, 'failed', {
        ...base,
        inputChanged: true,
        error: `input '${changed.name}' (${relPath(this.o.pipeline.root, changed.path)}) changed during the build, after the task's key was computed, so its outputs may not match the input it was keyed on: ${notKeptText(task, temps)}; build again`,
      });
    // The step's code edited meanwhile (a module it imports when it runs, saved mid-build): what ran may be the new
    // code, keyed by the old.
    const edited = this.codeChanged(task);
    if (edited)
      return this.fail(id, 'failed', {
        ...base,
        inputChanged: true,
        error: `the code of its step (${edited.map((f) => relPath(this.o.pipeline.root, f)).join(', ')}) changed during the build, after the task's key was computed, so its outputs may come from code other than the code it was keyed on: ${notKeptText(task, temps)}; build again`,
      });
    const provenance = provenanceRecord({
      task,
      root: this.o.pipeline.root,
      key: decision.key,
      record: decision.record,
      buildId: this.o.buildId,
      kernelBackend: this.o.kernelBackend,
      executor: executor.name,
      ...(base.jobId ? { jobId: base.jobId } : {}),
      ...(outcome.host ? { host: outcome.host } : {}),
      ...(outcome.versions ? { versions: outcome.versions } : {}),
      start,
      end,
      ...(outcome.metadata ? { metadata: outcome.metadata } : {}),
      warnings: warned,
    });
    // Forced under a key the cache holds: this run reproduces that entry, or says it does not (store/reproduced.ts).
    // Looked up before this run's entry replaces it.
    const earlier = reasons.some((r) => r.type === 'forced')
      ? await this.cachedEntry(decision.key)
      : undefined;
    let stored: Awaited<ReturnType<typeof storeOutputs>>;
    try {
      stored = await storeOutputs({
        cache: this.o.cache,
        root: this.o.pipeline.root,
        task,
        key: decision.key,
        temps,
        ...(outcome.items ? { items: outcome.items } : {}),
        provenance: provenance as unknown as Record<string, unknown>,
      });
    } catch (error) {
      // Cache failures are warnings (storeOutputs); a throw is reading the outputs (EACCES, EIO) or a bug.
      return this.fail(id, 'failed', {
        ...base,
        error: `its outputs could not be stored: ${thrownMessage(error)}`,
      });
    }
    if (!stored.ok)
      return this.fail(id, 'failed', {
        ...base,
        error: this.outputFailureText(task, stored.failure, outcome.attempts, req, start),
      });
    const notReproduced = earlier && notReproducedText(id, earlier, stored.outputs, provenance.versions.zlib);
    if (notReproduced) this.emit({ type: 'warning', message: notReproduced });
    const commit = stored.committed.then((warnings) => {
      for (const w of warnings) this.cacheWarning(w);
      this.commits.delete(commit);
    });
    this.commits.add(commit);
    if (this.o.signal.aborted)
      return this.fail(id, 'cancelled', { ...base, error: 'interrupted before publishing' });
    let stamps: Awaited<ReturnType<typeof publishOutputs>>;
    try {
      stamps = await publishOutputs(this.o.pipeline.root, task, temps, stored.outputs);
    } catch (error) {
      // E.g. a directory where an output file goes: this task fails, the build goes on and records it.
      return this.fail(id, 'failed', {
        ...base,
        error: `its outputs could not be put in place: ${thrownMessage(error)}`,
      });
    }
    this.record(id, {
      key: decision.key,
      ...recordParts(decision),
      outputs: stamps,
      ...(outcome.items ? { items: outcome.items } : {}),
      ...(warned.length > 0 ? { warnings: warned } : {}),
    });
    const metadata = keptMetadata(outcome.metadata, this.metadataBudget);
    this.report({
      id,
      state: 'ran',
      ...base,
      outputs: outputHashes(stamps),
      ...(metadata ? { metadata } : {}),
    });
    const known: Record<string, KnownOutput> = {};
    for (const [name, s] of Object.entries(stamps))
      known[name] = { path: s.path, sha256: s.sha256, size: s.size };
    this.known.set(id, known);
    this.succeed(id, outcome.items);
  }

  /** '; set at FILE:LINE:COL' (or '; set by --param …') for a step error that blames a located param, else ''. */
  private async blamedParamText(target: string, f: ExecFailure, item: string | undefined): Promise<string> {
    if (f.type !== 'step-error' || !f.param || !this.o.locateParam) return '';
    const where = await this.o.locateParam(target, f.param, item).catch(() => undefined);
    return where ? `; ${where}` : '';
  }

  /** A raw input of the task modified since its key was computed (the first one), if any. */
  private changedInput(task: Task): { name: string; path: string } | undefined {
    const changed = this.o.io.changedSinceHashed;
    for (const [name, files] of Object.entries(task.inputs))
      for (const f of files)
        if (f.producer === undefined ? changed?.(f.path) : this.productChanged(f.producer, f.path))
          return { name, path: f.path };
    // A fan-out item's own files are in its key too (a glob's file, the files a step listed for it).
    for (const f of task.item?.files ?? []) if (changed?.(f)) return { name: '{item}', path: f };
    return undefined;
  }

  /** The step module of `task` when its code hash is no longer the one its key holds (one stat per file). */
  private codeChanged(task: Task): string[] | undefined {
    const module = this.o.pipeline.targets.get(task.target)?.stepModule;
    const keyed = this.o.steps.get(task.target)?.code;
    if (!module || keyed === undefined) return undefined;
    // Which files, asked before the hash below moves on: a helper edited is named, not the step that imports it.
    const edited = editedSince(module, keyed);
    if (codeHash(module).hash === keyed) return undefined;
    return edited.length > 0 ? edited : [module];
  }

  /**
   * Whether an upstream product is no longer as its producer's record stamped it (size, mtime, inode): written
   * over while this task read it (by hand, by a program the producer left running, through a folder linked into
   * another). The key named the recorded bytes.
   */
  private productChanged(producer: string, abs: string): boolean {
    const rel = relPath(this.o.pipeline.root, abs);
    const out = Object.values(this.o.state.tasks.get(producer)?.outputs ?? {}).find((o) => o.path === rel);
    if (!out) return false;
    return !sameFileStamp(this.o.io.stamp(abs), out);
  }

  private isBatched(id: string): boolean {
    const task = this.tasks.get(id)!;
    let batched = this.batchedTargets.get(task.target);
    if (batched === undefined) {
      const chosen = this.executorFor(task);
      batched = typeof chosen !== 'string' && chosen.executor.batches === true;
      this.batchedTargets.set(task.target, batched);
    }
    return batched;
  }

  /**
   * Hands every queued task of a batch executor to it at once, together with the waiting tasks behind
   * them that the same executor runs (transitively): the executor chains them (Slurm: job arrays with
   * afterok), so the whole known graph is submitted in one go. Those dependants are decided (keyed) when
   * their upstream has finished, as usual; only they run even if the upstream wrote identical bytes.
   */
  private dispatchBatches() {
    const batches = new Map<
      Executor,
      Array<{ id: string; decision: Extract<Decision, { action: 'run' }> }>
    >();
    for (let i = 0; i < this.runQueue.length; ) {
      const entry = this.runQueue[i]!;
      const chosen = this.executorFor(this.tasks.get(entry.id)!);
      if (typeof chosen === 'string' || !chosen.executor.batches) {
        i++;
        continue;
      }
      this.runQueue.splice(i, 1);
      const list = batches.get(chosen.executor);
      if (list) list.push(entry);
      else batches.set(chosen.executor, [entry]);
    }
    for (const [executor, entries] of batches) {
      const members = new Set(entries.map((e) => e.id));
      const queue = [...members];
      while (queue.length > 0) {
        for (const d of this.dependants.get(queue.shift()!) ?? []) {
          if (members.has(d) || this.reports.has(d) || this.speculative.has(d)) continue;
          const chosen = this.executorFor(this.tasks.get(d)!);
          if (typeof chosen === 'string' || chosen.executor !== executor) continue;
          const ready = this.tasks
            .get(d)!
            .deps.every(
              (u) =>
                !this.tasks.has(u) || members.has(u) || FINAL.has(this.reports.get(u)?.state as TaskState),
            );
          if (!ready) continue;
          members.add(d);
          queue.push(d);
          let resolve!: (d: Decision | undefined) => void;
          const decided = new Promise<Decision | undefined>((r) => {
            resolve = r;
          });
          this.speculative.set(d, { decided, resolve });
        }
      }
      this.batching++;
      void this.executeBatch(executor, entries, [...members]).finally(() => {
        this.batching--;
        this.pump();
      });
    }
  }

  /** Decides a task that is already submitted (its upstream has just finished). */
  private async decideSpeculative(id: string) {
    const task = this.tasks.get(id)!;
    this.inFlight++;
    let decision: Decision | undefined;
    try {
      decision = await decideTask(task, {
        root: this.o.pipeline.root,
        io: this.o.io,
        previous: this.o.state.tasks.get(id),
        previousRecord: () => previousRecord(this.o.state, id),
        lastFailure: () => this.o.state.lastFailure?.(id),
        upstream: this.known,
        step: this.o.steps.get(task.target)!,
        target: this.o.pipeline.targets.get(task.target)!,
        forced: isForced(this.o.force, task.target),
        keyRoots: keyRootsOf(this.o.pipeline),
        recordedTarget: this.recordedTarget,
      });
    } finally {
      this.inFlight--;
    }
    this.speculative.get(id)!.resolve(decision);
    this.pump();
  }

  private async executeBatch(
    executor: Executor,
    entries: Array<{ id: string; decision: Extract<Decision, { action: 'run' }> }>,
    members: string[],
  ) {
    const ready = new Map(entries.map((e) => [e.id, e.decision]));
    const reqs = new Map<string, ExecRequest>();
    for (const id of members) {
      const chosen = this.executorFor(this.tasks.get(id)!);
      if (typeof chosen === 'string') continue;
      // Members waiting on others of the batch are keyed only once those ended (none yet).
      const req = await this.prepare(id, chosen.request, ready.get(id));
      if (typeof req !== 'string') reqs.set(id, req);
      else {
        const decision = ready.get(id);
        this.fail(id, 'failed', {
          ...(decision ? { key: decision.key, reasons: decision.reasons } : {}),
          error: req,
        });
      }
    }
    // A member that failed to prepare skipped its dependants: none of them is submitted.
    for (const id of reqs.keys()) if (this.reports.has(id)) reqs.delete(id);
    if (reqs.size === 0) return;
    for (const req of reqs.values()) req.deps = this.tasks.get(req.id)!.deps.filter((d) => reqs.has(d));
    const start = new Date();
    const jobs = new Map<string, string>();
    const runningSince = new Map<string, Date>();
    const ended = new Set<string>();
    const completions: Promise<void>[] = [];
    for (const [id, decision] of ready) {
      if (!reqs.has(id)) continue;
      this.emit({
        type: 'task-start',
        id,
        action: 'run',
        executor: executor.name,
        reasons: decision.reasons,
      });
    }
    const onEnd = (id: string, outcome: ExecOutcome) => {
      if (ended.has(id)) return;
      ended.add(id);
      completions.push(
        this.completeInBatch(
          id,
          ready.get(id),
          executor,
          reqs.get(id)!,
          outcome,
          start,
          jobs.get(id),
          runningSince.get(id),
        ),
      );
    };
    try {
      await executor.submit(
        [...reqs.values()],
        (e) => {
          if (e.type === 'started') {
            if (e.jobId) jobs.set(e.id, e.jobId);
            if (!runningSince.has(e.id)) runningSince.set(e.id, new Date());
            if (!ready.has(e.id))
              this.emit({
                type: 'task-start',
                id: e.id,
                action: 'run',
                executor: executor.name,
                reasons: [],
              });
          }
          if (e.type === 'ended') onEnd(e.id, e.outcome);
          if (e.type === 'note') this.emit({ type: 'warning', message: e.message });
        },
        this.o.signal,
      );
    } catch (error) {
      for (const id of reqs.keys())
        onEnd(id, { ok: false, failure: { type: 'executor-error', message: (error as Error).message } });
    }
    for (const id of reqs.keys())
      onEnd(id, { ok: false, failure: { type: 'executor-error', message: 'no outcome reported' } });
    // A completion may start another (a dependant waits for its upstream's completion to be decided).
    for (let n = 0; n < completions.length; n = completions.length) await Promise.all(completions.slice(n));
  }

  private async completeInBatch(
    id: string,
    planned: Extract<Decision, { action: 'run' }> | undefined,
    executor: Executor,
    req: ExecRequest,
    outcome: ExecOutcome,
    start: Date,
    jobId: string | undefined,
    runningSince: Date | undefined,
  ) {
    if (this.reports.has(id)) return;
    let decision = planned;
    if (!decision) {
      if (!outcome.ok) {
        // Not decided yet (its upstream failed or the build stopped): no key to report.
        return this.fail(id, outcome.failure.type === 'cancelled' ? 'cancelled' : 'failed', {
          executor: executor.name,
          log: req.logFile,
          ...(outcome.jobId ? { jobId: outcome.jobId } : {}),
          error: renderFailedOutcome(outcome),
        });
      }
      const d = await this.speculative.get(id)!.decided;
      if (!d || this.reports.has(id)) return;
      switch (d.action) {
        case 'up-to-date':
          // Its upstream wrote the same bytes: the job's outputs are not needed.
          return this.settleUpToDate(id, d, await this.upToDateItems(this.tasks.get(id)!, d.key));
        case 'missing-input':
          return this.fail(id, 'failed', {
            error: missingInputError(d, this.tasks.get(id), this.o.pipeline.root),
          });
        case 'blocked':
          throw new Error(`task ${id} still blocked after its upstream settled`);
        default:
          // run, or restore: the job has computed it already, so store what it made.
          decision = {
            action: 'run',
            key: d.key,
            record: d.record,
            ...(d.check ? { check: d.check } : {}),
            reasons: d.reasons,
          };
      }
    }
    await this.complete(
      runFolderNames(runTempDir(this.o.layout)),
      id,
      decision,
      executor,
      req,
      outcome,
      start,
      jobId,
      runningSince,
    );
  }
}

/** The fingerprint record and check digest of a decision, as a task record keeps them. */
function recordParts(d: { record?: TaskRecord['fp']; check?: string }): Pick<TaskRecord, 'fp' | 'check'> {
  return { ...(d.record ? { fp: d.record } : {}), ...(d.check ? { check: d.check } : {}) };
}

/** Variables a program may need to find its code and libraries, which a command sees only if its target lists them. */
const LIBRARY_ENV = [
  'PYTHONPATH',
  'PYTHONHOME',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'LD_LIBRARY_PATH',
  'R_LIBS',
  'R_LIBS_USER',
  'PERL5LIB',
  'NODE_PATH',
  'JULIA_LOAD_PATH',
  'CLASSPATH',
];

/** The target whose items `name` fans out over (`foreach: {items: T}`), if it does. */
function itemsSource(pipeline: Pipeline, name: string): string | undefined {
  const f = pipeline.targets.get(name)?.foreach;
  return f?.kind === 'items' ? f.target : undefined;
}

/** Output path → SHA-256, as a report keeps them. */
function outputHashes(stamps: Record<string, { path: string; sha256: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of Object.values(stamps)) out[s.path] = s.sha256;
  return out;
}
