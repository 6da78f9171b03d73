#!/usr/bin/env node
// Bundles the compiled step modules (dist/steps/<step>.js, with the run code each loads lazily) and the config
// schema into a few ESM chunks in dist/bundle/, which the engine imports instead of the ~90 modules of dist/ (core's
// steps/bundled.ts: a step or schema module under <package>/dist/ is run from its twin under <package>/dist/bundle/
// when that twin is newer than the package's compiled output). Resolving, reading and linking one module graph per worker thread was
// ~0.1 s of each thread's start at every cold build; the bundle halves a thread's start-up.
//
// Bundled: this package's own modules and @pipe/kernels' (~30 modules a worker thread otherwise resolves, reads and
// links: ~8 ms of each thread's start, measured). The kernels find their native addon and WASM modules by path: their
// `import.meta.url` is their original file's URL (originalImportMetaUrl). Other bare imports (@pipe/core, npm
// packages) and node builtins stay imports. The engine hashes the TypeScript sources (code-hash.ts) and the kernels'
// sources (their identity), never this bundle; the bundle is made from dist/ right after tsc, and a dist/ of this
// package or of a package bundled here rebuilt since (a newer dist/.tsbuildinfo; bundled-packages.json lists them)
// makes the workers load dist/ again until this runs.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { originalImportMetaUrl } from '../core/scripts/esbuild-original-urls.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const outdir = path.join(dist, 'bundle');
// The registered step modules (src/steps/register.ts), by file name without extension.
const { STEPS } = await import('./dist/steps/register.js');
const steps = Object.values(STEPS).map((rel) => path.basename(rel, '.js'));

// Chunks lie in outdir/steps, outdir/config and outdir/chunks: each finds outdir through the banner's __pipeBundleRoot.
const originalUrls = originalImportMetaUrl(outdir, '__pipeBundleRoot');

/** Every bare import stays external but @pipe/kernels (and its subpaths), which is bundled. */
const KERNELS = '@pipe/kernels';
const kernelsInside = {
  name: 'kernels-inside',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path === KERNELS || args.path.startsWith(`${KERNELS}/`) ? undefined : { path: args.path, external: true },
    );
  },
};

await rm(outdir, { recursive: true, force: true }); // chunk names change with their content
await build({
  entryPoints: {
    ...Object.fromEntries(steps.map((s) => [`steps/${s}`, path.join(dist, 'steps', `${s}.js`)])),
    // The config schema the engine imports on the main thread (steps/register.ts).
    'config/gammapy-schema': path.join(dist, 'config', 'gammapy-schema.js'),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [kernelsInside, originalUrls],
  chunkNames: 'chunks/[name]-[hash]',
  // The bundle's root, from any chunk (steps/ and chunks/ are one level below it).
  banner: { js: "const __pipeBundleRoot = new URL('../', import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
  // Less source to pre-parse at every thread start; names are kept for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
});

// The compiled folders of the other packages inside the bundle, for core's steps/bundled.ts: a newer compile of any
// of them makes the bundle stale.
const kernelsDist = path.dirname(fileURLToPath(import.meta.resolve(KERNELS)));
await writeFile(
  path.join(outdir, 'bundled-packages.json'),
  `${JSON.stringify({ dist: [path.relative(outdir, kernelsDist).split(path.sep).join('/')] })}\n`,
);

// The engine's code hashes of these steps (over their TypeScript sources), recorded for the engine to check with a
// stat per source instead of reading and hashing them in every new workspace (core fingerprint/code-hash.ts).
const { writeBuiltCodeHashes } = await import('@pipe/core');
writeBuiltCodeHashes(
  dist,
  steps.map((s) => path.join(dist, 'steps', `${s}.js`)),
);
