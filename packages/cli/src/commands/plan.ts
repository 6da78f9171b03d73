/** `pipe plan [targets...]`: what a build would do and why; runs nothing, writes nothing. */
import { type Plan, planSession, type TaskReport } from '@pipe/core/lean';
import { recordNoopSnapshot, type SnapshotSource } from '../fast-path/record.js';
import { planToJson, planToText } from '../plan-text.js';
import { targetsOrDefault } from './default-targets.js';
import { type OpenedSession, openFromCli, type SessionCliOptions } from './session.js';

export async function planCommand(
  targets: string[],
  opts: SessionCliOptions & { all?: boolean },
): Promise<number> {
  const named = await targetsOrDefault('plan', targets, opts);
  if (!named.ok) return named.code;
  const opened = await openFromCli(named.targets, opts);
  if (!opened.ok) return opened.code;
  const plan = await planSession(opened.session, undefined, true);
  const eventful = opened.info.eventful || opened.session.notes.length > 0;
  for (const note of opened.session.notes) process.stderr.write(`note: ${note}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
  else process.stdout.write(planToText(plan, opts.all ?? false));
  // Every task up to date (adopted ones too: a build would only re-record them): remember that.
  await snapshot(opened, plan, eventful);
  return 0;
}

/** Remember that this plan found everything up to date (fast-path/record.ts); a failure only costs speed. */
export async function snapshot(
  opened: Extract<OpenedSession, { ok: true }>,
  plan: Plan,
  eventful: boolean,
  reports?: Map<string, TaskReport>,
  workspace?: SnapshotSource['workspace'],
): Promise<void> {
  await recordNoopSnapshot({
    argv: process.argv,
    cwd: process.cwd(),
    env: process.env,
    startedAt: performance.timeOrigin,
    session: opened.session,
    plan,
    ...(reports ? { reports } : {}),
    ...(opened.info.hint ? { hint: opened.info.hint } : {}),
    warnings: opened.info.warnings,
    loaderEnv: opened.info.loaderEnv,
    eventful,
    ...(workspace ? { workspace } : {}),
  }).catch(() => undefined);
}
