/**
 * A build session: the engine's public entry for the CLI and watch mode. `openSession` expands the
 * requested targets, reads the state file once, and resolves step identities; `planSession` plans
 * (runs nothing); `buildSession` takes the workspace lock, runs the plan, and saves state and the
 * build record.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { BudgetReport, CacheBackend } from '@pipe/cache';
import type { Executor } from '../execute/executor.js';
import { stopOrphans } from '../execute/orphans.js';
import { loadXxhash } from '../fingerprint/file-hash.js';
import type { KernelFiles } from '../fingerprint/kernel-memo.js';
import type { StepIdentity } from '../fingerprint/record.js';
import {
  type KernelSeam,
  loadKernelSeam,
  resolveStepIdentities,
  type StepFacts,
  type StepIdentities,
} from '../fingerprint/steps.js';
import { dependencyOrder, targetEdges } from '../graph/edges.js';
import { expandGraph } from '../graph/expand.js';
import type { StepDefinition } from '../model/step.js';
import type { Diagnostic, Pipeline, Task, TaskGraph, TaskItem } from '../model/types.js';
import type { PlanIO } from '../plan/decide.js';
import { type DepartedTask, type Plan, type PlannedTask, planGraph } from '../plan/planner.js';
import { createWorkspaceIO } from '../plan/workspace-io.js';
import { pipeVersion } from '../provenance/pipe-version.js';
import type { BuildEvent, BuildStatus, TaskReport } from '../schedule/events.js';
import { type RunBuildOptions, runBuild } from '../schedule/scheduler.js';
import { runTempDir } from '../schedule/task-temp.js';
import { recordedWarnings, replayEvent } from '../schedule/task-warnings.js';
import { hasUnconfirmedJobs } from '../slurm/unconfirmed-jobs.js';
import { HashMemo } from '../state/hash-memo.js';
import { loadState, type StateData, saveState, stateFileStamp } from '../state/state-file.js';
import { lazyLocalStore } from '../store/lazy-cache.js';
import { withPortableItems } from '../store/portable-items.js';
import { keyRootsOf } from '../workspace/key-paths.js';
import { type WorkspaceLayout, workspaceLayout } from '../workspace/layout.js';
import { acquireLock, buildIsLive, type LockOwner, staleLockOwner } from '../workspace/lock.js';
import { pruneBuilds } from './prune.js';
import {
  type BuildRecord,
  failedRunLookup,
  markInterrupted,
  newBuildId,
  openTaskJournal,
  placeBuildRecord,
  syncBuildRecord,
  type TaskJournal,
  unendedBuildIds,
  writeBuildRecord,
} from './records.js';
import {
  cacheHolds,
  departedTasks,
  droppedOutputs,
  type RetireContext,
  type Retired,
  retireDroppedOutputs,
  retireEach,
  retireTasks,
} from './retire.js';

export interface SessionOptions {
  pipeline: Pipeline;
  targets: string[];
  /** Import a step module (the registry's `load`). */
  loadStep(modulePath: string): Promise<StepDefinition>;
  /** Cache directory (default `.pipe/cache`; the CLI passes --cache-dir or PIPE_CACHE_DIR). */
  cacheDir?: string;
  /** A cache backend to use instead of the local store at cacheDir (e.g. a tiered local + remote cache). */
  cache?: CacheBackend;
  /** Requested kernel backend (--kernels). */
  kernels?: string;
  kernelSeam?: () => Promise<KernelSeam>;
  force?: boolean | Set<string>;
  env?: NodeJS.ProcessEnv;
  /** The graph of `targets` as expanded before (from the pipeline cache): skips expansion. */
  graph?: TaskGraph;
  /** Step identities of the graph's targets as resolved before (from the pipeline cache; only without kernels). */
  steps?: Map<string, StepIdentity>;
  /** `graph`'s tasks in dependency order, as computed before (from the pipeline cache). */
  order?: string[];
  /** Step facts by module (from the pipeline cache): those steps are not imported to resolve identities. */
  stepFacts?: ReadonlyMap<string, StepFacts>;
  /**
   * Tasks known unchanged since their record was confirmed (planner.ts `clean`), valid only while the state
   * file has the stamp `stateStamp` (stateFileStamp): a session that read another state plans in full.
   */
  clean?: { stateStamp: string; test(task: Task): boolean };
}

