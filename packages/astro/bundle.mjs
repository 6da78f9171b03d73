#!/usr/bin/env node
// Bundles the compiled step modules (dist/steps/<step>.js, with the run code each loads lazily) and the config
// schema into a few ESM chunks in dist/bundle/, which the engine imports instead of the ~90 modules of dist/ (core's
// steps/bundled.ts: a step or schema module under <package>/dist/ is run from its twin under <package>/dist/bundle/
// when that twin is newer than the package's compiled output). Resolving, reading and linking one module graph per worker thread was
// ~0.1 s of each thread's start at every cold build; the bundle halves a thread's start-up.
//
// Only this package's own modules are bundled: bare imports (@pipe/kernels, which finds its native addon and WASM
// modules by path, @pipe/core, npm packages) and node builtins stay imports. The engine hashes the TypeScript
// sources (code-hash.ts), never this bundle; the bundle is made from dist/ right after tsc, and a dist/ rebuilt
// since (a newer dist/.tsbuildinfo) makes the workers load dist/ again until this runs.
import { rm } from 'node:fs/promises';
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
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [originalUrls],
  // The bundle's root, from any chunk (steps/ and chunks/ are one level below it).
  banner: { js: "const __pipeBundleRoot = new URL('../', import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
  // Less source to pre-parse at every thread start; names are kept for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
});

// The engine's code hashes of these steps (over their TypeScript sources), recorded for the engine to check with a
// stat per source instead of reading and hashing them in every new workspace (core fingerprint/code-hash.ts).
const { writeBuiltCodeHashes } = await import('@pipe/core');
writeBuiltCodeHashes(
  dist,
  steps.map((s) => path.join(dist, 'steps', `${s}.js`)),
);
