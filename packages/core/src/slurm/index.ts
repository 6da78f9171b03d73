/** Slurm support: a client over Slurm's commands and a batch executor for the engine. */
export { SlurmClient, execFileRunner } from './client.js';
export type { CommandResult, CommandRunner, QueryResult, SlurmClientOptions, SubmitRequest, SubmitResult } from './client.js';
export { SlurmExecutor } from './executor.js';
export type { SlurmExecutorOptions } from './executor.js';
export { classifyJob, elementKey, indexRecords } from './state.js';
export type { JobPhase, SlurmEnd } from './state.js';
export {
  decodeWaitStatus,
  expandArrayIndices,
  parseParsable,
  parseSacctLines,
  parseScontrolJobLine,
  parseSqueueJson,
} from './parse.js';
export type { JobRecord } from './parse.js';
export {
  ALLOWED_SBATCH_OPTIONS,
  formatTime,
  parseMemMb,
  parseTimeSeconds,
  resourceArgs,
  resourcesForAttempt,
  validateExtraOptions,
} from './resources.js';
export type { GrowthPolicy } from './resources.js';
export { jobName, taskLevels, tempOutputPath } from './submission.js';
export { taskResultSchema } from './result-schema.js';
export { checkJobSpec, hashFile } from './task-files.js';
export type { TaskResultFile, OutputRecord } from './task-files.js';
export { describeFailure } from './validate.js';
export { isRetryable } from './types.js';
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