export interface Session {
  options: SessionOptions;
  pipeline: Pipeline;
  layout: WorkspaceLayout;
  graph: TaskGraph;
  expand: (items: Map<string, TaskItem[]>) => TaskGraph;
  state: StateData;
  memo: HashMemo;
  io: PlanIO;
  cache: CacheBackend;
  steps: Map<string, StepIdentity>;
  kernelBackend: string;
  /** Whether a step of the graph uses kernels (else `kernelBackend` is only the default passed to steps, and not worth showing). */
  usesKernels: boolean;
  /** What the kernel backend choice and identities were read from, when known (for the no-op snapshot's stamps). */
  kernelFiles?: KernelFiles;
  /** Things worth telling the user (a discarded state file, unreadable cache entries). */
  notes: string[];
  /** The state file's stamp when `state` was read (a build re-reads it if another build saved since). */
  stateStamp?: string;
  /**
   * Whether records of `state` were found damaged (and dropped) when it was read: the no-op snapshot's `clean`
   * then vouches for nothing, its stamps having missed the damage.
   */
  stateDamaged?: boolean;
}

export type OpenResult = { ok: true; session: Session } | { ok: false; diagnostics: Diagnostic[] };

/** Expand, read state, resolve step identities. Unknown targets and expansion errors come back as diagnostics. */
export async function openSession(options: SessionOptions): Promise<OpenResult> {
  const { pipeline } = options;
  const layout = workspaceLayout(pipeline.root, options.cacheDir);
  const graph = options.graph ?? expandGraph(pipeline, { targets: options.targets });
  const errors = (graph.diagnostics ?? []).filter((d) => d.severity === 'error');
  if (errors.length > 0) return { ok: false, diagnostics: errors };
  const notes: string[] = [];
  await loadXxhash();
  const stateStamp = stateFileStamp(layout.stateFile);
  const loaded = loadState(layout.stateFile);
  if (loaded.note) notes.push(loaded.note);
  const memo = new HashMemo(loaded.data.files);
  // Item files are stored workspace-relative in manifests, so another workspace can restore them.
  const cache = withPortableItems(
    options.cache ?? lazyLocalStore(layout.cacheDir),
    pipeline.root,
    keyRootsOf(pipeline),
  );
  const io = createWorkspaceIO({
    memo,
    cache,
    ...(options.env ? { env: options.env } : {}),
    onCacheProblem: (key, detail) =>
      notes.push(`cache entry ${key.slice(0, 12)}: ${detail} (treated as missing)`),
  });
  const targetNames = new Set<string>([...[...graph.tasks.values()].map((t) => t.target), ...graph.pending]);
  const ids = options.steps
    ? ({ ok: true, value: { byTarget: options.steps, backend: 'none' } as StepIdentities } as const)
    : await resolveStepIdentities(pipeline, targetNames, {
        loadStep: options.loadStep,
        ...(options.stepFacts ? { known: options.stepFacts } : {}),
        kernels: options.kernelSeam ?? loadKernelSeam,
        ...(options.kernels ? { requestedBackend: options.kernels } : {}),
        // The real seam's answers are memoised by file stamps (a seam given by the caller is asked every time).
        ...(options.kernelSeam ? {} : { kernelMemo: path.join(layout.dir, 'kernels.memo') }),
      });
  if (!ids.ok)
    return { ok: false, diagnostics: [{ severity: 'error', code: 'step-identity', message: ids.error }] };
  const kernelBackend = ids.value.backend === 'none' ? (options.kernels ?? 'js') : ids.value.backend;
  if (ids.value.kernelNote) notes.push(ids.value.kernelNote);
  const expand = (items: Map<string, TaskItem[]>) =>
    expandGraph(pipeline, { targets: options.targets, items });
  return {
    ok: true,
    session: {
      options,
      pipeline,
      layout,
      graph,
      expand,
      state: loaded.data,
      memo,
      io,
      cache,
      steps: ids.value.byTarget,
      kernelBackend,
      usesKernels: ids.value.backend !== 'none',
      ...(ids.value.kernelFiles ? { kernelFiles: ids.value.kernelFiles } : {}),
      notes,
      stateStamp,
      ...(loaded.damaged ? { stateDamaged: true } : {}),
    },
  };
}

