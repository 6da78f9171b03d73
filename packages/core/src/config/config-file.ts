/**
 * The parameter file (`config:`): loaded as YAML with its own line counter, optionally validated
 * whole by a registered config schema, and looked up by dotted paths for `${config.a.b}`.
 */
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, type Node } from 'yaml';
import { didYouMean } from '../graph/closest-names.js';
import type { ParamIssue } from '../model/step.js';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import type { StepRegistry } from '../steps/registry.js';
import { makeDiagnostic } from './diagnostics.js';
import { keyNode, nodeIn } from './schema-issues.js';
import { type ReadOptions, readSource, type SourceFile, spanAt, spanOf } from './source.js';

export interface ConfigSource {
  source: SourceFile;
  schema?: string;
  /** Told where the config is read while targets are built (config/load.ts keeps an override base with it). */
  reads?: ConfigReads;
}

export interface ConfigReads {
  /** A whole-value `${config.PATH}` at `param` of a target's params. */
  param(param: Array<string | number>, config: string[]): void;
  /** Any other read: an input path, a `${config…}` inside a longer string. */
  other(config: string[]): void;
}

/** Read and parse the parameter file; `from` is the `config:` entry that names it. */
export async function loadConfigFile(
  file: string,
  schema: string | undefined,
  from: SourceSpan | undefined,
  /** How the schema's program reads the file (ConfigSchema.read): PyYAML's last-wins duplicate keys for gammapy. */
  read: ReadOptions = {},
): Promise<{ config?: ConfigSource; diagnostics: Diagnostic[] }> {
  const { source, diagnostics } = await readSource(file, from, read);
  if (!source) return { diagnostics };
  if (source.doc.contents !== null && !isMap(source.doc.contents)) {
    diagnostics.push(
      makeDiagnostic({
        code: 'wrong-type',
        message: 'a config file must be a map of keys to values',
        at: spanOf(source, source.doc.contents),
      }),
    );
  }
  return { config: schema ? { source, schema } : { source }, diagnostics };
}

/** Result of looking up a dotted path in the config file. */
export type ConfigLookup =
  | { found: true; node: Node }
  | {
      found: false /** The segments that exist. */;
      prefix: string[] /** Keys available where the path broke off. */;
      keys: string[];
    };

/** Follow `a.b.0.c` through maps (by key) and lists (by index). */
export function lookupConfig(config: SourceFile, segments: readonly string[]): ConfigLookup {
  let node: unknown = config.doc.contents;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i]!;
    if (isAlias(node)) node = node.resolve(config.doc);
    let next: unknown;
    if (isMap(node)) next = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key)?.value;
    else if (isSeq(node) && /^\d+$/.test(key)) next = node.items[Number(key)];
    if (next === undefined) {
      return { found: false, prefix: segments.slice(0, i), keys: childKeys(node) };
    }
    node = next;
  }
  if (isAlias(node)) node = node.resolve(config.doc);
  return { found: true, node: node as Node };
}

/** A diagnostic for a config path that does not exist, with "did you mean" from the keys at that level. */
export function unknownConfigKey(
  text: string,
  lookup: Extract<ConfigLookup, { found: false }>,
  segments: readonly string[],
  at: SourceSpan | undefined,
  code = 'unknown-config-key',
  /** The config and the nodes --param set: a path an override cut short is blamed on it, not on the file. */
  overridden?: { config: SourceFile; marks: WeakMap<Node, string> },
): Diagnostic {
  const missing = segments[lookup.prefix.length]!;
  const where = lookup.prefix.length ? `'${lookup.prefix.join('.')}'` : 'the top level';
  const cut = overridden && lookupConfig(overridden.config, lookup.prefix);
  const label = cut?.found ? overridden!.marks.get(cut.node) : undefined;
  if (label !== undefined && lookup.prefix.length > 0) {
    const value =
      cut!.found && isScalar(cut!.node) ? `the value ${JSON.stringify(cut!.node.value)}` : 'a value';
    return makeDiagnostic({
      code,
      message: `${text}: ${label} made '${lookup.prefix.join('.')}' ${value}, which has no key '${missing}'`,
      at,
      hint: `override the key itself: --param config.${segments.join('.')}=…`,
    });
  }
  return makeDiagnostic({
    code,
    message: `${text}: the config file has no key '${missing}' at ${where}`,
    at,
    hint:
      didYouMean(missing, lookup.keys) ??
      (lookup.keys.length ? `keys there: ${lookup.keys.slice(0, 12).join(', ')}` : undefined),
  });
}

