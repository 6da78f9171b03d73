/**
 * Targets generated from the config file. A config schema (registered with `registerConfigSchema`) may
 * also export `targets(config)`: for a config that describes its own workflow (named steps, each making
 * and consuming products), it returns the targets of that workflow. They then take the place of the
 * templates it names (`replaces`) and of written targets reading config values the config lacks (see
 * replacedTemplates), and go through exactly the validation written targets go through.
 *
 * Generated values keep their place in the config file: a params value may be `{$config: [path, ...]}`,
 * the config's subtrees at those paths deep-merged (later wins, as gammapy's WorkflowConfig.update), built
 * from the config's own YAML nodes, so a step's param issue points at file:line:col of the value a user
 * wrote; input paths may use `${config.a.b}` as in pipe.yaml. Anything else a generator writes points at
 * the config entry named by `at`.
 */
import { isAlias, isMap, isNode, isScalar, type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Diagnostic } from '../model/types.js';
import type { StepRegistry } from '../steps/registry.js';
import type { ConfigSource } from './config-file.js';
import { lookupConfig } from './config-file.js';
import { makeDiagnostic } from './diagnostics.js';
import { TARGET_NAME_PATTERN, TargetSchema } from './schema.js';
import { nodeIn } from './schema-issues.js';
import { type SourceFile, spanOf } from './source.js';
import type { TargetSource } from './targets.js';

/** A path into the config file: map keys and list indices. */
export type ConfigPath = Array<string | number>;

/** A params value made of the config's subtrees at `paths`, deep-merged in order (later wins). */
export interface ConfigSubtrees {
  $config: ConfigPath[];
}

/** One generated target. */
export interface GeneratedTarget {
  /** Target name (letters, digits, _ . -). */
  name: string;
  /** The config entry the target comes from (e.g. ['steps', 1]): errors without a better place point there. */
  at: ConfigPath;
  /** The target in pipe.yaml's syntax; params values may be {@link ConfigSubtrees}. */
  target: Record<string, unknown>;
}

/** What a config schema's `targets(config)` returns for a config it expands. */
export interface GeneratedTargets {
  targets: GeneratedTarget[];
  /**
   * Written targets that belong to the config's plain form although they read no config value (they are
   * replaced with the targets that do): e.g. a target over a template's output that the generator makes itself.
   */
  replaces?: string[];
}

/** The optional part of a config schema module that expands a config into targets. */
export interface TargetGenerator {
  /** The config's targets, or undefined when the config is in a form the pipeline's own targets describe. */
  targets(config: unknown): GeneratedTargets | undefined;
  /**
   * Absolute paths of the modules whose code decides the generated targets: they join the pipeline's source
   * files (watched by `pipe watch`, stamped by the pipeline cache), so editing the generator reloads.
   */
  sourceFiles?: readonly string[];
}

/** The result of asking the config's schema for targets. */
export interface GenerateResult {
  /** True when the config describes its own targets (they replace the targets that read the config). */
  claimed: boolean;
  targets: TargetSource[];
  /** Written targets the generator replaces besides those reading the config (GeneratedTargets.replaces). */
  replaces: string[];
  /** The generator's own source files (see TargetGenerator.sourceFiles), when it claimed the config. */
  sourceFiles: string[];
  diagnostics: Diagnostic[];
}

/**
 * Ask the config's schema for targets. With `buildTargets` false (the config has errors, already
 * reported), only whether the schema claims the config is returned, so templates are not built against it.
 */
export async function generateTargets(
  config: ConfigSource | undefined,
  registry: StepRegistry,
  buildTargets: boolean,
): Promise<GenerateResult> {
  const none: GenerateResult = {
    claimed: false,
    targets: [],
    replaces: [],
    sourceFiles: [],
    diagnostics: [],
  };
  if (!config?.schema) return none;
  let schema: Partial<TargetGenerator>;
  try {
    schema = (await registry.loadConfigSchema(config.schema)) as Partial<TargetGenerator>;
  } catch {
    return none; // reported by validateConfigSchema
  }
  if (typeof schema.targets !== 'function') return none;
  const sourceFiles = [...(schema.sourceFiles ?? [])];
  const source = config.source;
  const topSpan = spanOf(source, source.doc.contents);
  let generated: GeneratedTargets | undefined;
  try {
    generated = schema.targets(source.doc.toJS());
  } catch (error) {
    return {
      claimed: true,
      targets: [],
      replaces: [],
      sourceFiles,
      diagnostics: [
        makeDiagnostic({
          code: 'generator-failed',
          message: `config schema '${config.schema}' failed to expand the config into targets: ${(error as Error).message}`,
          at: topSpan,
        }),
      ],
    };
  }
  if (!generated) return none;
  const replaces = Array.isArray(generated.replaces)
    ? generated.replaces.filter((r) => typeof r === 'string')
    : [];
  if (!buildTargets) return { claimed: true, targets: [], replaces, sourceFiles, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  const targets: TargetSource[] = [];
  for (const g of generated.targets) {
    const entry = nodeIn(source.doc.contents, g.at) ?? (source.doc.contents as Node);
    const keyNode = (isMap(entry) ? (entry.get('name', true) as Node | undefined) : undefined) ?? entry;
    const at = spanOf(source, entry) ?? topSpan;
    const node = toNode(g.target, source, entry.range ?? undefined);
    const js = node.toJS(source.doc) as unknown;
    const shape = TargetSchema.safeParse(js);
    if (!TARGET_NAME_PATTERN.test(g.name) || !shape.success) {
      diagnostics.push(
        makeDiagnostic({
          code: 'invalid-generated-target',
          message: `config schema '${config.schema}' generated an invalid target '${g.name}': ${
            shape.success
              ? 'bad name'
              : shape.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
          }`,
          at,
        }),
      );
      continue;
    }
    targets.push({ name: g.name, source, keyNode, node, doc: shape.data, literalParams: true });
  }
  return { claimed: true, targets, replaces, sourceFiles, diagnostics };
}

/** The `${config.a.b}` paths a written target reads; `optional` for `${config.a?}` (absent is its default). */
function configRefs(target: TargetSource): Array<{ path: string[]; optional: boolean }> {
  return [...JSON.stringify(target.doc).matchAll(/\$\{config\.([^}?]+)(\?)?\}/g)].map((m) => ({
    path: m[1]!.split('.'),
    optional: m[2] === '?',
  }));
}

