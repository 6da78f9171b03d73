import { describe, expect, it } from 'vitest';
import { groupReplayedWarnings } from '../src/replayed-warnings.js';

const upToDate = (id: string, body: string) => `${id} (up to date; its last run warned): ${body}`;

describe('groupReplayedWarnings', () => {
  it('says alike warnings of one fan-out once, its tasks named in order; others as they came', () => {
    const ids = ['d[10]', 'd[9]', 'd[2]', 'd[1]'];
    expect(
      groupReplayedWarnings([
        ...ids.map((id) => upToDate(id, 'mask edge')),
        upToDate('d[3]', 'other text'),
        upToDate('stack', 'mask edge'),
        'a warning of a task that ran',
        'x[1] (restored from the cache; the run that made it warned): w',
        'x[2] (restored from the cache; the run that made it warned): w',
      ]),
    ).toEqual([
      '4 tasks of d (d[1] … d[10]; up to date; their last runs warned): mask edge',
      upToDate('d[3]', 'other text'),
      upToDate('stack', 'mask edge'),
      'a warning of a task that ran',
      '2 tasks of x (x[1], x[2]; restored from the cache; the runs that made them warned): w',
    ]);
  });
});
