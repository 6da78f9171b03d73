/**
 * Zod issues → diagnostics at the YAML node they concern: unknown keys with "did you mean", wrong
 * types ("expected string, got list"), bad formats. Unions are unwrapped to the branch that fits the
 * value's type, so an error inside an input entry points at that entry, not at `inputs:`.
 */
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { didYouMean } from '../graph/closest-names.js';
import type { Diagnostic } from '../model/types.js';
import { makeDiagnostic } from './diagnostics.js';
import { type SourceFile, spanOf } from './source.js';

type Path = PropertyKey[];
type Issue = z.core.$ZodIssue;

/**
 * Validate the part of a document at `at` (e.g. ['targets', 'stack']) against `schema`; problems
 * become diagnostics at the nodes they concern.
 */
export function validateShape<T>(
  source: SourceFile,
  schema: z.ZodType<T>,
  root: unknown,
  at: readonly PropertyKey[] = [],
): { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] } {
  const value = valueAt(root, at);
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const diagnostics: Diagnostic[] = [];
  for (const issue of flattenUnions(result.error.issues, [], value)) {
    diagnostics.push(...issueDiagnostics(source, schema, root, at, issue));
  }
  return { ok: false, diagnostics };
}

/**
 * Replace each union issue by the issues of the one branch whose type matched, when there is one.
 * When several object branches fit (`foreach: {globb: x}` fits neither {glob} nor {items}), report the
 * keys none of them knows, so the user gets "unknown key 'globb', did you mean 'glob'?".
 */
function flattenUnions(issues: readonly Issue[], prefix: Path, root: unknown): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union') {
      out.push({ ...issue, path } as Issue);
      continue;
    }
    const fitting = issue.errors.filter(
      (branch) => !branch.every((b) => b.code === 'invalid_type' && b.path.length === 0),
    );
    if (fitting.length === 1) {
      out.push(...flattenUnions(fitting[0]!, path, root));
      continue;
    }
    const unknownToAll = keysUnknownToAll(fitting);
    if (unknownToAll.length > 0)
      out.push({
        code: 'unrecognized_keys',
        keys: unknownToAll,
        path,
        // With branches of other types (foreach's list), the object branches' keys are not all it takes: the
        // union's own message says what is.
        message: '',
        union: fitting.length < issue.errors.length ? issue.message : undefined,
        input: undefined,
      } as Issue);
    else out.push({ ...issue, path } as Issue);
  }
  return out;
}

/** Keys that every branch reports as unrecognized at its root (empty unless all branches do). */
function keysUnknownToAll(branches: readonly (readonly Issue[])[]): string[] {
  let common: string[] | undefined;
  for (const branch of branches) {
    const keys = branch.flatMap((i) => (i.code === 'unrecognized_keys' && i.path.length === 0 ? i.keys : []));
    common = common === undefined ? keys : common.filter((k) => keys.includes(k));
  }
  return common ?? [];
}

/** A secret written into the pipeline (which is committed, and shown in errors): where it goes instead. */
function secretKeyHint(path: readonly PropertyKey[], key: string): string | undefined {
  if (path.at(-1) !== 'remote_cache' || !/token|secret|password/i.test(key)) return undefined;
  return 'a token is read from the environment only (PIPE_REMOTE_CACHE_TOKEN), never from a file that is committed; remote_cache takes url, protocol, team and mode';
}

/**
 * A Snakemake rule's keyword written in a target by habit: what pipe takes instead (the edit distance to pipe's
 * keys finds `input` → `inputs`, not these).
 */
function ruleKeywordHint(path: readonly PropertyKey[], key: string): string | undefined {
  if (path.length !== 2 || path[0] !== 'targets') return undefined;
  switch (key) {
    case 'shell':
      return "pipe runs no shell: command: [program, arg, ...] with {inputs.x}, {outputs.y} (shell syntax: [sh, -c, '...'])";
    case 'script':
      return 'name the script as an input and run it: command: [python3, "{inputs.script}", ...]';
    case 'run':
      return 'code that runs in pipe is a step module: step: ./steps/name.mjs (a default export {name, version, run})';
    case 'threads':
      return 'resources: {cpus: N}; a command reads them from the environment variable PIPE_CPUS';
    case 'log':
      return "a task's output goes to its log, .pipe/logs/<build>/<task>.log";
    default:
      return undefined;
  }
}

