/**
 * Placeholders in a command step's argv: `{inputs.NAME}`, `{outputs.NAME}`, `{params.NAME}` and
 * `{item}`. They are substituted by the command step when it runs; here they are checked against
 * what the target declares. Other braces (awk programs, JSON) are left alone.
 */
import { didYouMean } from '../graph/closest-names.js';
import type { InputSpec, SourceSpan } from '../model/types.js';

const NAMESPACES = ['inputs', 'outputs', 'params'] as const;
/** `{word}` or `{word.rest}`: the forms that look like placeholders. */
const PLACEHOLDER = /\{([A-Za-z_]+)(?:\.([A-Za-z0-9_.-]+))?\}/g;

export interface Declared {
  inputs: Record<string, InputSpec[]>;
  outputs: Record<string, string>;
  params: Record<string, unknown>;
  foreach: boolean;
}

type Report = (
  code: string,
  message: string,
  span: SourceSpan | undefined,
  hint?: string,
  severity?: 'warning',
) => void;

/** Report placeholders that name nothing the target declares. */
export function checkCommand(
  argv: readonly string[],
  declared: Declared,
  spanOfArg: (index: number) => SourceSpan | undefined,
  report: Report,
): void {
  argv.forEach((arg, index) => {
    for (const match of arg.matchAll(PLACEHOLDER)) {
      const [text, namespace, name] = match as unknown as [string, string, string | undefined];
      const span = spanOfArg(index);
      if (namespace === 'item' && name === undefined) {
        if (!declared.foreach)
          report('item-outside-foreach', `'${text}' is only available in foreach targets`, span);
        continue;
      }
      if (namespace === 'item') {
        // Only {item} (the item's id) is substituted: {item.id} or {item.path} would reach the command as written.
        report(
          'unknown-placeholder',
          `'${text}' is not a placeholder`,
          span,
          declared.foreach
            ? "write {item} for the item's id; an item's files are inputs ({inputs.NAME})"
            : '{item} exists only in foreach targets',
        );
        continue;
      }
      if (name === undefined) continue;
      if (!(NAMESPACES as readonly string[]).includes(namespace)) {
        const hint = didYouMean(namespace, NAMESPACES);
        if (hint) report('unknown-placeholder', `unknown placeholder '${text}'`, span, hint);
        continue;
      }
      const head = name.split('.')[0]!;
      const names = Object.keys(declared[namespace as (typeof NAMESPACES)[number]]);
      if (namespace === 'params' && names.includes(head) && !paramAt(declared.params, name)) {
        report(
          'unknown-placeholder',
          `'${text}': param '${head}' has no value at '${name}'`,
          span,
          'a dotted name reaches into a structured param: {params.a.b} is params.a.b',
        );
        continue;
      }
      if (!names.includes(namespace === 'params' ? head : name)) {
        report(
          'unknown-placeholder',
          `'${text}': the target has no ${namespace.slice(0, -1)} named '${namespace === 'params' ? head : name}'`,
          span,
          didYouMean(name, names) ??
            (names.length ? `declared: ${names.join(', ')}` : `the target declares no ${namespace}`),
        );
      } else if (namespace === 'inputs' && arg !== text && mayBeSeveral(declared.inputs[name] ?? [])) {
        // Inside a longer argument, several files are joined with spaces: one argument a program cannot split
        // back when a path holds a space.
        report(
          'embedded-input-list',
          `'${text}' is inside '${arg}', but input '${name}' may be several files: they would be joined with spaces into one argument`,
          span,
          `give '${text}' an argument of its own (each file becomes one argument)`,
          'warning',
        );
      }
    }
  });
}

/** Whether params has a value at the dotted path (a value given by ${config…} counts: it is resolved later). */
function paramAt(params: Record<string, unknown>, dotted: string): boolean {
  let v: unknown = params;
  for (const key of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return typeof v === 'string' && v.includes('${');
    v = (v as Record<string, unknown>)[key];
  }
  return v !== undefined;
}

/** Whether an input names (or can name) more than one file: several entries, or a glob. */
function mayBeSeveral(specs: readonly InputSpec[]): boolean {
  if (specs.length !== 1) return specs.length > 1;
  const spec = specs[0]!;
  return spec.kind === 'file' && /[*?[\]{}]/.test(spec.pattern.replaceAll('{item}', ''));
}
