/**
 * Ring background (gammapy 1.0's RingBackgroundMaker, as its Analysis runs it for a stacked 3D dataset): per run and
 * reco-energy plane, the OFF counts and OFF acceptance are the counts and the background template outside the
 * exclusion regions, summed over a ring around each pixel; the run's background becomes α · N_off with
 * α = acceptance / acceptance_off, and pixels whose ring holds no acceptance leave the safe mask. gammapy then stacks
 * the run as a MapDataset with that background (DatasetsMaker's to_map_dataset), which is what pipe's stack does.
 */
import { type Kernels, ringKernel, type SquareKernel } from '@pipe/kernels';
import type { WcsGeom } from '../geom/wcs-geom.js';

/**
 * The ring in pixels of `geom`: the angles over gammapy's `geom.pixel_scales[0]` (astropy's proj_plane_pixel_scales,
 * |CDELT1| on an analysis grid, which has no rotation). Past the map's diagonal a ring meets only the zero padding:
 * it is built no wider (the same sums). Undefined when the ring starts beyond the diagonal, so holds no map pixel.
 */
export function ringKernelOnGeom(rInDeg: number, widthDeg: number, geom: WcsGeom): SquareKernel | undefined {
  const scale = Math.abs(geom.wcs.cdelt[0]);
  const rIn = rInDeg / scale;
  const width = widthDeg / scale;
  const diagonal = Math.hypot(geom.nx, geom.ny);
  if (rIn >= diagonal) return undefined;
  return rIn + width <= diagonal ? ringKernel(rIn, width) : ringKernel(rIn, diagonal - rIn);
}

export interface RingBackgroundInput {
  /** [E][y][x] counts of the run's cutout. */
  counts: Float32Array;
  /** [E][y][x] background template (gammapy's acceptance: the run's npred_background). */
  acceptance: Float32Array;
  /** [E][y][x] safe mask; cleared where the ring holds no acceptance. */
  maskSafe: Uint8Array;
  /** [y][x] 1 = usable for the OFF sums (the exclusion mask on the cutout), or undefined for no exclusion. */
  exclusion: Uint8Array | undefined;
  geom: WcsGeom;
  nE: number;
  kernel: SquareKernel;
}

/** The run's ring background α · N_off ([E][y][x], 0 where the ring holds no acceptance). */
export interface RingBackground {
  background: Float32Array;
  /**
   * Safe pixels holding background whose whole ring holds none (all of it excluded or off the map): masked here, as
   * their exact ring sum is 0; gammapy's float32 FFT sums leave noise of either sign there, so it keeps some of them,
   * with a background of template × noise / noise.
   */
  ringWithoutAcceptance: number;
}

export function ringBackground(
  input: RingBackgroundInput,
  kernels: Pick<Kernels, 'correlateDisk'>,
): RingBackground {
  const { counts, acceptance, maskSafe, exclusion, geom, nE, kernel } = input;
  const { nx, ny } = geom;
  const n = nx * ny;
  const image = new Float64Array(n);
  const countsOff = new Float64Array(n);
  const acceptanceOff = new Float64Array(n);
  const background = new Float32Array(nE * n);
  let ringWithoutAcceptance = 0;
  for (let e = 0; e < nE; e++) {
    const plane = e * n;
    for (let p = 0; p < n; p++) image[p] = exclusion && !exclusion[p] ? 0 : (counts[plane + p] as number);
    kernels.correlateDisk(image, nx, ny, kernel.kernel, kernel.kn, countsOff);
    for (let p = 0; p < n; p++) image[p] = exclusion && !exclusion[p] ? 0 : (acceptance[plane + p] as number);
    kernels.correlateDisk(image, nx, ny, kernel.kernel, kernel.kn, acceptanceOff);
    for (let p = 0; p < n; p++) {
      const off = acceptanceOff[p] as number;
      // gammapy masks acceptance_off <= 0 (its α there, x/0 or 0/0 through nan_to_num, then meets only masked pixels).
      if (!(off > 0)) {
        if (maskSafe[plane + p] && (acceptance[plane + p] as number) > 0) ringWithoutAcceptance++;
        maskSafe[plane + p] = 0;
        continue;
      }
      background[plane + p] = ((countsOff[p] as number) * (acceptance[plane + p] as number)) / off;
    }
  }
  return { background, ringWithoutAcceptance };
}
