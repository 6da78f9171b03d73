/**
 * The watch loop: build, watch the graph's inputs, and on each debounced batch of content changes
 * recompile what the change made stale (kernels, step packages), reload the pipeline, and build
 * again through the session API — one build at a time; changes made during a build wait for it.
 * Every failure (bad YAML, a type error, a kernel that does not compile, a missing file) becomes a
 * `diagnostics` event and the loop keeps watching; the next good edit recovers.
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { buildNotes } from '../builds/build-notes.js';
import {
  type BuildOptions,
  type BuildResult,
  buildSession,
  openSession,
  type Session,
  type SessionOptions,
} from '../builds/session.js';
import { renderDiagnostics } from '../config/render.js';
import type { Executor } from '../execute/executor.js';
import { createLocalExecutor } from '../execute/local-executor.js';
import { createProcessExecutor } from '../execute/process-executor.js';
import { loadXxhash } from '../fingerprint/file-hash.js';
import { deliveredTargets } from '../graph/edges.js';
import type { StepDefinition } from '../model/step.js';
import type { Diagnostic, Pipeline } from '../model/types.js';
import type { BuildEvent } from '../schedule/events.js';
import { watchStepReloads } from '../steps/registry.js';
import { ChangeQueue } from './change-queue.js';
import { ContentTracker } from './content-tracker.js';
import type { WatchEvent } from './events.js';
import { createFsWatcher, type FsWatcher, type FsWatcherOptions } from './fs-watcher.js';
import { knownGraph, productsOf } from './known-graph.js';
import { onThisMachine, onThisMachineNote } from './on-this-machine.js';
import {
  type CompileUnit,
  compileUnit,
  type KernelTools,
  loadKernelTools,
  needsFreshWorkers,
  projectFiles,
  unitKey,
  unitsFor,
} from './recompile.js';
import {
  computeWatchSet,
  isWatchedPath,
  type KernelSources,
  kindOf,
  mergeWatchSets,
  productsOnlyUnder,
  reanchor,
  type WatchKind,
  type WatchSet,
} from './watch-set.js';

/** The pipeline as (re)loaded by the caller: the CLI's loader, with its registry. */
export type PipelineLoad =
  | { ok: true; pipeline: Pipeline; loadStep(modulePath: string): Promise<StepDefinition>; warnings?: string }
  | { ok: false; message: string; diagnostics?: readonly Diagnostic[] };

export interface WatchOptions {
  targets: string[];
  /** The root pipe.yaml: watched even when the pipeline cannot be loaded at all. */
  pipelineFile: string;
  /** Load (or reload) the pipeline; called before every build. */
  load(): Promise<PipelineLoad>;
  /** Passed on to openSession (cache dir, kernel backend, force, env). */
  session?: Omit<SessionOptions, 'pipeline' | 'targets' | 'loadStep'>;
  jobs: number;
  /** Recorded in each build record. */
  params?: Record<string, string>;
  /** Where a param value a failing step blamed was set (see BuildOptions.locateParam). */
  locateParam?: BuildOptions['locateParam'];
  /** Poll instead of inotify. */
  poll?: boolean;
  /** Quiet period before a batch of changes is built (default 50 ms). */
  debounceMs?: number;
  signal: AbortSignal;
  onEvent(event: WatchEvent): void;
  /** Seams for tests: the kernels package and the file watcher. */
  kernelTools?: () => Promise<KernelTools | undefined>;
  fsWatcher?: (options: FsWatcherOptions) => FsWatcher;
}

/** Why the loop ended: stopped by the signal, or a rebuilt native addon needs a fresh process. */
export type WatchEnd = { reason: 'aborted' } | { reason: 'restart'; why: string };

