// @pipe/kernels: the numeric kernels behind one typed interface, with three interchangeable backends
// (TypeScript reference, AssemblyScript → WASM, Rust napi-rs addon), the loader that picks one, and
// the kernel identities that enter the engine's task fingerprints.
import { loadNativeKernels } from './native/backend.js';
import { referenceKernels, type Kernels } from './reference/index.js';
import { type BackendName, type BackendUnavailable, isBackendUnavailable, selectBackend } from './select.js';
import { loadWasmKernels } from './wasm/backend.js';

export * from './reference/index.js';
export { referenceKernels, type Kernels } from './reference/index.js';
export { kernelIdentity, kernelSourceFiles, type KernelIdentity, assemblyscriptVersion, nativeCompilerVersion } from './identity.js';
export { COMPILED_KERNELS, compiledKernelNames, type KernelName } from './registry.js';
export { BACKENDS, type BackendName, type BackendStatus, type BackendUnavailable, isBackendUnavailable, probeBackends, selectBackend } from './select.js';
export { rebuildWasm, type WasmBuildResult, type WasmCompileFailure, type WasmTarget } from './wasm/compile.js';
export { NATIVE_BUILD_HINT } from './native/addon.js';

/** Kernels of a chosen backend, or why that backend cannot run. */
export type KernelsLoad = { ok: true; backend: BackendName; kernels: Kernels } | { ok: false; error: BackendUnavailable };

/** Loads the kernel set of `backend` (default: selectBackend's choice); unavailability is a value. */
export async function tryLoadKernels(backend?: BackendName | 'auto'): Promise<KernelsLoad> {
  const chosen = await selectBackend(backend);
  if (isBackendUnavailable(chosen)) return { ok: false, error: chosen };
  if (chosen === 'js') return { ok: true, backend: chosen, kernels: referenceKernels };
  if (chosen === 'wasm') return { ok: true, backend: chosen, kernels: await loadWasmKernels(referenceKernels) };
  return { ok: true, backend: chosen, kernels: loadNativeKernels(referenceKernels) };
}

/**
 * The kernel set of `backend` (default: native if built, else WASM, else the TypeScript reference;
 * PIPE_KERNELS overrides the default). Rejects with the reason (and how to fix it) when an explicitly
 * chosen backend is unavailable; use tryLoadKernels to get that as a value.
 */
export async function loadKernels(backend?: BackendName | 'auto'): Promise<Kernels> {
  const load = await tryLoadKernels(backend);
  if (!load.ok) throw new Error(load.error.hint ? `${load.error.reason}\n${load.error.hint}` : load.error.reason);
  return load.kernels;
}
