/**
 * Input paths may name files through the config file and the environment, the way analysis configs do
 * (`datastore: $GAMMAPY_DATA/hess-dl3-dr1`):
 *   ${config.a.b}    a scalar of the config file; `${config.a.b?}` drops the input when the key is missing or null
 *   $NAME, ${NAME}   an environment variable, else the pipeline's `vars:` default
 * Only where a file is found is resolved here; what enters a task's key is the file's content and its path (relative
 * to the workspace; outside it, below the folder of the `$NAME` that started its input path: `$GAMMAPY_DATA/…`).
 */
import path from 'node:path';
import { isScalar, type Node, type Scalar } from 'yaml';
import { escapeGlob } from '../graph/items.js';
import type { Diagnostic, SourceSpan } from '../model/types.js';
import { type ConfigSource, lookupConfig, unknownConfigKey } from './config-file.js';
import { makeDiagnostic } from './diagnostics.js';
import { spanOf } from './source.js';

export interface InputPathContext {
  config: ConfigSource | undefined;
  /** The process environment (or what the caller passes instead). */
  env: Record<string, string | undefined>;
  /** `vars:` defaults of the pipeline, already absolute where they were relative paths. */
  vars: Record<string, string>;
  /**
   * The directory the command was started in: a relative path in an environment variable is relative to it, as
   * a shell user means it (`GAMMAPY_DATA=../shared/data pipe build …`), wherever the file using it lies.
   */
  cwd?: string;
  diagnostics: Diagnostic[];
  /** Config nodes set by `--param`, with the override's text (its errors name it: it has no place in a file). */
  overrides?: WeakMap<Node, string>;
  /** Filled with each variable that starts an input path and names an absolute folder: NAME → that folder. */
  roots?: Map<string, string>;
}

export type ExpandedInput =
  | { kind: 'path'; text: string; baseDir?: string; span?: SourceSpan; override?: string }
  /**
   * Dropped: an optional `${config.x?}` that is unset, or a reference reported already (the path means nothing;
   * `reported`: a variable said unset or empty, here or for another input of the same value).
   */
  | { kind: 'omit'; reported?: true };

/**
 * The variable problems already said into a load's diagnostics (by code, target, variable and place), so that one
 * value read by several inputs is said once: kept beside the list, not found again by reading its messages.
 */
const toldVariables = new WeakMap<Diagnostic[], Set<string>>();
const spanKey = (span: SourceSpan | undefined) => (span ? `${span.file}:${span.line}:${span.col}` : '');

const CONFIG_REF = /\$\{config\.([^}?]+)(\?)?\}/g;
const ENV_REF = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
/** ENV_REF, or `$$`: the escape for a literal `$`. */
const ENV_REF_OR_DOLLAR = /\$\$|\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * A config value as a pattern: the path it names taken literally (a folder `LST-1 (2021)` is not an extglob, a
 * `data[1]` not a class), its `$NAME`/`${NAME}` references kept for the expansion that follows.
 */
function escapeLiteral(value: string): string {
  let out = '';
  let last = 0;
  for (const m of value.matchAll(ENV_REF)) {
    out += escapeGlob(value.slice(last, m.index)) + m[0];
    last = (m.index as number) + m[0].length;
  }
  return out + escapeGlob(value.slice(last));
}

