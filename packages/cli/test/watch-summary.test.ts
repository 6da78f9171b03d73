/**
 * The line `pipe watch` ends a rebuild with. A rebuild stopped by Ctrl-C while its tasks ran has cancelled them:
 * it must say so, not "nothing to run" (which is what an all-up-to-date rebuild says).
 */
import type { TaskReport, WatchEvent } from '@pipe/core';
import { describe, expect, it } from 'vitest';
import { rebuildReasons, rebuildSummary } from '../src/watch-summary.js';

type BuildEnd = Extract<WatchEvent, { type: 'build-end' }>;

function buildEnd(status: BuildEnd['status'], reports: TaskReport[], ran: string[] = []): BuildEnd {
  return {
    type: 'build-end',
    buildId: 'b1',
    recorded: true,
    status,
    counts: {},
    ran,
    ms: 1440,
    products: [],
    reports: new Map(reports.map((r) => [r.id, r])),
  };
}

describe('rebuildSummary', () => {
  it('names the tasks an interrupted rebuild cancelled and counts those it skipped', () => {
    const line = rebuildSummary(
      buildEnd('interrupted', [
        { id: 'calibrate[b]', state: 'cancelled' },
        { id: 'calibrate[a]', state: 'cancelled' },
        { id: 'calibrate[c]', state: 'up-to-date' },
        { id: 'merged', state: 'skipped', error: 'upstream task calibrate[a] did not succeed' },
        { id: 'report', state: 'skipped', error: 'upstream task calibrate[a] did not succeed' },
      ]),
    );
    expect(line).toBe('build interrupted: cancelled calibrate[a], calibrate[b]; 2 skipped (1.44 s)');
  });

  it('says "nothing to run" only when every task was up to date', () => {
    expect(rebuildSummary(buildEnd('succeeded', [{ id: 'a', state: 'up-to-date' }]))).toBe(
      'built: nothing to run (1.44 s)',
    );
  });

  it('lists failures, runs and restores as before', () => {
    const line = rebuildSummary(
      buildEnd(
        'failed',
        [
          { id: 'x', state: 'failed' },
          { id: 'y', state: 'ran' },
          { id: 'z', state: 'restored' },
        ],
        ['y'],
      ),
    );
    expect(line).toBe('build failed: x failed; ran y; restored z from the cache (1.44 s)');
  });
});

describe('rebuildReasons', () => {
  it("says each task's reasons, a fan-out's alike tasks as one line", () => {
    const param = { type: 'param-changed', key: 'safe_mask', old: 'a', new: 'b' } as const;
    const runs = ['7', '3', '1', '5', '2', '4'].map((n) => ({
      id: `datasets[${n}]`,
      state: 'ran' as const,
      reasons: [param],
    }));
    const lines = rebuildReasons(
      buildEnd('succeeded', [
        ...runs,
        { id: 'stacked', state: 'ran', reasons: [param] },
        {
          id: 'maps',
          state: 'restored',
          reasons: [{ type: 'output-missing', output: 'o', path: 'p/o.fits' }],
        },
        { id: 'same', state: 'up-to-date' },
      ]),
    );
    expect(lines).toEqual([
      'ran datasets: 6 tasks (datasets[1], datasets[2] and 4 more) — param changed: safe_mask "a" → "b"',
      'ran stacked — param changed: safe_mask "a" → "b"',
      'restored maps from the cache — output missing: p/o.fits',
    ]);
  });
});
