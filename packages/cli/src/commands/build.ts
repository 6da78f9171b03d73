/** `pipe build [targets...]`: plan, run, cache, record. Ctrl-C stops cleanly; a second Ctrl-C exits at once. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { type CacheOutcome, describeFailure, type RemoteCache } from '@pipe/cache';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import {
  buildNotes,
  buildSession,
  checkSlurmResources,
  deliveredTargets,
  type Executor,
  exportGuard,
  exportOutputs,
  exportPlan,
  insideStateFolder,
  jobsOnSlurmNote,
  newBuildId,
  type Plan,
  planSession,
  relPath,
  type Session,
  slurmExecutorFactory,
  slurmTargets,
  type TaskReport,
} from '@pipe/core/lean';
import { type GlobalOptions, locateParamFor, workingDir } from '../context.js';
import {
  EXIT_BUILD_FAILED,
  EXIT_HANGUP,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_TERMINATED,
  EXIT_USAGE,
} from '../exit-codes.js';
import { parseFastArgv } from '../fast-path/argv.js';
import { dropSnapshots, type SnapshotSource, workspaceStamps } from '../fast-path/record.js';
import { RACY_GRANULARITY_MS } from '../fast-path/snapshot.js';
import { interrupt } from '../interrupt.js';
import { BuildOutput, ignoreClosedTerminal, outputMode } from '../output.js';
import { planToJson, planToText } from '../plan-text.js';
import { summaryLines } from '../summary.js';
import { writablePathProblem } from '../writable-path.js';
import { targetsOrDefault } from './default-targets.js';
import { snapshot } from './plan.js';
import { type OpenedSession, openFromCli, refused, type SessionCliOptions } from './session.js';

export interface BuildCliOptions extends SessionCliOptions {
  jobs?: number;
  keepGoing?: boolean;
  dryRun?: boolean;
  out?: string;
  wait?: boolean | string;
  executor?: 'local' | 'process' | 'slurm';
  detach?: boolean;
  arrayThrottle?: number;
  tasksPerJob?: number;
}

/** Prints the last lines of each failed task's log under its name. */
function printFailedLogs(reports: Iterable<{ id: string; state: string; log?: string }>, lines = 15): void {
  for (const r of reports) {
    if (r.state !== 'failed' || !r.log || !existsSync(r.log)) continue;
    // The step's own lines: the error record the worker appends (its message, on the FAILED line already, and its
    // stack, for whoever opens the log) is left out.
    const all = readFileSync(r.log, 'utf8').trimEnd().split('\n');
    const own: string[] = [];
    for (let i = 0; i < all.length; i++) {
      if (/^error /.test(all[i]!)) {
        // The record runs over the message's own lines (a message may have several) to the end of its stack.
        let j = i + 1;
        while (j < all.length && !/^\s+at /.test(all[j]!) && !/^(info|warn|error) /.test(all[j]!)) j++;
        if (/^\s+at /.test(all[j] ?? '')) {
          while (/^\s+at /.test(all[j + 1] ?? '')) j++;
          i = j;
          continue;
        }
      }
      own.push(all[i]!);
    }
    const tail = own.slice(-lines);
    if (tail.join('') === '') continue;
    process.stderr.write(
      `--- ${r.id}: last ${tail.length === 1 ? 'line' : `${tail.length} lines`} of ${r.log}\n${tail.map((l) => `    ${l}`).join('\n')}\n`,
    );
  }
}

/**
 * `--detach`: the build runs in a driver process of its own (a new session, so it outlives the
 * terminal), which submits the jobs and collects their results into the cache; this process returns
 * once the driver holds the workspace lock and has recorded the build (its id is printed on stdout).
 */
