// A kernel's identity for the engine's task fingerprint: the hash of its SOURCE files (reference
// TypeScript, AssemblyScript, Rust), the compiler that turned them into what runs, and the backend
// unless the backends are proven bit-identical for that kernel (see registry.ts and README.md).
// Never the built binary: its bytes differ from machine to machine.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtFromThisSource, compiledFromThisText } from './built-from.js';
import { nativeAddonFile } from './native/addon.js';
import { nativeAddonDir, packageRoot } from './paths.js';
import { compiledKernelNames, kernelSources, referenceOnlySources } from './registry.js';
import { wasmModulePath } from './wasm/compile.js';

/** What enters a task's key for one kernel. */
export interface KernelIdentity {
  name: string;
  /** SHA-256 over the kernel's source files (sorted relative path + contents). */
  sourceHash: string;
  /**
   * The toolchain of the running code: `assemblyscript@x`, `rustc x`, or `v8 x` for the TypeScript
   * reference. Omitted ('') for a bit-identical kernel, whose bits no compiler changes.
   */
  compiler: string;
  /** 'native' | 'wasm' | 'js'; omitted (undefined) for a kernel proven bit-identical across backends. */
  backend?: string;
}

/**
 * Every source file of a kernel, absolute paths: what watch mode watches, and what a change of
 * recompiles (assembly → rebuildWasm(name); native/src → build:native). Reference-only kernels (no
 * compiled backends) list their reference file.
 */
export function kernelSourceFiles(name: string): {
  reference: string[];
  assembly: string[];
  native: string[];
} {
  const root = packageRoot();
  const abs = (files: string[]) => files.map((f) => join(root, f));
  const sources = kernelSources(name);
  if (!sources) return { reference: abs(referenceOnlySources(name)), assembly: [], native: [] };
  return { reference: abs(sources.reference), assembly: abs(sources.assembly), native: abs(sources.native) };
}

/**
 * The files (and folders) whose change can change selectBackend's choice or the identities of `names` — what the
 * engine stamps a memo of them with: the kernels' sources, the native addon's folder (a build adds or replaces its
 * file) and files, the WASM modules, the compilers' version files, and this package's build.
 */
export function identityFiles(names: readonly string[]): { files: string[]; dirs: string[] } {
  const files = new Set<string>();
  for (const name of names) {
    const sources = kernelSourceFiles(name);
    for (const f of [...sources.reference, ...sources.assembly, ...sources.native]) files.add(f);
  }
  const nativeDir = nativeAddonDir();
  for (const f of existsSync(nativeDir) ? readdirSync(nativeDir) : []) files.add(join(nativeDir, f));
  for (const k of compiledKernelNames()) files.add(wasmModulePath(k));
  files.add(assemblyscriptPackageJson());
  // This package's compiled code (the seam, the registry of kernel sources): a rebuild rewrites its build info.
  files.add(join(dirname(fileURLToPath(import.meta.url)), '.tsbuildinfo'));
  return { files: [...files], dirs: [nativeDir] };
}

function hashSources(root: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const rel of [...files].sort()) {
    let contents: Buffer;
    try {
      contents = readFileSync(join(root, rel));
    } catch {
      // A missing source (e.g. a package installed without native/src) is part of the identity too.
      contents = Buffer.from('\0missing\0');
    }
    hash.update(`${rel}\0${contents.length}\0`);
    hash.update(contents);
  }
  return hash.digest('hex');
}

/** The AssemblyScript compiler's package.json (its version is part of every WASM kernel's identity). */
function assemblyscriptPackageJson(): string {
  return createRequire(import.meta.url).resolve('assemblyscript/package.json');
}

let ascVersion: string | undefined;
let rustcVersion: string | undefined;

/** Version of the AssemblyScript compiler that builds the WASM modules. */
export function assemblyscriptVersion(): string {
  if (ascVersion === undefined) {
    const version = (JSON.parse(readFileSync(assemblyscriptPackageJson(), 'utf8')) as { version: string })
      .version;
    ascVersion = `assemblyscript@${version}`;
  }
  return ascVersion;
}

/** The rustc that built the native addon (recorded by scripts/build-native.mjs), or 'rustc unknown'. */
export function nativeCompilerVersion(): string {
  if (rustcVersion === undefined) {
    try {
      const meta = JSON.parse(readFileSync(join(nativeAddonDir(), 'meta.json'), 'utf8')) as {
        rustc?: string;
      };
      rustcVersion = meta.rustc ?? 'rustc unknown';
    } catch {
      rustcVersion = 'rustc unknown';
    }
  }
  return rustcVersion;
}

function compilerFor(backend: string): string {
  if (backend === 'wasm') return assemblyscriptVersion();
  if (backend === 'native') return nativeCompilerVersion();
  return `v8 ${v8EngineVersion(process.versions.v8)}`;
}

/**
 * V8's own version, without the patch count Node appends (`11.3.244.8-node.38` → `11.3.244.8`): each Node patch
 * release bumps that count, with its own fixes to V8 (security, crashes), not to the Math functions and arithmetic a
 * reference kernel's results depend on. Keyed on the full string, machines a Node patch release apart (a CI image
 * and a laptop) shared no cache entry of a task that runs such a kernel.
 */
