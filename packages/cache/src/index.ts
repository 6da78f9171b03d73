export { hashFile, tempPathFor } from './atomic-file.js';
export { BazelHttpCache } from './bazel-http.js';
export { type DoctorReport, type DoctorStep, type DoctorStepName, doctor } from './doctor.js';
export { HttpCacheBackend, type RemoteCache } from './http-backend.js';
export {
  type GcOptions,
  type GcReport,
  removeDeadTempsIn,
  type StoreStats,
  type VerifyReport,
} from './local-maintenance.js';
export { DEFAULT_MAX_BYTES, LocalStore, type LocalStoreOptions } from './local-store.js';
export {
  canonicalJson,
  decodeManifest,
  encodeManifest,
  isSafeKey,
  isSha256,
  pathProblems,
  validateManifest,
} from './manifest.js';
export {
  type OutputsFailure,
  type OutputsOutcome,
  type OutputToStore,
  restoreOutputs,
  safeDestination,
  storeOutputs,
} from './outputs.js';
export { type PushReport, pushEntries } from './push.js';
export type { RemoteAuthOptions } from './remote-auth.js';
export { type RemoteConfigError, remoteFromEnv } from './remote-config.js';
export { isRemoteDown, type RemoteMode, TieredCache, type TieredCacheOptions } from './tiered-cache.js';
export { TurboRemoteCache, type TurboRemoteCacheOptions } from './turbo-remote.js';
export type {
  BudgetReport,
  CacheBackend,
  CacheFailure,
  CacheOutcome,
  CacheWarning,
  FileIdentity,
  Manifest,
  ManifestOutput,
  ManifestProblem,
} from './types.js';
export { describeFailure, fail, identityOf, ok, parseSize, restoredMode, sameIdentity } from './types.js';
