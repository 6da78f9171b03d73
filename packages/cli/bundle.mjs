#!/usr/bin/env node
// Bundles the compiled CLI (dist/) with the engine and its npm dependencies into a few ESM chunks in
// dist/bundle/, which bin/pipe.js loads: one file to read and link instead of ~80 modules saves a third of
// a no-work command's start-up. Lazy `import()`s stay lazy (code splitting): the config loader (yaml, zod),
// watch mode and the remote cache are separate chunks loaded only when used.
//
// Kept external: node builtins, @pipe/kernels and @pipe/astro (native addons and WASM found by path, and
// step modules that worker threads import from their own files). Modules that locate files next to
// themselves through `import.meta.url` (worker entry points, build info) are given their original URL, so
// the bundle behaves as the unbundled modules do.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { originalImportMetaUrl } from '../core/scripts/esbuild-original-urls.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'dist', 'bundle');

// Every chunk lies directly in outdir: a chunk's own URL resolves paths relative to the bundle directory.
const originalUrls = originalImportMetaUrl(outdir, 'import.meta.url');

/**
 * zod re-exports its ~60 message locales as a namespace (`z.locales`), which esbuild cannot shake: half of the
 * config loader's chunk. pipe's messages are its own and zod's defaults English: keep `en` alone (the config
 * loader's chunk is then ~40% smaller and compiles that much faster at every start-up that loads a config).
 */
const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)
        ? { path: path.join(path.dirname(args.importer), '../locales/index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

/**
 * fdir (tinyglobby's directory walker) loads picomatch through `createRequire(import.meta.url)` when its module is
 * evaluated: a second, unbundled copy of picomatch (five CommonJS files read and compiled, ~9 ms of every command
 * that loads the engine). The bundle's own copy is imported instead. Should fdir change that code, it is left as it
 * is (the same behaviour, only slower). First among the plugins: its onLoad answers for that file.
 */
const FDIR_PICOMATCH = /__require\.resolve\("picomatch"\);\s*pm = __require\("picomatch"\);/;
const fdirBundledPicomatch = {
  name: 'fdir-bundled-picomatch',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]fdir[\\/]dist[\\/]index\.mjs$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!FDIR_PICOMATCH.test(source)) return undefined;
      return {
        contents: `import __bundledPicomatch from 'picomatch';\n${source.replace(FDIR_PICOMATCH, 'pm = __bundledPicomatch;')}`,
        loader: 'js',
        resolveDir: path.dirname(args.path),
      };
    });
  },
};

await rm(outdir, { recursive: true, force: true }); // chunk names change with their content
await build({
  entryPoints: {
    'fast-path': path.join(here, 'dist', 'fast-path', 'entry.js'),
    main: path.join(here, 'dist', 'main.js'),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@pipe/kernels', '@pipe/astro', 'fsevents'],
  // CommonJS dependencies (commander, picomatch) call require() for node builtins.
  banner: { js: "import { createRequire as __pipeRequire } from 'node:module'; const require = __pipeRequire(import.meta.url);" },
  plugins: [fdirBundledPicomatch, originalUrls, englishOnlyZod],
  logLevel: 'warning',
  legalComments: 'none',
  // Less source for V8 to pre-parse at every start-up (−10 ms on `pipe plan`); names are kept for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
});

// The step modules that `pipe build` runs in its worker threads are bundled by their own package's build
// (packages/astro/bundle.mjs, run by turbo before this one); a stale step bundle is not used, only slower.
