/** Estimators: the excess / significance / flux map of a map dataset (gammapy's ExcessMapEstimator). */
export {
  type ExcessMapFailureReason,
  type ExcessMapInput,
  type ExcessMapKernels,
  type ExcessMapName,
  type ExcessMapResult,
  type ExcessMaps,
  type OptionalQuantity,
  excessMap,
} from './excess-map.js';
export { type ExcessMapSummary, type MapStats, type PixelToSky, summarizeExcessMap } from './summary.js';
export {
  DEFAULT_REFERENCE_SPECTRUM,
  type PowerLawSpectrum,
  type ReferenceBinValues,
  binFluxes,
  powerLawDnde,
  powerLawIntegral,
  referenceBinValues,
} from './reference-spectrum.js';
export { type EnergyGroup, type SquashedImage, groupEnergyBins, roundHalfEven, squashGroup } from './squash.js';
export { edispPerGroup, recoExposure } from './reco-exposure.js';
