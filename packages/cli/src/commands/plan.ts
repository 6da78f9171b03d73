/** `pipe plan <targets...>`: what a build would do and why; runs nothing, writes nothing. */
import { planSession } from '@pipe/core/lean';
import { planToJson, planToText } from '../plan-text.js';
import { openFromCli, type SessionCliOptions } from './session.js';

export async function planCommand(
  targets: string[],
  opts: SessionCliOptions & { all?: boolean },
): Promise<number> {
  const opened = await openFromCli(targets, opts);
  if (!opened.ok) return opened.code;
  const plan = await planSession(opened.session);
  for (const note of opened.session.notes) process.stderr.write(`note: ${note}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
  else process.stdout.write(planToText(plan, opts.all ?? false));
  return 0;
}
