// Event binning (science spec §4.1), the same algorithm as native/src/bin_events.rs: a branch-free
// projection with polynomial sin/cos/atan decides every event that lies farther than a safety band
// from a pixel or energy edge; the indices of the others are written to `uncertain` and the caller
// bins them with the reference kernel, so counts equal the reference's exact projection.
export { heapBase } from './common';

const DEG: f64 = Math.PI / 180.0;
const RAD: f64 = 180.0 / Math.PI;
const ANGLE_ERROR: f64 = 1e-9;
const ENERGY_BAND: f64 = 1e-9;
const FRAC_PI_2: f64 = Math.PI / 2;
const FRAC_PI_4: f64 = Math.PI / 4;

// sin/cos on [−π/2, π/2]: Taylor to degree 15/16 (truncation < 7e-12, inside the 1e-9 rad budget).
@inline function sinHalf(a: f64): f64 {
  const z = a * a;
  return a * (1.0 + z * (-0.16666666666666666 + z * (0.008333333333333333 + z * (-0.0001984126984126984 + z * (2.7557319223985893e-6 + z * (-2.505210838544172e-8 + z * (1.6059043836821613e-10 + z * -7.647163731819816e-13)))))));
}

@inline function cosHalf(a: f64): f64 {
  const z = a * a;
  return 1.0 + z * (-0.5 + z * (0.041666666666666664 + z * (-0.001388888888888889 + z * (2.48015873015873e-5 + z * (-2.755731922398589e-7 + z * (2.08767569878681e-9 + z * (-1.1470745597729725e-11 + z * 4.779477332387385e-14)))))));
}

/** atan(mn/mx), 0 ≤ mn ≤ mx: fdlibm's reduction chosen without dividing, then one division. */
@inline function atanRatio(mn: f64, mx: f64): f64 {
  const hi = mn >= (11.0 / 16.0) * mx;
  const mid = mn >= (7.0 / 16.0) * mx;
  const c: f64 = hi ? 1.0 : mid ? 0.5 : 0.0;
  const base: f64 = hi ? FRAC_PI_4 : mid ? 4.63647609000806093515e-1 : 0.0;
  const den = mx + c * mn;
  const u = den > 0 ? (mn - c * mx) / den : 0.0;
  const z = u * u;
  const w = z * z;
  const s1 = z * (3.33333333333329318027e-1 + w * (1.42857142725034663711e-1 + w * (9.09088713343650656196e-2 + w * (6.66107313738753120669e-2 + w * (4.97687799461593236017e-2 + w * 1.62858201153657823623e-2)))));
  const s2 = w * (-1.99999999998764832476e-1 + w * (-1.11111104054623557880e-1 + w * (-7.69187620504482999495e-2 + w * (-5.83357013379057348645e-2 + w * -3.65315727442169155270e-2))));
  return base + (u - u * (s1 + s2));
}

@inline function atan2Fast(y: f64, x: f64): f64 {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  let r = atanRatio(min(ax, ay), max(ax, ay));
  r = ay > ax ? FRAC_PI_2 - r : r;
  r = x < 0 ? Math.PI - r : r;
  return y < 0 ? -r : r;
}

/** ln x for normal positive finite x (exponent bits + atanh series: |error| < 2e-11). */
@inline function fastLn(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let k = <f64>(<i32>(bits >> 52) - 1023);
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > Math.SQRT2) {
    m *= 0.5;
    k += 1.0;
  }
  const s = (m - 1.0) / (m + 1.0);
  const z = s * s;
  return k * Math.LN2 + s * (2.0 + z * (2.0 / 3.0 + z * (2.0 / 5.0 + z * (2.0 / 7.0 + z * (2.0 / 9.0 + z * (2.0 / 11.0 + z * (2.0 / 13.0)))))));
}

