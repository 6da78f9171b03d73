/** A step whose module does not import fails with its log written: the failure message names that log. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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

  it('names the module and the line of a syntax error (a save mid-edit in a watch)', () => {
    // In node itself (vitest's own import of a module that does not parse throws another error).
    const module = path.join(dir, 'per.mjs');
    writeFileSync(
      module,
      "export default {\n  name: 'per',\n  version: '1',\n  run() {}\n};\nexport default {\n",
    );
    const logFile = path.join(dir, 'logs', 'per.log');
    const worker = path.resolve(import.meta.dirname, '../dist/execute/step-worker.js');
    const script = `import runStep from ${JSON.stringify(pathToFileURL(worker).href)};
runStep({ module: ${JSON.stringify(module)}, params: {}, inputs: {}, outputs: {}, env: {}, kernelBackend: 'js', logFile: ${JSON.stringify(logFile)} })
  .then(() => console.log('ran'), (e) => console.log(e.message));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.stdout.trim()).toBe(`cannot import ${module}: Unexpected end of input (at ${module}:7)`);
    expect(readFileSync(logFile, 'utf8')).toContain(`cannot import ${module}`);
  });
});
