/**
 * The order in which the tasks that left the pipeline are listed (`pipe plan`'s departed entry, a build's note): ids
 * as a reader counts them, numbers by value, so that the first five named of a large fan-out are its first five; and
 * how `pipe plan` looks them up.
 */

import type { Manifest } from '@pipe/cache';
import { describe, expect, it } from 'vitest';
import { departedTasks, retireEach, taskIdOrder } from '../src/builds/retire.js';
import { emptyState } from '../src/state/state-file.js';
import { commandTarget, pipelineOf } from './planner-fixture.js';

describe('departed tasks', () => {
  it('are listed with the numbers in their ids by value, whatever order they were recorded in', () => {
    const state = emptyState();
    const ids = [...Array.from({ length: 1200 }, (_, i) => `scan[${i}]`), 'other[1]'];
    // Recorded as the tasks ended: in no particular order.
    for (const id of [...ids].reverse()) state.tasks.set(id, { key: 'k', outputs: {}, buildId: 'b' });
    const departed = departedTasks(state, new Set(['scan']), new Set(['scan[3]']));
    expect(departed.slice(0, 5)).toEqual(['scan[0]', 'scan[1]', 'scan[2]', 'scan[4]', 'scan[5]']);
    expect(departed.at(-1)).toBe('scan[1199]');
    expect(departed).toHaveLength(1199);
  });

  it('a sweep of decimals by value, run numbers by value, ties and text in code-unit order', () => {
    const sorted = (ids: string[]) => [...ids].sort(taskIdOrder);
    expect(sorted(['s[0.2]', 's[0.15]', 's[0.1]', 's[0.05]', 's[1.5]', 's[10]'])).toEqual([
      's[0.05]',
      's[0.1]',
      's[0.15]',
      's[0.2]',
      's[1.5]',
      's[10]',
    ]);
    expect(sorted(['d[110380]', 'd[23592]', 'd[23523]'])).toEqual(['d[23523]', 'd[23592]', 'd[110380]']);
    expect(sorted(['r[r7]', 'r[r007]', 'r[b]', 'r[a10]', 'r[a9]', 'r'])).toEqual([
      'r',
      'r[a9]',
      'r[a10]',
      'r[b]',
      'r[r007]',
      'r[r7]',
    ]);
  });
});

describe("pipe plan's preview of departed tasks", () => {
  it('looks up their cache entries a few at a time, not one after the other, and changes nothing', async () => {
    const state = emptyState();
    const ids = Array.from({ length: 100 }, (_, i) => `scan[${i}]`);
    const stamp = { size: 1, mtimeNs: '1', ino: 1 };
    for (const id of ids) {
      const out = { path: `out/${id.slice(5, -1)}.json`, sha256: `sha-${id}`, ...stamp };
      state.tasks.set(id, { key: `key-${id}`, outputs: { out }, buildId: 'b' });
    }
    let inFlight = 0;
    let most = 0;
    const pipeline = pipelineOf([commandTarget('scan', { outputs: { out: 'out/{item}.json' } })]);
    const departed = await retireEach(ids, [], {
      state,
      pipeline,
      io: {
        stamp: () => stamp,
        manifest: async (key: string) => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight--;
          return { outputs: [{ sha256: `sha-${key.slice(4)}` }] } as unknown as Manifest;
        },
      },
      hasBlob: async () => true,
      dryRun: true,
    });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
    // In the order asked, each output as a build would treat it; the records stay.
    expect(departed.map((d) => d.id)).toEqual(ids);
    expect(departed[7]).toEqual({ id: 'scan[7]', removed: ['out/7.json'], kept: [] });
    expect(state.tasks.size).toBe(100);
  });
});
