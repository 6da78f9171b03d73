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

/** A workspace whose `node --import register.mjs` prints `LOADED <url>` for every file module the process resolves. */
function tracedWorkspace() {
  const ws = crabWorkspace();
  ws.write(
    'hooks.mjs',
    `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + ' FROM ' + c.parentURL + '\\n'); return r; }`,
  );
  writeFileSync(
    ws.path('register.mjs'),
    `import { register } from 'node:module'; register(${JSON.stringify(`file://${ws.path('hooks.mjs')}`)});`,
  );
  return ws;
}

/** `LOADED <url> FROM <parent url>` lines: the files loaded, each with the module that imported it (undefined: none). */
const loads = (stderr: string) =>
  [...new Set(stderr.split('\n').filter((l) => l.startsWith('LOADED ')))].map((l) => {
    const [url, parent] = l.slice(7).split(' FROM ');
    return {
      file: fileURLToPath(url!),
      from: parent?.startsWith('file:') ? fileURLToPath(parent) : undefined,
    };
  });
const loadedFiles = (stderr: string) => [...new Set(loads(stderr).map((l) => l.file))];

describe('the main thread of a plan', () => {
  it('imports the step declarations without the kernels', () => {
    const ws = tracedWorkspace();
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
    const loaded = loadedFiles(r.stderr);
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

  // The config loader (yaml, zod: ~680 kB of code, ~40 ms to compile and run at every start) is for a pipeline that
  // must be read again; a build whose only change is a --param value plans from the pipeline cache without it. A
  // static import from the build command's modules into the engine's index (as `cache push` once added) loads it
  // for every build.
  it('plans a one-parameter change from the pipeline cache without the config loader', () => {
    const ws = tracedWorkspace();
    const build = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', ws.path('register.mjs'), PIPE_BIN, 'build', 'excess_map', ...extra],
        {
          cwd: ws.path('.'),
          encoding: 'utf8',
        },
      );
    const first = build();
    expect(first.status, first.stderr).toBe(0);
    // The first build read the pipeline's YAML: the check below sees the loader when it is loaded.
    const loader = (files: string[]) =>
      files.filter(
        (f) =>
          /[\\/]node_modules[\\/](yaml|zod)[\\/]/.test(f) ||
          /class YAMLParseError|\$ZodError/.test(readFileSync(f, 'utf8')),
      );
    expect(loader(loadedFiles(first.stderr)).length).toBeGreaterThan(0);
    const change = build('--param', 'config.excess_map.correlation_radius=0.12 deg');
    expect(change.status, change.stderr).toBe(0);
    expect(change.stderr).toMatch(/ran\s+excess_map .*correlation_radius 0\.1 → 0\.12/);
    expect(change.stdout).toContain('correlation radius deg: 0.12');
    expect(loader(loadedFiles(change.stderr))).toEqual([]);
    rmSync(ws.path('.'), { recursive: true, force: true });
  });

  // A step's thread loads the step, pipe's astro library and the engine's small worker modules; the engine's index
  // drags in the config loader (yaml, zod) and the rest of the engine: ~200 ms of a cold observations task, when a
  // DL3 module imported one function from '@pipe/core' instead of its own subpath ('@pipe/core/why-missing'). (The
  // main thread may load the index: from pipe's compiled modules, when the bundle is older than them.)
  it("builds with step threads whose astro modules never import the engine's index", () => {
    const ws = tracedWorkspace();
    const r = spawnSync(
      process.execPath,
      ['--import', ws.path('register.mjs'), PIPE_BIN, 'build', 'excess_map'],
      { cwd: ws.path('.'), encoding: 'utf8', env: { ...process.env, PIPE_FAST_PATH: '0' } },
    );
    expect(r.status, r.stderr).toBe(0);
    const all = loads(r.stderr);
    const astro = (f: string | undefined) => f !== undefined && /[\\/]astro[\\/]dist[\\/]/.test(f);
    // The threads ran the steps: their chunks were loaded, with the engine's worker modules.
    expect(all.some((l) => astro(l.file))).toBe(true);
    expect(all.some((l) => l.file.endsWith(path.join('core', 'dist', 'execute', 'step-worker.js')))).toBe(
      true,
    );
    const index = all.filter((l) => l.file.endsWith(path.join('core', 'dist', 'index.js')) && astro(l.from));
    expect(index).toEqual([]);
    rmSync(ws.path('.'), { recursive: true, force: true });
  });
});
