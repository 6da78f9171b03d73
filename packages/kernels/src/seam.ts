// What the engine's main thread needs of the kernels: the backend choice and each kernel's identity for
// task keys, and the source files that identity reads. A separate entry (`@pipe/kernels/seam`) so that a
// build need not load the kernels themselves (reference, WASM and native wrappers) on the main thread:
// that import cost ~20–40 ms of every build that runs a kernel step, where this one costs ~10 ms.
export {
  identityFiles,
  type KernelIdentity,
  kernelIdentity,
  kernelSourceFiles,
  staleKernelBuild,
} from './identity.js';
export { isKnownKernel, knownKernelNames } from './registry.js';
export {
  autoFallbackNote,
  type BackendName,
  type BackendUnavailable,
  isBackendUnavailable,
  selectBackend,
} from './select.js';
