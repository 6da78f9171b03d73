// The second half of the compiled binning kernels: the events their fast path could not decide (too
// close to a pixel or energy edge for its error bound) are binned by the reference kernel itself, so
// the counts of every backend equal the reference's exact projection.
import type { Kernels } from './reference/index.js';

type BinEvents = Kernels['binEvents'];

/** Bins the events listed in `indices` with the reference (copies them into small arrays first). */
export function binUncertainWithReference(
  reference: BinEvents,
  indices: ArrayLike<number>,
  ra: Float64Array,
  dec: Float64Array,
  energy: Float64Array,
  wcs: Float64Array,
  nx: number,
  ny: number,
  lnEdges: Float64Array,
  nE: number,
  out: Float32Array,
): void {
  const m = indices.length;
  if (m === 0) return;
  const subRa = new Float64Array(m);
  const subDec = new Float64Array(m);
  const subEnergy = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const i = indices[j] as number;
    subRa[j] = ra[i] as number;
    subDec[j] = dec[i] as number;
    subEnergy[j] = energy[i] as number;
  }
  reference(subRa, subDec, subEnergy, m, wcs, nx, ny, lnEdges, nE, out);
}

/** Worker threads the native binning may use: PIPE_KERNEL_THREADS, else undefined (all cores). */
export function kernelThreads(): number | undefined {
  const v = Number(process.env.PIPE_KERNEL_THREADS);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}
