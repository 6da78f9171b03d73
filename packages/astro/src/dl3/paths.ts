/**
 * Path rules of the DL3 index files, as gammapy 1.0 applies them (gammapy/utils/fits.py HDULocation.path):
 * BASE_DIR/FILE_DIR/FILE_NAME if that file exists, else $-expanded FILE_DIR/FILE_NAME relative to the working
 * directory. Paths are not normalised: `..` segments are left to the file system.
 */
import { type Stats, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
// The module alone, not the engine's index: a DL3 step's thread would load the whole engine (~200 ms cold).
import { whyMissing } from '@pipe/core/why-missing';

/** Variables visible to path expansion, and the directory relative paths are taken from. */
export interface PathContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** Python's os.path.expandvars: `$NAME` and `${NAME}` replaced when defined, left unchanged otherwise. */
export function expandVars(path: string, env: PathContext['env']): string {
  return path.replace(/\$(\w+)|\$\{([^}]*)\}/g, (m, bare: string | undefined, braced: string | undefined) => {
    const v = env[(bare ?? braced) as string];
    return v === undefined ? m : v;
  });
}

/** pathlib's `/`: an absolute right-hand side replaces the left; empty parts are skipped; nothing normalised. */
export function joinPath(...parts: string[]): string {
  let out = '';
  for (const p of parts) {
    if (p === '') continue;
    if (isAbsolute(p) || out === '') out = p;
    else out = out.endsWith('/') ? out + p : `${out}/${p}`;
  }
  return out === '' ? '.' : out;
}

/** Where an index row's file is, and which candidates were tried. */
export interface ResolvedPath {
  path: string;
  exists: boolean;
  /** It exists, and is a folder (an empty or '.' FILE_NAME): no HDU can be read from it. */
  folder: boolean;
  /** The candidates in the order tried. */
  tried: string[];
  /**
   * For a file not found: what stands at the first candidate instead, in words, when something does (a symbolic link
   * to a disk not mounted, a loop of links, a folder that cannot be searched).
   */
  instead?: string;
}

/** Resolves FILE_DIR/FILE_NAME of an index row against the store's base directory. */
export function resolveIndexPath(
  baseDir: string,
  fileDir: string,
  fileName: string,
  ctx: PathContext,
): ResolvedPath {
  const first = absolute(joinPath(baseDir, fileDir, fileName), ctx);
  const firstStat = statOrUndefined(first);
  if (firstStat) return { path: first, exists: true, folder: firstStat.isDirectory(), tried: [first] };
  const second = absolute(joinPath(expandVars(fileDir, ctx.env), fileName), ctx);
  const secondStat = statOrUndefined(second);
  const instead = secondStat ? undefined : whyMissing(first);
  return {
    path: second,
    exists: !!secondStat,
    folder: !!secondStat?.isDirectory(),
    tried: [first, second],
    ...(instead ? { instead } : {}),
  };
}

/** The file's stat, or undefined when it cannot be reached: missing, a loop of links (ELOOP), EACCES on the way. */
function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function absolute(path: string, ctx: PathContext): string {
  return isAbsolute(path) ? path : joinPath(ctx.cwd, path);
}
