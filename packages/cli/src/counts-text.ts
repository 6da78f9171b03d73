/**
 * A build's task counts in words, as its end line, `pipe log` and `pipe status` give them: `2 ran, 1 cancelled,
 * 1 not started`. A task the stop found waiting for a slot (cancelled, never started) is counted with those a
 * failure left unstarted, apart from the one stopped while it ran; the record keeps the states as they are.
 */
import { cancelledBeforeStart } from '@pipe/core/lean';

export function countsText(
  counts: Readonly<Record<string, number>>,
  reports: Iterable<{ state: string; startedAt?: string }>,
): string {
  let waited = 0;
  for (const r of reports) if (cancelledBeforeStart(r)) waited++;
  const told: Record<string, number> = { ...counts };
  if (waited > 0) {
    told['cancelled'] = (told['cancelled'] ?? 0) - waited;
    if (told['cancelled'] === 0) delete told['cancelled'];
    told['not-started'] = (told['not-started'] ?? 0) + waited;
  }
  return Object.entries(told)
    .map(([state, n]) => `${n} ${state === 'not-started' ? 'not started' : state}`)
    .join(', ');
}