/** The no-op snapshot's `clean` test, if it holds for the state the session read (see SessionOptions.clean). */
function vouched(session: Session): ((task: Task) => boolean) | undefined {
  const clean = session.options.clean;
  return clean && clean.stateStamp === session.stateStamp && !session.stateDamaged ? clean.test : undefined;
}

/**
 * Plan the session's targets (runs nothing, writes nothing). `explain`: say of each blocked task what of its own
 * changed (for `pipe plan`; costs a fingerprint per blocked task).
 */
export async function planSession(
  session: Session,
  onDecided?: (planned: PlannedTask) => void,
  explain = false,
): Promise<Plan> {
  const clean = vouched(session);
  // Read afresh per plan: a build since the last plan may have failed tasks.
  session.state.lastFailure = failedRunLookup(session.layout.buildsDir, (id) =>
    buildIsLive(session.layout.lockFile, id),
  );
  const plan = await planGraph({
    ...(explain ? { explain } : {}),
    ...(onDecided ? { onDecided } : {}),
    ...(clean ? { clean } : {}),
    ...(session.options.order && session.options.graph === session.graph
      ? { order: session.options.order }
      : {}),
    pipeline: session.pipeline,
    graph: session.graph,
    state: session.state,
    io: session.io,
    steps: session.steps,
    expand: session.expand,
    ...(session.options.force !== undefined ? { force: session.options.force } : {}),
  });
  // A plan that explains says which tasks left the pipeline, and what a build does with their outputs.
  if (explain) plan.departed = await departurePreview(session, plan);
  return plan;
}

/**
 * The tasks a build of `plan` would retire once it succeeded (builds/retire.ts), and what it would do with their
 * outputs, changing nothing. A target still pending (its items come from a task that must run first) is left out:
 * which of its tasks stay is not known before the build. Its cache is asked whether it holds each blob, not made to
 * re-hash it as a build does before it removes the file.
 */
async function departurePreview(session: Session, plan: Plan): Promise<DepartedTask[]> {
  const pending = new Set(plan.pending.map((p) => p.target));
  const targets = new Set([...buildTargets(session)].filter((t) => !pending.has(t)));
  const ids = departedTasks(session.state, targets, plan.tasks);
  if (ids.length === 0) return [];
  return retireEach(ids, plan.tasks.keys(), {
    state: session.state,
    pipeline: session.pipeline,
    io: session.io,
    hasBlob: cacheHolds(session.cache, false),
    dryRun: true,
  });
}

