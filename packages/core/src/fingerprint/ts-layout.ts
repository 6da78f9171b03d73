/**
 * Where a compiled step module's TypeScript sources are. The code hash follows the sources (what a developer edits)
 * and checks that each one's compiled file is newer (an edit not compiled yet is refused): both need the folder pair
 * tsc compiles from and to. A tsconfig.json above the module whose `outDir` holds it gives the pair (its `rootDir`,
 * else tsc's default: the common folder of its input files); without one, a package's `dist/` is taken to be
 * compiled from its `src/`.
 */
import { type Dirent, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TS_EXTS } from './relative-imports.js';

export interface TsLayout {
  /** The folder tsc compiles from. */
  srcRoot: string;
  /** The folder it writes to. */
  outRoot: string;
  /** Where its .tsbuildinfo may be: the tsconfig's folder (and outRoot). */
  configDir: string;
}

export { TS_EXTS };

/** tsconfig.json is JSON with comments and trailing commas. */
function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

interface TsOptions {
  outDir?: string;
  rootDir?: string;
  include?: string[];
}

/** The options that place files, with `extends` of a relative file followed; paths made absolute. */
function readTsOptions(file: string, depth = 0): TsOptions | undefined {
  let json: {
    extends?: unknown;
    include?: unknown;
    compilerOptions?: { outDir?: unknown; rootDir?: unknown };
  };
  try {
    json = parseJsonc(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as typeof json;
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== 'object') return undefined;
  const dir = path.dirname(file);
  // `extends`: a relative file, or (TypeScript 5) a list of them, later ones overriding; npm packages are not read.
  const bases = (Array.isArray(json.extends) ? json.extends : [json.extends]).filter(
    (e): e is string => typeof e === 'string' && e.startsWith('.'),
  );
  const opts: TsOptions = {};
  if (depth < 5)
    for (const e of bases)
      Object.assign(opts, readTsOptions(path.resolve(dir, e.endsWith('.json') ? e : `${e}.json`), depth + 1));
  const co = json.compilerOptions;
  if (typeof co?.outDir === 'string') opts.outDir = path.resolve(dir, co.outDir);
  if (typeof co?.rootDir === 'string') opts.rootDir = path.resolve(dir, co.rootDir);
  if (Array.isArray(json.include)) {
    const include = json.include.filter((p): p is string => typeof p === 'string');
    opts.include = include.map((p) => path.resolve(dir, p));
  }
  return opts;
}

/** The folder part of a glob before its first wildcard (`steps/**\/*.ts` → steps). */
function staticFolder(pattern: string): string {
  const parts = pattern.split(path.sep);
  const at = parts.findIndex((p) => /[*?{[]/.test(p));
  const folder = at < 0 ? pattern : parts.slice(0, at).join(path.sep);
  return at < 0 && path.extname(folder) !== '' ? path.dirname(folder) : folder;
}

const inside = (dir: string, file: string) => file.startsWith(`${dir}${path.sep}`);

/** How many folder entries the rootDir inference looks at, at most (a tsconfig at the top of a large tree). */
const ROOT_DIR_SCAN_LIMIT = 5000;
const inferred = new Map<string, string>();

/**
 * tsc's default rootDir: the longest common folder of its input files (.ts, .tsx, .mts, not declarations) under the
 * `include` folders (all of the tsconfig's folder by default), outDir, node_modules and dot-folders left out. Once
 * per tsconfig and process; past ROOT_DIR_SCAN_LIMIT entries, the files seen so far decide.
 */
function inferredRootDir(
  file: string,
  configDir: string,
  include: string[] | undefined,
  outDir: string,
): string {
  const known = inferred.get(file);
  if (known !== undefined) return known;
  const roots = include && include.length > 0 ? include.map(staticFolder) : [configDir];
  let common: string | undefined;
  let budget = ROOT_DIR_SCAN_LIMIT;
  const visit = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (--budget < 0) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.') && p !== outDir) visit(p);
      } else if (TS_EXTS.includes(path.extname(e.name)) && !/\.d\.m?ts$/.test(e.name)) {
        common = common === undefined ? dir : commonFolder(common, dir);
      }
    }
  };
  for (const r of roots) visit(r);
  const root = common ?? configDir;
  inferred.set(file, root);
  return root;
}

function commonFolder(a: string, b: string): string {
  const pa = a.split(path.sep);
  const pb = b.split(path.sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return pa.slice(0, i).join(path.sep) || path.sep;
}

/** The tsconfig layout whose outDir holds `modulePath`, from the nearest tsconfig.json above it that has one. */
function tsconfigLayout(modulePath: string): TsLayout | undefined {
  let dir = path.dirname(modulePath);
  for (let up = 0; up < 12; up++) {
    const file = path.join(dir, 'tsconfig.json');
    if (existsSync(file)) {
      const opts = readTsOptions(file);
      if (opts?.outDir !== undefined && inside(opts.outDir, modulePath)) {
        const srcRoot = opts.rootDir ?? inferredRootDir(file, dir, opts.include, opts.outDir);
        return { srcRoot, outRoot: opts.outDir, configDir: dir };
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * A package's `dist/` compiled from its `src/` (the convention, without a tsconfig that says otherwise): the package
 * whose `holder` folder holds `file` (a compiled module's dist/, or a source's src/).
 */
export function packageLayout(file: string, holder: 'src' | 'dist' = 'dist'): TsLayout | undefined {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf(holder);
  if (at < 1) return undefined;
  const pkgRoot = parts.slice(0, at).join(path.sep);
  return { srcRoot: path.join(pkgRoot, 'src'), outRoot: path.join(pkgRoot, 'dist'), configDir: pkgRoot };
}

/** The TypeScript source a compiled module of `layout` stands for, or undefined when there is none. */
function sourceIn(modulePath: string, layout: TsLayout | undefined): string | undefined {
  if (!layout || !inside(layout.outRoot, modulePath)) return undefined;
  const rest = path.relative(layout.outRoot, modulePath).replace(/\.(m?js|cjs)$/, '');
  for (const ext of TS_EXTS) {
    const candidate = path.join(layout.srcRoot, rest + ext);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The source to hash for a runtime module, and the layout it was found by (none: the module is its own source). */
export function sourceLayout(modulePath: string): { source: string; layout?: TsLayout } {
  for (const layout of [tsconfigLayout(modulePath), packageLayout(modulePath)]) {
    const source = sourceIn(modulePath, layout);
    if (source !== undefined) return { source, layout: layout! };
  }
  return { source: modulePath };
}

/** The compiled file of a TypeScript source of `layout` (`.mts` → `.mjs`), or undefined when it is not one. */
export function compiledIn(source: string, layout: TsLayout): string | undefined {
  const ext = path.extname(source);
  if (!TS_EXTS.includes(ext) || !inside(layout.srcRoot, source)) return undefined;
  const rest = path.relative(layout.srcRoot, source);
  return path.join(layout.outRoot, `${rest.slice(0, -ext.length)}${ext === '.mts' ? '.mjs' : '.js'}`);
}
