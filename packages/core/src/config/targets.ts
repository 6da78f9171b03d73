/**
 * One target's document → a model Target: step resolution, command argv and its placeholders,
 * inputs (paths made workspace-relative), outputs, foreach, params (with ${config} substituted),
 * resources merged over the defaults. Checks that need other targets live in checks.ts.
 */
import path from 'node:path';
import { isScalar, type Node } from 'yaml';
import { didYouMean } from '../graph/closest-names.js';
import { escapeGlob } from '../graph/items.js';
import type {
  Diagnostic,
  ForeachSpec,
  InputSpec,
  ListItem,
  Pipeline,
  Resources,
  SourceSpan,
  Target,
} from '../model/types.js';
import { COMMAND_STEP, isModulePath, type StepRegistry } from '../steps/registry.js';
import type { ConfigSource } from './config-file.js';
import { makeDiagnostic } from './diagnostics.js';
import { expandInputPath } from './input-paths.js';
import { outputPathProblem } from './output-paths.js';
import { type Origin, resolveParams } from './params.js';
import { checkCommand } from './placeholders.js';
import type { InputEntryDoc, ResourcesDoc, TargetDoc } from './schema.js';
import { nodeIn } from './schema-issues.js';
import { type SourceFile, spanOf } from './source.js';

/** A target as found in a file, after its shape was validated. */
export interface TargetSource {
  name: string;
  source: SourceFile;
  keyNode: Node;
  node: Node;
  doc: TargetDoc;
  /** Params are taken as they are, without `${config...}` substitution (targets generated from the config). */
  literalParams?: boolean;
  /** Keys of a broken target read as the key they are close to (salvage.ts): the doc's key → the key written. */
  renamed?: ReadonlyMap<string, string>;
}

/** The YAML node at `path` under a target (the deepest found), through the keys written for misspelt ones. */
function targetNode(ts: TargetSource, path: readonly PropertyKey[]): Node | undefined {
  const written = path.length > 0 ? ts.renamed?.get(String(path[0])) : undefined;
  return nodeIn(ts.node, written === undefined ? path : [written, ...path.slice(1)]);
}

/** A built target plus what later checks need to point at (kept out of the model). */
export interface TargetDraft {
  target: Target;
  source: SourceFile;
  paramOrigins: Map<string, Origin>;
  /** Spans of `needs:` entries by target name. */
  needSpans: Map<string, SourceSpan | undefined>;
  /** Spans of `with:` entries by target name. */
  withSpans: Map<string, SourceSpan | undefined>;
  outputSpans: Map<string, SourceSpan | undefined>;
  stepSpan: SourceSpan | undefined;
  /** File inputs as written (before being made relative to the declaring file), to match outputs by workspace path. */
  writtenPatterns: Map<InputSpec, string>;
}

export interface BuildContext {
  root: string;
  registry: StepRegistry;
  defaults: Pipeline['defaults'];
  config: ConfigSource | undefined;
  overrides: WeakMap<Node, string>;
  /** Environment and `vars:` defaults for `$NAME` in input paths. */
  env: Record<string, string | undefined>;
  vars: Record<string, string>;
  /** Where the command was started (relative paths in environment variables are relative to it). */
  cwd: string;
  diagnostics: Diagnostic[];
  /** Filled with the variables that start input paths, and their folders (InputPathContext.roots). */
  roots?: Map<string, string>;
  /** Targets another one fans out over (`foreach: {items: T}`): their product is the item list, cached. */
  itemSources?: ReadonlySet<string>;
}

