// Native binEvents: the Rust fast path (threads for large event sets), then the reference for the
// few events it leaves undecided. Same signature as the reference.
import { binUncertainWithReference, kernelThreads } from '../bin-events-fallback.js';
import type { Kernels } from '../reference/index.js';
import type { NativeAddon } from './addon.js';

type BinEventsFast = (
  ra: Float64Array,
  dec: Float64Array,
  energy: Float64Array,
  count: number,
  wcs: Float64Array,
  nx: number,
  ny: number,
  lnEdges: Float64Array,
  nE: number,
  out: Float32Array,
  threads?: number,
) => Uint32Array;

/** The native binEvents, or undefined when the addon lacks it (an older build). */
export function binEventsNative(addon: NativeAddon, reference: Kernels): Kernels['binEvents'] | undefined {
  const fast = addon.binEventsFast as unknown as BinEventsFast | undefined;
  if (typeof fast !== 'function') return undefined;
  return (ra, dec, energy, count, wcs, nx, ny, lnEdges, nE, out) => {
    const uncertain = fast(ra, dec, energy, count, wcs, nx, ny, lnEdges, nE, out, kernelThreads());
    binUncertainWithReference(reference.binEvents, uncertain, ra, dec, energy, wcs, nx, ny, lnEdges, nE, out);
  };
}

type BinEventsFastAsync = (
  ...args: [...Parameters<BinEventsFast>, AbortSignal | undefined]
) => Promise<Uint32Array>;

/**
 * The native binEvents as an AsyncTask on the libuv pool (then the reference for the undecided events),
 * or undefined when the addon lacks it. The arrays must not be modified until the promise settles.
 */
export function binEventsNativeAsync(
  addon: NativeAddon,
  reference: Kernels,
): ((args: Parameters<Kernels['binEvents']>, signal?: AbortSignal) => Promise<void>) | undefined {
  const fast = addon.binEventsFastAsync as unknown as BinEventsFastAsync | undefined;
  if (typeof fast !== 'function') return undefined;
  return async ([ra, dec, energy, count, wcs, nx, ny, lnEdges, nE, out], signal) => {
    const uncertain = await fast(
      ra,
      dec,
      energy,
      count,
      wcs,
      nx,
      ny,
      lnEdges,
      nE,
      out,
      kernelThreads(),
      signal,
    );
    binUncertainWithReference(reference.binEvents, uncertain, ra, dec, energy, wcs, nx, ny, lnEdges, nE, out);
  };
}
