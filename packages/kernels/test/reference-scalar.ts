// Straightforward scalar versions of the science spec formulas, written independently of the kernels, for the
// differential tests of the reference kernels. Not a test file itself.

export const D = Math.PI / 180;

/** WCS parameter block (layout of src/reference/sky.ts) for reference point (lon0, lat0), ICRS frame. */
export function wcsBlock(
  projection: 0 | 1,
  lon0: number,
  lat0: number,
  crpix: [number, number],
  cdelt: [number, number],
): Float64Array {
  const cl = Math.cos(lon0 * D);
  const sl = Math.sin(lon0 * D);
  const cb = Math.cos(lat0 * D);
  const sb = Math.sin(lat0 * D);
  return Float64Array.from([
    projection,
    crpix[0] - 1,
    crpix[1] - 1,
    cdelt[0],
    cdelt[1],
    cb * cl,
    cb * sl,
    sb,
    -sl,
    cl,
    0,
    -sb * cl,
    -sb * sl,
    cb,
  ]);
}

/** §3.1 step 4 written out: (ra, dec) → fractional 0-based pixel. */
export function skyToPixelScalar(
  projection: 0 | 1,
  lon0: number,
  lat0: number,
  crpix: [number, number],
  cdelt: [number, number],
  ra: number,
  dec: number,
): [number, number] {
  const dl = (ra - lon0) * D;
  const b = dec * D;
  const b0 = lat0 * D;
  const vx = Math.cos(b) * Math.cos(dl);
  const vy = Math.cos(b) * Math.sin(dl);
  const vz = Math.sin(b);
  const nx = vx * Math.cos(b0) + vz * Math.sin(b0);
  const ny = vy;
  const nz = -vx * Math.sin(b0) + vz * Math.cos(b0);
  let a: number;
  let c: number;
  if (projection === 0) {
    a = Math.atan2(ny, nx) / D;
    c = Math.asin(nz) / D;
  } else {
    if (nx <= 0) return [Number.NaN, Number.NaN];
    a = ny / nx / D;
    c = nz / nx / D;
  }
  return [crpix[0] - 1 + a / cdelt[0], crpix[1] - 1 + c / cdelt[1]];
}

export function rintScalar(v: number): number {
  if (Number.isNaN(v)) return v;
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** scipy interp1d from ln edges to index, minus 0.5 (linear search). */
export function energyCoordScalar(lnEdges: number[], lnE: number): number {
  if (Number.isNaN(lnE)) return Number.NaN;
  let i = 0;
  while (i < lnEdges.length && (lnEdges[i] as number) < lnE) i++;
  i = Math.min(Math.max(i, 1), lnEdges.length - 1);
  const x0 = lnEdges[i - 1] as number;
  const slope = 1 / ((lnEdges[i] as number) - x0);
  return slope * (lnE - x0) + (i - 1) - 0.5;
}

/**
 * Multilinear interpolation with linear extrapolation (science spec §6) on a C-order grid `values` over axes
 * with ascending `nodes` (already scaled); single-node axes are dropped.
 */
export function multilinear(nodes: number[][], values: ArrayLike<number>, point: number[]): number {
  const dims = nodes.map((n) => n.length);
  const cells = point.map((x, a) => {
    const g = nodes[a] as number[];
    if (g.length === 1) return { i: 0, t: 0 };
    let j = 0;
    while (j < g.length && (g[j] as number) < x) j++;
    const i = Math.min(Math.max(j - 1, 0), g.length - 2);
    return { i, t: (x - (g[i] as number)) / ((g[i + 1] as number) - (g[i] as number)) };
  });
  let sum = 0;
  for (let corner = 0; corner < 1 << dims.length; corner++) {
    let w = 1;
    let flat = 0;
    let ok = true;
    for (let a = 0; a < dims.length; a++) {
      const up = (corner >> a) & 1;
      const { i, t } = cells[a] as { i: number; t: number };
      if ((dims[a] as number) === 1 && up) ok = false;
      w *= up ? t : 1 - t;
      flat = flat * (dims[a] as number) + i + up;
    }
    if (ok) sum += w * (values[flat] as number);
  }
  return sum;
}

/** gammapy's trapz_loglog for one bin. */
export function logLogIntegral(e1: number, e2: number, y1: number, y2: number): number {
  const tiny = 1.1754943508222875e-38;
  let gamma = -Math.log(Math.max(y1 / y2, tiny)) / Math.log(e1 / e2);
  if (Number.isNaN(gamma)) gamma = Number.POSITIVE_INFINITY;
  const g = 1 - gamma;
  if (Math.abs(g) <= 1e-8) return y1 * e1 * Math.log(e2 / e1);
  const v = ((y1 * e1) / g) * ((e2 / e1) ** g - 1);
  return Number.isNaN(v) ? 0 : v;
}

/** Deterministic pseudo-random numbers (mulberry32), so that failures reproduce. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
