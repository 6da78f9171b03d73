// Compiles the AssemblyScript kernels to WebAssembly with the asc API (no child process), one
// module per kernel, so that watch mode recompiles only the kernel that was edited.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { recordBuiltFrom } from '../built-from.js';
import { packageRoot } from '../paths.js';
import { AUXILIARY_WASM_MODULES, compiledKernelNames } from '../registry.js';

/** Which asconfig.json target to build: release (optimised) or debug (with a .wat text file). */
export type WasmTarget = 'release' | 'debug';

/** One kernel that failed to compile, with the compiler's messages. */
export interface WasmCompileFailure {
  kernel: string;
  diagnostics: string;
}

/** Result of `rebuildWasm`: the kernels written, and the ones that failed with their diagnostics. */
export interface WasmBuildResult {
  ok: boolean;
  built: string[];
  failures: WasmCompileFailure[];
}

/** Where the release module of a kernel lives. */
export function wasmModulePath(kernel: string): string {
  return join(packageRoot(), 'build', `${kernel}.wasm`);
}

/**
 * Compiled kernels whose WASM module is not built (the WASM backend needs them all). Here, not in backend.ts,
 * so that the backend choice (select.ts) loads neither the WASM wrappers nor the reference kernels.
 */
export function wasmMissing(): string[] {
  return compiledKernelNames().filter((k) => !existsSync(wasmModulePath(k)));
}

/** Compiles one kernel; writes its .wasm (and for debug its .wat) atomically. */
async function compileOne(
  root: string,
  kernel: string,
  target: WasmTarget,
): Promise<WasmCompileFailure | undefined> {
  const { default: asc } = await import('assemblyscript/asc');
  const outName = target === 'release' ? `${kernel}.wasm` : `debug/${kernel}.wasm`;
  const outputs = new Map<string, Uint8Array | string>();
  /** The package's own sources the compiler read (recorded with the module: built-from.ts). */
  const read = new Set<string>();
  let messages = '';
  const sink = {
    write(chunk: string | Uint8Array): boolean {
      messages += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
  const args = [
    join('assembly', `${kernel}.ts`),
    '--config',
    'asconfig.json',
    '--target',
    target,
    '--outFile',
    join('build', outName),
    '--baseDir',
    root,
  ];
  if (target === 'debug') args.push('--textFile', join('build', `debug/${kernel}.wat`));
  const { error } = await asc.main(args, {
    stdout: sink,
    stderr: sink,
    readFile: async (name: string, baseDir: string) => {
      try {
        const file = join(baseDir, name);
        const text = await readFile(file, 'utf8');
        if (file.startsWith(join(root, 'assembly'))) read.add(file);
        return text;
      } catch {
        return null;
      }
    },
    writeFile: async (name: string, contents: Uint8Array | string, baseDir: string) => {
      outputs.set(join(baseDir, name), contents);
    },
    listFiles: async () => [],
  });
  if (error) return { kernel, diagnostics: messages || String(error) };
  for (const [path, contents] of outputs) {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, contents);
    await rename(temp, path);
    if (path.endsWith('.wasm')) recordBuiltFrom(path, [...read].sort());
  }
  return undefined;
}

/**
 * Recompiles the AssemblyScript of one kernel (or of all) for the given target. A compile error is
 * returned as a value with the compiler's diagnostics; the previous module stays in place.
 */
export async function rebuildWasm(name?: string, target: WasmTarget = 'release'): Promise<WasmBuildResult> {
  return rebuildWasmAt(packageRoot(), name, target);
}

/** rebuildWasm for the package copy under `root` (assembly/, asconfig.json → build/); used by the tests. */
export async function rebuildWasmAt(
  root: string,
  name?: string,
  target: WasmTarget = 'release',
): Promise<WasmBuildResult> {
  const known: string[] = [...compiledKernelNames(), ...AUXILIARY_WASM_MODULES];
  const kernels = name === undefined ? known : [name];
  const built: string[] = [];
  const failures: WasmCompileFailure[] = [];
  for (const kernel of kernels) {
    if (!known.includes(kernel)) {
      failures.push({
        kernel,
        diagnostics: `no AssemblyScript source for kernel "${kernel}" (compiled kernels: ${compiledKernelNames().join(', ')})`,
      });
      continue;
    }
    const failure = await compileOne(root, kernel, target);
    if (failure) failures.push(failure);
    else built.push(kernel);
  }
  return { ok: failures.length === 0, built, failures };
}
