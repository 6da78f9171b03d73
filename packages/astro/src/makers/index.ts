/** Data reduction: per-run map makers, safe mask, FoV background norm, IRF maps, stacking, dataset files. */
export type { MapDataset, OnOffMaps, Placement, RunMeta } from './dataset.js';
export {
  DATASET_FORMAT_VERSION,
  type DatasetReadFailure,
  datasetHdus,
  isDatasetReadFailure,
  readDataset,
  readDatasetAsync,
  readDatasetsInOrder,
  writeDataset,
} from './dataset-io.js';
export { edispBias, edispBiasEnergy } from './edisp-bias.js';
export { edispKernelAtMapCentre } from './edisp-centre.js';
export { type ExclusionReadFailure, projectMask, readSkyMask, type SkyMask } from './exclusion.js';
export { type FovNorm, type FovNormInvalidReason, fovBackgroundNorm } from './fov-norm.js';
export {
  isReductionConfigIssue,
  type ReductionConfigIssue,
  reductionConfigFromConfig,
  reductionGeometryFromConfig,
} from './from-config.js';
export {
  type GoodTimeIntervals,
  STACK_REFERENCE,
  stackGtis,
  type TimeReference,
  timeReferenceOf,
} from './gti.js';
export {
  type AeffInputs,
  aeffInputs,
  type BkgInputs,
  bkgInputs,
  type EdispInputs,
  edispInputs,
  fillBackgroundHoles,
  type IrfInputFailure,
  isIrfInputFailure,
  type PsfInputs,
  psfInputs,
} from './irf-inputs.js';
export {
  defaultRadEdges,
  type EdispKernelMap,
  edispKernelAtPixel,
  makeEdispKernelMap,
  makeIrfExposure,
  makePsfMap,
  type PsfMap,
} from './irf-maps.js';
export {
  type EventCoords,
  makeBackground,
  makeCounts,
  makeExposure,
  type Pointing,
  type PointingGeometry,
  pointingGeometry,
} from './maps.js';
export {
  type IrfType,
  loadObservationData,
  type ObservationData,
  type ObservationDataFailure,
} from './observation-data.js';
export { parametricPsfMap } from './psf-parametric.js';
export {
  irfsUsed,
  isReductionFailure,
  type MapName,
  type ReductionConfig,
  type ReductionFailure,
  type ReductionGeometry,
  type ReductionResult,
  reduceObservation,
} from './reduce.js';
export {
  energyBinMask,
  isSafeMaskFailure,
  makeSafeMask,
  maskImage,
  SAFE_MASK_METHODS,
  type SafeMaskFailure,
  type SafeMaskInputs,
  type SafeMaskMethod,
  type SafeMaskWarning,
} from './safe-mask.js';
export { DatasetStacker, emptyStack, stackDatasets } from './stack.js';
