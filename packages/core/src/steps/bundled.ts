/** Running a package's modules from its bundle when it ships a fresh one (see runnableModule). */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The package's compiled-output folder a module lies in (its last `dist` segment), or undefined. */
export function distFolderOf(module: string): string | undefined {
  const parts = module.split(path.sep);
  const at = parts.lastIndexOf('dist');
  return at < 1 ? undefined : parts.slice(0, at + 1).join(path.sep);
}

/**
 * The file to import for a step or config-schema module: a module under a package's `dist/` is run from its twin
 * under `dist/bundle/` (same relative path) when the package ships one made after its last compile (newer than
 * `dist/.tsbuildinfo`, e.g. packages/astro/bundle.mjs): a few chunks to resolve, read and link instead of the
 * package's ~100 modules, which every build loads in each worker thread, and on the main thread for the steps'
 * parameters and the config schema. A bundle that contains other packages' modules lists their compiled folders in
 * `dist/bundle/bundled-packages.json` (`{ "dist": [path relative to the bundle, …] }`): it must be newer than their
 * `.tsbuildinfo` too. Anything else, and a twin older than the compiled modules (a package recompiled with `tsc -b`
 * alone), runs `module` itself. Task keys never depend on this choice: code hashes are taken over the step's
 * sources (fingerprint/code-hash.ts), kernel identities over the kernels' sources.
 */
export function runnableModule(module: string): string {
  const dist = distFolderOf(module);
  if (!dist) return module;
  const inside = path.relative(dist, module);
  if (inside.split(path.sep)[0] === 'bundle') return module;
  const twin = path.join(dist, 'bundle', inside);
  const bundled = statSync(twin, { throwIfNoEntry: false })?.mtimeMs;
  if (bundled === undefined) return module;
  const compiledAt = (folder: string) =>
    statSync(path.join(folder, '.tsbuildinfo'), { throwIfNoEntry: false })?.mtimeMs;
  const compiled = compiledAt(dist);
  if (compiled === undefined || bundled < compiled) return module;
  const others = bundledPackages(path.join(dist, 'bundle'));
  if (!others) return module;
  for (const other of others) {
    const t = compiledAt(other);
    if (t === undefined || bundled < t) return module;
  }
  return twin;
}

/** The compiled folders of other packages a bundle contains (absolute); undefined when the list is damaged. */
function bundledPackages(bundleDir: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(bundleDir, 'bundled-packages.json'), 'utf8');
  } catch {
    return []; // a bundle of the package's own modules alone
  }
  try {
    const list = (JSON.parse(text) as { dist?: unknown }).dist;
    if (Array.isArray(list) && list.every((d) => typeof d === 'string'))
      return list.map((d) => path.resolve(bundleDir, d));
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * A module's default export, as the step or config schema it should be. TypeScript (and Babel) compile
 * `export default {…}` to CommonJS as `exports.default = {…}` with `__esModule` set, and node's import of such a
 * file gives all of `module.exports` as the default: the step is one level down.
 */
export function moduleDefault(mod: { default?: unknown }): unknown {
  const value = mod.default as { __esModule?: unknown; default?: unknown } | undefined;
  if (value !== null && typeof value === 'object' && value.__esModule === true && 'default' in value)
    return value.default;
  return value;
}
