/**
 * Files of pipe itself that a snapshot depends on (fast-path/record.ts): its build info and bundle, and for
 * steps that use kernels, what their identity and backend choice read — the kernels' sources, the built
 * backends and the compiler's version.
 */
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

/**
 * What a kernel's identity and backend choice read (the kernels' seam says: sources, built backends, compilers'
 * versions), for a session that did not learn it while choosing the kernels.
 */
export async function kernelFiles(names: Set<string>): Promise<{ files: string[]; dirs: string[] }> {
  const kernels = (await import('@pipe/kernels/seam')) as unknown as {
    identityFiles(names: readonly string[]): { files: string[]; dirs: string[] };
  };
  return kernels.identityFiles([...names]);
}