export interface BuildOptions {
  jobs: number;
  keepGoing?: boolean;
  signal: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
  /** Where a param value a failing step blamed was set (see RunBuildOptions.locateParam). */
  locateParam?: RunBuildOptions['locateParam'];
  /**
   * Executors by name; 'process' and 'local' are created when absent. A function is called with the
   * build's id once it is known (a Slurm executor names its jobs after the build).
   */
  executors?: Record<string, Executor> | ((buildId: string) => Record<string, Executor>);
  /** The build's id (default: a new one); a detached build's driver is given the id its client printed. */
  buildId?: string;
  /** How long to wait for another build's lock (0: refuse at once). */
  lockWaitMs?: number;
  /** Called when the wait for another build's lock begins, with the build that holds it. */
  onLockWait?: (owner: LockOwner) => void;
  /** Recorded in the build record. */
  params?: Record<string, string>;
  /** The parameter file given by --config, as the record shows it (pipe log, status). */
  config?: string;
  /** The pipeline file given by -f when not the workspace's pipe.yaml, as the record shows it (pipe log, status). */
  file?: string;
  /** Called once the lock is held and the plan is made (e.g. to print a summary). */
  onPlan?: (plan: Plan, buildId: string) => void;
  /**
   * Called, under the lock, once a build that took it has saved its state, while its end record is written: work
   * that needs the saved state but not the record (the CLI's no-op snapshot) overlaps that write's fsyncs. What it
   * throws is ignored.
   */
  onSaved?: (saved: { status: BuildStatus; reports: Map<string, TaskReport>; plan: Plan }) => Promise<void>;
}

export type BuildResult =
  | {
      ok: true;
      buildId: string;
      status: BuildStatus;
      reports: Map<string, TaskReport>;
      plan: Plan;
      /** False for a build with nothing to do: it wrote no build record, so its id names nothing `pipe log` knows. */
      recorded: boolean;
      /** Outputs of tasks no longer in the pipeline, removed or left in place (builds/retire.ts). */
      retired?: Retired;
      /** Outputs tasks that ran no longer declare, removed or left in place (ditto). */
      dropped?: Retired;
      /** The local cache went over its size budget: what the eviction of least recently used entries did. */
      cacheEvicted?: BudgetReport;
      /**
       * Why the workspace's state or the build's record could not be written (a full disk, a read-only .pipe/): the
       * build then counts as failed; its products and cache entries are in place, and the next build checks them.
       */
      saveError?: string;
    }
  | { ok: false; reason: 'locked'; owner: LockOwner; ancestor?: true }
  /** The lock could not be taken: the workspace's .pipe/ folder cannot be written (read-only, full, not ours). */
  | { ok: false; reason: 'unwritable'; message: string };

/** Clear what builds that are no longer running left in the temp folder (the lock is held: none runs now). */
function clearStaleTemps(tmpDir: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return;
  }
  for (const name of names) rmSync(path.join(tmpDir, name), { recursive: true, force: true });
}

/** The requested targets' closure that depends on `target` (transitively), in dependency order. */
function downstreamOf(pipeline: Pipeline, requested: readonly string[], target: string): string[] {
  const reached = new Set([target]);
  const out: string[] = [];
  for (const name of dependencyOrder(pipeline.targets, requested).order) {
    if (reached.has(name)) continue;
    if (targetEdges(pipeline.targets.get(name)!).some((e) => reached.has(e.to))) {
      reached.add(name);
      out.push(name);
    }
  }
  return out;
}

/** Whether a plan has nothing to do and nothing to record (every task up to date as recorded). */
function isNoOp(plan: Plan, session: Session): boolean {
  if (plan.pending.length > 0 || session.memo.dirty) return false;
  for (const { decision } of plan.tasks.values())
    if (decision.action !== 'up-to-date' || decision.adopted) return false;
  // Records of tasks that left the pipeline are retired by a build.
  return departedTasks(session.state, buildTargets(session), plan.tasks).length === 0;
}

/**
 * Run a build of the session under the workspace lock. A build with nothing to do writes nothing at all
 * (no lock, state or build record): it is planned first, and only a build with work takes the lock.
 */