function issueDiagnostics(
  source: SourceFile,
  schema: z.ZodType,
  root: unknown,
  at: readonly PropertyKey[],
  issue: Issue,
): Diagnostic[] {
  const path = [...at, ...issue.path];
  const node = nodeAt(source, path);
  const where = describePath(path);
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schema, issue.path);
    return issue.keys.map((key) =>
      makeDiagnostic({
        code: 'unknown-key',
        message: `unknown key '${key}'${where ? ` in ${where}` : ''}`,
        at: spanOf(source, keyNode(node, key) ?? node),
        hint:
          secretKeyHint(path, key) ??
          ruleKeywordHint(path, key) ??
          didYouMean(key, allowed) ??
          (issue as { union?: string }).union ??
          (allowed.length ? `allowed keys: ${allowed.join(', ')}` : undefined),
      }),
    );
  }
  const value = valueAt(root, path);
  if (issue.code === 'invalid_type') {
    if (value === undefined) {
      const key = String(path[path.length - 1]);
      return [
        makeDiagnostic({
          code: 'missing-key',
          message: `missing key '${key}'${path.length > 1 ? ` in ${describePath(path.slice(0, -1))}` : ''}`,
          at: spanOf(source, nodeAt(source, path.slice(0, -1))),
        }),
      ];
    }
    if (path[path.length - 1] === 'command' && typeof value === 'string') {
      return [
        makeDiagnostic({
          code: 'command-not-array',
          message: `'command' must be a list of arguments, not a string (it is never run by a shell)`,
          at: spanOf(source, node),
          // Shell syntax (a redirection, a pipe, a variable, a glob, quotes) needs a shell: pass it to sh -c.
          hint: /[<>|&;$`*?'"()\\]/.test(value)
            ? `it uses shell syntax, so run it with a shell: [sh, -c, ${flowScalar(value.trim())}] (outputs and inputs as "$0", "$1" after it: [sh, -c, 'echo hi > "$0"', "{outputs.o}"])`
            : `write it as a list: [${value.trim().split(/\s+/).map(flowScalar).join(', ')}]`,
        }),
      ];
    }
    // `[cp, {inputs.src}]`: YAML reads an unquoted placeholder in a flow list as a map.
    const placeholder = placeholderRead(value);
    // `cpus: "2"`: a number in quotes is a string.
    const quotedNumber =
      issue.expected === 'number' &&
      typeof value === 'string' &&
      value.trim() !== '' &&
      Number.isFinite(Number(value));
    const hint = placeholder
      ? `YAML reads an unquoted {${placeholder}} as a map: quote it, "{${placeholder}}"`
      : quotedNumber
        ? `write it without quotes, as a number: ${value.trim()}`
        : issue.expected === 'string' &&
            (typeof value === 'boolean' || typeof value === 'number' || value === null) &&
            scalarText(node) !== undefined
          ? // `command: [true]`, `version: 1.10`: YAML read the word as another type (an empty item is no word).
            `YAML reads an unquoted ${JSON.stringify(scalarText(node))} as ${value === null ? 'null' : `a ${typeof value}`}: quote it, "${scalarText(node)}"`
          : undefined;
    return [
      makeDiagnostic({
        code: 'wrong-type',
        message: `${where || 'the file'}: expected ${issue.expected}, got ${describeValue(value)}`,
        at: spanOf(source, node),
        ...(hint ? { hint } : {}),
      }),
    ];
  }
  const code = issue.code === 'invalid_union' ? 'wrong-type' : 'invalid-value';
  // `foreach: "${config.samples}"`, as Snakemake's expand over a config list: not substituted there.
  const fromConfig =
    path[path.length - 1] === 'foreach' && typeof value === 'string' && value.includes('${config.')
      ? '${config…} is not substituted in foreach: list the items here, or glob their files'
      : undefined;
  // `executor: slrum`: the closest allowed value; `version: "1"`: the number it quotes.
  const closest =
    issue.code === 'invalid_value' && typeof value === 'string'
      ? issue.values.some((v) => typeof v === 'number' && String(v) === value.trim())
        ? `write it without quotes, as a number: ${value.trim()}`
        : didYouMean(
            value,
            issue.values.map((v) => String(v)),
          )
      : undefined;
  const hint = fromConfig ?? closest;
  return [
    makeDiagnostic({
      code,
      message: `${where || 'the file'}: ${issue.message}`,
      at: spanOf(source, node),
      ...(hint ? { hint } : {}),
    }),
  ];
}

/** The deepest YAML node along `path` (the parent when the path runs out, e.g. at a missing key). */
export function nodeAt(source: SourceFile, path: readonly PropertyKey[]): Node | undefined {
  return nodeIn(source.doc.contents, path);
}

/** Like nodeAt, from any node. */
export function nodeIn(start: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node: unknown = start;
  for (const key of path) {
    let next: unknown;
    if (isMap(node))
      next = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
      )?.value;
    else if (isSeq(node)) next = node.items[Number(key)];
    if (next === undefined || next === null) break;
    node = next;
  }
  return node as Node | undefined;
}

/** The key node of `key` in a YAML map, to point an unknown-key error at the key itself. */
export function keyNode(map: unknown, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair?.key as Node | undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Keys the schema allows for an object at `path` (union of all object branches that can sit there). */
function allowedKeys(schema: z.ZodType, path: Path): string[] {
  let current: z.ZodType[] = [schema];
  for (const key of path) current = current.flatMap((s) => childSchemas(s, key));
  const keys = new Set<string>();
  for (const s of current.flatMap(unwrap))
    if (s instanceof z.ZodObject) for (const k of Object.keys(s.shape)) keys.add(k);
  return [...keys];
}

function unwrap(s: z.ZodType): z.ZodType[] {
  if (s instanceof z.ZodOptional) return unwrap(s.unwrap() as z.ZodType);
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap(unwrap);
  return [s];
}

function childSchemas(schema: z.ZodType, key: PropertyKey): z.ZodType[] {
  return unwrap(schema).flatMap((s): z.ZodType[] => {
    if (s instanceof z.ZodObject) {
      const child = (s.shape as Record<string, z.ZodType>)[String(key)];
      return child ? [child] : [];
    }
    if (s instanceof z.ZodRecord) return [s.valueType as z.ZodType];
    if (s instanceof z.ZodArray && typeof key === 'number') return [s.element as z.ZodType];
    return [];
  });
}

/** `targets.stack.resources.mem` → "'mem' of target 'stack' (resources)". Kept plain: a dotted path. */
function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '';
  if (path[0] === 'targets' && path.length >= 2) {
    const rest = path.slice(2).map(String).join('.');
    return rest ? `'${rest}' of target '${String(path[1])}'` : `target '${String(path[1])}'`;
  }
  return `'${path.map(String).join('.')}'`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `string '${value.length > 40 ? `${value.slice(0, 37)}...` : value}'`;
  return `${typeof value} ${String(value)}`;
}

/** An argument as a YAML flow-list element: quoted when YAML would read it otherwise ({…}, `,`, `#`, quotes). */
function flowScalar(arg: string): string {
  return /^[\w./@%+=:-]+$/.test(arg) && !/^[?:]/.test(arg) && arg !== '-' ? arg : JSON.stringify(arg);
}

/** `{inputs.src: null}`: what YAML makes of an unquoted `{inputs.src}`; the placeholder's name, else undefined. */
function placeholderRead(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length !== 1 || entries[0]![1] !== null) return undefined;
  const name = entries[0]![0];
  return /^(item|(inputs|outputs|params)\.[\w.-]+)$/.test(name) ? name : undefined;
}

/** The text a scalar was written as (`yes`, `1.10`), when the node keeps it. */
function scalarText(node: unknown): string | undefined {
  const source = (node as { source?: unknown } | undefined)?.source;
  return typeof source === 'string' && source !== '' ? source : undefined;
}
