/**
 * The targets of `pipe build`, `plan` and `watch` when the command line names none: the pipeline's `default:`, as
 * make builds its first goal; without one, the pipeline's targets are listed and the command is a usage error.
 */
import path from 'node:path';
import type { Diagnostic } from '@pipe/core';
import { type GlobalOptions, loadForSession, workingDir } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { refused } from './session.js';

export type TargetsResult = { ok: true; targets: string[] } | { ok: false; code: number };

export async function targetsOrDefault(
  command: 'build' | 'plan' | 'watch',
  targets: string[],
  opts: GlobalOptions & { json?: boolean; force?: Array<string | boolean> | boolean },
  /**
   * `pipe watch`'s root pipeline file: when the pipeline does not load, the `default:` its YAML declares is
   * watched (the watch reports the errors and waits for the fix), as when the targets are named.
   */
  watchedFile?: string,
): Promise<TargetsResult> {
  if (targets.length > 0) return { ok: true, targets };
  const refuse = (code: number, message: string, diagnostics: readonly Diagnostic[] = []): TargetsResult => ({
    ok: false,
    code: refused(opts.json, code, message, diagnostics),
  });
  // The pipeline cache serves this load when nothing changed; the command's own load is then served too.
  const loaded = await loadForSession(opts, []);
  if (!loaded.ok) {
    const declared = watchedFile
      ? await (await import('@pipe/core')).declaredDefaultTargets(watchedFile)
      : undefined;
    if (declared) return { ok: true, targets: declared };
    return refuse(loaded.code, loaded.message, loaded.diagnostics);
  }
  // `pipe build --force T` reads T as --force's value: a target was meant.
  const forced = Array.isArray(opts.force) ? opts.force.filter((v) => typeof v === 'string') : [];
  const forceHint = forced.map(
    (value) =>
      `hint: --force takes an optional target, so '${value}' was read as its value; write the targets first: ` +
      `pipe ${command} ${value} --force (or --force=${value} with other targets)`,
  );
  const declared = loaded.pipeline.defaultTargets ?? [];
  const issues = loaded.pipeline.defaultIssues ?? [];
  if (declared.length > 0 && issues.length > 0) {
    const { renderDiagnostics } = await import('@pipe/core');
    return refuse(EXIT_USAGE, renderDiagnostics(issues, { cwd: workingDir(opts) }), issues);
  }
  if (declared.length > 0) {
    for (const line of forceHint) process.stderr.write(`${line}\n`);
    return { ok: true, targets: [...declared] };
  }
  const file = path.relative(workingDir(opts), loaded.pipeline.file) || loaded.pipeline.file;
  const names = [...loaded.pipeline.targets.keys()];
  return refuse(
    EXIT_USAGE,
    [
      `pipe ${command}: no target given, and ${file} declares no default (add 'default: [TARGET, ...]' to it)`,
      names.length > 0
        ? `targets: ${names.join(', ')} (pipe targets says what each makes)`
        : `${file} declares no targets`,
      ...forceHint,
    ].join('\n'),
  );
}
