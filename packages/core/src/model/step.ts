/**
 * The step contract. A step is an ES module whose default export is a StepDefinition.
 * Built-in steps (packages/astro/src/steps/*) are registered by name; a pipeline may also name
 * a module path. Steps run inside worker threads, so a step module must be importable on its own.
 */
import type { TaskItem } from './types.js';

/** A problem with a step's params, at a path inside the params object (mapped back to file:line:col). */
export interface ParamIssue {
  path: (string | number)[];
  message: string;
  hint?: string;
  /** A setting that is valid but has no effect here: reported, and the pipeline still loads. */
  severity?: 'warning';
}

export interface StepLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface StepContext<P = Record<string, unknown>> {
  params: P;
  /** Input files by input name (absolute, read-only). */
  inputs: Record<string, string[]>;
  /** Where to write each declared output (absolute temp paths; the engine renames them atomically). */
  outputs: Record<string, string>;
  /** The fan-out item, for foreach tasks. */
  item?: TaskItem;
  /** Values of the target's declared `env:` variables (nothing else of the environment). */
  env: Record<string, string>;
  /** Which kernel backend this task was planned with ('native' | 'wasm' | 'js'). */
  kernelBackend: string;
  log: StepLogger;
  signal: AbortSignal;
}

/** What a step may return: the items it produced (for a downstream `foreach: {items: ...}`) and metadata. */
export interface StepResult {
  /** `{id, files (absolute paths), data? (JSON)}` each, nothing else: checked by emittedItemsProblem (graph/items.ts). */
  items?: TaskItem[];
  /** Small JSON-able facts kept in the provenance record (e.g. counts, livetime). */
  metadata?: Record<string, unknown>;
}

export interface StepDefinition<P = Record<string, unknown>> {
  /** Registry name, e.g. 'astro.reduce_observation'. */
  name: string;
  /** Bump when behaviour changes in a way the code hash would not show (e.g. a data file it embeds). */
  version: string;
  /** Validate and normalise params (units etc.); issues are reported at config load time. */
  validateParams?(params: unknown): { ok: true; value: P } | { ok: false; issues: ParamIssue[] };
  /**
   * The output names the step writes (`ctx.outputs[name]`), checked when the pipeline loads: a target must declare
   * each `required` one, and may declare only those and the `optional` ones. A misspelt name is then an error at
   * that output in the pipeline file, not a failure when the task runs (or, for a required one, a TypeError).
   * Absent: any names (a step that writes whatever its target declares).
   */
  outputs?: { required: readonly string[]; optional?: readonly string[] };
  /** Kernels this step calls; their source hash enters the task key, with compiler and backend unless bit-identical. */
  kernels?: string[];
  /**
   * Load what `run` needs, ahead of the first task (a worker thread calls it when warmed). A step whose
   * module imports its heavy parts lazily, inside `run`, keeps the planner's import of it cheap (the planner
   * imports every step module, for its name, version, kernels and `validateParams`).
   */
  warm?(): Promise<unknown>;
  /**
   * Do the work. To blame one param value (an id the data does not have, say), throw an Error with a `param`
   * property: the value's path in the params (`['observations', 'obs_ids', 1]`, see {@link ParamPath}). The build
   * then says where that value was set instead of the place in the code: `file:line:col` in the config or pipeline
   * file, or its `--param`.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a TypeScript `run` that returns nothing has the type void (async: Promise<void>), which undefined does not admit
  run(ctx: StepContext<P>): Promise<StepResult | undefined | void> | StepResult | undefined | void;
}

/** A path into a task's params: keys and list indices. */
export type ParamPath = Array<string | number>;

/** The param path a step's error blames (its `param` property, see StepDefinition.run), if any. */
export function blamedParam(error: unknown): ParamPath | undefined {
  const param = (error as { param?: unknown } | null)?.param;
  return Array.isArray(param) &&
    param.length > 0 &&
    param.every((k) => typeof k === 'string' || (typeof k === 'number' && Number.isInteger(k)))
    ? (param as ParamPath)
    : undefined;
}
