/** Watch mode: what to watch for a graph, debounced changes, recompiles, and the build loop. */
export { ChangeQueue, type QueueTimers } from './change-queue.js';
export { ContentTracker, type ContentVerdict, EAGER_HASH_LIMIT } from './content-tracker.js';
export type { DiagnosticSource, WatchEvent } from './events.js';
export { createFsWatcher, type FsWatcher, type FsWatcherOptions } from './fs-watcher.js';
export {
  type CompileResult,
  type CompileUnit,
  compileUnit,
  type KernelTools,
  loadKernelTools,
  nativeAddonBuilt,
  needsFreshWorkers,
  unitsFor,
} from './recompile.js';
export { type PipelineLoad, runWatch, type WatchEnd, type WatchOptions } from './watch-loop.js';
export {
  computeWatchSet,
  isSwapFile,
  isWatchedPath,
  type KernelPart,
  type KernelSources,
  kindOf,
  reanchor,
  type WatchKind,
  type WatchSet,
  type WatchSetOptions,
} from './watch-set.js';
