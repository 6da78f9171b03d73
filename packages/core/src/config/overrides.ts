/**
 * `--param key=value` overrides. A key addresses a target's params (`stack.radius=0.2 deg`, when a target's
 * name and a dot start it; `fit.v2.p=9` for target `fit.v2`: the longest such name that has the param) or the
 * config file (`excess_map.correlation_radius=0.2 deg`, or with an explicit `config.` prefix). Values are parsed
 * as YAML. The key must already exist, so a typo is an error with "did you mean" rather than a silently unused
 * value — except `config.`-prefixed keys of a config that has a schema, which the schema then checks (a gammapy
 * config leaves most keys out). A value replacing a string stays the text given (`version=2.50` is '2.50', not 2.5),
 * as a step declaring a string expects.
 */
import { type Document, isMap, isScalar, isSeq, type Node, parse } from 'yaml';
import { closestNames } from '../graph/closest-names.js';
import type { Diagnostic } from '../model/types.js';
import type { ConfigSource } from './config-file.js';
import { lookupConfig } from './config-file.js';
import { makeDiagnostic } from './diagnostics.js';
import type { SourceFile } from './source.js';
import { numberProblem } from './source.js';

export interface OverrideScope {
  /** Each target's YAML map node and the file it is in. */
  targets: Map<string, { source: SourceFile; node: Node }>;
  config: ConfigSource | undefined;
}

/** Apply overrides in place on the YAML documents; returns the nodes they set, each with its text. */
export function applyOverrides(
  overrides: Record<string, string>,
  scope: OverrideScope,
): { diagnostics: Diagnostic[]; marks: WeakMap<Node, string> } {
  const diagnostics: Diagnostic[] = [];
  const marks = new WeakMap<Node, string>();
  for (const key of Object.keys(overrides).sort()) {
    const raw = overrides[key]!;
    const label = `--param ${key}=${raw}`;
    const problem = numberProblem(raw, parseValue(raw));
    if (problem) {
      diagnostics.push(error(problem.code, `${label}: ${problem.message}`, problem.hint));
      continue;
    }
    const segments = key.split('.');
    const head = segments[0]!;
    // `config.` names the config file; a pipeline without one may have a target called `config`, reached as usual.
    const explicitConfig =
      head === 'config' &&
      segments.length > 1 &&
      (scope.config !== undefined || !scope.targets.has('config'));
    const configSegments = explicitConfig ? segments.slice(1) : segments;
    const inConfig = scope.config ? lookupConfig(scope.config.source, configSegments).found : false;
    // Target names may hold dots (fit.v2): each target whose name and a dot start the key may be meant, the longest
    // first; one that has the param wins, and two that have it are refused (nothing on the line tells them apart).
    const candidates = explicitConfig ? [] : targetsStarting(key, scope.targets);
    const having = candidates.filter((c) => paramAt(c.params, c.path));
    if (having.length > 1) {
      diagnostics.push(
        error(
          'ambiguous-param-override',
          `${label}: '${key}' names ${having.map((c) => `param '${c.path.join('.')}' of target '${c.name}'`).join(' and ')}`,
          'a --param key cannot tell them apart: rename the param (or the target) in one of them',
        ),
      );
      continue;
    }
    const target = having[0] ?? candidates[0];

    if (target && inConfig) {
      diagnostics.push(
        error(
          'ambiguous-param-override',
          `${label}: '${target.name}' is a target and '${configSegments.join('.')}' a config key`,
          `write 'config.${key}' for the config file`,
        ),
      );
      continue;
    }
    if (target) {
      const done = setExisting(
        target.source.doc,
        target.params,
        target.path,
        raw,
        label,
        marks,
        false,
        (node) => templateTarget(node, scope.config),
      );
      if (done !== true) {
        const options = done.options.map((o) => ({ name: o.name, full: `${target.name}.${o.full}` }));
        diagnostics.push(
          unknownKey(
            label,
            `target '${target.name}' has no param '${target.path.join('.')}'`,
            done.missing,
            options,
          ),
        );
      }
      continue;
    }
    // A target's name alone (`--param report=5`): a target is not a value; its params are. (It was said that
    // 'report' is not a target, with no config file, or no config key and no target 'report'.)
    const wholeTarget = !explicitConfig && segments.length === 1 ? scope.targets.get(head) : undefined;
    if (wholeTarget && !inConfig) {
      const params = isMap(wholeTarget.node) ? wholeTarget.node.get('params', true) : undefined;
      const names = isMap(params)
        ? params.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key))
        : [];
      diagnostics.push(
        error(
          'unknown-param-override',
          `${label}: '${head}' is a target, not a param: name one of its params`,
          names.length > 0
            ? `${names
                .slice(0, 3)
                .map((n) => `--param ${head}.${n}=…`)
                .join(' or ')}`
            : `target '${head}' has no params`,
        ),
      );
      continue;
    }
    if (scope.config) {
      // A config validated by a schema may be given keys it leaves out (gammapy's defaults): the schema then
      // checks them, typos included ("did you mean"). Without a schema, only existing keys can be set.
      const create = explicitConfig && scope.config.schema !== undefined;
      const done = setExisting(
        scope.config.source.doc,
        scope.config.source.doc.contents as Node,
        configSegments,
        raw,
        label,
        marks,
        create,
      );
      if (done === true) continue;
      const message = explicitConfig
        ? `no config key '${configSegments.join('.')}'`
        : `no config key '${configSegments.join('.')}' and no target '${head}'`;
      const options = explicitConfig
        ? done.options.map((o) => ({ name: o.name, full: `config.${o.full}` }))
        : done.options;
      if (!explicitConfig && done.missing === head) {
        const rest = segments.slice(1).join('.');
        for (const t of scope.targets.keys()) options.push({ name: t, full: rest ? `${t}.${rest}` : t });
      }
      diagnostics.push(
        unknownKey(
          label,
          message,
          done.missing,
          options,
          explicitConfig ? [] : paramOwners(segments, scope.targets),
        ),
      );
      continue;
    }
    diagnostics.push(
      unknownKey(
        label,
        `'${head}' is not a target (and the pipeline has no config file)`,
        head,
        [...scope.targets.keys()].map((t) => ({ name: t, full: [t, ...segments.slice(1)].join('.') })),
        paramOwners(segments, scope.targets),
      ),
    );
  }
  return { diagnostics, marks };
}

