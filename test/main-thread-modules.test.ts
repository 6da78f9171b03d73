/**
 * What the engine's main thread loads to plan the Crab pipeline: the step declarations and the kernels' seam, never
 * the kernels themselves (reference, WASM and native wrappers): those are the worker threads' (packages/kernels
 * README, `@pipe/kernels/seam` and `/scalars`). A resolve hook prints every module the process resolves; `pipe plan`
 * starts no worker. Runs the real binary.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crabWorkspace, PIPE_BIN } from './rig.js';

describe('the main thread of a plan', () => {
  it('imports the step declarations without the kernels', () => {
    const ws = crabWorkspace();
    ws.write(
      'hooks.mjs',
      `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`,
    );
    writeFileSync(
      ws.path('register.mjs'),
      `import { register } from 'node:module'; register(${JSON.stringify(`file://${ws.path('hooks.mjs')}`)});`,
    );
    // No pipeline cache, no snapshot: the steps are imported for their declarations.
    const r = spawnSync(
      process.execPath,
      ['--import', ws.path('register.mjs'), PIPE_BIN, 'plan', 'excess_map'],
      {
        cwd: ws.path('.'),
        encoding: 'utf8',
        env: { ...process.env, PIPE_FAST_PATH: '0' },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const loaded = [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')))].map((l) =>
      fileURLToPath(l.slice(7)),
    );
    expect(loaded.some((f) => f.includes(`${path.sep}astro${path.sep}`))).toBe(true); // the declarations were read
    expect(loaded.some((f) => f.endsWith(path.join('kernels', 'dist', 'seam.js')))).toBe(true);
    // Neither the package entry nor a bundle chunk holding the kernels' loader.
    expect(loaded.filter((f) => f.endsWith(path.join('kernels', 'dist', 'index.js')))).toEqual([]);
    const withKernels = loaded.filter((f) =>
      /function (tryLoadKernels|loadWasmKernels)\b/.test(readFileSync(f, 'utf8')),
    );
    expect(withKernels).toEqual([]);
    rmSync(ws.path('.'), { recursive: true, force: true });
  });
});
