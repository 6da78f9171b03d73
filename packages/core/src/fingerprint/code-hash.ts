/**
 * The code hash of a step module: SHA-256 over the module's source and the sources of its
 * transitive *relative* imports (sorted by path relative to the module's package): those its code loads, not the
 * `import type`/`export type … from` statements TypeScript erases (relative-imports.ts).
 *
 * Which source: a compiled module is hashed from its TypeScript sources (`dist/a/b.js` → `src/a/b.ts`, `.tsx`,
 * `.mts`; the folders from the tsconfig.json whose outDir holds it, else a package's dist/ and src/: ts-layout.ts),
 * because compiled JS differs with compiler options and what a developer edits is the source; a module without
 * such a source (a plain .js/.mjs module) is hashed as the JS it runs. A source edited after its compiled file was
 * written is refused (`stale`): the key would name code that is not what runs.
 * Bare imports (npm packages, other workspace packages) are not followed: kernels enter the key
 * through their own identity (source hash, compiler, backend), everything else through the step's
 * `version`.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type FileIdentity, identityOf, sameIdentity } from '@pipe/cache/types';
import { compiledFromThisText as sameTextAsCompiled } from '@pipe/kernels/built-from';
import { RACY_GRANULARITY_MS } from '../state/hash-memo.js';
import { distFolderOf } from '../steps/bundled.js';
import { sha256Hex } from './canonical.js';
import { resolveRelative, runtimeImports } from './relative-imports.js';
import { compiledIn, packageLayout, sourceLayout, TS_EXTS, type TsLayout } from './ts-layout.js';

/** The source file that stands for a runtime module (see the module comment). */
export function sourceOf(modulePath: string): string {
  return sourceLayout(modulePath).source;
}

export interface CodeHash {
  hash: string;
  /**
   * The files that went into it (absolute), sorted; for a module hashed from its TypeScript sources, the compiled
   * file of each source too (they do not enter the hash, but a build watches them).
   */
  files: string[];
  /**
   * Why the compiled JavaScript that runs is older than the sources hashed (a source edited, or added, since the
   * last compile): its results would be keyed by code that did not make them.
   */
  stale?: string;
}

/** A file's identity now (cache's FileIdentity: size, mtime and ctime in ns, inode, device); null when it is gone. */
function identityNow(file: string): FileIdentity | null {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? identityOf(st) : null;
}

/** The files a hash read, each with its identity then. */
type Stamps = Array<[string, FileIdentity | null]>;

/**
 * Code hashes computed in this process, with the stamps of the files they read. One command asks for a
 * step's hash several times (its identity, the pipeline cache's dependencies, the no-op snapshot): each
 * later ask costs one stat per file instead of reading and hashing them again, and any change to a file
 * (which moves its ctime) recomputes the hash.
 */
const memo = new Map<string, { stamps: Stamps; value: CodeHash }>();

/** A memoised code hash with the stamps it was computed under (kept in the pipeline cache across runs). */
export type KnownCodeHash = [modulePath: string, stamps: Stamps, value: CodeHash];

/** The memo's entries for `modules` (those computed in this process). */
export function knownCodeHashes(modules: Iterable<string>): KnownCodeHash[] {
  const out: KnownCodeHash[] = [];
  for (const m of new Set(modules)) {
    const known = memo.get(m);
    if (known) out.push([m, known.stamps, known.value]);
  }
  return out;
}

/**
 * Seed the memo with hashes an earlier run computed. They are trusted only as far as the stamps go: each is
 * checked with a stat per file when asked for, like the ones computed here. (The pipeline cache that keeps
 * them is written only when none of these files was modified within the racy window of its load.)
 */
export function seedCodeHashes(list: readonly KnownCodeHash[] | undefined, overwrite = true): void {
  for (const [m, stamps, value] of list ?? []) if (overwrite || !memo.has(m)) memo.set(m, { stamps, value });
}

/** `dist/` folders whose recorded code hashes were read (or found missing) in this process. */
const seededFrom = new Set<string>();

/** The file in a package's `dist/` where its build records the code hashes of its step modules. */
export const BUILT_CODE_HASHES = '.pipe-code-hashes.json';

/**
 * Record the code hashes of `modules` (step modules under `<package>/dist/`) in that folder's
 * {@link BUILT_CODE_HASHES}, for a package's build to call after compiling: each build of a new workspace then
 * checks them with one stat per source file instead of reading and hashing every source of every step. Only
 * hashes that are not racily clean are written (see codeHash); they are trusted as far as their stamps go.
 */
export function writeBuiltCodeHashes(dist: string, modules: readonly string[]): number {
  for (const m of modules) codeHash(m);
  let known = knownCodeHashes(modules);
  if (known.length < modules.length) {
    // Files compiled within the racy window (a fast compile just before): wait it out once and hash again.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RACY_GRANULARITY_MS + 20);
    for (const m of modules) codeHash(m);
    known = knownCodeHashes(modules);
  }
  writeFileSync(path.join(dist, BUILT_CODE_HASHES), `${JSON.stringify(known)}\n`);
  seededFrom.delete(dist); // read it (again) when a module not hashed here is asked for
  return known.length;
}

