/**
 * The relative modules a source names: ESM `from`/`import`, dynamic `import(…)` and CommonJS `require(…)` (what tsc
 * emits for a CommonJS step), with a quoted or a plain template-literal specifier (one with `${` is computed at run
 * time and cannot be followed). Read by the code hash and by the step thread's search for a syntax error's module;
 * a module of its own, so that the step thread does not load the code hash.
 */
import path from 'node:path';

/** The extensions of TypeScript sources (ts-layout.ts and the resolver below). */
export const TS_EXTS = ['.ts', '.tsx', '.mts'];

const IMPORT_RE =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"`])(\.{1,2}\/(?:(?!\$\{)[^'"`\n])+)\1/g;

/** The relative specifiers `text` imports, in order (`./a.js`, `../lib/b.mjs`). */
export function relativeImports(text: string): string[] {
  return Array.from(text.matchAll(IMPORT_RE), (m) => m[2]!);
}

/**
 * `import type … from '…'` and `export type … from '…'`: statements TypeScript always erases, so the module they name
 * is never loaded by them (an `import { type A }` may stay as `import {}`, which loads it: not matched).
 */
const TYPE_ONLY_RE =
  /\b(?:import|export)\s+type\s+(?:\*\s+as\s+[\w$]+|\*|\{[^}]*\}|[\w$]+)\s+from\s*(['"])[^'"\n]*\1/g;

/**
 * The relative specifiers `text` imports that its code loads when it runs: relativeImports less the type-only
 * statements. The code hash follows these: a module reached only through types (an interface's file) cannot change
 * what a step computes, and editing it reran every step whose types mention it (found by helper-155).
 */
export function runtimeImports(text: string): string[] {
  return relativeImports(text.replace(TYPE_ONLY_RE, ''));
}

/**
 * The file a relative import names, as node (or, from TypeScript, tsc) resolves it. `found` says whether a candidate
 * path is a file: one hash asks once per path, not once per import of it (a module's files import the same few often).
 */
export function resolveRelative(
  fromFile: string,
  spec: string,
  found: (p: string) => boolean,
): string | undefined {
  const base = path.resolve(path.dirname(fromFile), spec);
  const isTs = TS_EXTS.includes(path.extname(fromFile));
  // The candidates in order, each built only when the ones before it are missing (most imports name a file
  // whose first candidate exists).
  if (isTs) {
    const stem = base.replace(/\.(m?js|cjs)$/, '');
    for (const e of TS_EXTS) if (found(stem + e)) return stem + e;
    if (found(base)) return base;
    for (const e of TS_EXTS) {
      const c = path.join(base, `index${e}`);
      if (found(c)) return c;
    }
    return undefined;
  }
  // As node resolves a relative specifier (require also tries .cjs and .json, and a folder's index).
  for (const c of [base, `${base}.js`, `${base}.mjs`, `${base}.cjs`, `${base}.json`]) if (found(c)) return c;
  for (const name of ['index.js', 'index.cjs', 'index.json']) {
    const index = path.join(base, name);
    if (found(index)) return index;
  }
  return undefined;
}
