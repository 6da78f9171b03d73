/**
 * `pipe clean [targets...]`: take targets' products out of the workspace (all targets when none is named), where the
 * cache holds them: the next build restores them at once. An output edited since pipe wrote it, or one the cache does
 * not hold, stays and is named (core's builds/clean.ts). `-n` says what would go; `--json` prints one object.
 */
import { cleanTargets, type DepartedTask, targetOfTaskId, unknownTargetDiagnostic } from '@pipe/core/lean';
import { EXIT_BUILD_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { openFromCli, refused, type SessionCliOptions } from './session.js';

export interface CleanCliOptions extends SessionCliOptions {
  dryRun?: boolean;
}

/** At most this many paths are listed in text (all in --json). */
const LISTED = 10;

export async function cleanCommand(named: string[], opts: CleanCliOptions): Promise<number> {
  // Opened for no target: cleaning needs the records, the declarations and the cache, not a graph, and a target
  // whose input file is missing (a data store not mounted here) is still cleaned.
  const opened = await openFromCli([], opts);
  if (!opened.ok) return opened.code;
  const { pipeline } = opened.session;
  const unknown = named.filter((t) => !pipeline.targets.has(t));
  if (unknown.length > 0) {
    const diagnostics = unknown.map((t) => unknownTargetDiagnostic(pipeline, t));
    const { renderDiagnostics } = await import('@pipe/core');
    return refused(opts.json, EXIT_USAGE, renderDiagnostics(diagnostics), diagnostics);
  }
  const targets = named.length > 0 ? named : [...pipeline.targets.keys()];
  const result = await cleanTargets(opened.session, new Set(targets), opts.dryRun ? { dryRun: true } : {});
  if (!result.ok) {
    const message =
      result.reason === 'locked'
        ? `pipe clean: a build (${result.owner.buildId}, pid ${result.owner.pid} on ${result.owner.host}) is running in this workspace; clean once it has ended`
        : `pipe clean: cannot take the workspace's lock: ${result.message}`;
    return refused(opts.json, EXIT_BUILD_FAILED, message);
  }
  const removed = result.tasks.flatMap((t) => t.removed);
  const kept = result.tasks.flatMap((t) => t.kept);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ event: 'clean', dryRun: opts.dryRun === true, removed, kept, tasks: tasksWith(result.tasks) })}\n`,
    );
    return EXIT_OK;
  }
  for (const note of opened.session.notes) process.stderr.write(`note: ${note}\n`);
  if (removed.length === 0 && kept.length === 0) {
    process.stdout.write(`nothing to clean: no product of ${targetsText(targets)} is in the workspace\n`);
    return EXIT_OK;
  }
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  if (removed.length > 0)
    process.stdout.write(
      `${opts.dryRun ? 'would remove' : 'removed'} ${files(removed.length)} of ${targetsText(
        targetsOf(result.tasks, 'removed'),
      )}; the next build restores ${removed.length === 1 ? 'it' : 'them'} from the cache\n${listed(removed)}`,
    );
  // Only what a build can have back is removed: an edit of the user's, or a file the cache lost, stays.
  const modified = new Set(result.tasks.flatMap((t) => t.modified ?? []));
  const edited = kept.filter((p) => modified.has(p));
  const uncached = kept.filter((p) => !modified.has(p));
  const leave = opts.dryRun ? 'would leave' : 'left';
  if (edited.length > 0)
    process.stdout.write(
      `${leave} ${files(edited.length)} edited since pipe wrote ${edited.length === 1 ? 'it' : 'them'}\n${listed(edited)}`,
    );
  if (uncached.length > 0)
    process.stdout.write(
      `${leave} ${files(uncached.length)} the cache does not hold (a build would have to run ${
        uncached.length === 1 ? 'its task' : 'their tasks'
      } again)\n${listed(uncached)}`,
    );
  return EXIT_OK;
}

function listed(paths: string[]): string {
  const shown = paths.slice(0, LISTED).map((p) => `  ${p}\n`);
  if (paths.length > LISTED) shown.push(`  … and ${paths.length - LISTED} more (--json lists them all)\n`);
  return shown.join('');
}

/** The targets whose tasks had files `which` (in the order of the tasks). */
function targetsOf(tasks: DepartedTask[], which: 'removed' | 'kept'): string[] {
  const out = new Set<string>();
  for (const t of tasks) if (t[which].length > 0) out.add(targetOfTaskId(t.id));
  return [...out];
}

function targetsText(targets: string[]): string {
  return targets.length <= 4
    ? targets.join(', ')
    : `${targets.slice(0, 3).join(', ')} and ${targets.length - 3} more`;
}

/** The tasks that had something to remove or leave, with their paths. */
function tasksWith(tasks: DepartedTask[]): DepartedTask[] {
  return tasks.filter((t) => t.removed.length > 0 || t.kept.length > 0);
}