@inline function f64At(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

/**
 * Bins events [0, count) of ra/dec/energy (f64) into `out` (f32 cube [ie][iy][ix], added to) through the
 * 14-value WCS block `wcs` (src/reference/sky.ts); `edges` and `lnEdges` hold the nE + 1 energy edges and
 * their logarithms. Indices of events left to the reference go to `uncertain` (u32, capacity count); returns
 * how many, or −1 for an unknown projection code.
 */
export function binEvents(ra: usize, dec: usize, energy: usize, count: i32, wcs: usize, nx: i32, ny: i32, edges: usize, lnEdges: usize, nE: i32, out: usize, uncertain: usize): i32 {
  const code = f64At(wcs, 0);
  if (code != 0 && code != 1) return -1;
  const tan = code == 1;
  const x0 = f64At(wcs, 1);
  const y0 = f64At(wcs, 2);
  const cdelt1 = f64At(wcs, 3);
  const cdelt2 = f64At(wcs, 4);
  const r0 = f64At(wcs, 5), r1 = f64At(wcs, 6), r2 = f64At(wcs, 7);
  const r3 = f64At(wcs, 8), r4 = f64At(wcs, 9), r5 = f64At(wcs, 10);
  const r6 = f64At(wcs, 11), r7 = f64At(wcs, 12), r8 = f64At(wcs, 13);
  const bx = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt1);
  const by = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt2);
  const sx = RAD / cdelt1;
  const sy = RAD / cdelt2;
  // Evenly spaced ln edges (log bins): the bin comes from a fast logarithm instead of every edge.
  const ln0 = f64At(lnEdges, 0);
  const step = (f64At(lnEdges, nE) - ln0) / <f64>nE;
  let uniform = nE >= 1 && step > 0 && isFinite(step);
  for (let k = 0; k <= nE && uniform; k++) uniform = Math.abs((f64At(lnEdges, k) - ln0) / step - <f64>k) < 1e-12;
  const invStep = 1.0 / step;
  const bandE = ENERGY_BAND * invStep + 1e-9;
  let nUncertain: i32 = 0;
  for (let i = 0; i < count; i++) {
    const e = f64At(energy, i);
    let ie: i32 = -1;
    let nearE = false;
    if (uniform) {
      if (e >= 2.2250738585072014e-308 && e < Infinity) {
        const f = (fastLn(e) - ln0) * invStep;
        const fk = Math.floor(f);
        const rf = f - fk;
        ie = <i32>max(-2.0, min(<f64>nE + 1, fk));
        nearE = rf < bandE || rf > 1.0 - bandE;
      } else ie = -2;
    } else {
      for (let k = 0; k <= nE; k++) {
        const edge = f64At(edges, k);
        ie += i32(e >= edge);
        nearE = nearE || Math.abs(e - edge) <= ENERGY_BAND * Math.abs(edge);
      }
    }
    // An energy surely outside the axis drops the event whatever its position (the reference tests it first).
    if (!nearE && (ie < 0 || ie >= nE)) continue;
    const rav = f64At(ra, i);
    const decv = f64At(dec, i);
    const a0 = (rav - 360.0 * Math.round(rav / 360.0)) * DEG;
    const fold = Math.abs(a0) > FRAC_PI_2;
    const a = fold ? copysign<f64>(Math.PI, a0) - a0 : a0;
    const b = decv * DEG;
    const sa = sinHalf(a);
    const ca = fold ? -cosHalf(a) : cosHalf(a);
    const sb = sinHalf(b);
    const cb = cosHalf(b);
    const cx = cb * ca;
    const cy = cb * sa;
    const cz = sb;
    const px = r0 * cx + r1 * cy + r2 * cz;
    const py = r3 * cx + r4 * cy + r5 * cz;
    const pz = r6 * cx + r7 * cy + r8 * cz;
    let x: f64;
    let y: f64;
    let flag = Math.abs(decv) > 90.0;
    if (tan) {
      const inv = px > 0 ? RAD / px : NaN;
      x = x0 + (py * inv) / cdelt1;
      y = y0 + (pz * inv) / cdelt2;
    } else {
      x = x0 + atan2Fast(py, px) * sx;
      y = y0 + atan2Fast(pz, Math.sqrt(px * px + py * py)) * sy;
      flag = flag || (px < 0 && Math.abs(py) < 1e-9) || Math.abs(pz) > 1.0 - 1e-10;
    }
    if (x != x || y != y) continue;
    const fx = Math.floor(x + 0.5);
    const fy = Math.floor(y + 0.5);
    const rx = x + 0.5 - fx;
    const ry = y + 0.5 - fy;
    const nearX = rx < bx || rx > 1.0 - bx;
    const nearY = ry < by || ry > 1.0 - by;
    // Clamp before converting so that far-away pixels stay far away (the conversion saturates).
    const ix = <i32>max(-2.0, min(<f64>nx + 1, fx));
    const iy = <i32>max(-2.0, min(<f64>ny + 1, fy));
    if (nearX || nearY || nearE || flag) {
      const close = ix >= -1 && ix <= nx && iy >= -1 && iy <= ny && ie >= -1 && ie <= nE;
      if (close || flag) {
        store<u32>(uncertain + (<usize>nUncertain << 2), <u32>i);
        nUncertain++;
        continue;
      }
    }
    if (ix >= 0 && ix < nx && iy >= 0 && iy < ny && ie >= 0 && ie < nE) {
      const at = out + (<usize>((ie * ny + iy) * nx + ix) << 2);
      store<f32>(at, load<f32>(at) + 1.0);
    }
  }
  return nUncertain;
}