/**
 * The written targets a config's generated ones replace, each with why: those the generator names in `replaces`
 * (its templates, which it makes again in the config's own form), and those that read a config value this config
 * does not have (templates of another form of the config). A target of the user's that reads values the config has
 * (the source position, say) is kept, generated targets or not.
 */
export function replacedTemplates(
  written: ReadonlyMap<string, TargetSource>,
  replaces: readonly string[] = [],
  config?: SourceFile,
  generated: readonly string[] = [],
): Map<string, string> {
  const named = new Set(replaces);
  const replaced = new Map<string, string>();
  const shown = generated.length > 8 ? [...generated.slice(0, 8), '…'] : generated;
  for (const [name, target] of written) {
    if (named.has(name)) {
      replaced.set(
        name,
        `the config generates the targets of its analysis itself${shown.length > 0 ? ` (${shown.join(', ')})` : ''}`,
      );
      continue;
    }
    const missing = configRefs(target).find(
      (r) => !r.optional && !(config && lookupConfig(config, r.path).found),
    );
    if (missing)
      replaced.set(
        name,
        `it reads \${config.${missing.path.join('.')}}, which this config, whose targets are generated from it, does not have`,
      );
  }
  return replaced;
}

type Range = [number, number, number];

/** A plain value → YAML nodes; config subtrees are the config's own nodes, new nodes get `fallback`'s place. */
function toNode(value: unknown, source: ConfigSource['source'], fallback: Range | undefined): Node {
  if (isNode(value)) return value;
  if (isSubtrees(value)) return mergedSubtrees(value.$config, source, fallback);
  let node: Node;
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const v of value) seq.items.push(toNode(v, source, fallback));
    node = seq;
  } else if (typeof value === 'object' && value !== null) {
    const map = new YAMLMap();
    for (const [k, v] of Object.entries(value)) {
      map.items.push(new Pair(placed(new Scalar(k), fallback), toNode(v, source, fallback)));
    }
    node = map;
  } else {
    node = new Scalar(value);
  }
  return placed(node, fallback);
}

function isSubtrees(value: unknown): value is ConfigSubtrees {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    Array.isArray((value as ConfigSubtrees).$config)
  );
}

function mergedSubtrees(
  paths: ConfigPath[],
  source: ConfigSource['source'],
  fallback: Range | undefined,
): Node {
  const nodes: Node[] = [];
  for (const p of paths) {
    const found = lookupConfig(source, p.map(String));
    if (found.found && found.node) nodes.push(found.node);
  }
  return nodes.length === 0 ? placed(new YAMLMap(), fallback) : merge(nodes, source);
}

/** Deep merge of config nodes (later wins; a map merges into a map, anything else replaces). */
function merge(nodes: Node[], source: ConfigSource['source']): Node {
  const resolved = nodes.map((n) => (isAlias(n) ? (n.resolve(source.doc) as Node) : n));
  let start = 0;
  for (let i = 0; i < resolved.length; i++) if (!isMap(resolved[i])) start = i;
  const tail = resolved.slice(start);
  if (!isMap(tail[tail.length - 1])) return tail[tail.length - 1]!;
  const maps = tail.filter(isMap) as YAMLMap[];
  if (maps.length === 1) return maps[0]!;
  const out = new YAMLMap();
  out.range = maps[maps.length - 1]!.range ?? null; // a merged section points at the override
  const keys = new Map<string, Node>();
  for (const m of maps)
    for (const pair of m.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!keys.has(key)) keys.set(key, pair.key as Node);
    }
  for (const [key, keyNode] of keys) {
    const values = maps.flatMap((m) => {
      const pair = m.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key);
      return pair && pair.value !== null ? [pair.value as Node] : [];
    });
    if (values.length > 0) out.items.push(new Pair(keyNode, merge(values, source)));
  }
  return out;
}

function placed<T extends Node>(node: T, range: Range | undefined): T {
  if (range) node.range = range;
  return node;
}
