import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { stepWarnings } from '../src/schedule/task-warnings.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'step-warnings-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("a task log's warn lines, each with the lines that continue it, are what the build shows", () => {
  const log = path.join(dir, 'task.log');
  writeFileSync(
    log,
    [
      'info selected 3 runs',
      'warn OBS_ID 2 skipped: no psf HDU',
      'warn the store names files that do not exist:',
      '  OBS_ID 3: a.fits not found',
      'info reduced',
      'warn last',
      '',
    ].join('\n'),
  );
  expect(stepWarnings(log)).toEqual([
    'OBS_ID 2 skipped: no psf HDU',
    'the store names files that do not exist:\n  OBS_ID 3: a.fits not found',
    'last',
  ]);
  expect(stepWarnings(path.join(dir, 'absent.log'))).toEqual([]);
});

// Found by fuzzing (an empty HDU index): a step that warned and then failed had its error and stack, which the worker
// appends to the log as `error …`, printed as the last warning's continuation lines, a stack trace in the build output.
it("the step's error and its stack after a warning are not part of it", () => {
  const log = path.join(dir, 'failed.log');
  writeFileSync(
    log,
    [
      'warn OBS_ID 1 skipped: no events HDU',
      'error Error: no observation selected',
      '    at Module.run (file:///x/select-observations-run.js:2:3355)',
      '    at async runStep (file:///x/step-worker.js:36:16)',
      '',
    ].join('\n'),
  );
  expect(stepWarnings(log)).toEqual(['OBS_ID 1 skipped: no events HDU']);
});