/** Run watch mode until the signal aborts (or a native rebuild needs a restart). */
export async function runWatch(options: WatchOptions): Promise<WatchEnd> {
  watchStepReloads();
  const emit = options.onEvent;
  const queue = new ChangeQueue(options.debounceMs ?? 50);
  const tracker = new ContentTracker();
  const fsw = (options.fsWatcher ?? createFsWatcher)({
    poll: options.poll ?? false,
    onPath: (file) => queue.push(file),
    onProblem: (message) => emit({ type: 'diagnostics', source: 'watcher', message }),
  });
  const onAbort = () => queue.close();
  options.signal.addEventListener('abort', onAbort);
  await loadXxhash();
  const tools = await (options.kernelTools ?? (() => loadKernelTools().catch(() => undefined)))();
  const kernelsRoot = tools?.root();

  const rootFile = path.resolve(options.pipelineFile);
  let set: WatchSet = computeWatchSet({
    pipeline: bootstrapPipeline(rootFile),
    tasks: [],
    targets: [],
    kernels: [],
    excluded: [],
  });
  /** Compile units that failed: retried with every later change until they compile. */
  const failing = new Map<string, CompileUnit>();
  /**
   * A step or kernel edit the warm workers have not reloaded yet: kept across cycles that end before a build (the
   * pipeline did not load, a compile failed), or the build after the fix ran the old code under the new key.
   */
  let workersStale = false;
  /** The build just done lost an edit made while it ran (see cycle): build once more before going idle. */
  let buildAgain = false;
  /** The pipeline of the last load that succeeded (its step sources are watched while a later one fails). */
  let lastPipeline: Pipeline | undefined;
  let backend: string | undefined;

  /**
   * Aim the watcher at `next`. `changedSinceBuild`: whether the build just done left a file otherwise than it saw it
   * (see cycle).
   */
  async function refreshWatch(next: WatchSet, changedSinceBuild?: (file: string) => boolean): Promise<void> {
    set = next;
    tracker.retain(new Set(set.files.keys()));
    const rearmed = await fsw.update(set);
    if (rearmed) {
      // Files written while the watcher was re-armed: compare the ones already known with their record.
      for (const file of set.files.keys())
        if (tracker.knows(file) && tracker.peek(file) !== 'unchanged') queue.push(file);
    }
    // A file watched from now on (the first build's files are known only after it) that changed after the build and
    // before the watcher was armed gave no event, and a baseline taken now would hold the change: it would be built
    // only at its next change. Left without a baseline, it is a change to build now.
    const missed = changedSinceBuild
      ? [...new Set([...set.files.keys(), ...set.products])].filter(
          (file) => !tracker.knows(file) && changedSinceBuild(file),
        )
      : [];
    const unseen = new Set(missed);
    tracker.baseline([...set.files.keys()].filter((file) => !unseen.has(file)));
    for (const file of missed) queue.push(file);
  }

  /** Recompile, reload, build. Returns 'restart' when the process must be replaced. */
  async function cycle(changed: string[]): Promise<'ok' | 'restart'> {
    if (needsFreshWorkers(changed, set, kernelsRoot)) workersStale = true;
    for (const unit of unitsFor(changed, set, kernelsRoot)) failing.set(unitKey(unit), unit);
    let nativeRebuilt = false;
    const wasmRebuilt: string[] = [];
    for (const [key, unit] of [...failing]) {
      // The sources as the compile reads them: a late event of the save being compiled is then no change, and a save
      // during the compile is one.
      if (unit.kind === 'tsc') tracker.baseline(projectFiles(unit.project, set, 'sources'), true);
      const result = await compileUnit(unit, tools);
      // Its own writes are no edit: each save built twice (found by helper-155), the second time for nothing.
      if (unit.kind === 'tsc') tracker.baseline(projectFiles(unit.project, set, 'outputs'), true);
      if (result.ok) {
        failing.delete(key);
        if (unit.kind === 'wasm') {
          wasmRebuilt.push(unit.kernel);
          emit({ type: 'kernel-rebuilt', kernel: unit.kernel, backend: 'wasm', ms: result.ms });
        } else if (unit.kind === 'native') {
          nativeRebuilt = true;
          emit({ type: 'kernel-rebuilt', kernel: 'native addon', backend: 'native', ms: result.ms });
        } else if (result.skipped) emit({ type: 'note', message: result.skipped });
        else emit({ type: 'step-compiled', project: unit.project, ms: result.ms });
      } else {
        emit({
          type: 'diagnostics',
          source: unit.kind === 'tsc' ? 'step-compile' : 'kernel-compile',
          message: result.diagnostics,
        });
      }
    }
    // A build over stale binaries would store products under keys of sources that did not run.
    if (failing.size > 0) return 'ok';
    // A process cannot unload a native addon: the rebuilt one runs in a fresh process only.
    if (nativeRebuilt && backend === 'native') return 'restart';

    const loaded = await options.load();
    if (!loaded.ok) {
      emit({
        type: 'diagnostics',
        source: 'pipeline',
        message: loaded.message,
        ...(loaded.diagnostics ? { diagnostics: loaded.diagnostics } : {}),
      });
      // Keep watching the last known inputs (a deleted input folder through its parent), and the step sources of
      // the last pipeline that loaded as they are now: a step that fails to import for a module it names that is
      // not there yet is fixed by creating that module.
      await refreshWatch(
        lastPipeline
          ? mergeWatchSets(
              computeWatchSet({
                pipeline: lastPipeline,
                tasks: [],
                targets: lastPipeline.targets.keys(),
                kernels: [],
                excluded: [],
              }),
              reanchor(set),
            )
          : reanchor(set),
      );
      return 'ok';
    }
    lastPipeline = loaded.pipeline;
    if (loaded.warnings) emit({ type: 'note', message: loaded.warnings });
    const opened = await openSession({
      ...options.session,
      pipeline: loaded.pipeline,
      targets: options.targets,
      loadStep: loaded.loadStep,
    });
    if (!opened.ok) {
      emit({
        type: 'diagnostics',
        source: 'session',
        message: renderDiagnostics(opened.diagnostics),
        diagnostics: opened.diagnostics,
      });
      // Still watch the pipeline's own files, so that fixing them is seen, and the inputs known so far: a deleted
      // input file put back is the fix too.
      // Every target's step sources, fixed inputs and globs too: what is wrong may be any of them (a stale
      // compiled step, an input not there yet, a glob that matches nothing yet), and its fix must be seen.
      await refreshWatch(
        mergeWatchSets(
          computeWatchSet({
            pipeline: loaded.pipeline,
            tasks: [],
            targets: loaded.pipeline.targets.keys(),
            kernels: [],
            excluded: [],
          }),
          set,
        ),
      );
      return 'ok';
    }
    const session = opened.session;
    if (workersStale) {
      await closeExecutors();
      workersStale = false;
    }
    backend = session.kernelBackend;
    // The key holds every backend's source, so the tasks rerun; but a backend not in use does not run the edit, and a
    // rebuilt map that does not change was that edit's doing (found by helper-155).
    const notRun =
      session.usesKernels && backend !== 'wasm' && wasmRebuilt.length > 0
        ? `the AssemblyScript of ${wasmRebuilt.join(', ')}`
        : session.usesKernels && backend !== 'native' && nativeRebuilt
          ? 'the Rust of the native addon'
          : undefined;
    if (notRun)
      emit({
        type: 'note',
        message: `${notRun} was rebuilt, but this watch runs the ${backend} kernels: the tasks using it rerun without that code (pipe watch --kernels ${wasmRebuilt.length > 0 ? 'wasm' : 'native'} runs it)`,
      });
    for (const note of session.notes.splice(0)) emit({ type: 'note', message: note });
    const result = await build(session);
    for (const note of session.notes.splice(0)) emit({ type: 'note', message: note });
    // Outputs of tasks that left the pipeline removed (a deleted foreach file), a cache eviction: as pipe build says.
    if (result?.ok) for (const note of buildNotes(result)) emit({ type: 'note', message: note });

    const graph = knownGraph(session);
    // Report first (the products are in place), then re-aim the watcher at the graph as now known.
    if (result?.ok) {
      const counts: Record<string, number> = {};
      const ran: string[] = [];
      for (const r of result.reports.values()) {
        counts[r.state] = (counts[r.state] ?? 0) + 1;
        if (r.state === 'ran') ran.push(r.id);
      }
      emit({
        type: 'build-end',
        buildId: result.buildId,
        recorded: result.recorded,
        status: result.status,
        counts,
        ran: ran.sort(),
        ms: Date.now() - buildStarted,
        products: productsOf(
          graph.tasks.values(),
          deliveredTargets(session.pipeline.targets, options.targets),
        ),
        reports: result.reports,
      });
    }
    const kernelNames = new Set([...session.steps.values()].flatMap((s) => s.kernels.map((k) => k.name)));
    const kernels: KernelSources[] = tools
      ? [...kernelNames].sort().map((name) => ({ name, ...tools.sourceFiles(name) }))
      : [];
    const targetNames = new Set([...[...graph.tasks.values()].map((t) => t.target), ...graph.pending]);
    // What the build left otherwise than it saw (before the watcher was armed): an input written after the build
    // read it (the hash memo's stamp), a product of a task it ended well that is gone (found by helper-142: `rm` just
    // after `pipe watch` printed its first build left the product missing while it watched).
    const delivered = new Set<string>();
    if (result?.ok)
      for (const r of result.reports.values())
        if (r.state === 'up-to-date' || r.state === 'ran' || r.state === 'restored')
          for (const out of Object.values(graph.tasks.get(r.id)?.outputs ?? {}))
            delivered.add(path.resolve(out));
    await refreshWatch(
      computeWatchSet({
        pipeline: session.pipeline,
        tasks: graph.tasks.values(),
        targets: targetNames,
        kernels,
        excluded: [session.layout.dir, session.layout.cacheDir],
      }),
      (file) => session.memo.changedSinceHashed(file) || (delivered.has(file) && !existsSync(file)),
    );
    // A task whose input was edited while it ran kept nothing ("changed during the build"): that edit is a change
    // to build, though the watch baseline taken just now already holds it (the first build's inputs are known only
    // after it). Build again.
    if (result?.ok && [...result.reports.values()].some((r) => r.inputChanged)) {
      buildAgain = true;
      // The edit may be a step module's (or a module it imports), which the threads imported before it: the next
      // build's key names the new code, so it must run on threads that import it afresh (found by helper-113: a step
      // saved twice during a rebuild left the first save's output cached under the second's key).
      workersStale = true;
    }
    return 'ok';
  }

  let executors: Record<string, Executor> | undefined;
  async function closeExecutors(): Promise<void> {
    const open = executors;
    executors = undefined;
    if (open) await Promise.all(Object.values(open).map((e) => e.close()));
  }

  let buildStarted = 0;
  let movedNote: string | undefined;
  async function build(session: Session): Promise<BuildResult | undefined> {
    buildStarted = Date.now();
    const built = new Set([
      ...[...session.graph.tasks.values()].map((t) => t.target),
      ...session.graph.pending,
    ]);
    const here = onThisMachine(session.pipeline, built);
    session.pipeline = here.pipeline;
    if (here.moved.length > 0) {
      const note = onThisMachineNote(here.moved);
      if (note !== movedNote) emit({ type: 'note', message: note });
      movedNote = note;
    }
    // Executors live across builds: warm worker threads keep their imports (recycled on code edits).
    executors ??= { local: createLocalExecutor({ threads: options.jobs }), process: createProcessExecutor() };
    const result = await buildSession(session, {
      executors,
      jobs: options.jobs,
      signal: options.signal,
      // Another `pipe build` in the workspace: wait for it (said once), however long, rather than skip the change;
      // Ctrl-C ends the wait.
      lockWaitMs: 7 * 24 * 3600_000,
      onLockWait: (owner) =>
        emit({
          type: 'note',
          message: `waiting for build ${owner.buildId} (pid ${owner.pid}) to finish: it holds the workspace lock`,
        }),
      ...(options.params ? { params: options.params } : {}),
      ...(options.locateParam ? { locateParam: options.locateParam } : {}),
      onPlan: (plan, buildId) => {
        const counts: Record<string, number> = {};
        for (const { decision } of plan.tasks.values())
          counts[decision.action] = (counts[decision.action] ?? 0) + 1;
        emit({ type: 'build-start', buildId, tasks: plan.tasks.size, plan: counts });
      },
      onEvent: (event: BuildEvent) => emit({ type: 'build', event }),
    });
    if (!result.ok) {
      emit({
        type: 'diagnostics',
        source: 'build',
        message:
          result.reason === 'unwritable'
            ? result.message
            : `another build (${result.owner.buildId}, pid ${result.owner.pid}) holds the workspace lock`,
      });
      return undefined;
    }
    return result;
  }

  try {
    let end: WatchEnd = { reason: 'aborted' };
    // Arm the root file first: if it does not load, fixing it must still be seen.
    await refreshWatch(set);
    if ((await cycle([])) === 'restart') return { reason: 'restart', why: 'native addon rebuilt' };
    while (buildAgain && !options.signal.aborted) {
      buildAgain = false;
      if ((await cycle([])) === 'restart') return { reason: 'restart', why: 'native addon rebuilt' };
    }
    emit({ type: 'watch-start', files: set.files.size, dirs: set.dirs.size, polling: fsw.polling });
    // While idle: load the AssemblyScript compiler if a kernel may need it (a failure shows at compile time).
    if (
      tools?.warmUp &&
      [...set.kernelFiles.values()].some((parts) => parts.some((p) => p.part === 'assembly'))
    )
      void tools.warmUp().catch(() => {});
    while (!options.signal.aborted) {
      emit({ type: 'idle' });
      const batch = await queue.next();
      if (!batch || options.signal.aborted) break;
      const changed: string[] = [];
      const unchanged: string[] = [];
      for (const file of batch) {
        // Queued under the set of before the last build (e.g. the product of a task that has since left).
        if (!isWatchedPath(set, file)) continue;
        // A product counts only when it is gone (its writes are the builds' own): the build restores it. So does a
        // folder that holds products and no input: only when one of its products is gone.
        if (set.products.has(file) && !set.files.has(file)) {
          if (!existsSync(file)) changed.push(file);
          continue;
        }
        const products = set.files.has(file) ? undefined : productsOnlyUnder(set, file);
        if (products) {
          if (products.some((p) => !existsSync(p))) changed.push(file);
          continue;
        }
        // Folders (a re-created input folder, a new glob match's folder) always count.
        const verdict = set.files.has(file) ? tracker.check(file) : 'created';
        (verdict === 'unchanged' ? unchanged : changed).push(file);
      }
      if (unchanged.length > 0) emit({ type: 'unchanged', paths: unchanged });
      if (changed.length === 0) continue;
      // A folder that came back (moved away and back, made again) brings its files with no event of their own: seen
      // now, as the build about to run sees them. Else the re-arm after that build took them for new, and a second
      // build ran for nothing.
      const folders = changed.filter((f) => !set.files.has(f)).map((f) => f + path.sep);
      if (folders.length > 0) {
        const inBatch = new Set(batch);
        for (const file of set.files.keys())
          if (!inBatch.has(file) && folders.some((f) => file.startsWith(f))) tracker.check(file);
      }
      const kinds = [...new Set<WatchKind>(changed.map((f) => kindOf(set, f)))].sort();
      emit({ type: 'change', paths: changed, kinds });
      let outcome = await cycle(changed);
      while (outcome === 'ok' && buildAgain && !options.signal.aborted) {
        buildAgain = false;
        outcome = await cycle([]);
      }
      if (outcome === 'restart') {
        end = { reason: 'restart', why: 'native addon rebuilt' };
        break;
      }
    }
    return end;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    queue.close();
    await fsw.close();
    await closeExecutors();
  }
}

