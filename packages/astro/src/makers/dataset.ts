/**
 * The binned dataset of one run or of a stack of runs (gammapy's MapDataset, science spec §4, §5): cubes in
 * [energy][y][x] order (x fastest) on a map grid, IRF maps on the coarse IRF grid, and run metadata.
 */

import type { EnergyAxis } from '../geom/energy-axis.js';
import type { WcsGeom } from '../geom/wcs-geom.js';
import type { GoodTimeIntervals } from './gti.js';
import type { EdispKernelMap, PsfMap } from './irf-maps.js';
import type { Pointing } from './maps.js';

/** Per-run values (the stack keeps one entry per run, in stacking order). */
export interface RunMeta {
  obsId: number;
  pointing: Pointing;
  /** Σ GTI (s): the background's time. */
  ontime: number;
  deadc: number;
  /** ontime × DEADC (s): the exposure's time. */
  livetime: number;
  /** Counts binned in the run's cutout (before the safe mask). */
  countsInMap: number;
  /** Σ of the background template before the FoV norm. */
  backgroundTemplateSum: number;
  /** FoV background norm (1 when not fitted or invalid) and its error. */
  fovNorm: number;
  fovNormErr: number;
  /** Why the FoV fit was rejected (the run's mask_safe was then cleared). */
  fovInvalid?: string;
  /** Bins N and B of the FoV fit. */
  fovCounts?: number;
  fovBackground?: number;
  /** The background's spectral model when not gammapy's pl-norm: its parameters (norm included) and fit errors. */
  fovSpectrum?: { model: string; parameters: Record<string, number>; errors: Record<string, number> };
  /** Why the fit of that model failed (fovInvalid 'fit-not-converged'). */
  fovFitProblem?: string;
}

/** Where a dataset's grids sit in the analysis grids (0 for a full-size dataset). */
export interface Placement {
  x0: number;
  y0: number;
  irfX0: number;
  irfY0: number;
}

export interface MapDataset {
  name: string;
  /** Grid of counts, background, mask_safe (reco energy) and exposure (true energy). */
  geom: WcsGeom;
  /** Grid of the PSF and EDISP maps. */
  irfGeom: WcsGeom;
  placement: Placement;
  energy: EnergyAxis;
  energyTrue: EnergyAxis;
  /** [E][y][x] */
  counts: Float32Array;
  /** [E_true][y][x], m² s */
  exposure: Float32Array;
  /** [E][y][x], FoV-normalised background (norm × template) */
  background: Float32Array;
  /** [E][y][x], 1 = safe */
  maskSafe: Uint8Array;
  psf?: PsfMap;
  edisp?: EdispKernelMap;
  /**
   * An unstacked run's ring-background OFF maps (gammapy's MapDatasetOnOff): its excess map is then made with WStat
   * from them, `background` (α · N_off) is what gammapy's `background` gives.
   */
  onOff?: OnOffMaps;
  /** Σ run livetimes / ontimes (s). */
  livetime: number;
  ontime: number;
  runs: RunMeta[];
  /** The good time intervals (gammapy's MapDataset.gti); absent when a run's GTI names no time reference. */
  gti?: GoodTimeIntervals;
}

/** The OFF maps of an on-off dataset, [E][y][x] on the dataset's grid. */
export interface OnOffMaps {
  /** N_off: the counts outside the exclusion regions summed over each pixel's ring. */
  countsOff: Float32Array;
  /** The background template (gammapy's acceptance). */
  acceptance: Float32Array;
  /** The template outside the exclusion regions summed over the ring; 0 where it holds none (masked). */
  acceptanceOff: Float32Array;
}
