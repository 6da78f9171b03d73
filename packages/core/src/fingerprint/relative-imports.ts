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
