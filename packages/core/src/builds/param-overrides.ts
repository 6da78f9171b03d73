/**
 * A `--param` change without reloading the pipeline. The pipeline cache is keyed on the command line, so
 * each new value of `--param config.a.b=V` would parse, validate and glob the whole pipeline again. Most
 * such overrides only set a scalar of the config file that flows into step params through
 * `${config…}`: then the pipeline differs from a cached load of the same files only in those params.
 *
 * A full load records what that takes ({@link OverrideBase}, config/load.ts): the config file's values
 * before any override, each target's params before its step normalised them, where a whole-value
 * `${config.PATH}` in params reads the config, and which config paths anything else reads (input paths,
 * `${config…}` inside a longer string). {@link applyConfigOverrides} then re-derives only what the
 * overrides reach and re-runs the validators that could see them: the config schema (and its target
 * generator) on the whole config, and `validateParams` of the targets whose params change.
 *
 * It answers only when the full loader would accept the overrides with the same warnings; anything
 * else (an error, a key that is not an existing scalar of the config, a value this module does not read
 * exactly as YAML does, a config with aliases, targets generated from the config) is undefined, and
 * the full loader runs — so every diagnostic is the loader's own, file:line:col and all.
 * No yaml or zod here: on this path neither is loaded.
 */

import { paramsHoldItem } from '../graph/substitute.js';
import type { ParamIssue } from '../model/step.js';
import type { Pipeline, Target, TaskGraph } from '../model/types.js';
import type { StepRegistry } from '../steps/registry.js';
import { plainTask } from './pipeline-cache.js';

/** A config path (map keys; list indices as digit strings). */
export type ConfigPath = string[];

/** A whole-value `${config.PATH}` in a target's params: the param at `param` is the config subtree at `config`. */
export interface ParamReference {
  target: string;
  param: Array<string | number>;
  config: ConfigPath;
}

/** What a full load leaves for applying other `--param` overrides of config scalars (see the module comment). */
export interface OverrideBase {
  /** The config file's value as YAML reads it (doc.toJS()), before any override. */
  config: unknown;
  /** The config schema's name, when the pipeline declares one. */
  schema?: string;
  /** Issues the schema reported for the loaded config (warnings only: the load succeeded). */
  schemaIssues: ParamIssue[];
  references: ParamReference[];
  /** Config paths read elsewhere (input paths, `${config…}` inside a longer string): an override there reloads. */
  otherReads: ConfigPath[];
  /** Each target's params as substituted, before its step's validateParams (only targets with params). */
  rawParams: Record<string, Record<string, unknown>>;
  /** The overrides that load applied (all config scalars, see overridableKey). */
  applied: Record<string, string>;
}

/** `config.a.b` → ['a', 'b'] when it names an existing scalar (or null) of the config, else undefined. */
export function overridableKey(key: string, config: unknown): ConfigPath | undefined {
  const segments = key.split('.');
  if (segments[0] !== 'config' || segments.length < 2) return undefined;
  const path = segments.slice(1);
  const leaf = valueAt(config, path);
  if (!leaf.found || (leaf.value !== null && typeof leaf.value === 'object')) return undefined;
  return path;
}

/**
 * The value YAML (1.2 core schema, as the loader's parser) reads from `raw`, for the forms read here exactly:
 * plain words and numbers separated by single spaces, decimal integers and floats, booleans, null. Anything
 * else (quotes, flow collections, hex, exponents, .inf, comments…) is undefined: the loader then reads it.
 */
export function readScalar(raw: string): { value: unknown } | undefined {
  if (raw === '') return { value: '' }; // `--param k=` is the empty string (config/overrides.ts)
  if (!/^[A-Za-z0-9_.+\-/]+(?: [A-Za-z0-9_.+\-/]+)*$/.test(raw)) return undefined;
  if (raw === '-' || raw.startsWith('- ') || raw.startsWith('---') || raw.startsWith('...')) return undefined;
  if (raw.includes(' ')) return { value: raw };
  if (/^(?:null|Null|NULL)$/.test(raw)) return { value: null };
  if (/^(?:[Tt]rue|TRUE)$/.test(raw)) return { value: true };
  if (/^(?:[Ff]alse|FALSE)$/.test(raw)) return { value: false };
  if (/^[-+]?[0-9]{1,15}$/.test(raw)) return { value: Number.parseInt(raw, 10) };
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(raw)) {
    const value = Number.parseFloat(raw);
    return Number.isFinite(value) ? { value } : undefined; // 309 digits: the full load refuses it
  }
  // Other forms that start like a number or a special float (0x1f, 0o7, 1e3, .inf, .nan) are YAML's to read.
  if (/^[-+.0-9]/.test(raw)) return undefined;
  return { value: raw };
}

/** As config/overrides.ts parseValueLike: where a string was, a number or boolean stays its text. */
function overrideValue(raw: string, existing: unknown): { value: unknown } | undefined {
  const read = readScalar(raw);
  if (!read) return undefined;
  const v = read.value;
  return typeof existing === 'string' && (typeof v === 'number' || typeof v === 'boolean')
    ? { value: raw.trim() }
    : read;
}

/** Whether one path is a prefix of the other (or equal). */
function overlaps(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}

function valueAt(root: unknown, path: readonly (string | number)[]): { found: boolean; value?: unknown } {
  let v: unknown = root;
  for (const key of path) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(String(key)) || Number(key) >= v.length) return { found: false };
      v = v[Number(key)];
    } else if (v !== null && typeof v === 'object' && Object.hasOwn(v, key)) {
      v = (v as Record<string, unknown>)[String(key)];
    } else return { found: false };
  }
  return { found: true, value: v };
}

