/** Opening an engine session from command-line options (shared by build and plan). */
import type { Diagnostic } from '@pipe/core';
import type { DepStamp, Session, Task } from '@pipe/core/lean';
import { cacheDirOption, type GlobalOptions, loadForSession } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { parseFastArgv } from '../fast-path/argv.js';
import { locate, takeHint } from '../fast-path/entry.js';
import type { PendingHint, SnapshotHint } from '../fast-path/snapshot.js';
import { pipelineRemote, type RemoteCliOptions, type RemoteSetup } from './remote.js';

export interface SessionCliOptions extends GlobalOptions, RemoteCliOptions {
  kernels?: string;
  force?: Array<string | boolean> | boolean;
  /** `--keep-going`: targets that need a target with a missing input are skipped, the rest is built. */
  keepGoing?: boolean;
}

/** `--force` alone → everything; `--force T` (repeatable) → those targets. */
export function forceOption(
  list: Array<string | boolean> | boolean | undefined,
): boolean | Set<string> | undefined {
  // commander gives `true` (not a list) for a bare `--force` that is not followed by a value.
  if (list === true) return true;
  if (!list || list.length === 0) return undefined;
  if (list.some((v) => v === true)) return true;
  return new Set(list.filter((v): v is string => typeof v === 'string'));
}

/** What the no-op snapshot needs to know of how the session was opened (fast-path/record.ts). */
export interface OpenedInfo {
  warnings: string;
  loaderEnv: Array<[string, string | null]>;
  /** A note was printed or a remote cache is in use: a later run could print something else. */
  eventful: boolean;
  /** What the declined no-op check learnt (the next snapshot patches the previous one with it). */
  hint?: SnapshotHint;
  /** The pipeline's dependency stamps as checked when loading began (a pipeline cache hit). */
  deps?: DepStamp[];
}

/**
 * A command refused before anything ran: the message on stderr and, with --json, the one `error` event a tool reads
 * instead (README). Returns the exit code.
 */
export function refused(
  json: boolean | undefined,
  code: number,
  message: string,
  diagnostics: readonly Diagnostic[] = [],
): number {
  process.stderr.write(`${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify(errorEvent(code, message, diagnostics))}\n`);
  return code;
}

/** A diagnostic as `--json` gives it: its place as file, line and col (a tool need not parse the text). */
export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.span ? { file: d.span.file, line: d.span.line, col: d.span.col } : {}),
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.target ? { target: d.target } : {}),
  };
}

/**
 * The `--json` event of a command refused before anything ran: the exit code, the text printed on stderr, and each
 * diagnostic with its place (a tool need not parse the text).
 */
function errorEvent(
  exitCode: number,
  message: string,
  diagnostics: readonly Diagnostic[] = [],
): Record<string, unknown> {
  return {
    event: 'error',
    exitCode,
    message,
    diagnostics: diagnostics.map(diagnosticJson),
  };
}

/** The declined no-op check's hint for this very command line, if there was one (fast-path/entry.ts). */
function hintForThisCommand(): PendingHint | undefined {
  const req = parseFastArgv(process.argv);
  const where = req && locate(req, process.cwd(), process.env);
  return where ? takeHint(where.key, where.root) : undefined;
}

export type OpenedSession =
  | {
      ok: true;
      session: Session;
      params: Record<string, string>;
      remote: RemoteSetup | undefined;
      info: OpenedInfo;
      /** Needed targets `--keep-going` left out: they need a target whose input file is missing. */
      skipped: string[];
      /**
       * Write the pipeline cache (once; done already unless deferred). Its dependency stamps are checked against
       * the moment loading began, so writing it later cannot vouch for a file edited meanwhile.
       */
      cachePipeline(): Promise<void>;
    }
  | { ok: false; code: number };

