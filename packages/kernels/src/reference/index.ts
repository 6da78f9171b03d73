// The reference kernel set: plain TypeScript over typed arrays, the specification every backend (WASM from
// AssemblyScript, native from Rust) follows signature for signature. Every kernel is a void function that
// writes into caller-owned outputs and allocates nothing in its loop.
import { evalAeffMap } from './aeff-map.js';
import { binEvents } from './bin-events.js';
import { evalBkgMap } from './bkg-map.js';
import { correlateDisk } from './correlate.js';
import { evalEdispKernelMap, evalPsfMap } from './irf-maps.js';
import { pixelFovCoords, sampleNearest } from './pixel-geometry.js';
import { stackAdd, stackIrfWeighted, stackMaskOr } from './stack.js';
import { cashStatistics } from './stats.js';

// The scalar helpers and the WCS block's layout: one list, the one the main thread's entry exports (../scalars.ts).
export * from '../scalars.js';
export { evalAeffMap } from './aeff-map.js';
export { binEvents, energyBinCoordinate } from './bin-events.js';
export { evalBkgMap, integrateLogLog } from './bkg-map.js';
export * from './correlate.js';
export { evalEdispKernelMap, evalPsfMap } from './irf-maps.js';
export { pixelFovCoords, sampleNearest } from './pixel-geometry.js';
export { stackAdd, stackIrfWeighted, stackMaskOr } from './stack.js';
export * from './stats.js';

/** The kernel contract shared by all backends (see each function's doc comment for layouts). */
export interface Kernels {
  /** 2-D correlation with a square kernel, zero padding (estimators; reference/correlate.ts). */
  correlateDisk: typeof correlateDisk;
  /** Cash excess, TS and signed √TS per pixel (estimators; reference/stats.ts). */
  cashStatistics: typeof cashStatistics;
  /** Events → counts cube (science spec §4.1). */
  binEvents: typeof binEvents;
  /** Per-pixel offset and FoV coordinates relative to a pointing (§4.2, §4.3). */
  pixelFovCoords: typeof pixelFovCoords;
  /** Nearest-pixel sampling of one grid's byte mask on another (§4.5 exclusion, §4.6 IRF weights). */
  sampleNearest: typeof sampleNearest;
  /** Exposure cube from AEFF_2D (§4.2). */
  evalAeffMap: typeof evalAeffMap;
  /** Background template from a 3-D rate table (§4.3). */
  evalBkgMap: typeof evalBkgMap;
  /** PSF map on the IRF grid (§4.6). */
  evalPsfMap: typeof evalPsfMap;
  /** Energy-dispersion kernel map on the IRF grid (§4.6). */
  evalEdispKernelMap: typeof evalEdispKernelMap;
  /** Masked, scaled float32 accumulation of a run cube into the stack (§5). */
  stackAdd: typeof stackAdd;
  /** OR of a run's byte mask into the stacked mask (§5). */
  stackMaskOr: typeof stackMaskOr;
  /** Exposure-weighted sums of a run's PSF map into the stack's (§5). */
  stackIrfWeighted: typeof stackIrfWeighted;
}

/** The TypeScript reference implementation of every kernel. */
export const referenceKernels: Kernels = {
  correlateDisk,
  cashStatistics,
  binEvents,
  pixelFovCoords,
  sampleNearest,
  evalAeffMap,
  evalBkgMap,
  evalPsfMap,
  evalEdispKernelMap,
  stackAdd,
  stackMaskOr,
  stackIrfWeighted,
};
