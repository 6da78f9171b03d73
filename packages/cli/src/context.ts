/** What every command needs: the pipeline file, the step registry, the loaded pipeline. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic, Pipeline, StepDefinition, StepRegistry } from '@pipe/core';
import type {
  CachedGraph,
  DepStamp,
  OverrideBase,
  PipelineCacheEntry,
  StepFacts,
  StepIdentity,
  TaskGraph,
} from '@pipe/core/lean';
import { EXIT_USAGE } from './exit-codes.js';

export interface GlobalOptions {
  file?: string;
  cwd?: string;
  config?: string;
  param?: string[];
  cacheDir?: string;
  json?: boolean;
}

export const PIPELINE_FILE = 'pipe.yaml';

/**
 * `-f FILE`, else the nearest pipe.yaml in the working directory or its parents that is a root (has `version:`):
 * a pipe.yaml without it is a file some root includes (pipelines/x/pipe.yaml), so `pipe build` run in its folder
 * builds the workspace it belongs to, as npm finds a workspace's root. With no root above, the nearest file (whose
 * load then says what it lacks).
 */
export function findPipelineFile(cwd: string, file?: string): string | undefined {
  // A -C folder that is not there finds nothing (not its parent's pipeline): noPipelineMessage says why.
  if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  if (file) return path.resolve(cwd, file);
  let nearest: string | undefined;
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, PIPELINE_FILE);
    if (existsSync(candidate)) {
      if (isRootFile(candidate)) return candidate;
      nearest ??= candidate;
    }
    if (path.dirname(dir) === dir) return nearest;
  }
}

function isRootFile(file: string): boolean {
  try {
    return /^version\s*:/m.test(readFileSync(file, 'utf8'));
  } catch {
    return true; // unreadable: let the loader report it
  }
}

export function workingDir(opts: GlobalOptions): string {
  return path.resolve(opts.cwd ?? process.cwd());
}

/** Why no pipeline file was found from `cwd`: a -C folder that is not there says so, rather than "no pipe.yaml". */
export function noPipelineMessage(cwd: string): string {
  if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory())
    return `pipe: ${cwd}: no such folder (-C, or the current folder)`;
  return `pipe: no ${PIPELINE_FILE} in ${cwd} or its parents (use -f FILE)`;
}

/** `--param k=v` list → record; malformed entries are returned as errors. */
export function parseParams(
  list: string[] | undefined,
): { ok: true; params: Record<string, string> } | { ok: false; error: string } {
  const params: Record<string, string> = {};
  for (const entry of list ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) return { ok: false, error: `--param expects key=value, got '${entry}'` };
    params[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ok: true, params };
}

/**
 * The domain package registers its steps, if it is installed. Its `register` entry names the step modules
 * by path and imports nothing else: the whole package would cost ~150 ms of module loading per command.
 */
async function registerDomainSteps(registry: StepRegistry): Promise<void> {
  try {
    const astro = (await import('@pipe/astro/register')) as { registerSteps?: (r: StepRegistry) => void };
    astro.registerSteps?.(registry);
  } catch {
    // @pipe/astro not built or not installed: only module-path and command steps are available.
  }
}

export type Loaded =
  | { ok: true; pipeline: Pipeline; registry: StepRegistry; warnings: string; overrideBase?: OverrideBase }
  | { ok: false; code: number; message: string; diagnostics?: Diagnostic[] };

/** The pipeline file of a command and how to load it (the domain's steps registered), or why there is none. */
async function commandLoad(
  opts: GlobalOptions,
  env?: NodeJS.ProcessEnv,
): Promise<
  | { ok: true; core: typeof import('@pipe/core'); file: string; options: import('@pipe/core').LoadOptions }
  | { ok: false; code: number; message: string }
