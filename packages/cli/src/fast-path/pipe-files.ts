/**
 * Files of pipe itself that a snapshot depends on (fast-path/record.ts): its build info and bundle, and for
 * steps that use kernels, what their identity and backend choice read — the kernels' sources, the built
 * backends and the compiler's version.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** pipe's own build info and bundle: a rebuilt CLI or engine invalidates every snapshot. */
export function engineFiles(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url)); // packages/cli/dist/fast-path
  return [
    path.resolve(here, '..', '.tsbuildinfo'),
    path.resolve(here, '..', 'bundle', 'main.js'),
    path.resolve(here, '..', '..', 'bin', 'pipe.js'),
  ];
}

/** Files below `dir` (two levels: build/*.wasm, build/native/*), and the directories themselves. */
function buildFiles(dir: string, files: string[], dirs: string[], depth = 2): void {
  dirs.push(dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 1) buildFiles(p, files, dirs, depth - 1);
    } else files.push(p);
  }
}

/** What a kernel's identity and backend choice read: its sources, the built backends, the compilers' versions. */
export async function kernelFiles(
  names: Set<string>,
  env: NodeJS.ProcessEnv,
): Promise<{ files: string[]; dirs: string[] }> {
  const kernels = (await import('@pipe/kernels/seam')) as unknown as {
    kernelSourceFiles(name: string): { reference: string[]; assembly: string[]; native: string[] };
  };
  const files: string[] = [];
  const dirs: string[] = [];
  for (const name of names) {
    const src = kernels.kernelSourceFiles(name);
    files.push(...src.reference, ...src.assembly, ...src.native);
  }
  const pkgRoot = env.PIPE_KERNELS_ROOT
    ? path.resolve(env.PIPE_KERNELS_ROOT)
    : path.resolve(path.dirname(fileURLToPath(import.meta.resolve('@pipe/kernels'))), '..');
  buildFiles(path.join(pkgRoot, 'build'), files, dirs);
  files.push(path.join(pkgRoot, 'dist', '.tsbuildinfo'));
  try {
    const asc = fileURLToPath(import.meta.resolve('assemblyscript/package.json'));
    files.push(asc);
  } catch {
    // not installed: the identity says so too, and it cannot change without a new install (other stamps)
  }
  return { files, dirs };
}
