/** A user's step that throws: its failure message says where its own code threw, as the stack in the log does. */
import { describe, expect, it } from 'vitest';
import { stepErrorMessage } from '../src/execute/step-error.js';

function thrown(message: string, frames: string[]): Error {
  const e = new Error(message);
  e.stack = [`Error: ${message}`, ...frames.map((f) => `    at ${f}`)].join('\n');
  return e;
}

describe('stepErrorMessage', () => {
  it("adds the topmost frame in the step module's folder, skipping node's and node_modules'", () => {
    const e = thrown("Expected property name or '}' in JSON at position 1", [
      'JSON.parse (<anonymous>)',
      'parse (file:///ws/steps/node_modules/lib/index.js:3:9)',
      'helper (file:///ws/steps/lib/util.mjs:12:5)',
      'Object.run (file:///ws/steps/boom.mjs:4:10)',
      'runDefinition (file:///opt/pipe/packages/core/dist/execute/step-worker.js:55:30)',
    ]);
    expect(stepErrorMessage(e, '/ws/steps/boom.mjs')).toBe(
      "Expected property name or '}' in JSON at position 1 (at /ws/steps/lib/util.mjs:12:5)",
    );
    // CommonJS frames name plain paths.
    expect(stepErrorMessage(thrown('x', ['Object.run (/ws/steps/a.cjs:6:20)']), '/ws/steps/a.cjs')).toBe(
      'x (at /ws/steps/a.cjs:6:20)',
    );
    expect(stepErrorMessage(thrown('y', ['/ws/steps/a.cjs:2:1']), '/ws/steps/a.cjs')).toBe(
      'y (at /ws/steps/a.cjs:2:1)',
    );
  });

  it('adds nothing when no frame is in its folder, for an installed step, a thrown non-Error, or an error that blames a param', () => {
    const outside = thrown('z', ['f (file:///elsewhere/x.mjs:1:1)']);
    expect(stepErrorMessage(outside, '/ws/steps/boom.mjs')).toBe('z');
    const installed = thrown('w', ['f (file:///ws/node_modules/s/step.mjs:1:1)']);
    expect(stepErrorMessage(installed, '/ws/node_modules/s/step.mjs')).toBe('w');
    expect(stepErrorMessage('plain', '/ws/steps/boom.mjs')).toBe('plain');
    // A thrown object says what it holds (String() gave "[object Object]").
    expect(stepErrorMessage({ code: 7, why: 'no data' }, '/ws/steps/boom.mjs')).toBe(
      'threw {"code":7,"why":"no data"} (not an Error: no stack)',
    );
    // An error that blames a param is located where the value was set, by the engine.
    const blaming = Object.assign(thrown('run 13 is unknown', ['run (file:///ws/steps/pick.mjs:3:9)']), {
      param: ['runs', 0],
    });
    expect(stepErrorMessage(blaming, '/ws/steps/pick.mjs')).toBe('run 13 is unknown');
  });
});
