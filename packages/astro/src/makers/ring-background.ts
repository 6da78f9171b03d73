/**
 * Ring background (gammapy 1.0's RingBackgroundMaker, as its Analysis runs it for a stacked 3D dataset): per run and
 * reco-energy plane, the OFF counts and OFF acceptance are the counts and the background template outside the
 * exclusion regions, summed over a ring around each pixel; the run's background becomes α · N_off with
 * α = acceptance / acceptance_off, and pixels whose ring holds no acceptance leave the safe mask. gammapy then stacks
 * the run as a MapDataset with that background (DatasetsMaker's to_map_dataset), which is what pipe's stack does.
 */
import { type Kernels, ringKernel, type SquareKernel } from '@pipe/kernels';
import { npix, type WcsGeom } from '../geom/wcs-geom.js';
import type { OnOffMaps } from './dataset.js';
import { projectMask, type SkyMask } from './exclusion.js';

/** Why a run's ring background cannot be made, and the config setting to blame. */
export interface RingFailure {
  reason: 'exclusion-outside' | 'ring-empty';
  message: string;
  param: string[];
}

/**
 * A run's ring background (gammapy's RingBackgroundMaker.run on the run's cutout, after its safe mask): the exclusion
 * mask sampled on the cutout, the ring in its pixels, α · N_off ({@link ringBackground}); `maskSafe` is cleared where
 * the ring holds no acceptance. `warning` says how many safe pixels holding background that masked.
 */
export function runRingBackground(
  run: { counts: Float32Array; acceptance: Float32Array; maskSafe: Uint8Array; geom: WcsGeom; nE: number },
  settings: { rIn: number; width: number; exclusion?: SkyMask | undefined; onOff?: boolean | undefined },
  kernels: Kernels,
): { background: Float32Array; onOff?: OnOffMaps; warning?: string } | RingFailure {
  const { geom } = run;
  const { rIn, width, exclusion } = settings;
  // Pixels outside the mask image are told apart: gammapy's Map.get_by_coord, which the ring samples the mask with,
  // gives them NaN, and a NaN in a convolved image spreads to every pixel.
  const OUTSIDE = 2;
  const onGeom = exclusion ? projectMask(exclusion, geom, kernels, OUTSIDE) : undefined;
  const outside = onGeom ? onGeom.reduce((k, v) => (v === OUTSIDE ? k + 1 : k), 0) : 0;
  if (outside > 0)
    return {
      reason: 'exclusion-outside',
      message: `${outside} of the run's ${npix(geom)} map pixels lie outside the exclusion mask image: the ring background needs a mask covering each run's cutout of the map (gammapy 1.0 reads them as NaN, which its ring sums spread to every pixel: its background comes out 0 everywhere)`,
      param: ['datasets', 'background', 'exclusion'],
    };
  const shapes = ringKernelOnGeom(rIn, width, geom);
  const binsize = Math.abs(geom.wcs.cdelt[0]);
  if (!shapes)
    return {
      reason: 'ring-empty',
      message: `the ring starts at r_in ${rIn} deg, beyond the run's map (its diagonal is ${Number((Math.hypot(geom.nx, geom.ny) * binsize).toPrecision(6))} deg): it holds no map pixel, and every pixel would be masked`,
      param: ['datasets', 'background', 'parameters', 'r_in'],
    };
  if (!shapes.ring.kernel.includes(1))
    return {
      reason: 'ring-empty',
      message: `the ring from r_in ${rIn} deg to ${Number((rIn + width).toPrecision(12))} deg holds no pixel centre at the map's binsize (${binsize} deg): every pixel would be masked (astropy warns and keeps the kernel all zeros; gammapy then masks every run)`,
      param: ['datasets', 'background', 'parameters', 'width'],
    };
  const {
    background,
    onOff,
    ringWithoutAcceptance: k,
  } = ringBackground(
    { ...run, exclusion: onGeom, kernels: shapes, keepOff: settings.onOff === true },
    kernels,
  );
  return {
    background,
    ...(onOff ? { onOff } : {}),
    ...(k > 0
      ? {
          warning: `${k} safe pixel${k === 1 ? ' holds' : 's hold'} background but ${k === 1 ? 'its' : 'their'} whole ring lies in excluded regions or off the map: pipe masks them (the ring sum is exactly 0); gammapy 1.0's float32 FFT leaves noise of either sign there and keeps some of them, with a meaningless background (a wider ring, or smaller exclusion regions, avoids this)`,
        }
      : {}),
  };
}

/**
 * The ring, and the two disks whose difference it is: `outer` (dx² + dy² ≤ r_out²) minus `inner` (dx² + dy² < r_in²),
 * entry by entry, on one side. The disks are summed by the kernels' row cascade, two adds per pixel and kernel row,
 * where the ring itself takes one multiply-add per ring pixel (a 0.7°–1.1° ring at 0.02° has 5,700): about 10× less.
 */
export interface RingKernels {
  ring: SquareKernel;
  outer: SquareKernel;
  inner: SquareKernel;
}

/**
 * The ring in pixels of `geom`: the angles over gammapy's `geom.pixel_scales[0]` (astropy's proj_plane_pixel_scales,
 * |CDELT1| on an analysis grid, which has no rotation). Past the map's diagonal a ring meets only the zero padding:
 * it is built no wider (the same sums). Undefined when the ring starts beyond the diagonal, so holds no map pixel.
 */
