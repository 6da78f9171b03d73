// Shared by the backends*.test.ts files: the compiled kernel sets next to the reference, built on
// demand. Native is skipped (with the reason printed) when the addon is not built, except under
// CI=true on a machine with cargo, where a missing addon is a failure.
import { spawnSync } from 'node:child_process';
import { loadNativeAddon } from '../src/native/addon.js';
import { loadNativeKernels } from '../src/native/backend.js';
import { type Kernels, referenceKernels } from '../src/reference/index.js';
import { loadWasmKernels, wasmMissing } from '../src/wasm/backend.js';
import { rebuildWasm } from '../src/wasm/compile.js';

export interface CompiledBackend {
  name: 'wasm' | 'native';
  kernels: Kernels;
}

/** The WASM kernel set (compiled first if a module is missing). */
export async function wasmKernels(): Promise<Kernels> {
  if (wasmMissing().length > 0) {
    const result = await rebuildWasm();
    if (!result.ok) throw new Error(result.failures.map((f) => `${f.kernel}: ${f.diagnostics}`).join('\n'));
  }
  return loadWasmKernels(referenceKernels);
}

/** The native kernel set, or undefined (with the reason printed) when the addon is not built here. */
export function nativeKernels(): Kernels | undefined {
  const load = loadNativeAddon();
  if (load.ok) return loadNativeKernels(referenceKernels);
  const hasCargo = spawnSync('cargo', ['--version']).status === 0;
  if (process.env.CI === 'true' && hasCargo)
    throw new Error(`CI: cargo is installed but the native addon is not usable: ${load.reason}`);
  process.stdout.write(`native backend skipped: ${load.reason}\n`);
  return undefined;
}

/** Every compiled backend available here. */
export async function compiledBackends(): Promise<CompiledBackend[]> {
  const backends: CompiledBackend[] = [{ name: 'wasm', kernels: await wasmKernels() }];
  const native = nativeKernels();
  if (native) backends.push({ name: 'native', kernels: native });
  return backends;
}

/** True when a and b hold the same bits (NaN payloads aside), element by element. */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** First index where a and b differ in bits, for failure messages. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
      return `index ${i}: ${a[i]} vs ${b[i]}`;
  }
  return 'none';
}
