/**
 * Recompiling what an edit invalidates before the build runs: a kernel's AssemblyScript (→ its
 * .wasm, through @pipe/kernels' rebuildWasm, only that kernel), the native addon (when it is built
 * here and its Rust sources changed), and TypeScript projects (a step's package, or the kernels'
 * TypeScript adapters and reference) with `tsc -b`. Failures are values carrying the compiler's
 * diagnostics; the previous binaries stay in place.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WatchSet } from './watch-set.js';

/** The kernels package as watch mode needs it (a seam: `@pipe/kernels` implements it). */
export interface KernelTools {
  sourceFiles(name: string): { reference: string[]; assembly: string[]; native: string[] };
  rebuildWasm(
    name: string,
  ): Promise<{ ok: boolean; failures: Array<{ kernel: string; diagnostics: string }> }>;
  /** Root of the kernels package in use (PIPE_KERNELS_ROOT or the installed package). */
  root(): string;
  /** Load the AssemblyScript compiler ahead of the first edit (its first import takes seconds). */
  warmUp?(): Promise<void>;
}

/** The part of the AssemblyScript compiler API the warm-up uses (in memory: reads and writes no file). */
interface AscApi {
  main(args: string[], options: Record<string, unknown>): Promise<{ error: Error | null }>;
}

/** The real tools: `@pipe/kernels`. */
export async function loadKernelTools(): Promise<KernelTools> {
  const mod = (await import('@pipe/kernels')) as unknown as {
    kernelSourceFiles(name: string): { reference: string[]; assembly: string[]; native: string[] };
    rebuildWasm(
      name: string,
    ): Promise<{ ok: boolean; failures: Array<{ kernel: string; diagnostics: string }> }>;
    compiledKernelNames(): string[];
  };
  // Every compiled kernel has assembly/<name>.ts: its grandparent is the package root.
  const root = () =>
    path.dirname(path.dirname(mod.kernelSourceFiles(mod.compiledKernelNames()[0]!).assembly[0]!));
  return {
    sourceFiles: (name) => mod.kernelSourceFiles(name),
    rebuildWasm: (name) => mod.rebuildWasm(name),
    root,
    async warmUp() {
      // Resolved from the kernels package, so it is the compiler instance rebuildWasm imports.
      const file = createRequire(path.join(root(), 'package.json')).resolve('assemblyscript/dist/asc.js');
      const { default: asc } = (await import(pathToFileURL(file).href)) as { default: AscApi };
      // One small optimised compile: the compiler's own WebAssembly is slow until it has run once.
      const source =
        'export function f(a: f64): f64 { let s = 0.0; for (let i = 0; i < 8; i++) s += Math.sqrt(a * i); return s; }';
      const quiet = { write: () => true };
      await asc.main(['warm.ts', '--outFile', 'warm.wasm', '--optimizeLevel', '3', '--runtime', 'stub'], {
        stdout: quiet,
        stderr: quiet,
        readFile: async (name: string) => (name === 'warm.ts' ? source : null),
        writeFile: async () => {},
        listFiles: async () => [],
      });
    },
  };
}

/** One thing to recompile. */
export type CompileUnit =
  | { kind: 'wasm'; kernel: string }
  | { kind: 'native'; root: string }
  /** A TypeScript project (the folder holding its tsconfig.json). */
  | { kind: 'tsc'; project: string };

export type CompileResult =
  /** `skipped`: not compiled here, and why (the build then refuses the step while its compiled code is stale). */
  | { ok: true; unit: CompileUnit; ms: number; skipped?: string }
  | { ok: false; unit: CompileUnit; diagnostics: string };

export function unitKey(unit: CompileUnit): string {
  return unit.kind === 'wasm'
    ? `wasm:${unit.kernel}`
    : unit.kind === 'native'
      ? `native:${unit.root}`
      : `tsc:${unit.project}`;
}

const TS_SOURCE = /\.(ts|tsx|mts)$/;

function nearestProject(file: string): string | undefined {
  for (let dir = path.dirname(file); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'tsconfig.json'))) return dir;
  }
  return undefined;
}

/**
 * The watched files of a TypeScript project: its sources (what tsc reads) or the others (what it writes: dist/,
 * emitted on a type error too).
 */
export function projectFiles(project: string, set: WatchSet, which: 'sources' | 'outputs'): string[] {
  const inside = project.endsWith(path.sep) ? project : project + path.sep;
  return [...set.files.keys()].filter(
    (f) =>
      f.startsWith(inside) &&
      !f.includes(`${path.sep}node_modules${path.sep}`) &&
      (TS_SOURCE.test(f) && !/\.d\.m?ts$/.test(f)) === (which === 'sources'),
  );
}

/** Whether the native addon is built in the kernels package at `root`. */
export function nativeAddonBuilt(root: string): boolean {
  const dir = path.join(root, 'build', 'native');
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.node'));
}

