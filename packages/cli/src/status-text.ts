/** `pipe status`: the lines of a build's tasks, a fan-out's alike tasks as one entry. */
import {
  cancelledBeforeStart,
  describeReasons,
  type LiveJobs,
  renderAlikeReason,
  type TaskReport,
  targetOfTaskId,
} from '@pipe/core';
import { alikeGroups, someOf } from './alike-groups.js';
import { madeInText } from './commands/made-in.js';

type Recorded = Omit<TaskReport, 'id'>;

/** The part of a task's line in parentheses: its time, executor, job, attempts, adoption. */
function extraOf(t: Recorded): string {
  return [
    t.ms !== undefined ? `${t.ms} ms` : '',
    t.executor ?? '',
    t.jobId ? `job ${t.jobId}` : '',
    // As the build's own line says it (`ran x (… ms, 2 attempts)`): a retry is worth seeing afterwards too.
    t.attempts && t.attempts > 1 ? `${t.attempts} attempts` : '',
    // Its work was a job of that build, which ended after that build's driver did (slurm/left-results.ts).
    t.adoptedFrom ? `of build ${t.adoptedFrom}, taken from its result` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The Slurm jobs of a group's tasks: the arrays their elements belong to (`2_17` is of array 2), and the other jobs.
 */
function jobsText(ids: ReadonlyArray<string | undefined>): string {
  const arrays = new Set<string>();
  const single = new Set<string>();
  for (const id of ids) {
    if (id === undefined) continue;
    const under = id.indexOf('_');
    if (under > 0) arrays.add(id.slice(0, under));
    else single.add(id);
  }
  return [
    arrays.size > 0 ? `job array${arrays.size === 1 ? '' : 's'} ${someOf([...arrays], 3)}` : '',
    single.size > 0 ? `job${single.size === 1 ? '' : 's'} ${someOf([...single], 3)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * One entry per task (state, id, time and executor, why it ran, its error, its log), except that more than five of a
 * fan-out that ended alike (ran or restored, same executor and reasons, no error or retry) are one entry with
 * their count and time span, and their Slurm jobs' arrays: a build of 5,000 files listed 10,000 lines. `all` lists each, and up-to-date tasks.
 */
export function statusTaskLines(
  tasks: Record<string, Recorded>,
  all: boolean,
  logExists: (file: string) => boolean,
): string[] {
  const groupKey = (id: string, t: Recorded): string | undefined => {
    if (all || id === targetOfTaskId(id) || (t.state !== 'ran' && t.state !== 'restored')) return undefined;
    if (t.error || (t.attempts ?? 1) > 1 || t.adoptedFrom) return undefined;
    // Restored tasks group by where their products were made (the build and machine; each has its own end).
    const made = t.madeIn ? [t.madeIn.build, t.madeIn.executor ?? '', t.madeIn.host ?? ''].join('\0') : '';
    // Alike in their reasons as the entry says them: 500 new items of a glob are one entry, not 500.
    return [
      targetOfTaskId(id),
      t.state,
      t.executor ?? '',
      describeReasons(t.reasons, renderAlikeReason),
      made,
    ].join('\0');
  };
  const grouped = alikeGroups(Object.keys(tasks), (id) => groupKey(id, tasks[id]!));
  const lines: string[] = [];
  for (const [id, t] of Object.entries(tasks)) {
    if (t.state === 'up-to-date' && !all) continue;
    const members = grouped.get(id);
    if (members) {
      if (members[0] !== id) continue;
      const times = members.map((m) => tasks[m]!.ms).filter((ms): ms is number => ms !== undefined);
      const span =
        times.length > 0
          ? `${Math.min(...times)}–${Math.max(...times)} ms each, ${(times.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s in all`
          : '';
      const named = someOf(members, 3);
      const jobs = jobsText(members.map((m) => tasks[m]!.jobId));
      lines.push(
        `${t.state.padEnd(11)} ${targetOfTaskId(id)}: ${members.length} tasks (${[span, t.executor ?? '', jobs].filter(Boolean).join(', ')}; ${named}; pipe status -a lists each)`,
      );
      const why = describeReasons(t.reasons, renderAlikeReason);
      if (why) lines.push(`            ${why}`);
      if (t.state === 'restored' && t.madeIn) {
        const { end: _end, jobId: _job, ...where } = t.madeIn;
        lines.push(`            ${madeInText(where)}`);
      }
      continue;
    }
    const extra = extraOf(t);
    // A job cancelled while it waited in the queue never ran: not started, as the counts line says.
    const state = cancelledBeforeStart(t) ? 'not-started' : t.state;
    lines.push(`${state.padEnd(11)} ${id}${extra ? ` (${extra})` : ''}`);
    const why = describeReasons(t.reasons);
    if (why) lines.push(`            ${why}`);
    // A restored task's products were made elsewhere (another workspace, a CI runner): where, as its entry said.
    if (t.state === 'restored' && t.madeIn) lines.push(`            ${madeInText(t.madeIn)}`);
    if (t.error) lines.push(`            ${t.error}`);
    // No log line for a task that never wrote one (a job sbatch refused), as the build's own report.
    if (t.state === 'failed' && t.log && logExists(t.log)) lines.push(`            log: ${t.log}`);
  }
  return lines;
}

type LiveTask = Extract<LiveJobs, { ok: true }>['tasks'][number];

/**
 * A running build's jobs as Slurm sees them now, one line each, except that more than five of a fan-out in one state
 * (and queue reason) are one entry naming its job arrays: 5,000 elements waiting for resources were 5,000 lines.
 * `all` lists each. Tasks in `recorded` (the build's record: those it saw end) are left to the record's lines.
 */
export function liveJobLines(
  jobs: readonly LiveTask[],
  all: boolean,
  recorded: Readonly<Record<string, unknown>> = {},
): string[] {
  const stateOf = (j: LiveTask) => (j.slurmState ?? j.state).toLowerCase();
  // A task the build has recorded as ended is listed with the record's lines (`ran x (… ms)`), not twice.
  const byId = new Map(jobs.filter((j) => !Object.hasOwn(recorded, j.taskId)).map((j) => [j.taskId, j]));
  const grouped = alikeGroups(byId.keys(), (id) => {
    const j = byId.get(id)!;
    if (all || id === targetOfTaskId(id) || j.detail || j.attempt > 1) return undefined;
    return [targetOfTaskId(id), stateOf(j), j.reason ?? ''].join('\0');
  });
  const lines: string[] = [];
  for (const j of byId.values()) {
    const state = stateOf(j);
    const members = grouped.get(j.taskId);
    if (members) {
      if (members[0] !== j.taskId) continue;
      const jobsOf = jobsText(members.map((m) => byId.get(m)!.job));
      lines.push(
        `${state.padEnd(11)} ${targetOfTaskId(j.taskId)}: ${members.length} tasks (slurm ${jobsOf}${j.reason ? `, ${j.reason}` : ''}; ${someOf(members, 3)}; pipe status -a lists each)`,
      );
      continue;
    }
    lines.push(
      `${state.padEnd(11)} ${j.taskId} (slurm job ${j.job}${j.attempt > 1 ? `, attempt ${j.attempt}` : ''}${j.reason ? `, ${j.reason}` : ''})`,
    );
    if (j.detail) lines.push(`            ${j.detail}`);
  }
  return lines;
}
