/**
 * The pipeline model: what a validated pipe.yaml becomes, and the task graph expanded from it.
 * These types are the contract between config loading (config/), expansion (graph/),
 * fingerprinting (fingerprint/), planning (plan/) and execution (execute/).
 */

/** A position in a source file, for diagnostics. Lines and columns are 1-based. */
export interface SourceSpan {
  file: string;
  line: number;
  col: number;
  /** Length of the offending text in characters (for the squiggle). */
  length: number;
}

export type Severity = 'error' | 'warning';

/** One problem found in a config file; rendered as `file:line:col: message`, source line, squiggle, hint. */
export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. 'unknown-key', 'cycle', 'missing-input'. */
  code: string;
  message: string;
  span?: SourceSpan;
  /** e.g. "did you mean 'outputs'?" */
  hint?: string;
  /** Other places that take part in the problem (e.g. the first of two targets writing one output). */
  related?: Array<{ message: string; span?: SourceSpan }>;
  /**
   * The target the problem belongs to, when it stops only what needs that target (an input file missing): the
   * loader defers it, and a command fails on it only if it builds the target (see Pipeline.deferred).
   */
  target?: string;
}

/** Where a task runs and with which resources (Slurm and the local pool read the parts they know). */
export interface Resources {
  cpus?: number;
  mem?: string;
  time?: string;
  partition?: string;
  account?: string;
  retries?: number;
  /** Slurm: at most this many elements of one of the target's job arrays run at once (`--array=…%N`). */
  arrayThrottle?: number;
  extraSbatchOptions?: string[];
}

/** One declared input of a target. */
export type InputSpec =
  // a path or a glob, relative to the workspace; `override`: the `--param key=value` it came from
  | { kind: 'file'; pattern: string; span?: SourceSpan; override?: string }
  | {
      kind: 'target';
      target: string;
      span?: SourceSpan;
      /** Only this named output of the target (default: all its outputs). */
      output?: string;
      /** Both targets fan out: task `t[i]` reads only the outputs of upstream task `target[i]` (no gather). */
      perItem?: boolean;
    }; // all outputs of another target (gathered over its items)

/**
 * One entry of a `foreach` list. Its id names the task (`t[id]`) and is `{item}` in paths: the scalar as written in
 * the YAML (`0.10` stays `0.10`, `023523` keeps its zero). Its value is what YAML read: the id for a string, else a
 * finite number or a boolean, which a param written as exactly `"{item}"` gets, and the task's `ctx.item.data`.
 */
export interface ListItem {
  id: string;
  value: string | number | boolean;
  span?: SourceSpan;
  /**
   * The target's params for this item ({item} substituted), as its step's validateParams normalised them; set when
   * the params hold {item} and the step validates (else expansion substitutes the target's params).
   */
  params?: Record<string, unknown>;
}

/** How a target fans out into tasks. */
export type ForeachSpec =
  | { kind: 'list'; items: ListItem[]; span?: SourceSpan }
  | { kind: 'glob'; pattern: string; span?: SourceSpan }
  /** One task per item that an upstream task lists in its items output (dynamic fan-out). */
  | { kind: 'items'; target: string; span?: SourceSpan };

/** A validated target of a pipeline. */
export interface Target {
  name: string;
  /** Registered step name (e.g. 'astro.reduce_observation'), a module path, or 'command'. */
  step: string;
  /** Absolute path of the step's module (undefined for the built-in `command` step). */
  stepModule?: string;
  /** For command steps: the program and its argument array (never a shell string). */
  command?: string[];
  inputs: Record<string, InputSpec[]>;
  /** Resolved parameters (after ${config...} substitution and --param overrides). */
  params: Record<string, unknown>;
  /** Output paths relative to the workspace; may contain `{item}`. */
  outputs: Record<string, string>;
  /** Extra ordering-only dependencies. */
  needs: string[];
  /** Targets built and delivered with this one, without ordering (`with:`). */
  with: string[];
  foreach?: ForeachSpec;
  /** Environment variables visible to the step (and entering the key). */
  env: string[];
  resources: Resources;
  executor?: 'local' | 'process' | 'slurm';
  /** What the target makes, in the author's words (`description:`): `pipe targets` lists it. */
  description?: string;
  span?: SourceSpan;
}

export interface Pipeline {
  /** Absolute path of the root pipe.yaml. */
  file: string;
  /** Workspace root (directory of the root pipe.yaml). */
  root: string;
  targets: Map<string, Target>;
  /** Every file the pipeline definition was read from (root, includes, config files): watched by `pipe watch`. */
  sourceFiles: string[];
  /** The `include:` globs (absolute): a new file matching one changes the pipeline (caches and watch see it). */
  includeGlobs?: string[];
  defaults: { executor?: 'local' | 'process' | 'slurm'; resources: Resources };
  /** The root file's `default:`: the targets a command that names none builds. */
  defaultTargets?: string[];
  /** Names of `default:` that are no target, with their place: an error of the commands that build the default. */
  defaultIssues?: Diagnostic[];
  /** The parameter file in use (after `--config`), if the pipeline declares one. */
  config?: { file: string; schema?: string };
  /** Errors of single targets (Diagnostic.target): a build, plan or graph of those targets fails on them. */
  deferred?: Diagnostic[];
  /**
   * Written targets that targets generated from the config replaced, and why (config/generate.ts): a command or a
   * target that names one is told why it is gone.
   */
  replacedTargets?: Record<string, string>;
  /**
   * The root file's `vars:`, the defaults of $NAME in input paths when NAME is not set (relative ones made absolute):
   * a failed build says which it used, as a user who forgot to export a variable did not mean them.
   */
  vars?: Record<string, string>;
  /**
   * Variables that start an input path and name a folder outside the workspace, with that folder (absolute): a task's
   * key names a file below it `$NAME/…` (plan/decide.ts keyPath), so that machines keeping the data in other places
   * (a CI runner's /data, a laptop's ~/gammapy-data) share cache entries, as they share the workspace's own paths.
   */
  pathRoots?: Record<string, string>;
  /** The pipeline's remote cache setting (flags and PIPE_REMOTE_CACHE* win over it; the token is never here). */
  remoteCache?: {
    url?: string;
    protocol?: 'bazel' | 'turbo';
    team?: string;
    mode?: 'read' | 'write' | 'readwrite' | 'off';
  };
}

/** One item of a fan-out: an id and the files that belong to it (hashed as the task's inputs). */
export interface TaskItem {
  id: string;
  files: string[];
  data?: unknown;
}

/** One unit of work in the expanded graph. */
export interface Task {
  /** Unique, stable id: `target` or `target[item]`. */
  id: string;
  target: string;
  item?: TaskItem;
  /** Upstream task ids whose outputs this task reads. */
  deps: string[];
  /** Input files (absolute) by input name; upstream outputs are listed with their producing task. */
  inputs: Record<string, Array<{ path: string; producer?: string }>>;
  /** Output paths (absolute, `{item}` substituted) by output name. */
  outputs: Record<string, string>;
  params: Record<string, unknown>;
}

export interface TaskGraph {
  tasks: Map<string, Task>;
  /** Targets whose fan-out is not known until an upstream task has produced its items. */
  pending: string[];
  /** The targets each pending target reads or waits for (its inputs', `foreach` items' and `needs` targets). */
  pendingFrom?: Record<string, string[]>;
  /** Problems found while expanding (duplicate item ids, two tasks writing one path); empty when fine. */
  diagnostics?: Diagnostic[];
}
