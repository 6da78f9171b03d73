/** Data reduction: per-run map makers, safe mask, FoV background norm, IRF maps, stacking, dataset files. */
export type { MapDataset, Placement, RunMeta } from './dataset.js';
export {
  DATASET_FORMAT_VERSION,
  type DatasetReadFailure,
  datasetHdus,
  isDatasetReadFailure,
  readDataset,
  writeDataset,
} from './dataset-io.js';
export { edispBias, edispBiasEnergy } from './edisp-bias.js';
export { type ExclusionReadFailure, type SkyMask, projectMask, readSkyMask } from './exclusion.js';
export { type FovNorm, type FovNormInvalidReason, fovBackgroundNorm } from './fov-norm.js';
export {
  type AeffInputs,
  type BkgInputs,
  type EdispInputs,
  type IrfInputFailure,
  type PsfInputs,
  aeffInputs,
  bkgInputs,
  edispInputs,
  fillBackgroundHoles,
  isIrfInputFailure,
  psfInputs,
} from './irf-inputs.js';
export {
  type EdispKernelMap,
  type PsfMap,
  defaultRadEdges,
  edispKernelAtPixel,
  makeEdispKernelMap,
  makeIrfExposure,
  makePsfMap,
} from './irf-maps.js';
export {
  type EventCoords,
  type Pointing,
  type PointingGeometry,
  makeBackground,
  makeCounts,
  makeExposure,
  pointingGeometry,
} from './maps.js';
export {
  type IrfType,
  type ObservationData,
  type ObservationDataFailure,
  loadObservationData,
} from './observation-data.js';
export {
  type MapName,
  type ReductionConfig,
  type ReductionFailure,
  type ReductionGeometry,
  type ReductionResult,
  isReductionFailure,
  reduceObservation,
} from './reduce.js';
export {
  SAFE_MASK_METHODS,
  type SafeMaskFailure,
  type SafeMaskInputs,
  type SafeMaskMethod,
  type SafeMaskWarning,
  energyBinMask,
  isSafeMaskFailure,
  makeSafeMask,
  maskImage,
} from './safe-mask.js';
export { parametricPsfMap } from './psf-parametric.js';
export { emptyStack, stackDatasets } from './stack.js';
export { edispKernelAtMapCentre } from './edisp-centre.js';
export {
  type ReductionConfigIssue,
  isReductionConfigIssue,
  reductionConfigFromConfig,
  reductionGeometryFromConfig,
} from './from-config.js';
