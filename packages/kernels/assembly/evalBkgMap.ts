// Port of src/reference/bkg-map.ts `evalBkgMap` (fdlibm log and exp, same operation order): bit-identical.
import { fdlibmLog } from './fdlibm';
import { fdlibmExp } from './fdlibmExp';
import { cellIndex, cellWeight } from './interp';
export { heapBase } from './common';

const FLOAT32_TINY: f64 = 1.1754943508222875e-38;
/** ln(FLOAT32_TINY) as V8 computes it (bits 0xc055d589f2fe5107). */
const LN_TINY: f64 = -87.3365447505531;

function integrateLogLogLn(y1: f64, v1: f64, v2: f64, e1: f64, l1: f64, l2: f64): f64 {
  let lr = v1 - v2;
  if (lr < LN_TINY) lr = LN_TINY;
  const g = 1 + lr / (l1 - l2);
  if (Math.abs(g) <= 1e-8) return y1 * e1 * (l2 - l1);
  return ((y1 * e1) / g) * (fdlibmExp(g * (l2 - l1)) - 1);
}

/** Background template out[k·npix + p] (float32); `work` holds ≥ 3·(nK + 1) f64; see the reference for layouts. */
/** Bilinear value of one energy plane of the table at a pixel (cell corner a, the reference's expression). */
@inline function planeValue(lnTable: usize, a: i32, dLat: i32, dLon: i32, w00: f64, w01: f64, w10: f64, w11: f64): f64 {
  return (
    load<f64>(lnTable + (<usize>a << 3)) * w00 +
    load<f64>(lnTable + (<usize>(a + dLat) << 3)) * w01 +
    load<f64>(lnTable + (<usize>(a + dLon) << 3)) * w10 +
    load<f64>(lnTable + (<usize>(a + dLon + dLat) << 3)) * w11
  );
}

export function evalBkgMap(fovLon: usize, fovLat: usize, npix: i32, lnTable: usize, lnENodes: usize, nE: i32, lonNodes: usize, nLon: i32, latNodes: usize, nLat: i32, bounds: usize, edges: usize, nK: i32, solidAngle: usize, scale: f64, work: usize, out: usize): void {
  const eMin = load<f64>(bounds);
  const eMax = load<f64>(bounds, 8);
  const lonMin = load<f64>(bounds, 16);
  const lonMax = load<f64>(bounds, 24);
  const latMin = load<f64>(bounds, 32);
  const latMax = load<f64>(bounds, 40);
  for (let j = 0; j <= nK; j++) {
    const e = load<f64>(edges + (<usize>j << 3));
    const lnE = fdlibmLog(e);
    const ie = cellIndex(lnENodes, nE, lnE);
    const w = work + <usize>(3 * j) * 8;
    store<f64>(w, e >= eMin && e <= eMax ? <f64>ie : -1);
    store<f64>(w, cellWeight(lnENodes, nE, ie, lnE), 8);
    store<f64>(w, lnE, 16);
  }
  const planeE = nLon * nLat;
  const dE = nE > 1 ? planeE : 0;
  const dLon = nLon > 1 ? nLat : 0;
  const dLat = nLat > 1 ? 1 : 0;
  for (let p = 0; p < npix; p++) {
    const lon = load<f64>(fovLon + (<usize>p << 3));
    const lat = load<f64>(fovLat + (<usize>p << 3));
    if (!(lon >= lonMin && lon <= lonMax && lat >= latMin && lat <= latMax)) {
      for (let k = 0; k < nK; k++) store<f32>(out + (<usize>(k * npix + p) << 2), 0);
      continue;
    }
    const il = cellIndex(lonNodes, nLon, lon);
    const tl = cellWeight(lonNodes, nLon, il, lon);
    const ib = cellIndex(latNodes, nLat, lat);
    const tb = cellWeight(latNodes, nLat, ib, lat);
    const w00 = (1 - tl) * (1 - tb);
    const w01 = (1 - tl) * tb;
    const w10 = tl * (1 - tb);
    const w11 = tl * tb;
    const base = il * nLat + ib;
    const factor = scale * load<f64>(solidAngle + (<usize>p << 3));
    // The bilinear value of energy plane e at this pixel does not depend on the edge: consecutive edges in the
    // same cell, or in the next one, reuse the planes already interpolated (same expression, same bits).
    let cell: i32 = -1;
    let lo: f64 = 0;
    let hi: f64 = 0;
    let y1: f64 = 0;
    let v1: f64 = 0;
    for (let j = 0; j <= nK; j++) {
      const w = work + <usize>(3 * j) * 8;
      const ie = load<f64>(w);
      let y2: f64 = 0;
      let v2: f64 = 0;
      if (ie >= 0) {
        const te = load<f64>(w, 8);
        const c = <i32>ie;
        if (c != cell) {
          lo = dE != 0 && cell >= 0 && c == cell + 1 ? hi : planeValue(lnTable, c * planeE + base, dLat, dLon, w00, w01, w10, w11);
          hi = dE != 0 ? planeValue(lnTable, (c + 1) * planeE + base, dLat, dLon, w00, w01, w10, w11) : lo;
          cell = c;
        }
        v2 = lo * (1 - te) + hi * te;
        y2 = fdlibmExp(v2);
        if (!(y2 - FLOAT32_TINY > FLOAT32_TINY)) y2 = 0;
      }
      if (j > 0) {
        const integral =
          y1 > 0 && y2 > 0
            ? integrateLogLogLn(y1, v1, v2, load<f64>(edges + (<usize>(j - 1) << 3)), load<f64>(w - 8), load<f64>(w, 16))
            : 0;
        store<f32>(out + (<usize>((j - 1) * npix + p) << 2), <f32>(integral * factor));
      }
      y1 = y2;
      v1 = v2;
    }
  }
}
