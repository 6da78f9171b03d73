/**
 * The order in which the tasks that left the pipeline are listed (`pipe plan`'s departed entry, a build's note): ids
 * as a reader counts them, numbers by value, so that the first five named of a large fan-out are its first five.
 */
import { describe, expect, it } from 'vitest';
import { departedTasks, taskIdOrder } from '../src/builds/retire.js';
import { emptyState } from '../src/state/state-file.js';

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