/** Before the first successful load only the root file is known. */
function bootstrapPipeline(rootFile: string): Pipeline {
  const root = path.dirname(rootFile);
  // What the root file names, read leniently: a pipeline that does not load at the start (a typo in its config file)
  // is fixed in one of those, and the fix must be seen.
  let doc: { config?: unknown; include?: unknown } = {};
  try {
    const parsed = parse(readFileSync(rootFile, 'utf8'));
    if (parsed && typeof parsed === 'object') doc = parsed as typeof doc;
  } catch {
    // unreadable or not YAML: the root file alone
  }
  const configFile =
    typeof doc.config === 'string'
      ? doc.config
      : doc.config &&
          typeof doc.config === 'object' &&
          typeof (doc.config as { file?: unknown }).file === 'string'
        ? (doc.config as { file: string }).file
        : undefined;
  const includes = Array.isArray(doc.include)
    ? doc.include.filter((g): g is string => typeof g === 'string')
    : [];
  return {
    file: rootFile,
    root,
    targets: new Map(),
    sourceFiles: [rootFile],
    ...(includes.length > 0 ? { includeGlobs: includes.map((g) => path.resolve(root, g)) } : {}),
    ...(configFile ? { config: { file: path.resolve(root, configFile) } } : {}),
    defaults: { resources: {} },
  };
}
