/**
 * loadPipeline: pipe.yaml (and its includes and config file) → a validated Pipeline, or every
 * problem found, each with file:line:col. Stages: read files → merge targets → config file →
 * --param overrides → targets the config's schema generates (see generate.ts) → build targets → step params →
 * cross-target checks and cycles.
 */
import path from 'node:path';
import { type Node, visit } from 'yaml';
import { type OverrideBase, overridableKey, type ParamReference } from '../builds/param-overrides.js';
import { unknownTargetHint } from '../graph/closest-names.js';
import { dependencyClosure } from '../graph/edges.js';
import { holdsItemAt } from '../graph/substitute.js';
import type { ParamIssue } from '../model/step.js';
import type { Diagnostic, Pipeline } from '../model/types.js';
import type { StepRegistry } from '../steps/registry.js';
import { checkTargets } from './checks.js';
import { type ConfigSource, loadConfigFile, validateConfigSchema } from './config-file.js';
import { findCycles } from './cycles.js';
import { formatLocation, hasErrors, makeDiagnostic, sortDiagnostics } from './diagnostics.js';
import { readPipelineFiles } from './files.js';
import { generateTargets, replacedTemplates } from './generate.js';
import type { PipelineSourceFile } from './output-paths.js';
import { applyOverrides } from './overrides.js';
import { type Origin, originOf } from './params.js';
import { displayPath } from './render.js';
import { nodeAt } from './schema-issues.js';
import { type SourceFile, spanOf } from './source.js';
import { validateStepParams } from './step-params.js';
import { buildTarget, convertResources, type TargetDraft, type TargetSource } from './targets.js';

export interface LoadOptions {
  /** Step and config-schema registry (steps are imported to validate their params). */
  registry: StepRegistry;
  /** Use this parameter file instead of the pipeline's `config.file` (`pipe build --config FILE`). */
  configFile?: string;
  /** `--param key=value` overrides: `target.param` or a config path (optionally `config.`-prefixed). */
  paramOverrides?: Record<string, string>;
  /** Base for a relative pipeline path and configFile (default: process.cwd()). */
  cwd?: string;
  /** Environment for `$NAME` in input paths (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Filled with each target's param origins (where each value was set), by target name: see locateParam. */
  paramOrigins?: Map<string, Map<string, Origin>>;
}

export type LoadResult =
  | {
      ok: true;
      pipeline: Pipeline;
      warnings: Diagnostic[];
      /** What applying other --param values of config scalars needs (builds/param-overrides.ts), when it applies. */
      overrideBase?: OverrideBase;
    }
  | {
      ok: false;
      diagnostics: Diagnostic[];
      /**
       * The diagnostics that concern a command on `targets` (none: the pipeline's `default:`): the errors of the
       * pipeline as a whole, and the errors of single targets (a missing input file) that those targets need. Absent
       * when the pipeline did not load far enough to know its targets (all diagnostics concern every command).
       */
      relevantTo?: (targets: readonly string[]) => Diagnostic[];
    };

