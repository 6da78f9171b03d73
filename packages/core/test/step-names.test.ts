// The failure of a step that asked for a name its task lacks (execute/step-names.ts): the note is added to whatever
// the step threw, never in its place.
import { describe, expect, it } from 'vitest';
import { type AskedNames, watchNames, withUndeclaredNames } from '../src/execute/step-names.js';

const task = { inputs: {}, outputs: { summary: '/ws/out/summary.txt' } };

/** Names as a step sees them, after it looked for an output its task lacks (an optional one). */
function askedForLog(): AskedNames {
  const asked: AskedNames = new Map();
  const outputs = watchNames(task.outputs, 'outputs', asked);
  expect(outputs['log' as 'summary']).toBeUndefined();
  return asked;
}

describe('a step failure after asking for a name its task lacks', () => {
  it("adds the note to a DOMException's message (a getter), keeping the error the step threw", () => {
    let thrown: unknown;
    try {
      structuredClone(() => 1); // a DataCloneError, as an AbortError or a TimeoutError is a DOMException
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DOMException);
    const got = withUndeclaredNames(thrown, askedForLog(), task) as DOMException;
    expect(got).toBe(thrown);
    expect(got.name).toBe('DataCloneError');
    expect(got.message).toMatch(
      /could not be cloned\. \(the step asked for a name its task does not have: ctx\.outputs\['log'\] is not one of this task's outputs \(summary\)\)$/,
    );
  });

  it('leaves a frozen error as it is', () => {
    const frozen = Object.freeze(new Error('boom'));
    expect(withUndeclaredNames(frozen, askedForLog(), task)).toBe(frozen);
    expect(frozen.message).toBe('boom');
  });
});
