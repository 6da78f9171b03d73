/** DL3 data store: index files, path rules, observation selection, events, GTI and run metadata. */
export {
  type HduIndexRow,
  type HduType,
  type ObsIndex,
  type ObsValue,
  obsNumber,
  readHduIndex,
  readObsIndex,
} from './index-tables.js';
export { type ObsList, type ObsListResult, parseObsList } from './obs-list.js';
export {
  type EventList,
  type Gti,
  type HduLocation,
  Observation,
} from './observation.js';
export { expandVars, joinPath, type PathContext, type ResolvedPath, resolveIndexPath } from './paths.js';
export {
  type ObsSelection,
  requireHdus,
  runTimeSpan,
  type SelectionResult,
  type SelectionWarning,
  selectObservations,
} from './select.js';
export { angularSeparation, galacticToIcrs, icrsToGalactic, type SkyFrame, toIcrs } from './sky.js';
export { DataStore, type DataStoreFiles, type OpenDataStoreOptions, openDataStore } from './store.js';
export { clipGti, metOf, rowsInTime, type TimeRange, takeRows } from './time.js';
