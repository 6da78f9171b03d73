/** A user's step that throws: its failure message says where its own code threw, as the stack in the log does. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

  it("names the TypeScript source's place of a compiled step through its source map (tsc's sourceMap: true)", () => {
    const ws = mkdtempSync(path.join(tmpdir(), 'pipe-step-error-'));
    mkdirSync(path.join(ws, 'dist'));
    // dist/step.js line 2 col 15 comes from src/step.ts line 5 col 11 ("AACA" moves one line down from the
    // first segment; the second segment's fields are relative to it).
    writeFileSync(
      path.join(ws, 'dist', 'step.js'),
      'export {};\n  throw new Error("x");\n//# sourceMappingURL=step.js.map\n',
    );
    writeFileSync(
      path.join(ws, 'dist', 'step.js.map'),
      JSON.stringify({
        version: 3,
        file: 'step.js',
        sourceRoot: '',
        sources: ['../src/step.ts'],
        names: [],
        mappings: ';AAIA,cAAU',
      }),
    );
    const e = thrown('x', [`Object.run (file://${ws}/dist/step.js:2:15)`]);
    expect(stepErrorMessage(e, path.join(ws, 'dist', 'step.js'))).toBe(`x (at ${ws}/src/step.ts:5:11)`);
    // Without a map: the compiled place, as before.
    const plain = thrown('y', [`Object.run (file://${ws}/dist/other.js:2:15)`]);
    expect(stepErrorMessage(plain, path.join(ws, 'dist', 'other.js'))).toBe(
      `y (at ${ws}/dist/other.js:2:15)`,
    );
    rmSync(ws, { recursive: true, force: true });
  });
});
