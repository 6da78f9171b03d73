/**
 * The notes a build ends with, for `pipe build` and `pipe watch` alike: what it did with the outputs of tasks that
 * left the pipeline (a removed foreach item) or that tasks no longer declare, and a cache eviction it made.
 */
import type { BudgetReport } from '@pipe/cache';
import type { Retired } from './retire.js';

export function buildNotes(result: {
  retired?: Retired;
  dropped?: Retired;
  cacheEvicted?: BudgetReport;
}): string[] {
  const lines = [
    ...(result.retired ? retiredLines(result.retired, 'of tasks no longer in the pipeline') : []),
    ...(result.dropped ? retiredLines(result.dropped, 'their tasks no longer declare') : []),
  ];
  const e = result.cacheEvicted;
  if (e?.deferred)
    lines.push(
      `the local cache may be over its size budget (PIPE_CACHE_MAX_SIZE, 10G by default) but was not checked: ${e.deferred}; the next build checks it`,
    );
  else if (e) {
    const mb = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MB`;
    // Over, and nothing it may take out yet: said, or a budget set too small seemed to do nothing. Only a build that
    // stores something checks the budget (LocalStore.keepToBudget): a build that restores or skips all leaves it.
    if (e.evicted.length === 0)
      lines.push(
        `the local cache is over its size budget (PIPE_CACHE_MAX_SIZE, 10G by default): ${mb(e.bytesAfter)}, and nothing could be evicted yet (entries pinned, or used in the last 10 minutes, which a build may still need); the first build that stores something after that, or pipe cache gc, evicts the unpinned ones`,
      );
    else
      lines.push(
        `the local cache was over its size budget (PIPE_CACHE_MAX_SIZE, 10G by default): evicted ${e.evicted.length} least recently used entr${e.evicted.length === 1 ? 'y' : 'ies'}, ${mb(e.bytesBefore)} → ${mb(e.bytesAfter)}${e.overBudget ? '; still over it (pinned or just-stored entries stay)' : ''}`,
      );
  }
  return lines;
}

/** What the build did with retired outputs (`whose`: whose outputs they are). */
function retiredLines(retired: Retired, whose: string): string[] {
  const list = (paths: string[]) =>
    paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
  const n = (k: number) => `${k} output${k === 1 ? '' : 's'}`;
  return [
    ...(retired.removed.length > 0
      ? [`removed ${n(retired.removed.length)} ${whose} (kept in the cache): ${list(retired.removed)}`]
      : []),
    ...(retired.kept.length > 0
      ? [
          `left ${n(retired.kept.length)} ${whose} in place (edited since, or not in the cache): ${list(retired.kept)}`,
        ]
      : []),
  ];
}