/** Load and validate a pipeline; all problems are collected, sorted by place, and returned together. */
export async function loadPipeline(file: string, options: LoadOptions): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const rootFile = path.resolve(cwd, file);
  const root = path.dirname(rootFile);
  const diagnostics: Diagnostic[] = [];
  const finish = (pipeline?: Pipeline, overrideBase?: OverrideBase): LoadResult => {
    const sorted = sortDiagnostics(diagnostics);
    // A target's own error (an input file missing) stops only commands that need that target, as in make or
    // Snakemake; any other error stops everything.
    const deferred = sorted.filter((d) => d.severity === 'error' && d.target !== undefined);
    const rest = sorted.filter((d) => !deferred.includes(d));
    if (!pipeline || hasErrors(rest))
      return {
        ok: false,
        diagnostics: sorted,
        ...(pipeline && deferred.length > 0
          ? {
              relevantTo: (names: readonly string[]) => {
                // No target named and no default read (a top level that failed its own checks): all of them.
                const wanted = names.length > 0 ? names : pipeline.defaultTargets;
                if (!wanted) return sorted;
                const needed = dependencyClosure(pipeline.targets, wanted);
                return sorted.filter((d) => !deferred.includes(d) || needed.has(d.target as string));
              },
            }
          : {}),
      };
    if (deferred.length > 0) pipeline.deferred = deferred;
    return { ok: true, pipeline, warnings: rest, ...(overrideBase ? { overrideBase } : {}) };
  };

  const read = await readPipelineFiles(rootFile);
  diagnostics.push(...read.diagnostics);
  if (read.diagnostics.some(unparsed)) return finish();
  const rootEntry = read.files.find((f) => f.isRoot);
  if (!rootEntry) return finish();
  const top = rootEntry.top;
  const defaults: Pipeline['defaults'] = { resources: convertResources(top?.defaults?.resources) };
  if (top?.defaults?.executor) defaults.executor = top.defaults.executor;

  const targets = mergeTargets(read.targets, diagnostics);

  // The parameter file: --config replaces config.file; a schema, if named, still applies.
  const declared = typeof top?.config === 'string' ? { file: top.config } : top?.config;
  const configNode = nodeAt(rootEntry.source, ['config']);
  let config: ConfigSource | undefined;
  const generatorFiles: string[] = [];
  const configPath = options.configFile
    ? path.resolve(cwd, options.configFile)
    : declared && path.resolve(root, declared.file);
  if (configPath) {
    // A file given by --config is the command line's, not pipe.yaml's `config:` entry: no place in pipe.yaml.
    const from = options.configFile ? undefined : spanOf(rootEntry.source, configNode);
    // The schema says how its program reads the file (gammapy: PyYAML keeps a key's last value); an unknown or broken
    // schema is reported where the config is validated.
    const read = declared?.schema
      ? await options.registry.loadConfigSchema(declared.schema).then(
          (schema) => schema.read ?? {},
          () => ({}),
        )
      : {};
    const loaded = await loadConfigFile(configPath, declared?.schema, from, read);
    diagnostics.push(
      ...(options.configFile && !loaded.config
        ? loaded.diagnostics.map((d) => ({ ...d, message: `--config ${options.configFile}: ${d.message}` }))
        : loaded.diagnostics),
    );
    // Unreadable or not YAML: each config placeholder would be one more error, so this one is the only one.
    if (!loaded.config || loaded.diagnostics.some(unparsed)) return finish();
    config = loaded.config;
  }

  // The config's values before any override, for applying other values later without this load
  // (builds/param-overrides.ts); only for a plain YAML 1.2 config without aliases, whose values are its nodes'.
  const configBefore =
    config && config.source.doc.schema.name === 'core' && !hasAliases(config.source.doc)
      ? config.source.doc.toJS()
      : undefined;
  const overrides = applyOverrides(options.paramOverrides ?? {}, {
    targets: new Map([...targets].map(([name, t]) => [name, { source: t.source, node: t.node }])),
    config,
  });
  diagnostics.push(...overrides.diagnostics);
  let schemaIssues: ParamIssue[] = [];
  let claimed = false;
  /** Written targets the config's generated ones replaced, and why (said when one is asked for). */
  let replaced = new Map<string, string>();
  /** The config has errors: the targets it would generate are missing for that, which its errors already say. */
  let configBroken = false;
  if (config) {
    const schemaSpan = spanOf(rootEntry.source, nodeAt(rootEntry.source, ['config', 'schema']));
    const issues = await validateConfigSchema(
      config,
      options.registry,
      schemaSpan,
      overrides.marks,
      (raw) => {
        schemaIssues = raw;
      },
    );
    diagnostics.push(...issues);
    // A config that describes its own workflow: its targets replace those written over the config's plain form.
    configBroken = hasErrors(issues);
    const generated = await generateTargets(config, options.registry, !configBroken);
    diagnostics.push(...generated.diagnostics);
    claimed = generated.claimed;
    if (generated.claimed) {
      generatorFiles.push(...generated.sourceFiles);
      replaced = replacedTemplates(
        targets,
        generated.replaces,
        config.source,
        generated.targets.map((t) => t.name),
      );
      for (const name of replaced.keys()) targets.delete(name);
      for (const t of mergeTargets([...targets.values(), ...generated.targets], diagnostics).values())
        targets.set(t.name, t);
    }
  }

  const drafts = new Map<string, TargetDraft>();
  const context = {
    root,
    cwd,
    registry: options.registry,
    defaults,
    config,
    overrides: overrides.marks as WeakMap<Node, string>,
    env: options.env ?? process.env,
    // vars: defaults for $NAME in input paths; relative ones are relative to the root pipe.yaml.
    vars: Object.fromEntries(
      Object.entries(top?.vars ?? {}).map(([k, v]) => [k, v.startsWith('.') ? path.resolve(root, v) : v]),
    ),
    diagnostics,
    roots: new Map<string, string>(),
    itemSources: new Set(
      [...targets.values()].flatMap(({ doc }) =>
        doc.foreach && !Array.isArray(doc.foreach) && 'items' in doc.foreach ? [doc.foreach.items] : [],
      ),
    ),
  };
  const references: ParamReference[] = [];
  const otherReads: string[][] = [];
  for (const [name, source] of targets) {
    // Where this target reads the config (only recorded when an override base may be kept).
    if (config && configBefore !== undefined)
      config.reads = {
        param: (param, at) => references.push({ target: name, param, config: at }),
        other: (at) => otherReads.push(at),
      };
    drafts.set(name, buildTarget(source, context));
  }
  if (options.paramOrigins) for (const [name, d] of drafts) options.paramOrigins.set(name, d.paramOrigins);
  if (config) delete config.reads;
  // Params as substituted, before the steps normalise them (validateParams replaces them).
  const rawParams: Record<string, Record<string, unknown>> = {};
  if (configBefore !== undefined)
    for (const [name, d] of drafts)
      if (Object.keys(d.target.params).length > 0) rawParams[name] = structuredClone(d.target.params);
  diagnostics.push(...(await validateStepParams(drafts.values(), options.registry)));
  // Files no output may overwrite: the next load would read the product.
  const sources: PipelineSourceFile[] = [
    ...read.files.map((f) => ({
      file: f.source.file,
      what: f.isRoot ? 'the pipeline file' : 'an included pipeline file',
    })),
    ...(config ? [{ file: config.source.file, what: 'the config file' }] : []),
    ...(declared && options.configFile
      ? [{ file: path.resolve(root, declared.file), what: "pipe.yaml's config file" }]
      : []),
    ...generatorFiles.map((file) => ({ file, what: 'a module that generates targets from the config' })),
  ];
  // A target reading a replaced one under a broken config: a consequence of the config's errors, not said again.
  const broken = configBroken ? new Set([...read.brokenTargets, ...replaced.keys()]) : read.brokenTargets;
  diagnostics.push(...checkTargets(drafts, root, broken, sources, replaced));
  diagnostics.push(...findCycles(drafts));

  const pipeline: Pipeline = {
    file: rootFile,
    root,
    targets: new Map([...drafts].map(([name, d]) => [name, d.target])),
    sourceFiles: [
      ...read.files.map((f) => f.source.file),
      ...(config ? [config.source.file] : []),
      ...generatorFiles,
    ],
    defaults,
  };
  if (read.includeGlobs.length > 0) pipeline.includeGlobs = read.includeGlobs;
  if (replaced.size > 0) pipeline.replacedTargets = Object.fromEntries(replaced);
  if (configPath)
    pipeline.config = declared?.schema ? { file: configPath, schema: declared.schema } : { file: configPath };
  if (Object.keys(context.vars).length > 0) pipeline.vars = context.vars;
  if (context.roots.size > 0) pipeline.pathRoots = Object.fromEntries(context.roots);
  if (top?.remote_cache) pipeline.remoteCache = { ...top.remote_cache };
  if (top?.default !== undefined) {
    pipeline.defaultTargets = typeof top.default === 'string' ? [top.default] : [...top.default];
    // Reported by a command that builds the default, not by every load: a config whose own errors (or whose
    // workflow steps) leave out a generated target would otherwise fail `pipe build other` on it too.
    const issues = checkDefaultTargets(rootEntry.source, pipeline.defaultTargets, drafts);
    if (issues.length > 0) pipeline.defaultIssues = issues;
  }
  const applied = options.paramOverrides ?? {};
  const overrideBase: OverrideBase | undefined =
    configBefore !== undefined &&
    !claimed &&
    Object.keys(applied).every((key) => overridableKey(key, configBefore) !== undefined)
      ? {
          config: configBefore,
          ...(config?.schema !== undefined ? { schema: config.schema } : {}),
          schemaIssues,
          references,
          otherReads,
          rawParams,
          applied: { ...applied },
        }
      : undefined;
  return finish(pipeline, overrideBase);
}