export function buildTarget(ts: TargetSource, ctx: BuildContext): TargetDraft {
  const { doc, source } = ts;
  const at = (...p: PropertyKey[]) => spanOf(source, targetNode(ts, p));
  const dir = path.dirname(source.file);
  const report = (
    code: string,
    message: string,
    span: SourceSpan | undefined,
    hint?: string,
    severity?: 'warning',
  ) =>
    ctx.diagnostics.push(
      makeDiagnostic({ code, message, at: span, hint, ...(severity ? { severity } : {}) }),
    );

  const step = resolveStep(ts, ctx, dir, report);
  // nodeIn stops at the deepest node found (for error spans); params must be exactly the `params:` node.
  const paramsNode = doc.params === undefined ? undefined : targetNode(ts, ['params']);
  const params = resolveParams(paramsNode, {
    source,
    config: ctx.config,
    overrides: ctx.overrides,
    diagnostics: ctx.diagnostics,
    substitute: !ts.literalParams,
  });

  const inputs: Record<string, InputSpec[]> = {};
  const writtenPatterns = new Map<InputSpec, string>();
  const input = (entry: InputEntryDoc, span: SourceSpan | undefined): InputSpec[] => {
    if (typeof entry !== 'string') return [inputSpec(entry, dir, ctx.root, span)];
    const expanded = expandInputPath(entry, span, ctx, ts.name);
    if (expanded.kind === 'omit') return [];
    const spec = inputSpec(expanded.text, expanded.baseDir ?? dir, ctx.root, expanded.span ?? span);
    if (expanded.override && spec.kind === 'file') spec.override = expanded.override;
    writtenPatterns.set(spec, expanded.text);
    return [spec];
  };
  if (Array.isArray(doc.inputs)) {
    inputs['default'] = doc.inputs.flatMap((e, i) => input(e, at('inputs', i)));
  } else if (doc.inputs) {
    for (const [name, value] of Object.entries(doc.inputs)) {
      inputs[name] = Array.isArray(value)
        ? value.flatMap((e, i) => input(e, at('inputs', name, i)))
        : input(value, at('inputs', name));
    }
  }

  const outputs: Record<string, string> = {};
  const outputSpans = new Map<string, SourceSpan | undefined>();
  const outputEntries = Array.isArray(doc.outputs)
    ? doc.outputs.map((p, i) => [String(i), p, at('outputs', i)] as const)
    : Object.entries(doc.outputs ?? {}).map(([name, p]) => [name, p, at('outputs', name)] as const);
  for (const [name, raw, span] of outputEntries) {
    const normal = path.posix.normalize(raw.replaceAll('\\', '/'));
    const problem = outputPathProblem(raw, normal, ts.name);
    if (problem) report(problem.code, problem.message, span, outputHint(problem, raw, dir, ctx.root));
    // Output paths are taken as written: a placeholder other than {item} would name a file literally '${…}'.
    const placeholder = /\$\{[^}]*\}|\$[A-Za-z_]\w*|\{(?!item\})[^}]*\}/.exec(normal)?.[0];
    if (placeholder) {
      report(
        'output-placeholder',
        `output '${raw}' of target '${ts.name}' contains '${placeholder}': output paths take no placeholder but {item}`,
        span,
        'write the path itself; a parameter that picks a file name belongs in params, the path in outputs',
      );
    }
    if (doc.foreach && !normal.includes('{item}')) {
      report(
        'foreach-output-without-item',
        `output '${raw}' of foreach target '${ts.name}' does not contain {item}, so all its tasks would write the same file`,
        span,
        `e.g. '${withItem(normal)}'`,
      );
    }
    if (!doc.foreach && normal.includes('{item}')) {
      report(
        'item-outside-foreach',
        `output '${raw}' uses {item}, but target '${ts.name}' has no foreach`,
        span,
      );
    }
    outputs[name] = normal;
    outputSpans.set(name, span);
  }
  // A step whose items another target fans out over makes the item list, which the cache keeps and restores.
  if (outputEntries.length === 0 && !ctx.itemSources?.has(ts.name)) {
    ctx.diagnostics.push(
      makeDiagnostic({
        code: 'no-outputs',
        severity: 'warning',
        message: `target '${ts.name}' declares no outputs: it runs again only when its inputs, params or code change, and has nothing to cache or restore`,
        hint: 'declare the files it writes under outputs: (a check that must run on every build: pipe build --force <target>)',
        at: spanOf(source, ts.keyNode),
      }),
    );
  }

  for (const [name, specs] of Object.entries(inputs)) {
    for (const spec of specs) {
      if (spec.kind === 'file' && spec.pattern.includes('{item}') && !doc.foreach) {
        report(
          'item-outside-foreach',
          `input '${name}' uses {item}, but target '${ts.name}' has no foreach`,
          spec.span,
        );
      }
    }
  }

  if (doc.command)
    checkCommand(
      doc.command,
      { inputs, outputs, params: params.value, foreach: !!doc.foreach, root: ctx.root, target: ts.name, dir },
      (i) => at('command', i),
      report,
    );

  const needSpans = new Map<string, SourceSpan | undefined>();
  (doc.needs ?? []).forEach((n, i) => {
    needSpans.set(n, at('needs', i));
  });
  const withSpans = new Map<string, SourceSpan | undefined>();
  (doc.with ?? []).forEach((n, i) => {
    withSpans.set(n, at('with', i));
  });

  const target: Target = {
    name: ts.name,
    step: step.step,
    inputs,
    params: params.value,
    outputs,
    needs: doc.needs ?? [],
    with: doc.with ?? [],
    env: doc.env ?? [],
    resources: { ...ctx.defaults.resources, ...convertResources(doc.resources) },
    span: spanOf(source, ts.keyNode),
  };
  if (step.module) target.stepModule = step.module;
  if (doc.command) target.command = doc.command;
  // A foreach glob takes `${config.a}` and `$NAME` as an input path does (a config value a literal folder in it).
  const glob =
    doc.foreach && !Array.isArray(doc.foreach) && 'glob' in doc.foreach ? doc.foreach.glob : undefined;
  const expandedGlob =
    glob?.includes('$') === true
      ? expandInputPath(glob, at('foreach', 'glob') ?? at('foreach'), ctx, ts.name)
      : undefined;
  const foreach: ForeachSpec | undefined =
    expandedGlob === undefined
      ? foreachSpec(ts, dir, ctx.root, at)
      : expandedGlob.kind === 'omit'
        ? undefined // an optional `${config.x?}` that is unset: refused below
        : {
            kind: 'glob',
            pattern: workspacePath(expandedGlob.baseDir ?? dir, expandedGlob.text, ctx.root),
            span: at('foreach'),
          };
  if (foreach) target.foreach = foreach;
  // A variable said unset or empty (deferred to the commands that need this target, when empty) is the reason: not
  // also "a config value that is unset", which named none and, not deferred, failed every command.
  if (expandedGlob?.kind === 'omit' && !expandedGlob.reported)
    // Not "no task": a typo in the key would then retire every output of the target (its tasks left the pipeline).
    report(
      'foreach-glob-unset',
      `the foreach glob of target '${ts.name}' (${glob}) names a config value that is unset: a fan-out needs its pattern`,
      at('foreach', 'glob') ?? at('foreach'),
      'set the value in the config file (an optional ${config.x?} leaves out an input, not a fan-out)',
    );
  // Only the target's own: the file's `defaults.executor` is read where the build decides, after `--executor`.
  if (doc.executor) target.executor = doc.executor;
  if (doc.description !== undefined) target.description = doc.description;
  return {
    target,
    source,
    paramOrigins: params.origins,
    needSpans,
    withSpans,
    outputSpans,
    stepSpan: step.span,
    writtenPatterns,
  };
}