export function ringKernelOnGeom(rInDeg: number, widthDeg: number, geom: WcsGeom): RingKernels | undefined {
  const scale = Math.abs(geom.wcs.cdelt[0]);
  const rIn = rInDeg / scale;
  const diagonal = Math.hypot(geom.nx, geom.ny);
  if (rIn >= diagonal) return undefined;
  const width = rIn + widthDeg / scale <= diagonal ? widthDeg / scale : diagonal - rIn;
  // Every run of an analysis asks for the same ring (cutouts differ only where the diagonal clamps it).
  const key = `${rIn} ${width}`;
  const cached = builtRings.get(key);
  if (cached) return cached;
  const ring = ringKernel(rIn, width);
  // r_out computed as ringKernel computes it (rIn + width), so the outer disk's edge is the ring's, bit for bit.
  const outer = ringKernel(0, rIn + width);
  const inner = new Float64Array(outer.kernel.length);
  for (let i = 0; i < inner.length; i++) inner[i] = (outer.kernel[i] as number) - (ring.kernel[i] as number);
  const kernels = { ring, outer, inner: { kernel: inner, kn: outer.kn } };
  if (builtRings.size >= 8) builtRings.clear();
  builtRings.set(key, kernels);
  return kernels;
}

/** The rings this thread has built, by radius and width in pixels. */
const builtRings = new Map<string, RingKernels>();

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
  kernels: RingKernels;
  /** Keep the OFF maps (an unstacked run's on-off dataset needs them). */
  keepOff?: boolean;
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
  /** With `keepOff`: the on-off dataset's maps (the acceptance is the input's; OFF acceptance 0 where masked). */
  onOff?: OnOffMaps;
}

export function ringBackground(
  input: RingBackgroundInput,
  kernels: Pick<Kernels, 'correlateDisk'>,
): RingBackground {
  const { counts, acceptance, maskSafe, exclusion, geom, nE } = input;
  const { ring, outer, inner } = input.kernels;
  const { nx, ny } = geom;
  const n = nx * ny;
  const image = new Float64Array(n);
  const innerSum = new Float64Array(n);
  const countsOff = new Float64Array(n);
  const holding = new Float64Array(n);
  const acceptanceOff = new Float64Array(n);
  /** out = Σ over the ring = Σ outer disk − Σ inner disk (exact for integer images); innerSum keeps the second. */
  const ringSum = (out: Float64Array) => {
    kernels.correlateDisk(image, nx, ny, outer.kernel, outer.kn, out);
    kernels.correlateDisk(image, nx, ny, inner.kernel, inner.kn, innerSum);
    for (let p = 0; p < n; p++) out[p] = (out[p] as number) - (innerSum[p] as number);
  };
  const background = new Float32Array(nE * n);
  const onOff: OnOffMaps | undefined = input.keepOff
    ? { countsOff: new Float32Array(nE * n), acceptance, acceptanceOff: new Float32Array(nE * n) }
    : undefined;
  let ringWithoutAcceptance = 0;
  const usable = (p: number) => exclusion?.[p] !== 0; // no mask: every pixel
  for (let e = 0; e < nE; e++) {
    const plane = e * n;
    for (let p = 0; p < n; p++) image[p] = usable(p) ? (counts[plane + p] as number) : 0;
    ringSum(countsOff);
    // How many ring pixels hold acceptance (exact): a ring holding none sums to 0 exactly, not to a difference's noise.
    for (let p = 0; p < n; p++) image[p] = usable(p) && (acceptance[plane + p] as number) !== 0 ? 1 : 0;
    ringSum(holding);
    for (let p = 0; p < n; p++) image[p] = usable(p) ? (acceptance[plane + p] as number) : 0;
    ringSum(acceptanceOff);
    onOff?.countsOff.set(countsOff, plane);
    for (let p = 0; p < n; p++) {
      let aOff = holding[p] === 0 ? 0 : (acceptanceOff[p] as number);
      // The difference of two disk sums loses precision when the ring holds little next to the inner disk (rounding
      // ~1e-16 × their terms): below a millionth of it, the ring itself is summed (a smooth template never gets here).
      if (holding[p] !== 0 && Math.abs(aOff) <= 1e-6 * Math.abs(innerSum[p] as number))
        aOff = ringSumAt(image, nx, ny, ring, p);
      // gammapy masks acceptance_off <= 0 (its α there, x/0 or 0/0 through nan_to_num, then meets only masked pixels).
      if (!(aOff > 0)) {
        if (maskSafe[plane + p] && (acceptance[plane + p] as number) > 0) ringWithoutAcceptance++;
        maskSafe[plane + p] = 0;
        continue;
      }
      if (onOff) onOff.acceptanceOff[plane + p] = aOff;
      background[plane + p] = ((countsOff[p] as number) * (acceptance[plane + p] as number)) / aOff;
    }
  }
  return { background, ringWithoutAcceptance, ...(onOff ? { onOff } : {}) };
}

/** Σ of `image` over the ring around pixel p (zero padding), term by term. */
function ringSumAt(image: Float64Array, nx: number, ny: number, ring: SquareKernel, p: number): number {
  const { kernel, kn } = ring;
  const c = (kn - 1) / 2;
  const x = p % nx;
  const y = (p - x) / nx;
  let sum = 0;
  for (let j = 0; j < kn; j++) {
    const yy = y + j - c;
    if (yy < 0 || yy >= ny) continue;
    for (let i = 0; i < kn; i++) {
      const xx = x + i - c;
      if (kernel[j * kn + i] !== 0 && xx >= 0 && xx < nx) sum += image[yy * nx + xx] as number;
    }
  }
  return sum;
}