/** The hashes a build recorded next to a step module (see writeBuiltCodeHashes), added to the memo once. */
function seedFromBuild(modulePath: string): void {
  const dist = distFolderOf(modulePath);
  if (!dist || seededFrom.has(dist)) return;
  seededFrom.add(dist);
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(path.join(dist, BUILT_CODE_HASHES), 'utf8'));
  } catch {
    return; // none recorded (or unreadable): computed as usual
  }
  if (!Array.isArray(list)) return;
  const valid = (list as unknown[]).filter((entry): entry is KnownCodeHash => {
    if (!Array.isArray(entry) || entry.length !== 3) return false;
    const [m, stamps, value] = entry as [unknown, unknown, Partial<CodeHash> | null];
    return (
      typeof m === 'string' &&
      Array.isArray(stamps) &&
      typeof value?.hash === 'string' &&
      Array.isArray(value.files)
    );
  });
  seedCodeHashes(valid, false); // what this process hashed itself stays
}

/**
 * File identities taken once for several code hashes asked together (see codeHash's `seen`): step modules share most
 * of their files, so checking five of them stats each shared file once, not five times.
 */
export type IdentitiesSeen = Map<string, FileIdentity | null>;

/** A file's identity now (null: gone), taken once per `seen` when one is given. */
export function identityOnce(file: string, seen?: IdentitiesSeen): FileIdentity | null {
  if (!seen) return identityNow(file);
  let id = seen.get(file);
  if (id === undefined) seen.set(file, (id = identityNow(file)));
  return id;
}

/**
 * Hash a step module and its transitive relative imports. Missing imports are skipped (the runtime will complain).
 * `seen`: identities already taken by the caller for this one question (several modules checked at one moment), used
 * instead of a stat each when checking a remembered hash.
 */
export function codeHash(modulePath: string, seen?: IdentitiesSeen): CodeHash {
  if (!memo.has(modulePath)) seedFromBuild(modulePath);
  const known = memo.get(modulePath);
  if (
    known?.stamps.every(
      ([file, id]) => id !== null && sameIdentity(id, identityOnce(file, seen) ?? undefined),
    )
  ) {
    rememberStamps(modulePath, known.value.hash, known.stamps);
    return known.value;
  }
  const started = Date.now();
  const stamps: Stamps = [];
  // Racily clean (design.md): a file modified within a clock tick of now could change again unseen by its
  // stamp, so such a hash (or such a file's facts) is not remembered.
  const limitNs = BigInt(started - RACY_GRANULARITY_MS) * 1_000_000n;
  const value = computeCodeHash(modulePath, stamps, limitNs);
  if (stamps.every(([, id]) => id !== null && BigInt(id.mtimeNs) < limitNs))
    memo.set(modulePath, { stamps, value });
  else memo.delete(modulePath);
  rememberStamps(modulePath, value.hash, stamps);
  return value;
}

/**
 * Per module, the files' identities when it first hashed to each of its last few hashes in this process (racily
 * clean or not): which file an edit touched, once the hash has moved on (editedSince).
 */
const stampsOfHash = new Map<string, Map<string, Stamps>>();

function rememberStamps(modulePath: string, hash: string, stamps: Stamps): void {
  let byHash = stampsOfHash.get(modulePath);
  if (!byHash) stampsOfHash.set(modulePath, (byHash = new Map()));
  if (byHash.has(hash)) return;
  byHash.set(hash, stamps);
  if (byHash.size > 4) byHash.delete(byHash.keys().next().value!);
}

/**
 * The files of a module's code (itself, a helper it imports, one created since) that changed since it hashed to
 * `hash` in this process; empty when that is not known.
 */
export function editedSince(modulePath: string, hash: string): string[] {
  const stamps = stampsOfHash.get(modulePath)?.get(hash) ?? [];
  return stamps
    .filter(([file, id]) => {
      const now = identityNow(file);
      return id === null ? now !== null : !sameIdentity(id, now ?? undefined);
    })
    .map(([file]) => file);
}

/** What a code hash needs of one source file: the SHA-256 of its text and the relative imports it names. */
interface SourceFacts {
  id: FileIdentity;
  digest: string;
  specs: string[];
}

/**
 * Facts of the source files read in this process, by path, with the identity they were read under. Step modules
 * share most of their imports (FITS, WCS, geometry, …): each file is read and hashed once per process, not once
 * per step module that reaches it, and any change to it (which moves its ctime) reads it again.
 */
const sources = new Map<string, SourceFacts>();

/** A source file's facts now (from `sources` while its identity holds), its stamp pushed; undefined if unreadable. */
function sourceFacts(file: string, stamps: Stamps, limitNs: bigint): SourceFacts | undefined {
  const id = identityNow(file);
  stamps.push([file, id]);
  if (id === null) return undefined;
  const known = sources.get(file);
  if (known && sameIdentity(known.id, id)) return known;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const facts: SourceFacts = {
    id,
    digest: sha256Hex(text),
    specs: runtimeImports(text),
  };
  // Racily clean files are read again next time (see codeHash).
  if (BigInt(id.mtimeNs) < limitNs) sources.set(file, facts);
  else sources.delete(file);
  return facts;
}

