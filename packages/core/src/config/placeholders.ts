/**
 * A command step's argv, checked against what the target declares. Placeholders: `{inputs.NAME}`,
 * `{outputs.NAME}`, `{params.NAME}` (dotted into a structured param) and `{item}`, substituted by the command
 * step when it runs; other braces (awk programs, JSON) are left alone. And files: a workspace file named in argv
 * (`python plot.py`) that is not an input is code the result depends on without the key knowing it.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import { didYouMean } from '../graph/closest-names.js';
import { literalPath } from '../graph/items.js';
import type { InputSpec, SourceSpan } from '../model/types.js';

const NAMESPACES = ['inputs', 'outputs', 'params'] as const;
/** `{word}` or `{word.rest}`: the forms that look like placeholders. */
const PLACEHOLDER = /\{([A-Za-z_]+)(?:\.([A-Za-z0-9_.-]+))?\}/g;

export interface Declared {
  inputs: Record<string, InputSpec[]>;
  outputs: Record<string, string>;
  params: Record<string, unknown>;
  foreach: boolean;
  /** Workspace root (argv paths are relative to it: commands run there) and the target's name, for messages. */
  root: string;
  target: string;
  /** The folder of the file that declares the target (its inputs are relative to it); the root's for pipe.yaml. */
  dir?: string;
}

type Report = (
  code: string,
  message: string,
  span: SourceSpan | undefined,
  hint?: string,
  severity?: 'warning',
) => void;