async function detachBuild(pipeDir: string, buildsDir: string): Promise<number> {
  const buildId = newBuildId();
  const logFile = path.join(pipeDir, 'logs', buildId, 'driver.log');
  makeDirsSync(path.dirname(logFile));
  const args = process.argv.slice(1).filter((a) => a !== '--detach');
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
    env: { ...process.env, PIPE_BUILD_ID: buildId },
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const record = path.join(buildsDir, `${buildId}.json`);
  for (let delay = 50; !existsSync(record) && exited === undefined; delay = Math.min(delay * 1.5, 1000))
    await new Promise((r) => setTimeout(r, delay));
  if (!existsSync(record)) {
    process.stderr.write(
      `pipe: the detached build exited (${exited}) before it started:\n${readFileSync(logFile, 'utf8')}`,
    );
    return EXIT_BUILD_FAILED;
  }
  child.unref();
  process.stdout.write(`${buildId}\n`);
  process.stderr.write(
    `build ${buildId} detached (driver pid ${child.pid}, log ${logFile}); follow it with 'pipe status ${buildId}', stop it with 'pipe cancel ${buildId}'\n`,
  );
  return EXIT_OK;
}

/**
 * Why a copy to `--out` will be refused, said before the build (and by --dry-run): a folder in `.pipe/`; a product
 * that would replace the config, an input or another product — checked here only when every delivered target's
 * tasks are known, since behind a fan-out the products' common folder, and so each one's destination, is known once
 * it has run (the copy checks them again then).
 */
function outProblemBeforeBuild(session: Session, targets: string[], outDir: string): string | undefined {
  if (insideStateFolder(session.pipeline.root, outDir)) return "inside pipe's own folder (.pipe/)";
  const delivered = deliveredTargets(session.pipeline.targets, targets);
  if (delivered.some((t) => session.graph.pending.includes(t))) return undefined;
  const tasks = [...session.graph.tasks.values()];
  const guard = exportGuard(session.pipeline, tasks);
  return exportPlan(session.pipeline.root, tasks, delivered, outDir, guard).clash?.message;
}

export async function buildCommand(named: string[], opts: BuildCliOptions): Promise<number> {
  if (opts.out !== undefined && opts.out.trim() === '') {
    process.stderr.write('pipe: --out needs a folder to copy the products to (it was given an empty one)\n');
    return EXIT_USAGE;
  }
  // Relative to the directory the command runs in (-C included), as every other path on the command line.
  if (opts.out) opts = { ...opts, out: path.resolve(workingDir(opts), opts.out) };
  if (opts.out && !opts.dryRun) {
    const problem = writablePathProblem(opts.out, 'folder');
    if (problem) {
      process.stderr.write(`pipe: --out ${opts.out}: ${problem}\n`);
      return EXIT_USAGE;
    }
  }
  const resolved = await targetsOrDefault('build', named, opts);
  if (!resolved.ok) return resolved.code;
  const targets = resolved.targets;
  const jobs = opts.jobs && opts.jobs > 0 ? opts.jobs : Math.max(1, cpus().length);
  const runsHere = !opts.dryRun && !opts.detach;
  const opened = await openFromCli(
    targets,
    opts,
    runsHere ? { jobs, ...(opts.executor ? { executor: opts.executor } : {}) } : undefined,
    runsHere,
  );
  if (!opened.ok) return opened.code;
  // A build writes the pipeline cache while its first task runs (this thread then only waits for the workers),
  // and in any case before it exits.
  try {
    return await buildOpened(targets, opts, jobs, opened);
  } finally {
    await opened.cachePipeline();
  }
}

