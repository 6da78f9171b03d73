/**
 * Which target reads a workspace file as raw data: a file input's path, a path an input's glob matches (`{item}`
 * standing for any item), or a file a `foreach` glob fans out over. Such a file is data, whoever wrote it: a build
 * does not retire it (builds/retire.ts), and `--out` does not copy a product over it (store/export.ts).
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { Pipeline } from '../model/types.js';
import { relPath } from '../workspace/layout.js';
import { absolutePattern, isGlob, literalPath } from './items.js';

/** For a workspace-relative path, what reads it ("input 'src' of target 'each'"), or undefined. */
export function rawInputReader(
  pipeline: Pick<Pipeline, 'root' | 'targets'>,
): (rel: string) => string | undefined {
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
    for (const [name, specs] of Object.entries(t.inputs))
      for (const spec of specs)
        if (spec.kind === 'file')
          add(spec.pattern.replaceAll('{item}', '**'), `input '${name}' of target '${t.name}'`);
  }
  return (rel) => {
    const known = exact.get(rel);
    if (known !== undefined || globs.length === 0) return known;
    const abs = path.resolve(pipeline.root, rel);
    return globs.find((g) => g.isMatch(abs))?.what;
  };
}
