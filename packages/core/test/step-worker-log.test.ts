/** A step whose module does not import fails with its log written: the failure message names that log. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import runStep from '../src/execute/step-worker.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pipe-step-worker-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runStep of a module that does not import', () => {
  it('writes the error to the task log it names', async () => {
    const module = path.join(dir, 'broken.mjs');
    writeFileSync(module, "import { nothing } from './not-there.mjs';\nexport default {};\n");
    const logFile = path.join(dir, 'logs', 'broken.log');
    await expect(
      runStep({ module, params: {}, inputs: {}, outputs: {}, env: {}, kernelBackend: 'js', logFile }),
    ).rejects.toThrow();
    expect(existsSync(logFile)).toBe(true);
    expect(readFileSync(logFile, 'utf8')).toMatch(/^error .*not-there/);
  });
});