/** What the changed files make stale. Step and kernel TypeScript compiles only where a project builds it. */
export function unitsFor(changed: string[], set: WatchSet, kernelsRoot: string | undefined): CompileUnit[] {
  const units = new Map<string, CompileUnit>();
  const put = (u: CompileUnit) => units.set(unitKey(u), u);
  for (const file of changed) {
    const kind = set.files.get(file);
    if (kind === 'kernel' && kernelsRoot) {
      const rel = path.relative(kernelsRoot, file).split(path.sep);
      if (rel[0] === 'assembly')
        for (const p of set.kernelFiles.get(file) ?? [])
          if (p.part === 'assembly') put({ kind: 'wasm', kernel: p.kernel });
      if (rel[0] === 'native') {
        if (nativeAddonBuilt(kernelsRoot)) put({ kind: 'native', root: kernelsRoot });
        continue;
      }
    }
    if (
      (kind === 'step' || kind === 'kernel') &&
      TS_SOURCE.test(file) &&
      !file.includes(`${path.sep}assembly${path.sep}`)
    ) {
      const project = nearestProject(file);
      // A TS file with a project beside a dist/ folder is compiled code; anything else runs as is.
      if (project && existsSync(path.join(project, 'dist'))) put({ kind: 'tsc', project });
    }
  }
  return [...units.values()];
}

/**
 * Whether a change needs fresh worker threads: warm workers keep the step and kernel-adapter modules
 * they imported, so an edit of code they run (not of .wasm, which is read per run) needs new ones.
 */
export function needsFreshWorkers(
  changed: string[],
  set: WatchSet,
  kernelsRoot: string | undefined,
): boolean {
  return changed.some((file) => {
    const kind = set.files.get(file);
    if (kind === 'step') return true;
    if (kind !== 'kernel' || !kernelsRoot) return false;
    const top = path.relative(kernelsRoot, file).split(path.sep)[0];
    return top !== 'assembly';
  });
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CARGO_TERM_PROGRESS_WHEN: 'never' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (error) => resolve({ code: -1, output: `${output}${error.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Recompile one unit. */
export async function compileUnit(unit: CompileUnit, tools: KernelTools | undefined): Promise<CompileResult> {
  const started = Date.now();
  const done = (): CompileResult => ({ ok: true, unit, ms: Date.now() - started });
  switch (unit.kind) {
    case 'wasm': {
      if (!tools) return { ok: false, unit, diagnostics: 'the kernels package is not available' };
      const result = await tools.rebuildWasm(unit.kernel);
      return result.ok
        ? done()
        : {
            ok: false,
            unit,
            diagnostics: ascPlaces(
              result.failures
                .map((f) => f.diagnostics)
                .join('\n')
                .trim(),
              tools.root(),
            ),
          };
    }
    case 'native': {
      const script = path.join(unit.root, 'scripts', 'build-native.mjs');
      if (!existsSync(script))
        return { ok: false, unit, diagnostics: `cannot rebuild the native addon: ${script} is missing` };
      const { code, output } = await run(process.execPath, [script], unit.root);
      return code === 0
        ? done()
        : { ok: false, unit, diagnostics: output.trim().split('\n').slice(-40).join('\n') };
    }
    case 'tsc': {
      let tsc: string;
      try {
        tsc = createRequire(path.join(unit.project, 'package.json')).resolve('typescript/bin/tsc');
      } catch {
        // Not a failure to retry with every later change until it compiles: that stopped every build of the watch,
        // even once the user compiled the step themselves (tsc -w in another terminal). The build that follows
        // refuses a step whose compiled code is older than its sources, so nothing stale runs.
        return {
          ok: true,
          unit,
          ms: Date.now() - started,
          skipped: `not compiling ${unit.project}: no TypeScript compiler found from there (npm install --save-dev typescript in it, or compile it yourself: tsc -w)`,
        };
      }
      const { code, output } = await run(
        process.execPath,
        [tsc, '-b', unit.project, '--pretty', 'false'],
        unit.project,
      );
      return code === 0 ? done() : { ok: false, unit, diagnostics: tscPlaces(output.trim(), unit.project) };
    }
  }
}

/**
 * tsc's `src/a.ts(2,36): error TS…` (relative to the project, in its own notation) as `/abs/src/a.ts:2:36: error TS…`,
 * the file:line:col every other diagnostic of pipe has, which terminals and editors open at the place.
 */
export function tscPlaces(output: string, project: string): string {
  return output.replace(
    /^(.+?)\((\d+),(\d+)\): (error|warning|message)/gm,
    (_, file: string, line: string, col: string, level: string) =>
      `${path.resolve(project, file)}:${line}:${col}: ${level}`,
  );
}

/** Terminal colour codes (the AssemblyScript compiler colours its messages). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched
const COLOUR = /\u001b\[[0-9;]*m/g;

/**
 * The AssemblyScript compiler's `in assembly/k.ts(150,16)` (relative to the kernels package) as file:line:col, and
 * without its colours: a diagnostic is also a JSON event's text, or a log's line.
 */
export function ascPlaces(output: string, root: string): string {
  return output
    .replace(COLOUR, '')
    .replace(
      /\bin (\S+?)\((\d+),(\d+)\)$/gm,
      (_, file: string, line: string, col: string) => `in ${path.resolve(root, file)}:${line}:${col}`,
    );
}
