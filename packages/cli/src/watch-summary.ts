/** The line `pipe watch` ends each rebuild with: what failed, was cancelled, ran, was restored or skipped. */
import type { WatchEvent } from '@pipe/core';

type BuildEnd = Extract<WatchEvent, { type: 'build-end' }>;

/** A few ids by name, more by count: one rebuild of a fan-out can touch hundreds of tasks. */
function list(ids: string[]): string {
  return ids.length <= 6 ? ids.join(', ') : `${ids.length} tasks`;
}

/**
 * E.g. `built: ran a, b; restored c from the cache (0.20 s)`, or after Ctrl-C
 * `build interrupted: cancelled calibrate[1], calibrate[2]; 2 skipped (1.40 s)`. "nothing to run" only when every
 * task was up to date: an interrupted rebuild whose tasks were all cancelled did not have nothing to run.
 */
export function rebuildSummary(e: BuildEnd): string {
  const reports = [...e.reports.values()];
  const inState = (state: string) =>
    reports
      .filter((r) => r.state === state)
      .map((r) => r.id)
      .sort();
  const failed = inState('failed');
  const cancelled = inState('cancelled');
  const restored = inState('restored');
  const skipped = inState('skipped').length + inState('not-started').length;
  const parts = [
    ...(failed.length > 0 ? [`${list(failed)} failed`] : []),
    ...(cancelled.length > 0 ? [`cancelled ${list(cancelled)}`] : []),
    ...(e.ran.length > 0 ? [`ran ${list(e.ran)}`] : []),
    ...(restored.length > 0 ? [`restored ${list(restored)} from the cache`] : []),
    ...(skipped > 0 ? [`${skipped} skipped`] : []),
  ];
  const what = parts.length === 0 ? 'nothing to run' : parts.join('; ');
  return `${e.status === 'succeeded' ? 'built' : `build ${e.status}`}: ${what} (${(e.ms / 1000).toFixed(2)} s)`;
}