/** Each name of `default:` is a target (generated ones count), pointed at where it is written. */
function checkDefaultTargets(
  source: SourceFile,
  names: readonly string[],
  targets: ReadonlyMap<string, unknown>,
): Diagnostic[] {
  return names.flatMap((name, i) =>
    targets.has(name)
      ? []
      : [
          makeDiagnostic({
            code: 'unknown-target',
            message: `'default' names unknown target '${name}'`,
            // `default: name` (a scalar) or one item of `default: [a, b]`.
            at: spanOf(source, nodeAt(source, ['default', i]) ?? nodeAt(source, ['default'])),
            // Nothing close (a config whose workflow steps make other targets): the ones there are, as for `pipe build X`.
            hint: unknownTargetHint(name, targets.keys()),
          }),
        ],
  );
}

function hasAliases(doc: import('yaml').Document): boolean {
  let found = false;
  visit(doc, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/** Targets of all files by name; a name declared twice is an error pointing at both. */
function mergeTargets(sources: TargetSource[], diagnostics: Diagnostic[]): Map<string, TargetSource> {
  const merged = new Map<string, TargetSource>();
  for (const t of sources) {
    const first = merged.get(t.name);
    if (!first) {
      merged.set(t.name, t);
      continue;
    }
    const firstSpan = spanOf(first.source, first.keyNode);
    diagnostics.push(
      makeDiagnostic({
        code: 'duplicate-target',
        message: `target '${t.name}' is already declared at ${formatLocation(firstSpan)}`,
        at: spanOf(t.source, t.keyNode),
        related: [{ message: `target '${t.name}' first declared here`, span: firstSpan }],
        hint: 'target names are unique across the root file and the files it includes',
      }),
    );
  }
  return merged;
}

/**
 * Where the value at `param` (a path into target `target`'s params) was set, as a phrase: `set at file:line:col` (the
 * pipeline or config file) or `set by --param key=value`; undefined when unknown. A value written with `{item}` in a
 * task of a `foreach` list (`item`: its id) was set at that item's place in the list. Loads the pipeline again (with
 * `options` as the build loaded it): called only when a step blames a param (a failure), never on the way to a build.
 */
export async function locateParam(
  file: string,
  options: LoadOptions,
  target: string,
  param: ReadonlyArray<string | number>,
  item?: string,
): Promise<string | undefined> {
  const origins = new Map<string, Map<string, Origin>>();
  const load = await loadPipeline(file, { ...options, paramOrigins: origins });
  const cwd = options.cwd ?? process.cwd();
  const t = load.ok ? load.pipeline.targets.get(target) : undefined;
  const listed =
    item !== undefined && t?.foreach?.kind === 'list' && holdsItemAt(t.params, param)
      ? t.foreach.items.find((i) => i.id === item)?.span
      : undefined;
  if (listed)
    return `set at ${formatLocation({ ...listed, file: displayPath(listed.file, cwd) })} (its foreach item)`;
  const of = origins.get(target);
  const origin = of && originOf(of, param);
  if (!origin) return undefined;
  if (!('span' in origin)) return `set by ${origin.override}`;
  const shown = displayPath(origin.span.file, cwd);
  return `set at ${formatLocation({ ...origin.span, file: shown })}`;
}

/** A file whose YAML has no values to read: a syntax error, or aliases past yaml's limit (toJS() would throw). */
const UNPARSED = new Set(['yaml-syntax', 'yaml-aliases', 'yaml-alias-unresolved', 'yaml-merge']);

function unparsed(d: Diagnostic): boolean {
  // A document whose aliases or merge keys cannot be resolved cannot be converted either (toJS() throws).
  return d.severity === 'error' && UNPARSED.has(d.code);
}
