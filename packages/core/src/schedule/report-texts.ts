/**
 * The texts of a task's report when it fails or is dropped: its reasons on one line, a missing input, an output the
 * work did not write, outputs that were not kept, an exception met while putting outputs in place.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { ExecRequest } from '../execute/executor.js';
import type { Task } from '../model/types.js';
import { type Reason, renderReason } from '../plan/reasons.js';
import { statIfThere } from '../state/hash-memo.js';

/** One line for a report's reasons. */
export function describeReasons(
  reasons: Reason[] | undefined,
  render: (r: Reason) => string = renderReason,
): string {
  // One line per task: the first reasons, then a count (`pipe plan` and `pipe why` list them all). `render`:
  // renderAlikeReason for one line of many tasks (`pipe status`'s groups).
  const all = (reasons ?? []).map(render);
  return all.length <= 3 ? all.join('; ') : `${all.slice(0, 3).join('; ')}; and ${all.length - 3} more`;
}

/**
 * What became of the outputs of a task whose result is dropped: not kept, unless its executor had already put them
 * in place (a Slurm job publishes the outputs a later job reads, under their final names, linked back to the
 * temporary ones): then they are there, but neither recorded nor cached, and the next build runs the task again.
 */
export function notKeptText(task: Task, temps: Record<string, string>): string {
  const inPlace = Object.entries(temps).some(([name, temp]) => {
    const final = task.outputs[name];
    if (!final || final === temp) return final === temp;
    const a = statSync(temp, { throwIfNoEntry: false });
    const b = statSync(final, { throwIfNoEntry: false });
    return a !== undefined && b !== undefined && a.ino === b.ino && a.dev === b.dev;
  });
  return inPlace
    ? 'its job had already put them in place (a Slurm job publishes the outputs later jobs read), where they stay, neither recorded nor cached'
    : 'they were not kept';
}

/**
 * An exception met while putting a task's outputs in place, for the task's report: a system call's error (EACCES,
 * ENOSPC, ...) by its message; anything else is a bug in pipe, shown with its stack rather than lost.
 */
export function thrownMessage(error: unknown): string {
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string')
    return error.message;
  return `internal error (a bug in pipe): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

/**
 * `input missing: PATH (INPUT)`; when something is there that cannot be read (a symlink loop, a folder, a file
 * without read permission), `input cannot be read: PATH (INPUT): what`: the user is not sent looking for a file.
 */
export function missingInputError(
  d: { path: string; input: string; why?: string },
  task?: Task,
  root = '/',
): string {
  if (d.why) return `input cannot be read: ${d.path} (${d.input}): ${d.why}`;
  // `inputs: data/{item}` under `foreach: {glob: data/*.txt}`: the item is the file's name without its extension.
  const abs = path.resolve(root, d.path);
  const file = task?.item?.files.find((f) => f.startsWith(`${abs}.`));
  const hint = file
    ? `; {item} is the name of the file it fans out over without its extension (${path.basename(file)} → ${task!.item!.id}): add the extension to the pattern (…{item}${file.slice(abs.length)})`
    : '';
  return `input missing: ${d.path} (${d.input})${hint}`;
}

/**
 * Why an output is missing when the usual cause shows: the program wrote the final path itself (pipe gives it a
 * temporary path to write, `{outputs.NAME}`, and moves that into place), or made a folder there.
 */
export function notWrittenHint(
  root: string,
  missing: { output: string; path: string },
  req: ExecRequest,
  start: Date,
): string {
  const temp = statIfThere(req.outputs[missing.output] ?? '');
  if (temp?.isDirectory()) return ': a folder was made in its place; an output must be a file';
  const final = statIfThere(path.resolve(root, missing.path));
  if (final && final.mtimeMs >= start.getTime() - 1000)
    return `: the task wrote ${missing.path} itself; write to ${outputRef(req, missing.output)}, the temporary path pipe moves into place`;
  if (req.work.kind === 'command' && !namesOutput(req.work.argv, req.outputs, missing.output))
    return `: the command never names {outputs.${missing.output}}, so the program was not told where to write it (no shell runs it: what it prints goes to the task's log); pass it as an argument`;
  if (req.work.kind === 'step') return `: the step is to write it to ${outputRef(req, missing.output)}`;
  return '';
}

/** How a task's code names an output's temporary path: `{outputs.o}` in a command's argv, `ctx.outputs.o` in a step. */
function outputRef(req: ExecRequest, output: string): string {
  if (req.work.kind === 'command') return `{outputs.${output}}`;
  return /^[A-Za-z_$][\w$]*$/.test(output)
    ? `ctx.outputs.${output}`
    : `ctx.outputs[${JSON.stringify(output)}]`;
}

/**
 * Whether a command's argv names an output, itself or through an output it is named after (`x.bam` → `x.bam.bai`:
 * the temporary paths are siblings, so a program that derives one from the other writes the declared file).
 */
function namesOutput(argv: readonly string[], temps: Record<string, string>, output: string): boolean {
  const named = (name: string) => argv.some((arg) => arg.includes(`{outputs.${name}}`));
  const temp = temps[output] ?? '';
  return Object.keys(temps).some((name) => named(name) && (name === output || temp.startsWith(temps[name]!)));
}
