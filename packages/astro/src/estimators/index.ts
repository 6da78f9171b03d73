/** Estimators: the excess / significance / flux map of a map dataset (gammapy's ExcessMapEstimator). */
export {
  type ExcessMapFailureReason,
  type ExcessMapInput,
  type ExcessMapKernels,
  type ExcessMapName,
  type ExcessMapResult,
  type ExcessMaps,
  excessMap,
  type FluxQuantity,
  type OptionalQuantity,
} from './excess-map.js';
export { edispPerGroup, recoExposure } from './reco-exposure.js';
export {
  binFluxes,
  DEFAULT_REFERENCE_SPECTRUM,
  type PowerLawSpectrum,
  powerLawDnde,
  powerLawIntegral,
  type ReferenceBinValues,
  referenceBinValues,
} from './reference-spectrum.js';
export {
  type EnergyGroup,
  groupEnergyBins,
  midBinTies,
  type SquashedImage,
  squashGroup,
} from './squash.js';
export { type ExcessMapSummary, type MapStats, type PixelToSky, summarizeExcessMap } from './summary.js';