function computeCodeHash(modulePath: string, stamps: Stamps, limitNs: bigint): CodeHash {
  const missing = new Set<string>();
  const isFileNow = new Map<string, boolean>();
  const isFile = (p: string): boolean => {
    let found = isFileNow.get(p);
    if (found === undefined)
      isFileNow.set(p, (found = statSync(p, { throwIfNoEntry: false })?.isFile() === true));
    return found;
  };
  const { source: entry, layout } = sourceLayout(modulePath);
  const seen = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const facts = sourceFacts(file, stamps, limitNs);
    if (!facts) continue;
    seen.set(file, facts.digest);
    for (const spec of facts.specs) {
      const target = resolveRelative(file, spec, isFile);
      if (target && !seen.has(target)) queue.push(target);
      // An import of a file not there (yet): watched, so that creating it is seen, and stamped as missing, so that
      // no hash without it is remembered (once it is there, it is hashed).
      else if (!target) {
        const written = path.resolve(path.dirname(file), spec);
        // From TypeScript, './x.js' names x.ts.
        const expected = TS_EXTS.includes(path.extname(file))
          ? `${written.replace(/\.(m?js|cjs)$/, '')}.ts`
          : written;
        if (!missing.has(expected)) stamps.push([expected, null]);
        missing.add(expected);
      }
    }
  }
  const base = path.dirname(entry);
  const sourcesHashed = [...seen.keys()].sort();
  const hash = sha256Hex(
    sourcesHashed
      .map((f) => `${path.relative(base, f).split(path.sep).join('/')}\0${seen.get(f)!}\n`)
      .join(''),
  );
  if (entry === modulePath) return { hash, files: [...sourcesHashed, ...missing].sort() };
  // Hashed from src/ but run from dist/: each source's compiled file must be as new as the source, else the key
  // names code that is not what runs (an edit not compiled yet). tsc -b does not rewrite a file whose output is
  // unchanged (a source saved as it was), but it does write the package's .tsbuildinfo: a compile after the source
  // counts too. Their stamps keep the memo honest when a compile rewrites them; a watch rebuilds when they change.
  const compiled: string[] = [];
  const buildInfos = new Map<string, bigint>();
  const compiledAt = (where: Pick<TsLayout, 'outRoot' | 'configDir'>): bigint => {
    let at = buildInfos.get(where.configDir);
    if (at === undefined) {
      at = -1n;
      for (const file of buildInfoFiles(where)) {
        const id = identityNow(file);
        stamps.push([file, id]);
        if (id && BigInt(id.mtimeNs) > at) at = BigInt(id.mtimeNs);
      }
      buildInfos.set(where.configDir, at);
    }
    return at;
  };
  const sourceIds = new Map(stamps);
  let stale: string | undefined;
  for (const src of sourcesHashed) {
    const inLayout = layout && compiledIn(src, layout);
    const out = inLayout ? { js: inLayout, ...layout } : compiledOf(src);
    if (!out) continue;
    compiled.push(out.js);
    const id = identityNow(out.js);
    stamps.push([out.js, id]);
    const srcId = sourceIds.get(src);
    if (stale || !srcId) continue;
    const srcAt = BigInt(srcId.mtimeNs);
    if (id === null) stale = `${src} has no compiled ${path.basename(out.js)} in ${path.dirname(out.js)}`;
    else if (BigInt(id.mtimeNs) < srcAt && compiledAt(out) < srcAt && !compiledFromThisText(src, out))
      stale = `${src} changed after ${out.js} was compiled`;
  }
  return {
    hash,
    files: [...sourcesHashed, ...compiled, ...missing].sort(),
    ...(stale
      ? { stale: `${stale}: build the package (npm run build, or tsc -b) before building with it` }
      : {}),
  };
}

/**
 * Whether tsc's build info records `src` with the text it has now (kernels' built-from.ts): then a source touched,
 * checked out again or restored with its old content since the compile is not stale — content decides, not the clock.
 */
function compiledFromThisText(src: string, where: Pick<TsLayout, 'outRoot' | 'configDir'>): boolean {
  for (const file of buildInfoFiles(where)) {
    const same = sameTextAsCompiled(file, src);
    if (same !== undefined) return same;
  }
  return false;
}

/** The tsc build-info files of a layout (*.tsbuildinfo in its output folder, and beside its tsconfig). */
function buildInfoFiles(where: Pick<TsLayout, 'outRoot' | 'configDir'>): string[] {
  const files: string[] = [];
  for (const dir of [where.outRoot, where.configDir]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.tsbuildinfo')) files.push(path.join(dir, name));
  }
  return files;
}

/**
 * The compiled file of a TypeScript source under `<package>/src/`: `<package>/dist/…/x.js` (`.mts` → `.mjs`); for a
 * source the entry module's layout does not hold (a relative import into another package).
 */
function compiledOf(source: string): { js: string; outRoot: string; configDir: string } | undefined {
  const layout = packageLayout(source, 'src');
  const js = layout && compiledIn(source, layout);
  return js === undefined ? undefined : { js, ...layout! };
}