export function v8EngineVersion(full: string): string {
  return full.replace(/-node\.\d+$/, '');
}

/**
 * Identity of kernel `name` as run by `backend`. The source hash covers all three backends' sources
 * of that kernel (so an edit in any of them changes it, and only it). For a kernel proven
 * bit-identical across backends the backend and compiler are left out, so that machines with and
 * without the native addon share cache entries.
 */
export function kernelIdentity(name: string, backend: string): KernelIdentity {
  return kernelIdentityAt(packageRoot(), name, backend);
}

/** kernelIdentity over the sources under `root` (a copy of this package; used by the tests). */
export function kernelIdentityAt(root: string, name: string, backend: string): KernelIdentity {
  const sources = kernelSources(name);
  const files = sources
    ? [...new Set([...sources.reference, ...sources.assembly, ...sources.native])]
    : referenceOnlySources(name);
  const sourceHash = hashSources(root, files);
  // A reference-only kernel runs the same TypeScript whatever backend was chosen.
  const effectiveBackend = sources ? backend : 'js';
  if (!sources || sources.bitIdentical)
    return { name, sourceHash, compiler: sources ? '' : compilerFor('js') };
  return { name, sourceHash, compiler: compilerFor(effectiveBackend), backend: effectiveBackend };
}

const mtimeOf = (file: string): number | undefined => statSync(file, { throwIfNoEntry: false })?.mtimeMs;

/**
 * Why the code that `backend` runs for `names` is older than their sources (a source edited, or checked out, since
 * the last build), or undefined. The identity hashes the sources: run as they are, the old code's results would
 * be stored under the new sources' key for good. Checked: the Rust sources against the native addon, the
 * AssemblyScript sources against the kernel's WASM module, and the TypeScript sources (reference kernels and the
 * backends' adapters) against their compiled JavaScript, or this package's last tsc build (which rewrites no output
 * whose text did not change).
 */
export function staleKernelBuild(names: readonly string[], backend: string): string | undefined {
  const root = packageRoot();
  const rel = (f: string) => (f.startsWith(`${root}/`) ? f.slice(root.length + 1) : f);
  /** `artifact` older than one of `sources`: why; undefined when not built (selectBackend says so) or current. */
  const built = (artifact: string | undefined, sources: string[]): string | undefined => {
    const at = artifact === undefined ? undefined : mtimeOf(artifact);
    if (artifact === undefined || at === undefined) return undefined;
    // Newer than the artifact and not the bytes it was built from (a touched source is not stale: built-from.ts).
    const newer = sources.find((f) => (mtimeOf(f) ?? 0) > at && !builtFromThisSource(artifact, f));
    return newer ? `${rel(newer)} changed after ${rel(artifact)} was built` : undefined;
  };
  // The JavaScript that runs is this package's own build, from its own src/ (also when PIPE_KERNELS_ROOT points the
  // kernel sources elsewhere).
  const dist = dirname(fileURLToPath(import.meta.url));
  const ownSrc = join(dirname(dist), 'src');
  const buildInfos = [join(dist, '.tsbuildinfo'), join(dirname(dist), 'tsconfig.tsbuildinfo')];
  const tsBuilt = Math.max(...buildInfos.map((f) => mtimeOf(f) ?? 0));
  const compiled = (source: string): string | undefined => {
    // Run from the TypeScript sources themselves (the package's tests): nothing compiled to be stale.
    if (dist === ownSrc) return undefined;
    const stem = source.slice(join(root, 'src').length + 1, -'.ts'.length);
    const [ts, js] = [join(ownSrc, `${stem}.ts`), join(dist, `${stem}.js`)];
    const at = mtimeOf(ts) ?? 0;
    if (at <= (mtimeOf(js) ?? 0) || at <= tsBuilt) return undefined;
    // Newer than its build, but the text tsc compiled (touched, or checked out again): not stale.
    if (buildInfos.some((f) => compiledFromThisText(f, ts) === true)) return undefined;
    return `${ts} changed after ${js} was compiled`;
  };
  for (const name of names) {
    const files = kernelSourceFiles(name);
    const typescript = [...files.reference, ...files.assembly, ...files.native].filter(
      (f) => f.startsWith(join(root, 'src')) && f.endsWith('.ts'),
    );
    const why =
      (backend === 'native'
        ? built(
            nativeAddonFile(),
            files.native.filter((f) => !f.endsWith('.ts')),
          )
        : undefined) ??
      (backend === 'wasm' && kernelSources(name)
        ? built(
            wasmModulePath(name),
            files.assembly.filter((f) => f.startsWith(join(root, 'assembly'))),
          )
        : undefined) ??
      typescript.map(compiled).find((w) => w !== undefined);
    if (why)
      return `kernel ${name} (${backend} backend): ${why}: build the kernels (npm run build) before building with them`;
  }
  return undefined;
}