export async function openFromCli(
  targets: string[],
  opts: SessionCliOptions,
  warm?: Parameters<typeof loadForSession>[2],
  /** Leave the pipeline cache to the caller's `cachePipeline()` (a build writes it while its first task runs). */
  deferPipelineCache = false,
): Promise<OpenedSession> {
  // Why the session did not open: on stderr as text and, with --json, as one event on stdout for the tool reading it.
  const refuse = (code: number, message: string, diagnostics?: readonly Diagnostic[]): OpenedSession => ({
    ok: false,
    code: refused(opts.json, code, message, diagnostics),
  });
  const loaded = await loadForSession(opts, targets, warm);
  if (!loaded.ok) return refuse(loaded.code, loaded.message, loaded.diagnostics);
  if (loaded.warnings) process.stderr.write(`${loaded.warnings}\n`);
  for (const note of loaded.notes) process.stderr.write(`note: ${note}\n`);
  const core = await import('@pipe/core/lean');
  // `-k` as make's: a target whose input file is missing is reported, and everything that does not need it
  // is built (the build then fails). Without -k the session refuses the whole command on it.
  let wanted = targets;
  let skipped: string[] = [];
  const broken = new Set((loaded.pipeline.deferred ?? []).map((d) => d.target!));
  if (opts.keepGoing && broken.size > 0 && targets.every((t) => loaded.pipeline.targets.has(t))) {
    const split = core.buildableWithout(loaded.pipeline.targets, targets, broken);
    if (split.skipped.length > 0) {
      const needed = new Set([...split.buildable, ...split.skipped]);
      const { renderDiagnostics } = await import('@pipe/core');
      const missing = (loaded.pipeline.deferred ?? []).filter((d) => needed.has(d.target!));
      if (split.buildable.length === 0) return refuse(EXIT_USAGE, renderDiagnostics(missing), missing);
      process.stderr.write(`${renderDiagnostics(missing)}\n`);
      process.stderr.write(
        `pipe: --keep-going: building what does not need ${[...broken].filter((b) => needed.has(b)).join(', ')}; not built: ${split.skipped.join(', ')}\n`,
      );
      wanted = split.buildable;
      skipped = split.skipped;
    }
  }
  const force = forceOption(opts.force);
  // `--force T` with a misspelt T would rebuild nothing it was asked to: a usage error, as an unknown target is.
  if (force instanceof Set) {
    const unknown = [...force].filter((name) => !loaded.pipeline.targets.has(name));
    const lines = unknown.map((name) => {
      const hint = core.didYouMean(name, loaded.pipeline.targets.keys());
      return `pipe: --force ${name}: no target '${name}'${hint ? `; ${hint}` : ''}`;
    });
    if (unknown.length > 0) return refuse(EXIT_USAGE, lines.join('\n'));
  }
  const cacheDir = cacheDirOption(opts);
  const resolved = pipelineRemote(
    opts,
    loaded.pipeline,
    cacheDir,
    (line) => {
      process.stderr.write(`${line}\n`);
      // A tool reading --json events hears of the remote too (a note of the build's is both, as here).
      if (opts.json) {
        const level = line.startsWith('error: ') ? 'error' : 'warning';
        const message = line.replace(/^(?:warning|error): /, '');
        process.stdout.write(
          `${JSON.stringify({ event: 'warning', source: 'remote-cache', level, message })}\n`,
        );
      }
    },
    core.workspaceLayout,
  );
  if (!resolved.ok) return refuse(EXIT_USAGE, resolved.message);
  const pending = hintForThisCommand();
  // The no-op snapshot this command may record reuses the plan's stats (fast-path/record.ts).
  if (parseFastArgv(process.argv) && !pending) core.rememberStats();
  // Settled once the session is open (its last stamps may still be being checked on another thread, see
  // fast-path/stamp-job.ts); nothing asks `clean` before the plan.
  let hint: SnapshotHint | undefined;
  const remote = resolved.remote;
  const opened = await core.openSession({
    pipeline: loaded.pipeline,
    targets: wanted,
    loadStep: loaded.loadStep,
    ...(loaded.cached && skipped.length === 0
      ? {
          graph: loaded.cached.graph,
          ...(loaded.cached.steps ? { steps: loaded.cached.steps } : {}),
          ...(loaded.cached.order ? { order: loaded.cached.order } : {}),
        }
      : {}),
    ...(loaded.stepFacts ? { stepFacts: loaded.stepFacts } : {}),
    ...(cacheDir ? { cacheDir } : {}),
    ...(remote ? { cache: remote.cache } : {}),
    ...(opts.kernels ? { kernels: opts.kernels } : {}),
    ...(force !== undefined ? { force } : {}),
    ...(pending && pending.root === loaded.pipeline.root
      ? { clean: { stateStamp: pending.stateStamp, test: (task: Task) => hint?.clean.has(task.id) === true } }
      : {}),
  });
  if (!opened.ok) {
    const { renderDiagnostics } = await import('@pipe/core');
    const diagnostics = await withPipelineFileHints(opened.diagnostics, loaded.pipeline);
    return refuse(EXIT_USAGE, renderDiagnostics(diagnostics), diagnostics);
  }
  hint = pending?.settle();
  // Kernel backends are chosen per run: step identities are cached only when no step uses kernels.
  const steps =
    opened.session.kernelBackend === (opts.kernels ?? 'js') &&
    [...opened.session.steps.values()].every((s) => s.kernels.length === 0)
      ? opened.session.steps
      : undefined;
  // The pipeline cache keys a graph by the requested targets: a -k graph of fewer targets is not theirs.
  let caching: Promise<void> | undefined;
  const graph = opened.session.graph;
  const cachePipeline = () => {
    caching ??=
      skipped.length === 0 ? loaded.remember(graph, steps, opened.session.steps) : Promise.resolve();
    return caching;
  };
  if (!deferPipelineCache) await cachePipeline();
  const eventful = loaded.notes.length > 0 || opened.session.notes.length > 0 || remote !== undefined;
  for (const note of opened.session.notes) process.stderr.write(`note: ${note}\n`);
  opened.session.notes.length = 0;
  // `--force T` for a T this command does not build would silently force nothing.
  if (force instanceof Set) {
    const built = new Set([...opened.session.graph.tasks.values()].map((t) => t.target));
    for (const name of opened.session.graph.pending) built.add(name);
    for (const name of force)
      if (!built.has(name))
        process.stderr.write(
          `warning: --force ${name}: '${name}' is not part of this build (${targets.join(', ')}); nothing of it runs\n`,
        );
  }
  const params: Record<string, string> = {};
  for (const p of opts.param ?? []) {
    const eq = p.indexOf('=');
    params[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return {
    ok: true,
    session: opened.session,
    params,
    remote,
    skipped,
    cachePipeline,
    info: {
      warnings: loaded.warnings,
      loaderEnv: loaded.loaderEnv(),
      eventful,
      ...(hint ? { hint } : {}),
      ...(loaded.deps ? { deps: loaded.deps } : {}),
    },
  };
}

/**
 * An unknown target that a build of this workspace had from another pipeline file (`-f survey.yaml`, as its record
 * says): the hint names that file, not this pipeline's targets.
 */
async function withPipelineFileHints(
  diagnostics: readonly Diagnostic[],
  pipeline: { root: string; file: string },
): Promise<readonly Diagnostic[]> {
  const unknown = diagnostics.filter((d) => d.code === 'unknown-target');
  if (unknown.length === 0) return diagnostics;
  const core = await import('@pipe/core');
  const { resolve } = await import('node:path');
  const buildsDir = core.workspaceLayout(pipeline.root).buildsDir;
  const ids = core.listBuildIds(buildsDir).reverse();
  const fileOf = new Map<string, { file: string; build: string }>();
  for (const id of ids.slice(0, 100)) {
    const got = core.readBuildRecord(buildsDir, id);
    if (!got.ok || !got.record.file || resolve(pipeline.root, got.record.file) === pipeline.file) continue;
    for (const t of got.record.targets)
      if (!fileOf.has(t)) fileOf.set(t, { file: got.record.file, build: got.record.id });
  }
  return diagnostics.map((d) => {
    const name = /^unknown target '(.*)'$/.exec(d.message)?.[1];
    const other = name === undefined ? undefined : fileOf.get(name);
    return other
      ? {
          ...d,
          hint: `'${name}' is a target of ${other.file} (build ${other.build} was given -f ${other.file}): pipe -f ${other.file} …`,
        }
      : d;
  });
}