async function buildOpened(
  targets: string[],
  opts: BuildCliOptions,
  jobs: number,
  opened: Extract<OpenedSession, { ok: true }>,
): Promise<number> {
  const { session } = opened;
  if (opts.executor)
    session.pipeline = {
      ...session.pipeline,
      defaults: { ...session.pipeline.defaults, executor: opts.executor },
    };
  const onSlurm = slurmTargets(session.pipeline, [
    ...[...session.graph.tasks.values()].map((t) => t.target),
    ...session.graph.pending,
  ]);
  const jobsNote = jobsOnSlurmNote(opts.jobs && opts.jobs > 0 ? opts.jobs : undefined, onSlurm);
  if (jobsNote) session.notes.push(jobsNote);
  const badResources = checkSlurmResources(session.pipeline, onSlurm);
  if (badResources.length > 0) {
    process.stderr.write(`${badResources.map((m) => `pipe: ${m}`).join('\n')}\n`);
    return EXIT_USAGE;
  }
  const outProblem = opts.out ? outProblemBeforeBuild(session, targets, opts.out) : undefined;
  if (outProblem) {
    return refused(
      opts.json,
      EXIT_USAGE,
      `pipe: --out ${opts.out}: ${outProblem}; nothing was built or copied`,
    );
  }
  if (opts.detach && !opts.dryRun) return detachBuild(session.layout.dir, session.layout.buildsDir);
  if (opts.dryRun) {
    const plan = await planSession(session, undefined, true);
    if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
    else process.stdout.write(planToText(plan, false));
    if (opened.skipped.length > 0) return EXIT_BUILD_FAILED;
    await snapshot(opened, plan, opened.info.eventful || session.notes.length > 0);
    return EXIT_OK;
  }
  const output = new BuildOutput(outputMode(opts.json), jobs);
  const abort = new AbortController();
  // The pipeline cache is written while the first task runs (the main thread only waits then), and the no-op
  // snapshot's workspace-wide stamps are taken (unless a hint patches the previous snapshot's).
  let pipelineCacheScheduled = false;
  let workspace: SnapshotSource['workspace'];
  const remote = opened.remote;
  if (remote?.required) {
    // Reach it, and when this build uploads, write to it: a write token the server refuses is found now, not
    // after the work (the probe is one fixed, content-addressed blob: writing it again changes nothing).
    const reached = await remote.remote.ping();
    const written =
      reached.ok && (remote.mode === 'write' || remote.mode === 'readwrite')
        ? await probeWrite(remote.remote)
        : reached;
    if (!written.ok) {
      process.stderr.write(
        `pipe: remote cache ${remote.remote.url} is required (--remote-cache-required) but fails: ${describeFailure(written.failure)}\n`,
      );
      return EXIT_BUILD_FAILED;
    }
    // Should it fail later, the build still completes and keeps its products; it then exits 1 (see below).
  }
  let signals = 0;
  // The conventional 128 + signal number: 130 for SIGINT (Ctrl-C), 143 for SIGTERM (a scheduler, kill), 129 for
  // SIGHUP (the terminal or ssh session closed: the commands, each in a process group of its own, would run on).
  let interruptedCode = EXIT_INTERRUPTED;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (sig === 'SIGTERM') interruptedCode = EXIT_TERMINATED;
    if (sig === 'SIGHUP') {
      interruptedCode = EXIT_HANGUP;
      ignoreClosedTerminal();
    }
    if (signals === 1) {
      process.stderr.write(
        sig === 'SIGINT'
          ? `\npipe: ${sig}: stopping (running tasks are cancelled; press Ctrl-C again to exit at once)\n`
          : `\npipe: ${sig}: stopping (running tasks are cancelled)\n`,
      );
      abort.abort();
      interrupt();
    } else {
      process.exit(interruptedCode);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const slurm =
    onSlurm.length > 0
      ? await slurmExecutorFactory({
          pipeDir: session.layout.dir,
          cwd: session.pipeline.root,
          ...(opts.arrayThrottle ? { arrayThrottle: opts.arrayThrottle } : {}),
          ...(opts.tasksPerJob ? { tasksPerJob: opts.tasksPerJob } : {}),
        })
      : undefined;
  try {
    const waitMs =
      opts.wait === undefined || opts.wait === false
        ? 0
        : opts.wait === true
          ? 24 * 3600_000
          : Number(opts.wait) * 1000;
    // Targets behind a dynamic fan-out had no tasks when the build was planned: plan again (all up to date now;
    // without --force, which would hold the fan-out pending behind its forced source again).
    let settled: Plan | undefined;
    const settledPlan = async (plan: Plan) => {
      settled ??=
        plan.pending.length > 0
          ? await planSession({ ...session, options: { ...session.options, force: undefined } })
          : plan;
      return settled;
    };
    // The no-op snapshot of a build that succeeded: recorded while its end record is written (onSaved), or after a
    // build that had nothing to record. Should that write then fail, the snapshot still holds: the state it
    // stamps was saved, and every task is up to date.
    let snapshotted = false;
    /** Session notes already said (those known when the plan was made). */
    let notesShown = 0;
    const recordSnapshot = async (status: string, plan: Plan, reports: Map<string, TaskReport>) => {
      snapshotted = true;
      if (status !== 'succeeded' || opened.skipped.length > 0 || (remote?.required && remote.failure()))
        return;
      const eventful = opened.info.eventful || session.notes.length > 0;
      // A build that expanded a fan-out planned it as pending: its plan cannot describe the graph a no-op sees, the
      // settled plan (all up to date now) does. Recording it lets the very next run answer from the snapshot, which
      // re-hashes what this build wrote in its last moments (racily clean); past a budget, the full path's stat
      // checks cost less, and that run records a snapshot whose stamps are no longer racy.
      const snapshotPlan =
        plan.pending.length > 0 &&
        parseFastArgv(process.argv) &&
        !eventful &&
        bytesToRehash(session, reports) <= REHASH_BUDGET_BYTES
          ? await settledPlan(plan)
          : plan;
      await snapshot(opened, snapshotPlan, eventful, reports, workspace);
    };
    const result = await buildSession(session, {
      jobs,
      keepGoing: opts.keepGoing ?? false,
      signal: abort.signal,
      locateParam: (target, param, item) => locateParamFor(opts, target, param, item),
      lockWaitMs: waitMs,
      // --wait can be long: say for whom (else a silent pause, as if pipe hung).
      onLockWait: (owner) =>
        process.stderr.write(
          `pipe: waiting for build ${owner.buildId} (pid ${owner.pid} on ${owner.host}) to finish\n`,
        ),
      params: opened.params,
      ...(opts.config
        ? { config: relPath(session.pipeline.root, path.resolve(workingDir(opts), opts.config)) }
        : {}),
      ...pipelineFileField(session.pipeline.root, opts),
      onPlan: (plan, buildId) => {
        // This build will change the workspace: no snapshot may answer for it meanwhile (their stamps would
        // tell too; dropping them is cheaper than checking).
        let changes = plan.pending.length > 0;
        for (const p of plan.tasks.values()) {
          if (changes) break;
          changes = p.decision.action !== 'up-to-date';
        }
        if (changes) dropSnapshots(session.pipeline.root);
        output.buildStart(buildId, targets, plan, session.usesKernels ? session.kernelBackend : undefined);
        // What the build found as it took the workspace (a dead build's lock, its Slurm jobs), before its tasks.
        for (; notesShown < session.notes.length; notesShown++) output.note(session.notes[notesShown]!);
      },
      onEvent: (e) => {
        output.event(e);
        // After this turn, which hands the first task to run to its worker.
        if (e.type === 'task-start' && e.action === 'run' && !pipelineCacheScheduled) {
          pipelineCacheScheduled = true;
          setImmediate(() => {
            opened.cachePipeline().catch(() => undefined);
            if (opened.info.hint || !parseFastArgv(process.argv)) return;
            workspace = workspaceStamps(session, performance.timeOrigin, opened.info.deps);
            workspace.catch(() => undefined); // awaited (and its failure dropped) by the snapshot
          });
        }
      },
      ...(slurm ? { executors: slurm.executors } : {}),
      onSaved: ({ status, plan, reports }) => recordSnapshot(status, plan, reports),
      ...(process.env.PIPE_BUILD_ID ? { buildId: process.env.PIPE_BUILD_ID } : {}),
    });
    for (const note of session.notes.slice(notesShown)) output.note(note);
    if (!result.ok) {
      // A signal during --wait ends the wait early: say so, and exit as an interrupted build does.
      const stopped = abort.signal.aborted;
      const message =
        result.reason === 'unwritable'
          ? `pipe: ${result.message}`
          : result.ancestor
            ? `pipe: build ${result.owner.buildId} (pid ${result.owner.pid}) holds this workspace and started this command: a step cannot build in the workspace of the build that runs it (each would wait for the other); give the inner build a workspace of its own (pipe -C DIR build …), or make its work targets of this pipeline`
            : `pipe: another build (${result.owner.buildId}, pid ${result.owner.pid} on ${result.owner.host}) is running in this workspace; ` +
              (stopped
                ? 'stopped while waiting for it'
                : waitMs > 0
                  ? `it still was after ${waitMs / 1000} s`
                  : 'wait for it or use --wait');
      return refused(opts.json, stopped ? interruptedCode : EXIT_BUILD_FAILED, message);
    }
    output.buildEnd(result.buildId, result.status, result.reports, result.recorded);
    if (result.saveError)
      process.stderr.write(
        `pipe: ${result.saveError}; the products and the cache entries this build made are in place, and the next build checks them\n`,
      );
    if (!opts.json) printFailedLogs(result.reports.values());
    for (const line of buildNotes(result)) output.note(line);
    if (result.status === 'failed')
      for (const line of unsetVariableNotes(session.pipeline, opened.info.loaderEnv)) output.note(line);
    if (remote?.required && remote.failure()) {
      // The build line above says how the build went; the exit status is the remote's.
      if (!opts.json)
        process.stderr.write(
          `pipe: exit 1: the remote cache ${remote.remote.url} failed during the build and --remote-cache-required is set; the products are in the workspace and the local cache\n`,
        );
      return EXIT_BUILD_FAILED;
    }
    if (result.status === 'interrupted') return interruptedCode;
    if (result.status === 'failed') return EXIT_BUILD_FAILED;
    let copies: { dir: string; files: string[] } | undefined;
    if (opts.out) {
      const plan = await settledPlan(result.plan);
      const tasks = [...plan.tasks.values()].map((p) => p.task);
      let copied: string[];
      let removed: string[];
      try {
        const delivered = deliveredTargets(session.pipeline.targets, targets);
        const guard = exportGuard(session.pipeline, tasks);
        ({ copied, removed } = await exportOutputs(
          session.pipeline.root,
          tasks,
          delivered,
          opts.out,
          guard,
          new Set(session.pipeline.targets.keys()),
          abort.signal,
        ));
      } catch (error) {
        const e = error as NodeJS.ErrnoException & { replaced?: number };
        if (abort.signal.aborted && !e.replaced) {
          process.stderr.write(
            `pipe: --out ${opts.out}: stopped before the copies were put in place; nothing there was replaced, the products are in the workspace\n`,
          );
          return interruptedCode;
        }
        if (e.code === 'EEXPORTCLASH') {
          process.stderr.write(
            `pipe: --out ${opts.out}: ${e.message}; nothing was copied, the products are in the workspace\n`,
          );
          return EXIT_BUILD_FAILED;
        }
        const replaced = e.replaced
          ? `${e.replaced} file${e.replaced === 1 ? ' there was' : 's there were'} replaced before it failed`
          : 'nothing there was replaced';
        process.stderr.write(
          `pipe: could not copy the products to ${opts.out} (${e.code ?? e.message}${e.path ? `: ${e.path}` : ''}); ${replaced}, the products are in the workspace\n`,
        );
        return EXIT_BUILD_FAILED;
      }
      copies = { dir: opts.out, files: copied };
      // A tool reading --json learns what the folder now holds, and what left it.
      if (opts.json)
        process.stdout.write(`${JSON.stringify({ event: 'out', dir: opts.out, copied, removed })}\n`);
      else
        process.stderr.write(
          `copied ${copied.length} file${copied.length === 1 ? '' : 's'} to ${opts.out}` +
            (removed.length > 0
              ? `; removed ${removed.length} that an earlier --out put there and this build does not make (${removed
                  .slice(0, 3)
                  .map((f) => path.relative(opts.out as string, f))
                  .join(', ')}${removed.length > 3 ? ', …' : ''})`
              : '') +
            '\n',
        );
    }
    // A signal while the last copies were put in place: they all were (the folder holds one build's products), but
    // the user asked to stop, and a script must not read this as a build that ran to its end.
    if (abort.signal.aborted) return interruptedCode;
    if (!opts.json) {
      const plan = await settledPlan(result.plan);
      const tasks = [...plan.tasks.values()].map((p) => p.task);
      for (const line of summaryLines(session.pipeline.root, tasks, targets, copies))
        process.stdout.write(`${line}\n`);
    }
    if (opened.skipped.length > 0) {
      // Not a no-op snapshot either: the fast path would answer the next run with success.
      process.stderr.write(
        // Said above, each at its place: a missing input file, a glob matching nothing, an empty $VARIABLE.
        `pipe: --keep-going: not built, for the errors above (its inputs cannot be read): ${opened.skipped.join(', ')}\n`,
      );
      return EXIT_BUILD_FAILED;
    }
    if (!snapshotted) await recordSnapshot(result.status, result.plan, result.reports);
    return EXIT_OK;
  } finally {
    await Promise.all((slurm?.created ?? ([] as Executor[])).map((e) => e.close()));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** Outputs a no-op may re-hash right after the build that wrote them (SHA-256: ~40 ms), rather than stat them all. */
const REHASH_BUDGET_BYTES = 64 << 20;

/**
 * Bytes of the outputs the build wrote (ran or restored tasks) that the next no-op must hash again: those published
 * within the racy window of now (fast-path/record.ts settles the older ones by their stamps).
 */
function bytesToRehash(session: Session, reports: Map<string, TaskReport>): number {
  const racyNs = (Date.now() - RACY_GRANULARITY_MS) * 1e6;
  let bytes = 0;
  for (const r of reports.values()) {
    if (r.state !== 'ran' && r.state !== 'restored') continue;
    for (const out of Object.values(session.state.tasks.get(r.id)?.outputs ?? {}))
      if (Number(out.mtimeNs) >= racyNs) bytes += out.size;
  }
  return bytes;
}

/** Store a fixed probe blob on the remote: whether this build's uploads would be accepted. */
async function probeWrite(remote: RemoteCache): Promise<CacheOutcome<void>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-probe-'));
  try {
    const file = path.join(dir, 'probe');
    const probe = 'pipe remote cache write probe\n';
    writeFileSync(file, probe);
    const r = await remote.putBlob(createHash('sha256').update(probe).digest('hex'), file);
    return r.ok ? { ok: true, value: undefined } : r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * For a failed build: the variables input paths read from the root pipe.yaml's `vars:` because the environment lacks
 * them (`loaderEnv`: what loading read, null where unset). A user who forgot to export GAMMAPY_DATA gets the shipped
 * data store, and a failure about it (no run in the cone, an unknown id) that does not say why it looked there.
 */
export function unsetVariableNotes(
  pipeline: { root: string; vars?: Record<string, string> },
  loaderEnv: ReadonlyArray<readonly [string, string | null]>,
): string[] {
  const vars = pipeline.vars ?? {};
  return loaderEnv
    .filter(([name, digest]) => digest === null && Object.hasOwn(vars, name))
    .map(
      ([name]) =>
        `${name} is not set in the environment: input paths with $${name} used the root pipe.yaml's default (vars:), ${relPath(pipeline.root, vars[name]!)}; set ${name} if you meant other data`,
    );
}

/** The -f file, as the record keeps it (`pipe log` repeats it: the targets of another file are unknown without it). */
function pipelineFileField(root: string, opts: GlobalOptions): { file?: string } {
  if (!opts.file) return {};
  const file = relPath(root, path.resolve(workingDir(opts), opts.file));
  return file === 'pipe.yaml' ? {} : { file };
}
