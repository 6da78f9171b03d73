/**
 * Target params: YAML nodes → plain values, with `${config.a.b}` substituted and the origin of
 * every value kept (a span in the pipeline file, a span in the config file, or a --param override),
 * so a step's param issue at path ['geom', 'width'] is reported at the right line and column.
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { type ConfigSource, lookupConfig, unknownConfigKey } from './config-file.js';
import { makeDiagnostic } from './diagnostics.js';
import { type SourceFile, spanAt, spanOf } from './source.js';

/** Where a value came from: a place in a file, or a `--param key=value` override. */
export type Origin = { span: SourceSpan } | { override: string };

export interface ParamsWithOrigins {
  value: Record<string, unknown>;
  /** Origins by path (segments joined with NUL). */
  origins: Map<string, Origin>;
}

export interface ParamsContext {
  source: SourceFile;
  config: ConfigSource | undefined;
  /** Nodes that --param overrides put in place, with the override text. */
  overrides: WeakMap<Node, string>;
  diagnostics: Diagnostic[];
  /** Substitute `${config...}` in string values (default true; false for values taken from the config itself). */
  substitute?: boolean;
}

/** Convert a target's `params:` map node, substituting `${config...}`. */
export function resolveParams(node: unknown, ctx: ParamsContext): ParamsWithOrigins {
  const origins = new Map<string, Origin>();
  const value = isMap(node) ? convert(node, [], ctx, ctx.source, ctx.substitute ?? true, origins) : {};
  return { value: value as Record<string, unknown>, origins };
}

/** The origin of the value at `path`, or of its nearest ancestor that has one. */
export function originOf(origins: Map<string, Origin>, path: readonly PropertyKey[]): Origin | undefined {
  for (let n = path.length; n >= 0; n--) {
    const origin = origins.get(pathKey(path.slice(0, n)));
    if (origin) return origin;
  }
  return undefined;
}

export function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join('\u0000');
}

function convert(
  node: unknown,
  path: PropertyKey[],
  ctx: ParamsContext,
  file: SourceFile,
  substitute: boolean,
  origins: Map<string, Origin>,
): unknown {
  if (isAlias(node)) return convert(node.resolve(file.doc), path, ctx, file, substitute, origins);
  const override = isNodeLike(node) ? ctx.overrides.get(node) : undefined;
  if (override) origins.set(pathKey(path), { override });
  else {
    const span = spanOf(file, node);
    if (span) origins.set(pathKey(path), { span });
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      out[key] = convert(pair.value, [...path, key], ctx, file, substitute, origins);
    }
    return out;
  }
  if (isSeq(node))
    return node.items.map((item, i) => convert(item, [...path, i], ctx, file, substitute, origins));
  if (isScalar(node)) {
    if (substitute && typeof node.value === 'string' && node.value.includes('${')) {
      return substituteScalar(node, path, ctx, origins);
    }
    return node.value;
  }
  return node ?? null;
}

/** `${config.a}` alone takes the whole subtree; inside a longer string, a scalar's text. `$${` escapes. */
function substituteScalar(
  node: Scalar,
  path: PropertyKey[],
  ctx: ParamsContext,
  origins: Map<string, Origin>,
): unknown {
  const text = node.value as string;
  const whole = /^\$\{config\.([^}?]+)(\?)?\}$/.exec(text);
  if (whole) {
    ctx.config?.reads?.param(
      path.map((k) => (typeof k === 'number' ? k : String(k))),
      whole[1]!.split('.'),
    );
    // `${config.a.b?}`: null when the config leaves the key out (a section whose defaults the step applies).
    if (whole[2] && ctx.config && !lookupConfig(ctx.config.source, whole[1]!.split('.')).found) return null;
    const resolved = resolveReference(node, whole[0], whole[1]!, ctx);
    if (!resolved || !ctx.config) return null;
    return convert(resolved, path, ctx, ctx.config.source, false, origins);
  }
  return text.replace(/\$?\$\{([^}]*)\}/g, (match: string, inner: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    if (!inner.startsWith('config.')) {
      const env = /^env\.(.+)$/.exec(inner);
      ctx.diagnostics.push(
        makeDiagnostic({
          code: env ? 'env-in-params' : 'unknown-substitution',
          message: env
            ? `'${match}': params cannot read the environment`
            : `'${match}': only \${config.PATH} is substituted in params`,
          at: referenceSpan(node, match, ctx.source),
          hint: env
            ? `list ${env[1]} under the target's env: and read it in the step (it then enters the task's key)`
            : 'write $${ for a literal ${',
        }),
      );
      return match;
    }
    ctx.config?.reads?.other(inner.slice('config.'.length).split('.'));
    const resolved = resolveReference(node, match, inner.slice('config.'.length), ctx);
    if (!resolved) return match;
    if (!isScalar(resolved)) {
      ctx.diagnostics.push(
        makeDiagnostic({
          code: 'config-not-scalar',
          message: `'${match}' is a ${isSeq(resolved) ? 'list' : 'map'} and cannot be part of a string`,
          at: referenceSpan(node, match, ctx.source),
          hint: `use '${match}' as the whole value to substitute the ${isSeq(resolved) ? 'list' : 'map'}`,
        }),
      );
      return match;
    }
    return String(resolved.value);
  });
}

function resolveReference(node: Scalar, text: string, dotted: string, ctx: ParamsContext): Node | undefined {
  const at = referenceSpan(node, text, ctx.source);
  if (!ctx.config) {
    ctx.diagnostics.push(
      makeDiagnostic({
        code: 'no-config',
        message: `'${text}' refers to the config file, but the pipeline declares none`,
        at,
        hint: 'add `config: {file: params.yaml}` at the top level of the root pipe.yaml',
      }),
    );
    return undefined;
  }
  const segments = dotted.split('.');
  const lookup = lookupConfig(ctx.config.source, segments);
  if (lookup.found) return lookup.node;
  ctx.diagnostics.push(
    unknownConfigKey(`'${text}'`, lookup, segments, at, undefined, {
      config: ctx.config.source,
      marks: ctx.overrides,
    }),
  );
  return undefined;
}

/** The span of `text` inside a scalar (so the squiggle sits under `${config.x}`, not the whole value). */
function referenceSpan(node: Scalar, text: string, source: SourceFile): SourceSpan | undefined {
  if (!node.range) return undefined;
  const [start, end] = node.range;
  const index = source.text.slice(start, end).indexOf(text);
  return index >= 0 ? spanAt(source, start + index, text.length) : spanOf(source, node);
}

function isNodeLike(node: unknown): node is Node {
  return typeof node === 'object' && node !== null;
}