/** Validate the whole config with its registered schema; issues point into the config file. */
export async function validateConfigSchema(
  config: ConfigSource,
  registry: StepRegistry,
  schemaSpan: SourceSpan | undefined,
  overrides: WeakMap<Node, string>,
  /** Given the schema's issues as it returned them (before they are filtered and placed). */
  seen?: (issues: ParamIssue[]) => void,
): Promise<Diagnostic[]> {
  if (!config.schema) return [];
  let schema: Awaited<ReturnType<StepRegistry['loadConfigSchema']>>;
  try {
    schema = await registry.loadConfigSchema(config.schema);
  } catch (error) {
    const known = registry.configSchemaNames();
    return [
      makeDiagnostic({
        code: known.includes(config.schema) ? 'schema-load-failed' : 'unknown-config-schema',
        message: (error as Error).message,
        at: schemaSpan,
        hint: didYouMean(config.schema, known),
      }),
    ];
  }
  const root = config.source.doc.contents;
  // A file whose top level is no map (a list, a bare value) is told so once, where it is read (loadConfigFile); the
  // schema's own "expected a mapping" at the same place would say it again.
  if (root !== null && root !== undefined && !isMap(root)) return [];
  const isUnknownKey = (issue: { message: string }) => issue.message.startsWith('unknown key ');
  let issues = schema.validate(config.source.doc.toJS());
  seen?.(issues);
  // A misspelt section (`dataset:`) leaves the real one to its defaults, which then fail checks of values nobody
  // wrote: with an unknown key in the file, problems of whole sections it does not have are its consequence.
  if (issues.some(isUnknownKey)) {
    const sections = new Set(childKeys(root));
    issues = issues.filter((i) => isUnknownKey(i) || i.path.length === 0 || sections.has(String(i.path[0])));
  }
  // Told apart from the values' issues: a text the config's own program reads otherwise (PyYAML's tabs, octal 010).
  const { text, tokens } = config.source;
  const textIssues = ((await schema.checkText?.(text, () => tokens)) ?? []).map((t) =>
    makeDiagnostic({
      code: t.severity === 'warning' ? 'config-setting-unused' : 'invalid-config',
      ...(t.severity ? { severity: t.severity } : {}),
      message: t.message,
      at: spanAt(config.source, t.offset, Math.max(1, t.length)),
      hint: t.hint,
    }),
  );
  return textIssues.concat(
    issues.map((issue) => {
      const valueNode = nodeIn(root, issue.path);
      // An unknown key is pointed at itself, not at the first line of its value.
      const node = isUnknownKey(issue)
        ? (keyNode(nodeIn(root, issue.path.slice(0, -1)), String(issue.path.at(-1))) ?? valueNode)
        : valueNode;
      // A key that --param added has no place in the file: its value node carries the override's text.
      const override =
        (node ? overrides.get(node) : undefined) ?? (valueNode ? overrides.get(valueNode) : undefined);
      const where = issue.path.length ? `'${issue.path.join('.')}': ` : '';
      // A file that sets nothing (empty, or only comments) has no node to point at: point at the file.
      const unset =
        root === null || root === undefined
          ? ` (${path.basename(config.source.file)} sets nothing, so the defaults apply)`
          : '';
      return makeDiagnostic({
        code: issue.severity === 'warning' ? 'config-setting-unused' : 'invalid-config',
        ...(issue.severity ? { severity: issue.severity } : {}),
        message: `${where}${issue.message}${override ? ` (value from ${override})` : unset}`,
        at: override ? undefined : (spanOf(config.source, node) ?? spanAt(config.source, 0, 1)),
        hint: issue.hint,
      });
    }),
  );
}

function childKeys(node: unknown): string[] {
  if (isMap(node)) return node.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : []));
  if (isSeq(node)) return node.items.map((_, i) => String(i));
  return [];
}
