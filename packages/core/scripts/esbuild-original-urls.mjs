// An esbuild plugin for pipe's bundles (packages/cli/bundle.mjs, packages/astro/bundle.mjs): a bundled module's
// `import.meta.url` becomes the URL of its original file, so that a module locating files next to itself (worker
// entry points, build info, WASM modules) behaves as unbundled. `base` is a JavaScript expression for the URL of
// `outdir` as seen from a chunk (e.g. `import.meta.url` when every chunk lies directly in outdir).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export function originalImportMetaUrl(outdir, base) {
  return {
    name: 'original-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.(m?js)$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const rel = path.relative(outdir, args.path).split(path.sep).join('/');
        return {
          contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, ${base}).href`),
          loader: 'js',
          resolveDir: path.dirname(args.path),
        };
      });
    },
  };
}
