/**
 * `mkdir -p` that ends, and says what the kernel said. Node 20's `mkdir(dir, {recursive: true})`:
 * - answers ENOENT for a folder on a read-only file system (EROFS): "no such file or directory" for a store or a
 *   workspace mounted read-only, where the user needs to read "read-only file system";
 * - loops for ever (sync or not) when mkdir answers ENOENT although the parent exists — procfs, or an automounter
 *   such as autofs under which the path is not a map key (`/home/nosuchuser/cache`): a cache folder there hung a
 *   build at full CPU.
 * Here each missing level is made by a plain mkdir, whose error is the kernel's, and a second ENOENT is an error.
 * Both return the first folder they created (as node's recursive mkdir does), undefined when the folder was there.
 * A file where a folder should be fails as node's does (EEXIST).
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

export async function makeDirs(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir);
    return dir;
  } catch (e) {
    if (code(e) === 'EEXIST') {
      if ((await stat(dir).catch(() => undefined))?.isDirectory()) return undefined;
      throw e;
    }
    if (code(e) !== 'ENOENT' || dirname(dir) === dir) throw e;
    const first = await makeDirs(dirname(dir));
    try {
      await mkdir(dir);
    } catch (again) {
      // Made meanwhile by another process: as good.
      if (code(again) !== 'EEXIST' || !(await stat(dir).catch(() => undefined))?.isDirectory()) throw again;
    }
    return first ?? dir;
  }
}

export function makeDirsSync(dir: string): string | undefined {
  try {
    mkdirSync(dir);
    return dir;
  } catch (e) {
    if (code(e) === 'EEXIST') {
      if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
      throw e;
    }
    if (code(e) !== 'ENOENT' || dirname(dir) === dir) throw e;
    const first = makeDirsSync(dirname(dir));
    try {
      mkdirSync(dir);
    } catch (again) {
      if (code(again) !== 'EEXIST' || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw again;
    }
    return first ?? dir;
  }
}
