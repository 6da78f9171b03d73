/** Slurm support: a client over Slurm's commands and a batch executor for the engine. */

export {
  type CancelResult,
  cancelBuildJobs,
  type LiveJobs,
  type LiveTask,
  liveBuildJobs,
  slurmWorkDir,
} from './build-jobs.js';
export {
  checkSlurmResources,
  jobsOnSlurmNote,
  type SlurmSetup,
  slurmExecutorFactory,
  slurmTargets,
} from './build-setup.js';
export type {
  CommandResult,
  CommandRunner,
  QueryResult,
  SlurmClientOptions,
  SubmitRequest,
  SubmitResult,
} from './client.js';
export { execFileRunner, SlurmClient } from './client.js';
export { SlurmEngineExecutor } from './engine-adapter.js';
export type { SlurmExecutorOptions } from './executor.js';
export { SlurmExecutor } from './executor.js';
export {
  type JobTable,
  type JobTableEntry,
  type JobTableState,
  jobTablePath,
  readJobTable,
} from './job-table.js';
export type { JobRecord } from './parse.js';
export {
  decodeWaitStatus,
  expandArrayIndices,
  parseParsable,
  parseSacctLines,
  parseScontrolJobLine,
  parseSqueueJson,
} from './parse.js';
export type { GrowthPolicy } from './resources.js';
export {
  ALLOWED_SBATCH_OPTIONS,
  formatTime,
  parseMemMb,
  parseTimeSeconds,
  resourceArgs,
  resourcesForAttempt,
  validateExtraOptions,
} from './resources.js';
export { taskResultSchema } from './result-schema.js';
export type { JobPhase, SlurmEnd } from './state.js';
export { classifyJob, elementKey, indexRecords } from './state.js';
export { isJobOfBuild, jobName, shellQuote, taskLevels, tempOutputPath } from './submission.js';
export type { OutputRecord, TaskResultFile } from './task-files.js';
export { checkJobSpec, hashFile } from './task-files.js';
export type {
  AttemptRecord,
  BatchExecutor,
  ExecTask,
  ExecutionHandle,
  FailureReason,
  RunOptions,
  TaskEvent,
  TaskOutcome,
  TaskRun,
} from './types.js';
export { isRetryable } from './types.js';
export { type UnconfirmedJobs, unconfirmedText } from './unconfirmed-jobs.js';
export { describeFailure } from './validate.js';
