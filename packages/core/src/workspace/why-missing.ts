/**
 * Why a raw input file cannot be hashed, in words: a task fails on it, and "input missing" alone sends a user
 * looking for a file that is there (a symlink loop, a folder, an unreadable file).
 */
import { closeSync, constants, lstatSync, openSync, readlinkSync, type Stats, statSync } from 'node:fs';

const BY_CODE: Record<string, string> = {
  ELOOP: 'a loop of symbolic links',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of its path is a file, not a folder',
  ENAMETOOLONG: 'the path is too long',
};

/** What is wrong at `abs`, or undefined when nothing is there at all (plain "missing" says it). */
export function whyMissing(abs: string): string | undefined {
  try {
    const st = statSync(abs);
    if (st.isDirectory()) return 'a folder, not a file';
    if (!st.isFile()) return `not a regular file (${notAFile(st)})`;
    closeSync(openSync(abs, constants.O_RDONLY));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT') return danglingLink(abs);
    return BY_CODE[code] ?? `cannot be read: ${(error as Error).message}`;
  }
}

/** What stands at a path that is no regular file, in words: a folder, a named pipe, a socket, a device. */
export function notAFile(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

function danglingLink(abs: string): string | undefined {
  try {
    if (lstatSync(abs).isSymbolicLink())
      return `a symbolic link to '${readlinkSync(abs)}', which does not exist`;
  } catch {
    // nothing there at all
  }
  return undefined;
}