/** Set the value at an existing path (checked by valueAt before). */
function setAt(root: unknown, path: readonly (string | number)[], value: unknown): void {
  let v = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) v = v[String(key)] as Record<string, unknown>;
  v[String(path.at(-1))] = value;
}

export interface AppliedOverrides {
  pipeline: Pipeline;
  /** The override base of `pipeline` (as a load with `overrides` would keep it), for the next change. */
  base: OverrideBase;
  /** Targets whose params the overrides changed (for tests and diagnostics of this path). */
  changed: string[];
}

/**
 * The pipeline `pipeline` (loaded with `base.applied`) would be with `overrides` instead, when only config scalars
 * that reach step params differ and every validator accepts them as before; undefined when the loader must decide.
 */
export async function applyConfigOverrides(
  pipeline: Pipeline,
  base: OverrideBase,
  overrides: Record<string, string>,
  registry: Pick<StepRegistry, 'load' | 'loadConfigSchema'>,
): Promise<AppliedOverrides | undefined> {
  // Every key either load sets: one the new command line drops goes back to the file's value.
  const keys = [...new Set([...Object.keys(base.applied), ...Object.keys(overrides)])];
  const leaves: Array<{ path: ConfigPath; value: unknown }> = [];
  for (const key of keys) {
    const path = overridableKey(key, base.config);
    if (!path) return undefined;
    const original = valueAt(base.config, path).value;
    const raw = overrides[key];
    const value = raw === undefined ? { value: original } : overrideValue(raw, original);
    if (!value) return undefined;
    leaves.push({ path, value: value.value });
  }
  for (let i = 0; i < leaves.length; i++)
    for (let j = i + 1; j < leaves.length; j++)
      if (overlaps(leaves[i]!.path, leaves[j]!.path)) return undefined;
  if (leaves.some((l) => base.otherReads.some((r) => overlaps(r, l.path)))) return undefined;

  const config = structuredClone(base.config);
  for (const leaf of leaves) setAt(config, leaf.path, leaf.value);
  if (base.schema !== undefined) {
    let schema: Awaited<ReturnType<StepRegistry['loadConfigSchema']>>;
    try {
      schema = await registry.loadConfigSchema(base.schema);
    } catch {
      return undefined;
    }
    let issues: ParamIssue[];
    try {
      // Each on a copy of its own, as the loader gives each a fresh doc.toJS().
      issues = schema.validate(structuredClone(config));
      // A schema that expands this config into targets would replace the pipeline's own: the loader's case.
      const generator = (schema as { targets?: (c: unknown) => unknown }).targets;
      if (typeof generator === 'function' && generator(structuredClone(config)) !== undefined)
        return undefined;
    } catch {
      return undefined;
    }
    // The same issues as the load (so the same warnings), none of them about a value an override sets.
    if (JSON.stringify(issues) !== JSON.stringify(base.schemaIssues)) return undefined;
    if (issues.some((i) => leaves.some((l) => overlaps(i.path, l.path)))) return undefined;
  }

  const params = new Map<string, Record<string, unknown>>();
  for (const ref of base.references) {
    for (const leaf of leaves) {
      if (!overlaps(ref.config, leaf.path)) continue;
      // A reference below a scalar cannot have resolved: not a load this module knows.
      if (ref.config.length > leaf.path.length) return undefined;
      const raw = base.rawParams[ref.target];
      if (!raw) return undefined;
      if (!params.has(ref.target)) params.set(ref.target, structuredClone(raw));
      const at = [...ref.param, ...leaf.path.slice(ref.config.length)];
      const own = params.get(ref.target)!;
      if (!valueAt(own, at).found) return undefined;
      setAt(own, at, structuredClone(leaf.value));
    }
  }

  const targets = new Map(pipeline.targets);
  const rawParams = { ...base.rawParams };
  for (const [name, raw] of params) {
    rawParams[name] = structuredClone(raw);
    const target = targets.get(name);
    if (!target) return undefined;
    // A sweep's params validated per listed item are kept on the items (config/step-params.ts): the full load.
    if (target.foreach?.kind === 'list' && target.foreach.items.some((i) => i.params !== undefined))
      return undefined;
    let value: Record<string, unknown> = raw;
    if (target.stepModule !== undefined) {
      try {
        const step = await registry.load(target.stepModule);
        if (step.validateParams) {
          const result = step.validateParams(raw);
          if (!result.ok) return undefined;
          value = result.value as Record<string, unknown>;
        }
      } catch {
        return undefined;
      }
    }
    targets.set(name, { ...target, params: value } satisfies Target);
  }
  return {
    pipeline: { ...pipeline, targets },
    base: { ...base, rawParams, applied: { ...overrides } },
    changed: [...params.keys()],
  };
}

/**
 * The task graph `graph` (expanded from the pipeline before the overrides) with the params of the `changed` targets'
 * tasks from `pipeline`: what expansion gives, as params only set each task's params (graph/expand.ts), but for a
 * target whose params hold `{item}` (substituted per item): undefined then, and the graph is expanded again.
 */
export function graphWithParams(
  graph: TaskGraph,
  pipeline: Pipeline,
  changed: readonly string[],
): TaskGraph | undefined {
  const params = new Map<string, Record<string, unknown>>();
  for (const name of changed) {
    const p = pipeline.targets.get(name)?.params;
    if (!p || paramsHoldItem(p)) return undefined;
    params.set(name, p);
  }
  const tasks = new Map(graph.tasks);
  for (const [id, task] of graph.tasks) {
    const p = params.get(task.target);
    if (p) tasks.set(id, { ...plainTask(task), params: p });
  }
  return { ...graph, tasks };
}
