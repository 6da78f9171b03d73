/**
 * @pipe/core/lean — the part of the engine a build or plan of an already-loaded pipeline needs,
 * without the config loader (yaml, zod), comparison or graph rendering: what `pipe build` imports
 * on its fast path (a pipeline-cache hit). Everything here is also exported from `@pipe/core`.
 */

export { buildNotes } from './builds/build-notes.js';
export { type CleanResult, cleanTargets } from './builds/clean.js';
export {
  type AppliedOverrides,
  applyConfigOverrides,
  graphWithParams,
  type OverrideBase,
} from './builds/param-overrides.js';
export {
  type CachedGraph,
  cachedGraph,
  type DepStamp,
  type PipelineCacheEntry,
  type PipelineCacheInputs,
  pipelineBaseInputsDigest,
  pipelineCacheFile,
  pipelineDeps,
  pipelineInputsDigest,
  readPipelineCache,
  recordingEnv,
  writePipelineCache,
} from './builds/pipeline-cache.js';
export { type BuildRecord, newBuildId, readBuildRecord } from './builds/records.js';
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
export type { Executor } from './execute/executor.js';
export { teachLocalPool, warmLocalPool } from './execute/local-executor.js';
export { seedCodeHashes } from './fingerprint/code-hash.js';
export { loadXxhash } from './fingerprint/file-hash.js';
export type { StepIdentity } from './fingerprint/record.js';
export { type StepFacts, stepFactsOf } from './fingerprint/steps.js';
export { didYouMean } from './graph/closest-names.js';
export { buildableWithout, deliveredTargets, dependencyOrder } from './graph/edges.js';
export { unknownTargetDiagnostic } from './graph/expand.js';
export type { StepDefinition } from './model/step.js';
export type * from './model/types.js';
export { type DepartedTask, type Plan, planSummary, topoOrder } from './plan/planner.js';
export { type Reason, renderAlikeReason, renderReason } from './plan/reasons.js';
export { pipeVersion } from './provenance/pipe-version.js';
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
export { recordedWarnings, replayedWarnings, replayedWarningText } from './schedule/task-warnings.js';
export {
  checkSlurmResources,
  jobsOnSlurmNote,
  type SlurmSetup,
  slurmExecutorFactory,
  slurmTargets,
} from './slurm/build-setup.js';
export { rememberStats, type SeenStat, seenStat } from './state/hash-memo.js';
export { targetOfTaskId } from './state/state-file.js';
export { stateJournalFile } from './state/state-journal.js';
export { createStepRegistry, type StepRegistry, watchStepReloads } from './steps/registry.js';
export { exportGuard, exportOutputs, exportPlan, insideStateFolder } from './store/export.js';
export { replaceFile } from './workspace/atomic.js';
export { nearestExisting, relPath, type WorkspaceLayout, workspaceLayout } from './workspace/layout.js';
export { valueDigest } from './workspace/value-digest.js';