function resolveStep(
  ts: TargetSource,
  ctx: BuildContext,
  dir: string,
  report: (code: string, message: string, span: SourceSpan | undefined, hint?: string) => void,
): { step: string; module?: string; span: SourceSpan | undefined } {
  const { doc } = ts;
  const span = spanOf(ts.source, targetNode(ts, ['step']) ?? ts.keyNode);
  const step = doc.step ?? (doc.command ? COMMAND_STEP : undefined);
  if (step === undefined) {
    report(
      'missing-step',
      `target '${ts.name}' has neither 'step' nor 'command'`,
      spanOf(ts.source, ts.keyNode),
      "add 'step: NAME' or 'command: [program, args...]'",
    );
    return { step: '', span };
  }
  if (step === COMMAND_STEP) {
    if (!doc.command)
      report(
        'missing-command',
        `target '${ts.name}' uses the command step but has no 'command'`,
        span,
        "add 'command: [program, args...]'",
      );
    return { step, span };
  }
  if (doc.command) {
    report(
      'command-with-step',
      `target '${ts.name}' has 'command' but its step is '${step}'`,
      spanOf(ts.source, targetNode(ts, ['command'])),
      "remove 'step' (or write 'step: command') to run the command",
    );
  }
  const module = ctx.registry.resolve(step, dir);
  if (!module) {
    report(
      'unknown-step',
      `unknown step '${step}'`,
      span,
      didYouMean(step, ctx.registry.names()) ?? stepsHint(step, ctx.registry.names()),
    );
    return { step, span };
  }
  return { step: isModulePath(step) ? module : step, module, span };
}

function inputSpec(entry: InputEntryDoc, dir: string, root: string, span: SourceSpan | undefined): InputSpec {
  if (typeof entry === 'string') return { kind: 'file', pattern: workspacePath(dir, entry, root), span };
  const spec: InputSpec = { kind: 'target', target: entry.target, span };
  if (entry.output !== undefined) spec.output = entry.output;
  if (entry.per_item) spec.perItem = true;
  return spec;
}