/** Report placeholders that name nothing the target declares, and workspace files the argv uses undeclared. */
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
      if (namespace === 'item' && name === 'files' && declared.foreach) continue;
      if (namespace === 'item') {
        // Only {item} (the item's id) and {item.files} are substituted: {item.id} or {item.path} would reach the
        // command as written.
        report(
          'unknown-placeholder',
          `'${text}' is not a placeholder`,
          span,
          declared.foreach
            ? "write {item} for the item's id, and {item.files} for the files an emitted item names (an argument each)"
            : '{item} exists only in foreach targets',
        );
        continue;
      }
      // An argument with spaces is program text (`python3 -c "print(f'{output}')"`), where only `${config.x}` is
      // surely meant for pipe.
      const dollar = arg[(match.index ?? 0) - 1] === '$';
      const foreign =
        dollar || !/\s/.test(arg) ? foreignPlaceholder(namespace, name, declared, dollar) : undefined;
      if (foreign) {
        report(
          'unknown-placeholder',
          foreign.message ?? `'${text}' is not a placeholder`,
          span,
          foreign.hint,
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
  checkArgvFiles(argv, declared, spanOfArg, report);
  checkShellOperators(argv, declared, spanOfArg, report);
}

/** Arguments that are a shell's redirection, pipe or list operator, and nothing else. */
const SHELL_OPERATORS = new Set(['<', '>', '>>', '2>', '2>>', '&>', '2>&1', '|', '|&', '&&', '||', ';', '&']);

/**
 * A `>`, `<` or `|` of its own in argv (a Snakemake `shell:` line split into words): no shell runs a command, so the
 * program gets it as an argument (`tr: extra operand '<'`), and what was meant for a redirect is never written.
 * A warning, not an error: a program may take such a word (`expr 3 > 2`).
 */
function checkShellOperators(
  argv: readonly string[],
  declared: Declared,
  spanOfArg: (index: number) => SourceSpan | undefined,
  report: Report,
): void {
  const at = argv.findIndex((arg, i) => i > 0 && SHELL_OPERATORS.has(arg));
  if (at < 0) return;
  const op = argv[at]!;
  report(
    'shell-operator-in-command',
    `target '${declared.target}' runs with '${op}' as an argument: no shell runs a command, so the program gets '${op}' itself, not a ${op.includes('|') ? 'pipe' : op.includes('&') || op === ';' ? 'shell list' : 'redirect'}`,
    spanOfArg(at),
    `pass the files to the program ("{inputs.NAME}", "{outputs.NAME}"); to redirect or pipe, run a shell with them as its arguments: [sh, -c, 'prog < "$1" > "$2"', sh, "{inputs.NAME}", "{outputs.NAME}"]`,
    'warning',
  );
}

/**
 * What another tool's placeholder means here, for the forms a Snakemake (or make) user writes by habit: pipe
 * substitutes none of them, so the program would get `{output}` or `${config.x}` as written (cp made a file
 * named `{output}`). Undefined for a brace pipe leaves alone (`{x}` in a Python format string).
 */
function foreignPlaceholder(
  namespace: string,
  name: string | undefined,
  declared: Declared,
  dollar: boolean,
): { message?: string; hint: string } | undefined {
  const namesOf = (kind: (typeof NAMESPACES)[number]) => Object.keys(declared[kind]);
  const one = (kind: (typeof NAMESPACES)[number]) => {
    const names = namesOf(kind);
    return names.length
      ? `name one: ${names.map((n) => `{${kind}.${n}}`).join(', ')}`
      : `the target declares no ${kind}`;
  };
  if (namespace === 'config' && name !== undefined) {
    const key = name.split('.').pop()!.replace(/\W/g, '_');
    return {
      message: `'${dollar ? '$' : ''}{config.${name}}' is not substituted in a command`,
      hint: `take it as a param, params: {${key}: "\${config.${name}}"}, and write {params.${key}}`,
    };
  }
  if (dollar) return undefined;
  if (name === undefined) {
    if (namespace === 'input' || namespace === 'inputs') return { hint: one('inputs') };
    if (namespace === 'output' || namespace === 'outputs') return { hint: one('outputs') };
    if (namespace === 'params') return { hint: one('params') };
    if (namespace === 'threads')
      return { hint: 'a command reads its CPUs from the environment variable PIPE_CPUS (resources.cpus)' };
    if (namespace === 'log')
      return { hint: "a command's stdout and stderr go to its task's log, .pipe/logs/<build>/<task>.log" };
  }
  if (namespace === 'wildcards')
    return {
      hint: declared.foreach
        ? "write {item} for the foreach item's id"
        : '{item} (the item of a foreach target) is the only wildcard',
    };
  if (namespace === 'resources' && name !== undefined)
    return {
      hint: /^(n?cpus?|threads?|cores?)(_|$)/.test(name)
        ? 'a command reads its CPUs from the environment variable PIPE_CPUS (resources.cpus)'
        : `resources are not substituted in a command (only its CPUs reach it, as PIPE_CPUS): give it the value as a param, and write {params.${name.replace(/\W/g, '_')}}`,
    };
  return undefined;
}

function checkArgvFiles(
  argv: readonly string[],
  declared: Declared,
  spanOfArg: (index: number) => SourceSpan | undefined,
  report: Report,
): void {
  const inputs = new Set(
    Object.values(declared.inputs).flatMap((specs) =>
      specs.flatMap((sp) =>
        sp.kind === 'file' ? [path.resolve(declared.root, literalPath(sp.pattern))] : [],
      ),
    ),
  );
  const outputs = new Map(
    Object.entries(declared.outputs)
      .filter(([, p]) => !p.includes('{'))
      .map(([name, p]) => [path.resolve(declared.root, p), name] as const),
  );
  argv.forEach((arg, i) => {
    // Options and placeholders aside; only what looks like a path. The program (argv[0]) is a workspace file only
    // when named by a path: a bare name is looked up on PATH.
    if (arg.startsWith('-') || arg.includes('{') || !/[./]/.test(arg)) return;
    if (i === 0 && !arg.includes('/')) return;
    const abs = path.resolve(declared.root, arg);
    const output = outputs.get(abs);
    if (output !== undefined) {
      // The final path is pipe's to fill: the program writes a temporary file, put in place once the task succeeded.
      report(
        'output-path-in-command',
        `target '${declared.target}' runs with '${arg}', its own output '${output}' by its final path: the task would fail with "output '${output}' was not written"`,
        spanOfArg(i),
        `pass '{outputs.${output}}' instead: the program then writes a temporary file that pipe puts in place when the task succeeds`,
        'warning',
      );
      return;
    }
    if (inputs.has(abs) || !abs.startsWith(`${declared.root}${path.sep}`)) return;
    if (!isFile(abs)) {
      // In an included file, a path written relative to that file's folder (as its inputs are) misses at run time.
      const beside =
        declared.dir && declared.dir !== declared.root ? path.resolve(declared.dir, arg) : undefined;
      if (beside && isFile(beside)) {
        const meant = path.relative(declared.root, beside).split(path.sep).join('/');
        report(
          'command-path-not-in-root',
          `target '${declared.target}' runs with '${arg}', but commands run in the workspace root, where there is no such file (${meant} is one)`,
          spanOfArg(i),
          `declare it as an input, relative to this file (inputs: {x: ${arg}}, then '{inputs.x}'), or write '${meant}'`,
          'warning',
        );
      }
      return;
    }
    report(
      'undeclared-command-file',
      `target '${declared.target}' runs with '${arg}', a file of the workspace that is not one of its inputs: editing it will not rerun the target`,
      spanOfArg(i),
      i === 0
        ? `declare it and run it from there: inputs: {script: ${arg}}, command: ["{inputs.script}", …]`
        : `declare it, e.g. inputs: {script: ${arg}}`,
      'warning',
    );
  });
}

/** Whether `abs` is a file; false for what cannot be one (an inline script of 300 characters: ENAMETOOLONG). */
function isFile(abs: string): boolean {
  try {
    return statSync(abs, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
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
  return spec.kind === 'file' && isDynamicPattern(spec.pattern.replaceAll('{item}', ''));
}
