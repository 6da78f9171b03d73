// @pipe/kernels: the numeric kernels behind one typed interface, with three interchangeable backends
// (TypeScript reference, AssemblyScript → WASM, Rust napi-rs addon), the loader that picks one, and
// the kernel identities that enter the engine's task fingerprints.
import { checkBinEventsArguments, checkedKernels } from './arguments.js';
import { loadNativeAddon } from './native/addon.js';
import { loadNativeKernels } from './native/backend.js';
import { binEventsNativeAsync } from './native/bin-events.js';
import { type Kernels, referenceKernels } from './reference/index.js';
import { type BackendName, type BackendUnavailable, isBackendUnavailable, selectBackend } from './select.js';
import { loadWasmKernels } from './wasm/backend.js';

export { checkedKernels, KernelArgumentError } from './arguments.js';
export {
  assemblyscriptVersion,
  type KernelIdentity,
  kernelIdentity,
  kernelSourceFiles,
  nativeCompilerVersion,
} from './identity.js';
export { NATIVE_BUILD_HINT } from './native/addon.js';
export * from './reference/index.js';
export { type Kernels, referenceKernels } from './reference/index.js';
export { COMPILED_KERNELS, compiledKernelNames, type KernelName } from './registry.js';
export {
  BACKENDS,
  type BackendName,
  type BackendStatus,
  type BackendUnavailable,
  isBackendUnavailable,
  probeBackends,
  selectBackend,
} from './select.js';
export {
  rebuildWasm,
  type WasmBuildResult,
  type WasmCompileFailure,
  type WasmTarget,
} from './wasm/compile.js';

/** Kernels of a chosen backend, or why that backend cannot run. */
export type KernelsLoad =
  | { ok: true; backend: BackendName; kernels: Kernels }
  | { ok: false; error: BackendUnavailable };

/** Loads the kernel set of `backend` (default: selectBackend's choice); unavailability is a value. */
export async function tryLoadKernels(backend?: BackendName | 'auto'): Promise<KernelsLoad> {
  const chosen = await selectBackend(backend);
  if (isBackendUnavailable(chosen)) return { ok: false, error: chosen };
  // Every backend's calls checked alike (arguments.ts); the compiled ones fall back on the unchecked reference for
  // their undecided events, with arguments they made themselves.
  if (chosen === 'js') return { ok: true, backend: chosen, kernels: checkedKernels(referenceKernels) };
  if (chosen === 'wasm')
    return { ok: true, backend: chosen, kernels: checkedKernels(await loadWasmKernels(referenceKernels)) };
  return { ok: true, backend: chosen, kernels: checkedKernels(loadNativeKernels(referenceKernels)) };
}

/**
 * The kernel set of `backend` (default: native if built, else WASM, else the TypeScript reference;
 * PIPE_KERNELS overrides the default). Rejects with the reason (and how to fix it) when an explicitly
 * chosen backend is unavailable; use tryLoadKernels to get that as a value.
 */
export async function loadKernels(backend?: BackendName | 'auto'): Promise<Kernels> {
  const load = await tryLoadKernels(backend);
  if (!load.ok)
    throw new Error(load.error.hint ? `${load.error.reason}\n${load.error.hint}` : load.error.reason);
  return load.kernels;
}

/**
 * binEvents without blocking the event loop where the backend allows it: the native addon runs it as an
 * AsyncTask on the libuv pool (abortable with `signal`); otherwise the selected backend runs it in
 * place. The arrays must not be modified until the promise settles.
 */
export async function binEventsAsync(
  args: Parameters<Kernels['binEvents']>,
  options: { backend?: BackendName | 'auto'; signal?: AbortSignal } = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  checkBinEventsArguments(...args);
  const load = await tryLoadKernels(options.backend);
  if (!load.ok) throw new Error(load.error.reason);
  if (load.backend === 'native') {
    const addon = loadNativeAddon();
    const run = addon.ok ? binEventsNativeAsync(addon.addon, referenceKernels) : undefined;
    if (run) return run(args, options.signal);
  }
  load.kernels.binEvents(...args);
}