export async function buildSession(session: Session, options: BuildOptions): Promise<BuildResult> {
  const buildId = options.buildId ?? newBuildId();
  const executors = {
    ...(typeof options.executors === 'function' ? options.executors(buildId) : (options.executors ?? {})),
  };
  const ownExecutors: Executor[] = [];
  if (!executors.local) {
    const { createLocalExecutor } = await import('../execute/local-executor.js');
    ownExecutors.push((executors.local = createLocalExecutor({ threads: options.jobs })));
  }
  const warmTarget = (name: string, downstream = false) => {
    const target = session.pipeline.targets.get(name);
    if (
      target?.stepModule &&
      !target.command &&
      (target.executor ?? session.pipeline.defaults.executor) !== 'slurm'
    ) {
      // A fan-out over an upstream target's items will come as many tasks at once.
      const fanOut = downstream && target.foreach?.kind === 'items';
      executors.local!.warm?.({ kind: 'step', module: target.stepModule }, fanOut);
    }
  };
  // The first step task that must run warms the pool while the rest is planned (its worker boots meanwhile),
  // and so do the targets downstream of it, which will likely run after it: their modules load on the
  // workers while this one runs, not when their tasks (often a fan-out, known only then) arrive.
  const warmed = new Set<string>();
  const warm = (planned: PlannedTask) => {
    const target = planned.task.target;
    if (planned.decision.action !== 'run' || warmed.has(target)) return;
    warmed.add(target);
    warmTarget(target);
    for (const name of downstreamOf(session.pipeline, session.options.targets, target))
      warmTarget(name, true);
  };
  // Sooner still: with a valid hint, the first task whose files changed is likely to run (a worker boots
  // in ~50 ms, about as long as planning 10,000 tasks takes).
  const clean = vouched(session);
  if (clean && !session.options.force) {
    for (const task of session.graph.tasks.values()) {
      if (clean(task)) continue;
      warmTarget(task.target);
      break;
    }
  }
  let plan: Plan | undefined;
  if (!options.lockWaitMs) {
    plan = await planSession(session, warm);
    // A killed build's lock: even with nothing to do, take it over, which records that build as interrupted and
    // stops the commands it left running; so too for a build that ended without its end record.
    // Likewise jobs of an earlier build that Slurm could not confirm ended: tried again (below), and said, even then.
    if (
      isNoOp(plan, session) &&
      !staleLockOwner(session.layout.lockFile) &&
      !unendedBuildIds(session.layout.buildsDir).some((id) => !buildIsLive(session.layout.lockFile, id)) &&
      !hasUnconfirmedJobs(path.join(session.layout.dir, 'slurm'))
    ) {
      options.onPlan?.(plan, buildId);
      const reports = new Map<string, TaskReport>();
      for (const [id, { decision }] of plan.tasks) {
        for (const replay of recordedWarnings(session.state, id)) options.onEvent?.(replayEvent(replay));
        const report: TaskReport = {
          id,
          ...(decision.action === 'up-to-date' ? { key: decision.key } : {}),
          state: 'up-to-date',
        };
        reports.set(id, report);
        options.onEvent?.({ type: 'task-end', report });
      }
      await Promise.all(ownExecutors.map((e) => e.close()));
      return { ok: true, buildId, status: 'succeeded', reports, plan, recorded: false };
    }
  }
  const lock = await acquireLock(session.layout.lockFile, {
    buildId,
    waitMs: options.lockWaitMs ?? 0,
    ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch(async (error: unknown) => {
    await Promise.all(ownExecutors.map((e) => e.close()));
    if (!isFileSystemError(error)) throw error;
    return {
      unwritable: `cannot take the build lock in ${session.layout.dir}: ${(error as Error).message}`,
    } as const;
  });
  if ('unwritable' in lock) return { ok: false, reason: 'unwritable', message: lock.unwritable };
  if (!lock.ok) {
    await Promise.all(ownExecutors.map((e) => e.close()));
    return { ok: false, reason: 'locked', owner: lock.owner, ...(lock.ancestor ? { ancestor: true } : {}) };
  }
  let orphansEnded = false;
  /** The dead build whose Slurm results this build may take (slurm/left-results.ts), dropped at its end. */
  let keptFrom: string | undefined;
  if (lock.tookOverStale) {
    session.notes.push(
      `took over the lock of build ${lock.tookOverStale.buildId} (pid ${lock.tookOverStale.pid}, no longer running)`,
    );
    await markInterrupted(session.layout.buildsDir, lock.tookOverStale.buildId);
    await removeKilledRestores(session);
    const stopped = stopOrphans(path.join(session.layout.logsDir, lock.tookOverStale.buildId));
    if (stopped > 0)
      session.notes.push(
        `stopped ${stopped} command${stopped === 1 ? '' : 's'} that build ${lock.tookOverStale.buildId} left running`,
      );
  }
  // A build that released the lock without its end record (a full disk refused it) still says "running": none runs
  // while this one holds the lock, so it is recorded as interrupted, its journal folded in.
  for (const id of unendedBuildIds(session.layout.buildsDir))
    if (id !== buildId) await markInterrupted(session.layout.buildsDir, id);
  // Slurm jobs left by the dead build, or by an earlier one whose cancel Slurm could not confirm: one still running
  // would publish stale outputs under us (slurm/orphan-jobs.ts).
  const slurmRoot = path.join(session.layout.dir, 'slurm');
  if (lock.tookOverStale ? existsSync(slurmRoot) : hasUnconfirmedJobs(slurmRoot)) {
    const { settleLeftJobs } = await import('../slurm/orphan-jobs.js');
    const left = await settleLeftJobs(
      session.layout.dir,
      lock.tookOverStale?.buildId,
      runTempDir(session.layout),
    );
    session.notes.push(...left.notes);
    keptFrom = left.keptFrom;
    // They may have written into the workspace since this build planned: plan again.
    if (left.replan) orphansEnded = true;
  }
  // The start record's write, once begun: settled before the lock is released, even when the build throws, so that
  // no write of this build's record lands after the next build has started.
  let started: Promise<void> | undefined;
  /** The cache entries of the tasks that ran, being stored (runBuild's committed): awaited before the lock goes. */
  let committed: Promise<void> | undefined;
  /** This build's task journal (records.ts): what a crash before its end record leaves of its finished tasks. */
  let journal: TaskJournal | undefined;
  try {
    // The state may have changed since it was read (another build saved, or we waited for the lock): read it again.
    if (
      options.lockWaitMs ||
      orphansEnded ||
      stateFileStamp(session.layout.stateFile) !== session.stateStamp
    ) {
      await reloadState(session);
      plan = undefined;
    }
    clearStaleTemps(session.layout.tmpDir);
    plan ??= await planSession(session, warm);
    const force = session.options.force;
    const record: BuildRecord = {
      format: 'pipe-build',
      version: 1,
      id: buildId,
      status: 'running',
      startedAt: new Date().toISOString(),
      targets: session.options.targets,
      ...withField(session),
      params: options.params ?? {},
      ...(options.config ? { config: options.config } : {}),
      ...(options.file ? { file: options.file } : {}),
      ...(force ? { force: force === true ? true : [...force] } : {}),
      jobs: options.jobs,
      kernelBackend: session.kernelBackend,
      usesKernels: session.usesKernels,
      host: hostname(),
      versions: { pipe: pipeVersion(), node: process.version },
      ...(session.pipeline.pathRoots ? { pathRoots: session.pipeline.pathRoots } : {}),
      cacheDir: session.layout.cacheDir,
      counts: {},
      tasks: {},
    };
    // Said in the running record only: the end record has every task's report.
    const planned = {
      tasks: [...plan.tasks.values()].filter((p) => p.decision.action !== 'up-to-date').map((p) => p.task.id),
      fanouts: plan.pending.map((p) => p.target),
    };
    // In place before the build says it started and touches the workspace (a kill -9 then leaves it "running", and
    // the next build records it as interrupted), without fsync: a process's death keeps what it wrote.
    const placed = await placeBuildRecord(session.layout.buildsDir, { ...record, planned }).then(
      () => true,
      () => false,
    );
    options.onPlan?.(plan, buildId);
    // Made durable while the first tasks run: its fsyncs (tens of ms on a busy disk) need not delay them. The end
    // record waits for it, so that it is never overwritten by this 'running' one. Not placed (a failed write): the
    // atomic write says why, below.
    started = placed
      ? syncBuildRecord(session.layout.buildsDir, buildId)
      : writeBuildRecord(session.layout.buildsDir, { ...record, planned });
    started.catch(() => {}); // awaited (and its failure thrown) below
    journal = openTaskJournal(session.layout.buildsDir, buildId);
    const onEvent = options.onEvent;
    const journalled = journal;
    const onTaskEvent = (event: BuildEvent) => {
      if (event.type === 'task-end') journalled.add(event.report);
      else if (event.type === 'task-start') journalled.start(event.id, new Date().toISOString());
      onEvent?.(event);
    };
    if (!executors.process) {
      const { createProcessExecutor } = await import('../execute/process-executor.js');
      ownExecutors.push((executors.process = createProcessExecutor()));
    }
    // Outputs the records the build replaces (tasks to run, restore or adopt) name, that the tasks no longer declare:
    // retired once the build succeeded.
    const dropped = droppedOutputs(
      session.state,
      [...plan.tasks.values()]
        .filter((p) => p.decision.action !== 'up-to-date' || p.decision.adopted)
        .map((p) => p.task),
    );
    const outcome = await runBuild({
      buildId,
      pipeline: session.pipeline,
      plan,
      expand: session.expand,
      state: session.state,
      io: session.io,
      steps: session.steps,
      kernelBackend: session.kernelBackend,
      cache: session.cache,
      executors,
      jobs: options.jobs,
      keepGoing: options.keepGoing ?? false,
      ...(force !== undefined ? { force } : {}),
      layout: session.layout,
      signal: options.signal,
      onEvent: onTaskEvent,
      ...(options.locateParam ? { locateParam: options.locateParam } : {}),
    });
    committed = outcome.committed;
    let retired: Retired | undefined;
    let retiredDropped: Retired | undefined;
    if (outcome.status === 'succeeded') {
      const ctx: RetireContext = {
        state: session.state,
        pipeline: session.pipeline,
        io: session.io,
        hasBlob: cacheHolds(session.cache, true),
      };
      if (dropped.length > 0) retiredDropped = await retireDroppedOutputs(dropped, ctx);
      const departed = departedTasks(session.state, buildTargets(session), outcome.reports);
      if (departed.length > 0) {
        retired = await retireTasks(departed, outcome.reports.keys(), ctx);
        outcome.stateChanged = true;
      }
    }
    let saveError: string | undefined;
    if (outcome.stateChanged || session.memo.dirty) {
      try {
        await saveState(session.layout.stateFile, session.state);
        session.stateStamp = stateFileStamp(session.layout.stateFile);
        session.memo.dirty = false;
      } catch (error) {
        if (!isFileSystemError(error)) throw error;
        saveError = `could not save the workspace state in ${session.layout.dir}: ${(error as Error).message}`;
        outcome.status = 'failed';
      }
    }
    const endedAt = new Date().toISOString();
    const ended = started.then(() =>
      writeBuildRecord(
        session.layout.buildsDir,
        { ...record, status: outcome.status, endedAt },
        outcome.reports.values(),
      ),
    );
    ended.catch(() => {}); // awaited (and its failure thrown) below
    const saved = { status: outcome.status, reports: outcome.reports, plan };
    if (options.onSaved) await options.onSaved(saved).catch(() => undefined);
    try {
      await ended;
      journal.remove();
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      saveError ??= `could not write the build record in ${session.layout.buildsDir}: ${(error as Error).message}`;
      outcome.status = 'failed';
    }
    if (!saveError) await pruneBuilds(session.layout, session.state, buildId);
    // The cache's last fsync rounds went on while the state and the record were written; its warnings come now.
    await committed;
    // What this build stored may have taken the local store over its size budget: least recently used out.
    const budget = await session.cache.keepToBudget?.().catch(() => undefined);
    const evicted =
      budget?.ok &&
      budget.value &&
      (budget.value.evicted.length > 0 || budget.value.deferred || budget.value.overBudget)
        ? budget.value
        : undefined;
    return {
      ok: true,
      buildId,
      status: outcome.status,
      reports: outcome.reports,
      plan,
      recorded: true,
      ...(retired ? { retired } : {}),
      ...(retiredDropped ? { dropped: retiredDropped } : {}),
      ...(saveError ? { saveError } : {}),
      ...(evicted ? { cacheEvicted: evicted } : {}),
    };
  } finally {
    await Promise.all(ownExecutors.map((e) => e.close()));
    // What no task took of a dead build's kept Slurm results goes now (they were this build's to take).
    if (keptFrom !== undefined) {
      const { dropKeptResults } = await import('../slurm/left-results.js');
      dropKeptResults(session.layout.dir, keptFrom);
    }
    await started?.catch(() => {});
    await committed;
    journal?.close(); // (already removed when the end record was written)
    lock.lock.release();
  }
}

/**
 * The partial copies a killed build's restores left in the product folders (`.tmp-<host>~<pid>~…`, of a pid now
 * dead): nothing else looks for them there, and a task that then runs or is up to date would leave them for good.
 * The folders of the pipeline's outputs and of the recorded ones; only after a build was killed.
 */
async function removeKilledRestores(session: Session): Promise<void> {
  const dirs = new Set<string>();
  for (const task of session.graph.tasks.values())
    for (const out of Object.values(task.outputs)) dirs.add(path.dirname(out));
  for (const id of session.state.tasks.keys())
    for (const out of Object.values(session.state.tasks.get(id)?.outputs ?? {}))
      dirs.add(path.dirname(path.resolve(session.pipeline.root, out.path)));
  const { removeDeadTempsIn } = await import('@pipe/cache');
  await removeDeadTempsIn(dirs).catch(() => 0);
}

/** An error of the file system (ENOSPC, EROFS, EACCES, EIO, EDQUOT…), as opposed to a bug: told in one line. */
function isFileSystemError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && 'syscall' in (error as object);
}

async function reloadState(session: Session): Promise<void> {
  session.stateStamp = stateFileStamp(session.layout.stateFile);
  const loaded = loadState(session.layout.stateFile);
  session.state = loaded.data;
  session.stateDamaged = loaded.damaged === true;
  if (loaded.note) session.notes.push(loaded.note);
  session.memo = new HashMemo(loaded.data.files);
  session.io = createWorkspaceIO({
    memo: session.memo,
    cache: session.cache,
    ...(session.options.env ? { env: session.options.env } : {}),
  });
}

/**
 * The targets a build covers: the requested ones and all they need. Once it planned them all (or succeeded), their
 * tasks are all it has: a recorded task of one of them that it lacks has left the pipeline, also when the target now
 * has no task at all (a fan-out over an emptied list).
 */
function buildTargets(session: Session): Set<string> {
  return new Set(dependencyOrder(session.pipeline.targets, session.options.targets).order);
}

/** The record's `with`: the targets of this build that are built with others, and which. */
function withField(session: Session): { with?: Record<string, string[]> } {
  const map: Record<string, string[]> = {};
  for (const name of dependencyOrder(session.pipeline.targets, session.options.targets).order) {
    const w = session.pipeline.targets.get(name)?.with ?? [];
    if (w.length > 0) map[name] = [...w];
  }
  return Object.keys(map).length > 0 ? { with: map } : {};
}