/** The targets whose name and a dot start `key`, longest name first, each with its params node and the param path. */
function targetsStarting(
  key: string,
  targets: OverrideScope['targets'],
): Array<{ name: string; source: SourceFile; params: Node | undefined; path: string[] }> {
  return [...targets]
    .filter(([name]) => key.startsWith(`${name}.`))
    .sort(([a], [b]) => b.length - a.length)
    .map(([name, t]) => ({
      name,
      source: t.source,
      params: isMap(t.node) ? (t.node.get('params', true) as Node | undefined) : undefined,
      path: key.slice(name.length + 1).split('.'),
    }));
}

/** Whether `path` names a value under `root` (map keys, list indices). */
function paramAt(root: Node | undefined, path: string[]): boolean {
  let node: unknown = root;
  for (const key of path) {
    if (isMap(node)) node = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key)?.value;
    else if (isSeq(node) && /^\d+$/.test(key)) node = node.items[Number(key)];
    else return false;
    if (node === undefined) return false;
  }
  return true;
}

/** Replace the value at `path` under `root`; returns true, or the segment that is missing and full keys there. */
function setExisting(
  doc: Document,
  root: Node | undefined,
  path: string[],
  raw: string,
  label: string,
  marks: WeakMap<Node, string>,
  create = false,
  /** The node whose type the value takes, for the node it replaces (default: that node). */
  like: (node: unknown) => unknown = (node) => node,
): true | { missing: string; options: Option[] } {
  let parent: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair && create) {
        // The missing part of the path as nested maps around the value, every node of it marked as the override's.
        const value = path.slice(i + 1).reduceRight<unknown>((inner, k) => ({ [k]: inner }), parseValue(raw));
        const node = doc.createNode(value) as Node;
        markAll(node, label, marks);
        parent.items.push(doc.createPair(key, node));
        return true;
      }
      if (!pair)
        return prefixed(
          path,
          i,
          parent.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : [])),
        );
      if (last) {
        pair.value = mark(doc.createNode(parseValueLike(raw, like(pair.value))), label, marks);
        return true;
      }
      parent = pair.value;
    } else if (isSeq(parent) && /^\d+$/.test(key) && Number(key) < parent.items.length) {
      if (last) {
        const index = Number(key);
        parent.items[index] = mark(
          doc.createNode(parseValueLike(raw, like(parent.items[index]))),
          label,
          marks,
        );
        return true;
      }
      parent = parent.items[Number(key)];
    } else {
      return prefixed(path, i, []);
    }
  }
  return { missing: '', options: [] };
}