/** Expand one input path as written; `span` is where it was written (errors point there or into the config). */
export function expandInputPath(
  text: string,
  span: SourceSpan | undefined,
  ctx: InputPathContext,
  /** The target whose input it is: a problem of its data alone is deferred to the commands that need it. */
  target?: string,
): ExpandedInput {
  // `{params.x}` is substituted in a command's argv, not in paths: the file would be looked for under that name.
  const placeholder = /\{(?:params|inputs|outputs)\.[^}]*\}/.exec(text)?.[0];
  if (placeholder) {
    ctx.diagnostics.push(
      makeDiagnostic({
        code: 'input-placeholder',
        message: `input path '${text}' contains '${placeholder}': an input path takes {item}, \${config.a.b} and $NAME, no other placeholder`,
        at: span,
        hint: 'a value both the path and the command need belongs in the config file: ${config.a.b} in the path, {params.x} set from it',
      }),
    );
    return { kind: 'omit' };
  }
  // Snakemake's `{wildcards.sample}` (as its rules' shell commands write it): a file of that literal name would be
  // looked for, and reported missing only when a build needs it. (A bare `{sample}` is a legal file name.)
  const wildcard = /\{wildcards\.[^}]*\}/.exec(text)?.[0];
  if (wildcard) {
    ctx.diagnostics.push(
      makeDiagnostic({
        code: 'input-placeholder',
        message: `input path '${text}' contains '${wildcard}': pipe has no wildcards but a foreach target's {item}`,
        at: span,
        hint: `write {item} where '${wildcard}' is, in a target that fans out (foreach: {glob: "data/*.txt"}, a list, or {items: T})`,
      }),
    );
    return { kind: 'omit' };
  }
  if (!text.includes('$')) return { kind: 'path', text };
  const reported = ctx.diagnostics.length;
  let baseDir: string | undefined;
  let override: string | undefined;
  let originSpan = span;
  let omit = false;
  const afterConfig = text.replace(CONFIG_REF, (match, dotted: string, optional: string | undefined) => {
    if (!ctx.config) {
      ctx.diagnostics.push(
        makeDiagnostic({
          code: 'no-config',
          message: `'${match}' refers to the config file, but the pipeline declares none`,
          at: span,
          hint: 'add `config: {file: params.yaml}` at the top level of the root pipe.yaml',
        }),
      );
      return match;
    }
    const segments = dotted.split('.');
    ctx.config.reads?.other(segments);
    const lookup = lookupConfig(ctx.config.source, segments);
    const node = lookup.found ? lookup.node : undefined;
    if (!lookup.found || node === null || (isScalar(node) && node.value === null)) {
      if (optional) {
        omit = true;
        return '';
      }
      if (!lookup.found)
        ctx.diagnostics.push(
          unknownConfigKey(
            `'${match}'`,
            lookup,
            segments,
            span,
            undefined,
            ctx.overrides && { config: ctx.config.source, marks: ctx.overrides },
          ),
        );
      else
        ctx.diagnostics.push(
          makeDiagnostic({
            code: 'config-null',
            message: `'${match}' is empty in the config file`,
            at: spanOf(ctx.config.source, node),
            hint: `write '\${config.${dotted}?}' to make the input optional`,
          }),
        );
      return match;
    }
    if (!isScalar(node) || typeof (node as Scalar).value === 'object') {
      ctx.diagnostics.push(
        makeDiagnostic({
          code: 'config-not-scalar',
          message: `'${match}' is not a single value and cannot name a file`,
          at: spanOf(ctx.config.source, node),
        }),
      );
      return match;
    }
    // A relative path written in the config file is relative to the config file (one given by --param too).
    baseDir = path.dirname(ctx.config.source.file);
    override ??= ctx.overrides?.get(node as Node);
    // Point errors about the file at the config value a user edits, not at the pipeline's template.
    if (originSpan === span) originSpan = spanOf(ctx.config.source, node);
    return escapeLiteral(String((node as Scalar).value));
  });
  if (omit) return { kind: 'omit' };
  let unexpanded = false; // a $NAME left in the path, said here or for another input of the same value
  const expanded = afterConfig.replace(
    ENV_REF_OR_DOLLAR,
    (match, braced: string | undefined, bare: string | undefined, offset: number) => {
      if (match === '$$') return '$'; // a literal $ in a file name (Outer$Inner.class, $price.csv)
      const name = (braced ?? bare)!;
      const fromEnv = ctx.env[name];
      // Only a variable that starts the path names a folder (data/$RUN/x.fits takes RUN as a name).
      const value =
        offset === 0 &&
        fromEnv !== undefined &&
        ctx.cwd !== undefined &&
        fromEnv !== '' &&
        !path.isAbsolute(fromEnv)
          ? path.resolve(ctx.cwd, fromEnv)
          : (fromEnv ?? ctx.vars[name]);
      // A task's key names a file below this folder as $NAME/…, so that machines keeping the data elsewhere agree.
      if (offset === 0 && value !== undefined && path.isAbsolute(value))
        ctx.roots?.set(name, path.normalize(value).replace(/(.)\/+$/, '$1')); // GAMMAPY_DATA=/data/ is /data
      // Set but empty (`export GAMMAPY_DATA=$DATA` with DATA unset): the path would start at the file system's root,
      // '/hess-dl3-dr1', and fail as a folder that does not exist, without a word about the variable.
      // Said once per variable and place: a config value read by two inputs (a data store's two index globs) is one
      // problem.
      const told = (code: string) => {
        const key = [code, code === 'empty-variable' ? target : '', name, spanKey(originSpan)].join('\0');
        let seen = toldVariables.get(ctx.diagnostics);
        if (!seen) toldVariables.set(ctx.diagnostics, (seen = new Set()));
        if (seen.has(key)) return true;
        seen.add(key);
        return false;
      };
      if (offset === 0 && fromEnv === '' && afterConfig.length > match.length) {
        unexpanded = true;
        if (told('empty-variable')) return match;
        ctx.diagnostics.push(
          makeDiagnostic({
            ...(target !== undefined ? { target } : {}),
            code: 'empty-variable',
            message: `input path '${afterConfig}' starts with $${name}, which is set to an empty value in the environment`,
            at: originSpan,
            hint:
              ctx.vars[name] !== undefined
                ? `set ${name} to its folder, or unset it (unset ${name}) to use the root pipe.yaml's default, ${ctx.vars[name]}`
                : `set ${name} to its folder`,
          }),
        );
        return match;
      }
      if (value === undefined) {
        unexpanded = true;
        if (told('unset-variable')) return match;
        ctx.diagnostics.push(
          makeDiagnostic({
            code: 'unset-variable',
            message: `input path '${afterConfig}' uses $${name}, which is not set`,
            at: originSpan,
            hint: `set ${name} in the environment, or give it a default under 'vars:' in the root pipe.yaml ($$ is a literal $: data/$$${name}.csv)`,
          }),
        );
        return match;
      }
      return escapeGlob(value);
    },
  );
  // A reference reported above leaves '$X' in the path: checking that file too would only repeat the error.
  if (ctx.diagnostics.length > reported || unexpanded) return { kind: 'omit', reported: true };
  return {
    kind: 'path',
    text: expanded,
    ...(baseDir ? { baseDir } : {}),
    ...(originSpan ? { span: originSpan } : {}),
    ...(override ? { override } : {}),
  };
}
