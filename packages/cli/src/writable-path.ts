/**
 * Whether a path a command will write (a folder to fill, or a file) can be written, checked before the work and
 * without creating anything: a command that fails earlier must not leave an empty folder behind.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { nearestExisting } from '@pipe/core/lean';

/** Why `target` cannot be written as a `kind`, or undefined when it can (missing folders are made later). */
export function writablePathProblem(target: string, kind: 'folder' | 'file'): string | undefined {
  // The nearest part of the path that exists decides: a file there blocks a folder, a folder blocks a file.
  const existing = nearestExisting(target);
  const st = statSync(existing);
  if (existing === target && kind === 'file' && st.isDirectory()) return 'is a folder';
  if (!st.isDirectory() && (existing !== target || kind === 'folder'))
    return `a file is in the way of the folder (${existing})`;
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return `not writable (${existing})`;
  }
  return undefined;
}
