/**
 * Which target reads a workspace file as raw data: a file input's path, a path an input's glob matches (`{item}`
 * standing for any item), or a file a `foreach` glob fans out over. Such a file is data, whoever wrote it: a build
 * does not retire it (builds/retire.ts), and `--out` does not copy a product over it (store/export.ts).
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { Pipeline } from '../model/types.js';
import { relPath } from '../workspace/layout.js';
import { absolutePattern, escapeGlob, isGlob, literalPath } from './items.js';

/** What reads a file: "input 'src' of target 'each'", and whether a glob (not the path itself) takes it in. */
export interface RawInputReader {
  what: string;
  byGlob: boolean;
}

/** For a workspace-relative path, what reads it as raw data, or undefined. */
export function rawInputReader(
  pipeline: Pick<Pipeline, 'root' | 'targets'>,
): (rel: string) => RawInputReader | undefined {
  const exact = new Map<string, string>();
  const globs: Array<{ isMatch: (abs: string) => boolean; what: string }> = [];
  const add = (pattern: string, what: string) => {
    if (!isGlob(pattern)) {
      const rel = relPath(pipeline.root, path.resolve(pipeline.root, literalPath(pattern)));
      if (!exact.has(rel)) exact.set(rel, what);
      return;
    }
    const isMatch = picomatch(absolutePattern(pipeline.root, pattern), { dot: true, posix: true });
    globs.push({ isMatch, what });
  };
  for (const t of pipeline.targets.values()) {
    if (t.foreach?.kind === 'glob') add(t.foreach.pattern, `the foreach glob of target '${t.name}'`);
    // `{item}` is any id of a fan-out over emitted items or files; over a list, only the listed ones.
    const items = t.foreach?.kind === 'list' ? t.foreach.items.map((i) => i.id) : undefined;
    for (const [name, specs] of Object.entries(t.inputs))
      for (const spec of specs) {
        if (spec.kind !== 'file') continue;
        const what = `input '${name}' of target '${t.name}'`;
        if (items && spec.pattern.includes('{item}'))
          for (const item of items) add(spec.pattern.replaceAll('{item}', escapeGlob(item)), what);
        else add(spec.pattern.replaceAll('{item}', '**'), what);
      }
  }
  return (rel) => {
    const known = exact.get(rel);
    if (known !== undefined) return { what: known, byGlob: false };
    if (globs.length === 0) return undefined;
    const abs = path.resolve(pipeline.root, rel);
    const what = globs.find((g) => g.isMatch(abs))?.what;
    return what === undefined ? undefined : { what, byGlob: true };
  };
}
