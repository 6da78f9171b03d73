/**
 * @pipe/core — the engine: pipeline model, config loading, graph expansion, fingerprints,
 * planner, scheduler, executors, build records and provenance.
 *
 * Pipeline flow: loadPipeline → openSession (expand, state, step identities) → planSession (Plan)
 * → buildSession (lock, schedule, executors, cache, records).
 */

export { buildNotes } from './builds/build-notes.js';
export { type CleanResult, cleanTargets } from './builds/clean.js';
export {
  type BuildRecord,
  listBuildIds,
  newBuildId,
  readBuildRecord,
  recordedDelivery,
} from './builds/records.js';
export {
  type BuildOptions,
  type BuildResult,
  buildSession,
  type OpenResult,
  openSession,
  planSession,
  type Session,
  type SessionOptions,
} from './builds/session.js';
export * from './compare/index.js';
export * from './config/index.js';
export {
  type ExecEvent,
  type ExecFailure,
  type ExecOutcome,
  type ExecRequest,
  type Executor,
  expandArgv,
  renderFailure,
  type TaskWork,
} from './execute/executor.js';
export { createLocalExecutor } from './execute/local-executor.js';
export { createProcessExecutor } from './execute/process-executor.js';
export { canonicalJson, sameJson, sha256Hex } from './fingerprint/canonical.js';
export { type CodeHash, codeHash, sourceOf, writeBuiltCodeHashes } from './fingerprint/code-hash.js';
export { hashProduct, loadXxhash, type ProductHash, xxh64FileSync } from './fingerprint/file-hash.js';
export {
  envDigest,
  FINGERPRINT_VERSION,
  type FingerprintParts,
  type FingerprintRecord,
  type KernelId,
  keyOf,
  makeRecord,
  type StepIdentity,
} from './fingerprint/record.js';
export {
  COMMAND_IDENTITY,
  type KernelSeam,
  loadKernelSeam,
  resolveStepIdentities,
} from './fingerprint/steps.js';
export * from './graph/index.js';
export * from './model/step.js';
export * from './model/types.js';
export { type Decision, decideTask, fingerprintTask, type KnownOutput, type PlanIO } from './plan/decide.js';
export {
  collectItems,
  type DepartedTask,
  type Plan,
  type PlannedTask,
  planGraph,
  planSummary,
  topoOrder,
} from './plan/planner.js';
export { diffRecords, type Reason, renderAlikeReason, renderReason } from './plan/reasons.js';
export { createWorkspaceIO } from './plan/workspace-io.js';
export { type BuildInfo, pipeVersion, readPipeVersion, versionText } from './provenance/pipe-version.js';
export {
  type MadeIn,
  madeInOf,
  type ProvenanceRecord,
  provenanceRecord,
} from './provenance/record.js';
export { explainProduct, type WhyNode, type WhyResult } from './provenance/why.js';
export {
  type BuildEvent,
  type BuildStatus,
  cancelledBeforeStart,
  type ReplayedWarning,
  type StepWarning,
  type TaskReport,
  type TaskState,
} from './schedule/events.js';
export { describeReasons } from './schedule/report-texts.js';
export { type BuildOutcome, type RunBuildOptions, runBuild } from './schedule/scheduler.js';
export * from './slurm/index.js';
export {
  type FileStamp,
  HashMemo,
  RACY_GRANULARITY_MS,
  rememberStats,
  type SeenStat,
  seenStat,
  stampOf,
} from './state/hash-memo.js';
export { RecordTable } from './state/record-table.js';
export {
  emptyState,
  loadState,
  type OutputStamp,
  STATE_VERSION,
  type StateData,
  saveState,
  type TaskRecord,
  targetOfTaskId,
} from './state/state-file.js';
export { replayJournal, STATE_JOURNAL_FILE, stateJournalFile } from './state/state-journal.js';
export * from './steps/index.js';
export { commonFolder, exportGuard, exportOutputs, exportPlan, insideStateFolder } from './store/export.js';
export { portableItems, resolveItems, withPortableItems } from './store/portable-items.js';
export { publishOutputs, restoreOutputs, storeOutputs } from './store/products.js';
export * from './watch/index.js';
export { replaceFile, writeFileAtomic } from './workspace/atomic.js';
export { nearestExisting, relPath, type WorkspaceLayout, workspaceLayout } from './workspace/layout.js';
export { acquireLock, type BuildLock, buildIsLive, type LockOwner } from './workspace/lock.js';
export { notAFile, whyMissing } from './workspace/why-missing.js';