> {
  const cwd = workingDir(opts);
  const file = findPipelineFile(cwd, opts.file);
  if (!file)
    return {
      ok: false,
      code: EXIT_USAGE,
      message: noPipelineMessage(cwd),
    };
  if (!existsSync(file)) return { ok: false, code: EXIT_USAGE, message: `pipe: ${file} does not exist` };
  const params = parseParams(opts.param);
  if (!params.ok) return { ok: false, code: EXIT_USAGE, message: `pipe: ${params.error}` };
  const core = await import('@pipe/core');
  const registry = core.createStepRegistry();
  // Registering the domain's steps imports one small module (@pipe/astro/register); loading the pipeline
  // first and again after an unknown step (as before) parsed and validated it twice.
  await registerDomainSteps(registry);
  const options = {
    registry,
    cwd,
    ...(opts.config ? { configFile: opts.config } : {}),
    paramOverrides: params.params,
    ...(env ? { env } : {}),
  };
  return { ok: true, core, file, options };
}

/**
 * Where target `target`'s param value at `param` was set (`file:line:col`, or its `--param`), the pipeline loaded
 * as the command loads it: for a step that blamed that value (a failure path only).
 */
export async function locateParamFor(
  opts: GlobalOptions,
  target: string,
  param: ReadonlyArray<string | number>,
  item?: string,
): Promise<string | undefined> {
  const load = await commandLoad(opts);
  return load.ok ? load.core.locateParam(load.file, load.options, target, param, item) : undefined;
}

/** Load the pipeline, with the domain's steps (@pipe/astro) registered by name. */
export async function loadForCommand(
  opts: GlobalOptions,
  env?: NodeJS.ProcessEnv,
  /** The command's targets (none: the pipeline's default): a failure then leaves out other targets' own errors. */
  targets?: readonly string[],
): Promise<Loaded> {
  const load = await commandLoad(opts, env);
  if (!load.ok) return load;
  const { core, file, options } = load;
  const registry = options.registry;
  const result = await core.loadPipeline(file, options);
  if (!result.ok) {
    // A config error does not bring in a missing input of a target the command does not build (as a valid one
    // would not: pipeline.deferred).
    const diagnostics = targets && result.relevantTo ? result.relevantTo(targets) : result.diagnostics;
    return {
      ok: false,
      code: EXIT_USAGE,
      message: core.renderDiagnostics(diagnostics),
      diagnostics,
    };
  }
  const warnings = result.warnings.length > 0 ? core.renderDiagnostics(result.warnings) : '';
  return {
    ok: true,
    pipeline: result.pipeline,
    registry,
    warnings,
    ...(result.overrideBase ? { overrideBase: result.overrideBase } : {}),
  };
}

export type LoadedForSession =
  | {
      ok: true;
      pipeline: Pipeline;
      warnings: string;
      loadStep: (modulePath: string) => Promise<StepDefinition>;
      /** The graph and step identities of these targets, when the pipeline cache has them. */
      cached?: CachedGraph;
      /** Name, version and kernels of the step modules, when the pipeline cache has them (no import needed). */
      stepFacts?: ReadonlyMap<string, StepFacts>;
      /**
       * Store the pipeline (and the session's graph) in the pipeline cache (a no-op when nothing is new): `steps`
       * to cache with the graph (undefined when kernels are used), `identities` the session's, for the step facts.
       */
      remember(
        graph: TaskGraph,
        steps: Map<string, StepIdentity> | undefined,
        identities: ReadonlyMap<string, StepIdentity>,
      ): Promise<void>;
      notes: string[];
      /** The environment variables loading read, with digests of their values (they key the no-op snapshot too). */
      loaderEnv(): Array<[string, string | null]>;
      /** The stamps of the files the pipeline depends on, as the pipeline cache's hit checked them when loading began. */
      deps?: DepStamp[];
    }
  | { ok: false; code: number; message: string; diagnostics?: Diagnostic[] };

/**
 * Load the pipeline for a build or plan: from the pipeline cache (`.pipe/pipeline.cache`) when
 * nothing it depends on changed — then neither the config loader (yaml, zod) nor any step module
 * is imported — else with loadForCommand, and the result is cached for the next run.
 */