/**
 * For a param written as a whole `${config.a.b}`, the config node it stands for: `--param t.p=7` then gives the
 * type `--param config.a.b=7` gives (a number where the config has one), not the string the template is.
 */
function templateTarget(node: unknown, config: ConfigSource | undefined): unknown {
  if (!config || !isScalar(node) || typeof node.value !== 'string') return node;
  const path = /^\$\{config\.([^}?]+)\??\}$/.exec(node.value)?.[1];
  const found = path === undefined ? undefined : lookupConfig(config.source, path.split('.'));
  return found?.found ? found.node : node;
}

/** Mark a created node and everything under it as set by `label`. */
function markAll(node: unknown, label: string, marks: WeakMap<Node, string>): void {
  if (isMap(node) || isSeq(node)) {
    marks.set(node, label);
    for (const item of node.items)
      markAll(isMap(node) ? (item as { value: unknown }).value : item, label, marks);
  } else if (node && typeof node === 'object') marks.set(node as Node, label);
}

/** The missing segment and the full keys next to it, e.g. 'geom.width' when 'geom.widht' was given. */
function prefixed(path: string[], depth: number, keys: string[]): { missing: string; options: Option[] } {
  const prefix = path.slice(0, depth);
  return { missing: path[depth]!, options: keys.map((k) => ({ name: k, full: [...prefix, k].join('.') })) };
}

/** A key that exists where the given one broke off: its own name and the full key to suggest. */
interface Option {
  name: string;
  full: string;
}

function mark(node: Node, label: string, marks: WeakMap<Node, string>): Node {
  marks.set(node, label);
  return node;
}

/** YAML scalars: `3` → 3, `true` → true, `0.2 deg` → '0.2 deg'; what does not parse stays a string. */
function parseValue(raw: string): unknown {
  // `--param k=` is the empty string: YAML reads an empty value as null, which a command's argv would show as 'null'
  // (null itself is `k=null` or `k=~`).
  if (raw.trim() === '') return '';
  try {
    return parse(raw);
  } catch {
    return raw;
  }
}

/**
 * The override's value where it replaces `existing`: where a string was, a number or boolean stays its text (YAML
 * would read '2.50' as 2.5, '1.10' as 1.1); null and lists or maps are still what YAML reads. A whole `"{item}"` is
 * not a string: it stands for the item's value, a number in a sweep over numbers, so the override is what YAML reads.
 */
function parseValueLike(raw: string, existing: unknown): unknown {
  const value = parseValue(raw);
  const wasString = isScalar(existing) && typeof existing.value === 'string' && existing.value !== '{item}';
  return wasString && (typeof value === 'number' || typeof value === 'boolean') ? raw.trim() : value;
}

/** `T.key` for each target T that has the param `key` (a key given without its target: `gain=3`). */
function paramOwners(segments: string[], targets: OverrideScope['targets']): string[] {
  return [...targets]
    .filter(([, t]) => isMap(t.node) && paramAt(t.node.get('params', true) as Node | undefined, segments))
    .map(([name]) => `${name}.${segments.join('.')}`);
}

/** Suggests `exact` keys, then the full keys of the options whose name is close to the missing segment. */
function unknownKey(
  label: string,
  message: string,
  missing: string,
  options: Option[],
  exact: string[] = [],
): Diagnostic {
  const close = new Set(
    closestNames(
      missing,
      options.map((o) => o.name),
    ),
  );
  const full = [...exact, ...options.filter((o) => close.has(o.name)).map((o) => o.full)].slice(0, 3);
  return error(
    'unknown-param-override',
    `${label}: ${message}`,
    full.length ? `did you mean ${full.map((c) => `'${c}'`).join(' or ')}?` : undefined,
  );
}

function error(code: string, message: string, hint?: string): Diagnostic {
  return makeDiagnostic({ code, message, at: undefined, hint });
}
