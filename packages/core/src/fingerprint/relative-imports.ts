/**
 * The relative modules a source names: ESM `from`/`import`, dynamic `import(…)` and CommonJS `require(…)` (what tsc
 * emits for a CommonJS step), with a quoted or a plain template-literal specifier (one with `${` is computed at run
 * time and cannot be followed). Read by the code hash and by the step thread's search for a syntax error's module;
 * a module of its own, so that the step thread does not load the code hash.
 */
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
