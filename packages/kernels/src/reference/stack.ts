// Reference kernels: stacking of per-run cubes into a larger map (science spec §5). A run cube of srcNx × srcNy
// pixels sits at offset (x0, y0) of the destination (its cutout); planes are energy bins.

/**
 * dst[k][y0 + y][x0 + x] += scale · src[k][y][x] where the mask is non-zero and the product is finite; the
 * destination is float32, so every addition rounds as numpy's float32 accumulation does.
 * `mask` has maskPlanes planes of srcNx·srcNy bytes: nPlanes (masked per plane) or 1 (one image broadcast to
 * every plane, as the exposure is stacked). Allocates nothing.
 */
export function stackAdd(
  dst: Float32Array,
  dstNx: number,
  dstNy: number,
  src: Float32Array,
  srcNx: number,
  srcNy: number,
  nPlanes: number,
  x0: number,
  y0: number,
  mask: Uint8Array,
  maskPlanes: number,
  scale: number,
): void {
  const dstPlane = dstNx * dstNy;
  const srcPlane = srcNx * srcNy;
  for (let k = 0; k < nPlanes; k++) {
    const maskBase = maskPlanes === 1 ? 0 : k * srcPlane;
    for (let y = 0; y < srcNy; y++) {
      const dy = y + y0;
      if (dy < 0 || dy >= dstNy) continue;
      for (let x = 0; x < srcNx; x++) {
        const dx = x + x0;
        if (dx < 0 || dx >= dstNx) continue;
        const s = y * srcNx + x;
        if ((mask[maskBase + s] as number) === 0) continue;
        const v = Math.fround(scale * (src[k * srcPlane + s] as number));
        if (v - v !== 0) continue; // NaN or ±Inf: gammapy replaces non-finite values by 0
        const d = k * dstPlane + dy * dstNx + dx;
        dst[d] = (dst[d] as number) + v;
      }
    }
  }
}

/** dst[k][y0 + y][x0 + x] |= src[k][y][x] (byte masks, 0 or 1). Allocates nothing. */
export function stackMaskOr(
  dst: Uint8Array,
  dstNx: number,
  dstNy: number,
  src: Uint8Array,
  srcNx: number,
  srcNy: number,
  nPlanes: number,
  x0: number,
  y0: number,
): void {
  const dstPlane = dstNx * dstNy;
  const srcPlane = srcNx * srcNy;
  for (let k = 0; k < nPlanes; k++) {
    for (let y = 0; y < srcNy; y++) {
      const dy = y + y0;
      if (dy < 0 || dy >= dstNy) continue;
      for (let x = 0; x < srcNx; x++) {
        const dx = x + x0;
        if (dx < 0 || dx >= dstNx) continue;
        if ((src[k * srcPlane + y * srcNx + x] as number) !== 0) dst[k * dstPlane + dy * dstNx + dx] = 1;
      }
    }
  }
}

/**
 * One run's IRF map (the PSF) into the stack's exposure-weighted sums (science spec §5): for every true-energy
 * plane t, den[t][q] += w[t][p] and then, for every plane a of the map's second axis (the PSF's rad bins),
 * num[t][a][q] += data[t][a][p] · w[t][p] (float64 product and sum), where run pixel p = from[s] + j goes to stack
 * pixel q = to[s] + j for j < len[s], segment by segment. The run's grid has `ni` pixels, the stack's `nI`. Each
 * stack pixel receives at most one run pixel, so the order of the segments changes no sum. Allocates nothing.
 */
export function stackIrfWeighted(
  num: Float64Array,
  den: Float64Array,
  data: Float32Array,
  weight: Float32Array,
  from: Int32Array,
  to: Int32Array,
  len: Int32Array,
  nSeg: number,
  ni: number,
  nI: number,
  nT: number,
  nA: number,
): void {
  for (let t = 0; t < nT; t++) {
    const wBase = t * ni;
    for (let s = 0; s < nSeg; s++) {
      const p0 = wBase + (from[s] as number);
      const q0 = t * nI + (to[s] as number);
      const n = len[s] as number;
      for (let j = 0; j < n; j++) den[q0 + j] = (den[q0 + j] as number) + (weight[p0 + j] as number);
    }
    for (let a = 0; a < nA; a++) {
      const src = (t * nA + a) * ni;
      const dst = (t * nA + a) * nI;
      for (let s = 0; s < nSeg; s++) {
        const p0 = from[s] as number;
        const q0 = dst + (to[s] as number);
        const n = len[s] as number;
        for (let j = 0; j < n; j++)
          num[q0 + j] =
            (num[q0 + j] as number) + (data[src + p0 + j] as number) * (weight[wBase + p0 + j] as number);
      }
    }
  }
}