/** The last pipeline loaded from its files in this process (see loadForSession), by the digest of its inputs. */
let fullLoad:
  | { inputs: string; started: number; recording: { read: Set<string> }; loaded: Promise<Loaded> }
  | undefined;

export async function loadForSession(
  opts: GlobalOptions & { kernels?: string },
  targets: string[],
  /** A build on the local executor with this many threads: start its workers at once (see warmLocalPool). */
  warm?: { jobs: number; executor?: string },
): Promise<LoadedForSession> {
  const started = Date.now();
  const cwd = workingDir(opts);
  const file = findPipelineFile(cwd, opts.file);
  if (!file || !existsSync(file)) return loadForCommand(opts) as Promise<LoadedForSession>;
  const params = parseParams(opts.param);
  if (!params.ok) return { ok: false, code: EXIT_USAGE, message: `pipe: ${params.error}` };
  const lean = await import('@pipe/core/lean');
  // The hash module compiles its WASM asynchronously: started now, it is ready when the session opens instead of
  // being waited for there (openSession awaits the same promise, and reports a failure).
  lean.loadXxhash().catch(() => {});
  const cacheFile = lean.pipelineCacheFile(file);
  const cacheInputs = {
    file,
    cwd,
    ...(opts.config ? { configFile: path.resolve(cwd, opts.config) } : {}),
    params: params.params,
    ...(opts.kernels ? { kernels: opts.kernels } : {}),
  };
  const inputs = lean.pipelineInputsDigest(cacheInputs);
  const baseInputs = lean.pipelineBaseInputsDigest(cacheInputs);
  const lookup = lean.readPipelineCache(cacheFile, inputs, process.env, baseInputs);
  const known = 'hit' in lookup ? lookup.hit : 'previous' in lookup ? lookup.previous : undefined;
  lean.seedCodeHashes(known?.codeHashes);
  if (warm && known) lean.warmLocalPool(localStepModules(known.pipeline, targets, warm.executor), warm.jobs);
  else if (warm && (warm.executor ?? 'local') === 'local') lean.warmLocalPool([], warm.jobs);
  const notes = 'note' in lookup ? [lookup.note] : [];
  let registry: StepRegistry | undefined;
  const lazyLoadStep = async (m: string) => {
    registry ??= lean.createStepRegistry();
    return registry.load(m);
  };
  // Store the pipeline with this session's graph of `targets` (the fields but file and graph given).
  type Saved = Omit<Parameters<typeof lean.writePipelineCache>[0], 'file' | 'graph'>;
  const saveWithGraph = (fields: Saved, graph: TaskGraph, steps: Map<string, StepIdentity> | undefined) =>
    lean
      .writePipelineCache({
        ...fields,
        file: cacheFile,
        graph: { targets, graph, ...(steps ? { steps } : {}), order: lean.topoOrder(graph.tasks) },
      })
      .catch(() => {});
  // A load served by the cache entry: its pipeline or, with other --param values, `pipeline`; `fields` what to
  // store after the build (undefined: nothing new).
  const fromCache = (
    entry: PipelineCacheEntry,
    pipeline: Pipeline,
    cached: CachedGraph | undefined,
    fields: (identities: ReadonlyMap<string, StepIdentity>) => Saved | undefined,
  ): LoadedForSession => ({
    ok: true,
    pipeline,
    warnings: entry.warnings,
    loadStep: lazyLoadStep,
    ...(cached ? { cached } : {}),
    ...(entry.stepFacts ? { stepFacts: new Map(entry.stepFacts) } : {}),
    notes,
    loaderEnv: () => entry.env,
    deps: entry.deps,
    async remember(graph, steps, identities) {
      const save = fields(identities);
      if (save) await saveWithGraph(save, graph, steps);
    },
  });
  if ('hit' in lookup) {
    const entry = lookup.hit;
    const cached = lean.cachedGraph(entry, targets);
    return fromCache(entry, entry.pipeline, cached, (identities) =>
      cached && entry.stepFacts
        ? undefined
        : {
            ...entry,
            previous: entry,
            stepFacts: entry.stepFacts ?? lean.stepFactsOf(entry.pipeline, identities),
          },
    );
  }
  if ('miss' in lookup && lookup.miss === 'params') {
    // Only --param differs from the cached load: apply the new values to its pipeline when they reach nothing but
    // step params (builds/param-overrides.ts), else load as usual below.
    const entry = lookup.previous;
    registry ??= lean.createStepRegistry();
    await registerDomainSteps(registry);
    const applied = await lean.applyConfigOverrides(entry.pipeline, entry.base, params.params, registry);
    if (applied) {
      // The cached graph of these targets with the new params (its shape and order do not depend on them).
      const before = lean.cachedGraph(entry, targets);
      const graph = before && lean.graphWithParams(before.graph, applied.pipeline, applied.changed);
      return fromCache(
        entry,
        applied.pipeline,
        before && graph ? { ...before, graph } : undefined,
        (identities) => ({
          inputs,
          baseInputs,
          env: entry.env,
          deps: entry.deps,
          pipeline: applied.pipeline,
          base: applied.base,
          stepFacts: lean.stepFactsOf(applied.pipeline, identities),
          warnings: entry.warnings,
        }),
      );
    }
  }
  // A command naming no target loaded the pipeline already to find its `default:` (default-targets.ts): that load
  // (same inputs, this process) serves once more, with the variables it read and its start time; then it is gone.
  let load = fullLoad?.inputs === inputs ? fullLoad : undefined;
  if (load) fullLoad = undefined;
  else {
    const recording = lean.recordingEnv(process.env);
    load = { inputs, started, recording, loaded: loadForCommand(opts, recording.env, targets) };
    fullLoad = load;
  }
  const { recording } = load;
  const loaded = await load.loaded;
  if (!loaded.ok) return loaded;
  // The early thread (booted above without a guess) imports the step modules of every target the build may
  // run, dependencies first, while this thread plans.
  if (warm && !known) {
    const upstream = lean.dependencyOrder(loaded.pipeline.targets, targets).order;
    lean.teachLocalPool(localStepModules(loaded.pipeline, upstream, warm.executor));
  }
  const loadStarted = load.started;
  const loaderEnv = (): Array<[string, string | null]> =>
    [...recording.read].sort().map((n) => [n, lean.valueDigest(process.env[n])]);
  return {
    ok: true,
    pipeline: loaded.pipeline,
    warnings: loaded.warnings,
    loadStep: (m) => loaded.registry.load(m),
    notes,
    loaderEnv,
    async remember(graph, steps, identities) {
      const deps = lean.pipelineDeps(loaded.pipeline, loadStarted);
      if (!deps) return; // racily clean: the next run caches it
      await saveWithGraph(
        {
          inputs,
          baseInputs,
          env: loaderEnv(),
          deps,
          pipeline: loaded.pipeline,
          ...(loaded.overrideBase ? { base: loaded.overrideBase } : {}),
          stepFacts: lean.stepFactsOf(loaded.pipeline, identities),
          warnings: loaded.warnings,
        },
        graph,
        steps,
      );
    },
  };
}

/**
 * The step modules of the requested targets that would run on the local executor: the tasks most likely to run
 * in a build that is not a no-op (every change upstream reaches them, unless outputs come out identical).
 */
function localStepModules(pipeline: Pipeline, targets: string[], executor: string | undefined): string[] {
  const modules = new Set<string>();
  for (const name of targets) {
    const target = pipeline.targets.get(name);
    const runsOn = target?.executor ?? executor ?? pipeline.defaults.executor ?? 'local';
    if (target?.stepModule && !target.command && runsOn === 'local') modules.add(target.stepModule);
  }
  return [...modules];
}

/** --cache-dir, else PIPE_CACHE_DIR, else the workspace default. */
export function cacheDirOption(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return opts.cacheDir ?? (env.PIPE_CACHE_DIR || undefined);
}
