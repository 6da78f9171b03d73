// Locations inside the package, valid both from src/ (tests) and dist/ (built code): both sit one
// level below the package root.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** Absolute path of packages/kernels. */
export function packageRoot(): string {
  root ??= realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
  return root;
}