function foreachSpec(
  ts: TargetSource,
  dir: string,
  root: string,
  at: (...p: PropertyKey[]) => SourceSpan | undefined,
): ForeachSpec | undefined {
  const f = ts.doc.foreach;
  if (f === undefined) return undefined;
  const span = at('foreach');
  if (Array.isArray(f)) return { kind: 'list', items: f.map((value, i) => listItem(ts, value, i, at)), span };
  if ('glob' in f) return { kind: 'glob', pattern: workspacePath(dir, f.glob, root), span };
  return { kind: 'items', target: f.items, span };
}

/**
 * A `foreach` list's entry. Its id is the scalar as written (`0.10`, `1e-3`, `023523`, `True`), not the number's
 * canonical text: the files it names are those the YAML shows, and quoting a list (`"0.10"`) or unquoting it keeps
 * every task's id and outputs, so only the param's type changes.
 */
function listItem(
  ts: TargetSource,
  value: string | number | boolean,
  i: number,
  at: (...p: PropertyKey[]) => SourceSpan | undefined,
): ListItem {
  // The deepest node found: the list itself where the entry has no node of its own (a generated target).
  const node = targetNode(ts, ['foreach', i]);
  const scalar = isScalar(node) && node.value === value ? node : undefined;
  const source = (scalar as { source?: unknown } | undefined)?.source;
  const written = typeof source === 'string' && source.trim() !== '' ? source.trim() : undefined;
  const item: ListItem = { id: typeof value === 'string' ? value : (written ?? String(value)), value };
  const span = scalar ? at('foreach', i) : undefined;
  if (span) item.span = span;
  return item;
}

/**
 * An included file's inputs are relative to its folder, its outputs to the workspace root: an output written as
 * relative to the folder (`../x.txt` in `sub/`) gets the path meant.
 */
function outputHint(problem: { code: string; hint: string }, raw: string, dir: string, root: string): string {
  if (problem.code === 'output-absolute') {
    const rel = path.relative(root, raw);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
      ? `${problem.hint}: write '${rel.split(path.sep).join('/')}'`
      : problem.hint;
  }
  if (problem.code !== 'output-outside-workspace' || dir === root) return problem.hint;
  const meant = workspacePath(dir, raw, root);
  if (path.isAbsolute(meant)) return problem.hint;
  return `outputs are relative to the workspace root, not to the folder of the file declaring them (inputs are): write '${meant}'`;
}

/** A path relative to `dir` → relative to the workspace root (posix), or absolute when outside it. */
export function workspacePath(dir: string, pattern: string, root: string): string {
  // The folders are paths, not patterns: their glob characters (a workspace in `pipe (copy)`) are escaped.
  const absolute = path.resolve(escapeGlob(dir), pattern);
  const relative = path.relative(escapeGlob(root), absolute);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return absolute.split(path.sep).join('/');
  return relative.split(path.sep).join('/');
}

/** snake_case YAML → the model's Resources; a time in minutes becomes Slurm's minutes string. */
export function convertResources(doc: ResourcesDoc | undefined): Resources {
  const r: Resources = {};
  if (!doc) return r;
  if (doc.cpus !== undefined) r.cpus = doc.cpus;
  if (doc.mem !== undefined) r.mem = String(doc.mem);
  if (doc.time !== undefined) r.time = String(doc.time);
  if (doc.partition !== undefined) r.partition = doc.partition;
  if (doc.account !== undefined) r.account = doc.account;
  if (doc.retries !== undefined) r.retries = doc.retries;
  if (doc.array_throttle !== undefined) r.arrayThrottle = doc.array_throttle;
  if (doc.extra_sbatch_options !== undefined) r.extraSbatchOptions = doc.extra_sbatch_options;
  return r;
}

function withItem(p: string): string {
  const ext = path.posix.extname(p);
  return `${p.slice(0, p.length - ext.length)}_{item}${ext}`;
}

/** For an unknown step name: the registered names it starts (astro.stack → astro.stack_datasets), or them all. */
function stepsHint(step: string, names: string[]): string {
  const extending = names.filter((n) => n.startsWith(step));
  if (extending.length > 0) return `did you mean ${extending.map((n) => `'${n}'`).join(' or ')}?`;
  return names.length > 0
    ? `registered steps: ${names.join(', ')}, and command; a module path starts with ./ or ../`
    : 'module paths start with ./ or ../';
}
