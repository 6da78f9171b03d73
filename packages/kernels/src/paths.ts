// Locations inside the package, valid both from src/ (tests) and dist/ (built code): both sit one
// level below the package root.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * Absolute path of packages/kernels, or of a copy of it named by PIPE_KERNELS_ROOT (sources,
 * asconfig.json and build/ are read and written there: lets tests edit kernel sources on a copy).
 */
export function packageRoot(): string {
  const override = process.env.PIPE_KERNELS_ROOT;
  if (override) return realpathSync(override);
  root ??= realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
  return root;
}

/** The folder the native addon is built into (scripts/build-native.mjs). */
export function nativeAddonDir(): string {
  return join(packageRoot(), 'build', 'native');
}
