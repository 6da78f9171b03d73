import type { ReplayedWarning } from '@pipe/core/lean';
import { describe, expect, it } from 'vitest';
import { groupReplayedWarnings, ReplayedWarnings } from '../src/replayed-warnings.js';

const upToDate = (id: string, text: string): ReplayedWarning => ({ id, text, replayed: 'up to date' });
const restored = (id: string, text: string): ReplayedWarning => ({ id, text, replayed: 'restored' });

describe('groupReplayedWarnings', () => {
  it('says alike warnings of one fan-out once, its tasks named in order; others as they came', () => {
    const ids = ['d[10]', 'd[9]', 'd[2]', 'd[1]'];
    expect(
      groupReplayedWarnings([
        ...ids.map((id) => upToDate(id, 'mask edge')),
        upToDate('d[3]', 'other text'),
        upToDate('stack', 'mask edge'),
        restored('x[1]', 'w'),
        restored('x[2]', 'w'),
        upToDate('x[3]', 'w'),
      ]),
    ).toEqual([
      '4 tasks of d (d[1] … d[10]; up to date; their last runs warned): mask edge',
      'd[3] (up to date; its last run warned): other text',
      'stack (up to date; its last run warned): mask edge',
      '2 tasks of x (x[1], x[2]; restored from the cache; the runs that made them warned): w',
      'x[3] (up to date; its last run warned): w',
    ]);
  });

  it('groups by the warning’s parts, not its printed text: a text with brackets and colons stays whole', () => {
    // A step's own text that looks like a replay line (it names a task and a colon) is the text, not a new header.
    const text = 'd[7] (up to date; its last run warned): HDU EVENTS: column TIME [s]: 3 NaN';
    expect(groupReplayedWarnings([upToDate('d[1]', text), upToDate('d[2]', text)])).toEqual([
      `2 tasks of d (d[1], d[2]; up to date; their last runs warned): ${text}`,
    ]);
  });

  it('a warning that is no replay is said at once, between the groups, and never grouped', () => {
    const lines: string[] = [];
    const group = new ReplayedWarnings((m) => lines.push(m));
    group.add('d[1] (up to date; its last run warned): w', upToDate('d[1]', 'w'));
    // The same words as a replay, but the scheduler's own warning (no parts): not merged into d's group.
    group.add('d[2] (up to date; its last run warned): w');
    group.add('d[3] (up to date; its last run warned): w', upToDate('d[3]', 'w'));
    group.flush();
    expect(lines).toEqual([
      'd[1] (up to date; its last run warned): w',
      'd[2] (up to date; its last run warned): w',
      'd[3] (up to date; its last run warned): w',
    ]);
  });
});
