import type { Plan, PlannedTask } from '@pipe/core';
import { describe, expect, it } from 'vitest';
import { planToText } from '../src/plan-text.js';

function blocked(id: string, upstream: string[]): PlannedTask {
  return {
    task: { id, target: id, deps: upstream, inputs: {}, outputs: {}, params: {} },
    decision: { action: 'blocked', upstream },
  } as PlannedTask;
}

describe('planToText', () => {
  it('names five upstream tasks of a gather and counts the rest (a 2,000-item gather was one 20 KB line)', () => {
    const items = Array.from({ length: 2000 }, (_, i) => `cp[f${i}]`);
    const few = ['a', 'b'];
    const plan: Plan = {
      order: ['sum', 'pair'],
      tasks: new Map([
        ['sum', blocked('sum', items)],
        ['pair', blocked('pair', few)],
      ]),
      pending: [],
      items: new Map(),
    };
    const text = planToText(plan, false);
    expect(text).toContain(
      'maybe       sum\n              runs if its upstream outputs change (cp[f0], cp[f1], cp[f2], cp[f3], cp[f4] and 1995 more)\n',
    );
    expect(text).toContain('runs if its upstream outputs change (a, b)\n');
  });
});
