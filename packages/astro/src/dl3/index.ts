/** DL3 data store: index files, path rules, observation selection, events, GTI and run metadata. */
export { type HduIndexRow, type HduType, type ObsIndex, type ObsValue, obsNumber, readHduIndex, readObsIndex } from './index-tables.js';
export { type EventList, type Gti, type HduLocation, Observation } from './observation.js';
export { type PathContext, type ResolvedPath, expandVars, joinPath, resolveIndexPath } from './paths.js';
export { type ObsSelection, type SelectionResult, type SelectionWarning, requireHdus, selectObservations } from './select.js';
export { type SkyFrame, angularSeparation, galacticToIcrs, icrsToGalactic, toIcrs } from './sky.js';
export { DataStore, type DataStoreFiles, type OpenDataStoreOptions, openDataStore } from './store.js';
