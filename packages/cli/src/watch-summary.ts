/** The line `pipe watch` ends each rebuild with: what failed, was cancelled, ran, was restored or skipped. */
import { describeReasons, renderAlikeReason, targetOfTaskId, type WatchEvent } from '@pipe/core';
import { alikeGroups, someOf } from './alike-groups.js';

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

/**
 * Why the rebuild ran or restored each task, as `pipe build` says it (`ran excess_map — param changed:
 * excess_map.correlation_radius 0.1 → 0.2`): the changed files alone do not say which edit mattered. A fan-out's tasks
 * alike in their reasons are one line.
 */
export function rebuildReasons(e: BuildEnd): string[] {
  // In the order the tasks ended, as pipe build says them; a group's members sorted (ended in any order under -j).
  const done = [...e.reports.values()].filter(
    (r) => (r.state === 'ran' || r.state === 'restored') && (r.reasons?.length ?? 0) > 0,
  );
  const byId = new Map(done.map((r) => [r.id, r]));
  const groups = alikeGroups(done.map((r) => r.id).sort(), (id) => {
    const r = byId.get(id)!;
    return `${targetOfTaskId(id)}\0${r.state}\0${describeReasons(r.reasons, renderAlikeReason)}`;
  });
  const lines: string[] = [];
  const shown = new Set<string[]>();
  for (const r of done) {
    const group = groups.get(r.id);
    if (group && shown.has(group)) continue;
    if (group) shown.add(group);
    const verb = r.state === 'ran' ? 'ran' : 'restored';
    const from = r.state === 'restored' ? ' from the cache' : '';
    lines.push(
      group
        ? `${verb} ${targetOfTaskId(r.id)}: ${group.length} tasks (${someOf(group, 2)})${from} — ${describeReasons(r.reasons, renderAlikeReason)}`
        : `${verb} ${r.id}${from} — ${describeReasons(r.reasons)}`,
    );
  }
  return lines;
}
