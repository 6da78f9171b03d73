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

// State of the current call, read by `settle` (globals keep the helper's signature short).
let gOut: usize = 0;
let gUncertain: usize = 0;
let gCount: i32 = 0;
let gNx: i32 = 0;
let gNy: i32 = 0;
let gNE: i32 = 0;
let gBx: f64 = 0;
let gBy: f64 = 0;

/** Rounds one projected event, applies the safety bands, and counts it or lists it as undecided. */
@inline function settle(i: i32, x: f64, y: f64, flag: bool, ie: i32, nearE: bool): void {
  if (x != x || y != y) return;
  const nx = gNx;
  const ny = gNy;
  const nE = gNE;
  const fx = Math.floor(x + 0.5);
  const fy = Math.floor(y + 0.5);
  const rx = x + 0.5 - fx;
  const ry = y + 0.5 - fy;
  const nearX = rx < gBx || rx > 1.0 - gBx;
  const nearY = ry < gBy || ry > 1.0 - gBy;
  // Clamp before converting so that far-away pixels stay far away (the conversion saturates).
  const ix = <i32>max(-2.0, min(<f64>nx + 1, fx));
  const iy = <i32>max(-2.0, min(<f64>ny + 1, fy));
  if (nearX || nearY || nearE || flag) {
    const close = ix >= -1 && ix <= nx && iy >= -1 && iy <= ny && ie >= -1 && ie <= nE;
    if (close || flag) {
      store<u32>(gUncertain + (<usize>gCount << 2), <u32>i);
      gCount++;
      return;
    }
  }
  if (ix >= 0 && ix < nx && iy >= 0 && iy < ny && ie >= 0 && ie < nE) {
    const at = gOut + (<usize>((ie * ny + iy) * nx + ix) << 2);
    store<f32>(at, load<f32>(at) + 1.0);
  }
}

// f64x2 versions of the helpers above, for two events at a time (WebAssembly SIMD).
@inline function sel2(mask: v128, a: v128, b: v128): v128 {
  return v128.bitselect(a, b, mask);
}

@inline function horner2(z: v128, c0: f64, c1: f64, c2: f64, c3: f64, c4: f64, c5: f64, c6: f64, c7: f64, c8: f64): v128 {
  let p = f64x2.splat(c8);
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c7));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c6));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c5));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c4));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c3));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c2));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(c1));
  return f64x2.add(f64x2.mul(p, z), f64x2.splat(c0));
}

@inline function sinHalf2(a: v128): v128 {
  const z = f64x2.mul(a, a);
  return f64x2.mul(a, horner2(z, 1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-6, -2.505210838544172e-8, 1.6059043836821613e-10, -7.647163731819816e-13, 0.0));
}

@inline function cosHalf2(a: v128): v128 {
  const z = f64x2.mul(a, a);
  return horner2(z, 1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-5, -2.755731922398589e-7, 2.08767569878681e-9, -1.1470745597729725e-11, 4.779477332387385e-14);
}

@inline function atan2Fast2(y: v128, x: v128): v128 {
  const ax = f64x2.abs(x);
  const ay = f64x2.abs(y);
  const mn = f64x2.pmin(ax, ay);
  const mx = f64x2.pmax(ax, ay);
  const hi = f64x2.ge(mn, f64x2.mul(f64x2.splat(11.0 / 16.0), mx));
  const mid = f64x2.ge(mn, f64x2.mul(f64x2.splat(7.0 / 16.0), mx));
  const c = sel2(hi, f64x2.splat(1.0), sel2(mid, f64x2.splat(0.5), f64x2.splat(0.0)));
  const base = sel2(hi, f64x2.splat(FRAC_PI_4), sel2(mid, f64x2.splat(4.63647609000806093515e-1), f64x2.splat(0.0)));
  const den = f64x2.add(mx, f64x2.mul(c, mn));
  const u = sel2(f64x2.gt(den, f64x2.splat(0)), f64x2.div(f64x2.sub(mn, f64x2.mul(c, mx)), den), f64x2.splat(0));
  const z = f64x2.mul(u, u);
  const w = f64x2.mul(z, z);
  const s1 = f64x2.mul(z, horner2(w, 3.33333333333329318027e-1, 1.42857142725034663711e-1, 9.09088713343650656196e-2, 6.66107313738753120669e-2, 4.97687799461593236017e-2, 1.62858201153657823623e-2, 0, 0, 0));
  const s2 = f64x2.mul(w, horner2(w, -1.99999999998764832476e-1, -1.11111104054623557880e-1, -7.69187620504482999495e-2, -5.83357013379057348645e-2, -3.65315727442169155270e-2, 0, 0, 0, 0));
  let r = f64x2.add(base, f64x2.sub(u, f64x2.mul(u, f64x2.add(s1, s2))));
  r = sel2(f64x2.gt(ay, ax), f64x2.sub(f64x2.splat(FRAC_PI_2), r), r);
  r = sel2(f64x2.lt(x, f64x2.splat(0)), f64x2.sub(f64x2.splat(Math.PI), r), r);
  return sel2(f64x2.lt(y, f64x2.splat(0)), f64x2.neg(r), r);
}

@inline function fastLn2(x: v128): v128 {
  let k = f64x2.sub(v128.or(i64x2.shr_u(x, 52), i64x2.splat(0x4330000000000000)), f64x2.splat(4503599627370496.0 + 1023.0));
  let m = v128.or(v128.and(x, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3ff0000000000000));
  const big = f64x2.gt(m, f64x2.splat(Math.SQRT2));
  m = sel2(big, f64x2.mul(m, f64x2.splat(0.5)), m);
  k = sel2(big, f64x2.add(k, f64x2.splat(1.0)), k);
  const s = f64x2.div(f64x2.sub(m, f64x2.splat(1.0)), f64x2.add(m, f64x2.splat(1.0)));
  const z = f64x2.mul(s, s);
  const p = horner2(z, 2.0, 2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0, 2.0 / 11.0, 2.0 / 13.0, 0, 0);
  return f64x2.add(f64x2.mul(k, f64x2.splat(Math.LN2)), f64x2.mul(s, p));
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
  gOut = out;
  gUncertain = uncertain;
  gCount = 0;
  gNx = nx;
  gNy = ny;
  gNE = nE;
  gBx = bx;
  gBy = by;
  // Two events at a time with f64x2 (log-uniform energy edges); the scalar loop does the rest.
  let start = 0;
  if (uniform) {
    start = count & ~1;
    const vMinPos = f64x2.splat(2.2250738585072014e-308);
    const vInf = f64x2.splat(Infinity);
    for (let i = 0; i < start; i += 2) {
      const at = <usize>i << 3;
      const e2 = v128.load(energy + at);
      const okE = v128.and(f64x2.ge(e2, vMinPos), f64x2.lt(e2, vInf));
      const f = f64x2.mul(f64x2.sub(fastLn2(e2), f64x2.splat(ln0)), f64x2.splat(invStep));
      const fk = f64x2.floor(f);
      const rf = f64x2.sub(f, fk);
      const near2 = v128.and(okE, v128.or(f64x2.lt(rf, f64x2.splat(bandE)), f64x2.gt(rf, f64x2.splat(1.0 - bandE))));
      const ieV = sel2(okE, f64x2.pmax(f64x2.splat(-2.0), f64x2.pmin(f64x2.splat(<f64>nE + 1), fk)), f64x2.splat(-2.0));
      const inRange = v128.and(f64x2.ge(ieV, f64x2.splat(0)), f64x2.lt(ieV, f64x2.splat(<f64>nE)));
      // Both energies surely outside the axis: both events are dropped whatever their position.
      if (!v128.any_true(v128.or(inRange, near2))) continue;
      const ra2 = v128.load(ra + at);
      const dec2 = v128.load(dec + at);
      const a0 = f64x2.mul(f64x2.sub(ra2, f64x2.mul(f64x2.splat(360.0), f64x2.nearest(f64x2.mul(ra2, f64x2.splat(1.0 / 360.0))))), f64x2.splat(DEG));
      const fold = f64x2.gt(f64x2.abs(a0), f64x2.splat(FRAC_PI_2));
      const piSigned = v128.or(f64x2.splat(Math.PI), v128.and(a0, i64x2.splat(0x8000000000000000)));
      const a = sel2(fold, f64x2.sub(piSigned, a0), a0);
      const b = f64x2.mul(dec2, f64x2.splat(DEG));
      const sa = sinHalf2(a);
      const caH = cosHalf2(a);
      const ca = sel2(fold, f64x2.neg(caH), caH);
      const sb = sinHalf2(b);
      const cb = cosHalf2(b);
      const cx = f64x2.mul(cb, ca);
      const cy = f64x2.mul(cb, sa);
      const px = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(r0), cx), f64x2.mul(f64x2.splat(r1), cy)), f64x2.mul(f64x2.splat(r2), sb));
      const py = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(r3), cx), f64x2.mul(f64x2.splat(r4), cy)), f64x2.mul(f64x2.splat(r5), sb));
      const pz = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(r6), cx), f64x2.mul(f64x2.splat(r7), cy)), f64x2.mul(f64x2.splat(r8), sb));
      let xV: v128;
      let yV: v128;
      let flagV = f64x2.gt(f64x2.abs(dec2), f64x2.splat(90.0));
      if (tan) {
        const inv = sel2(f64x2.gt(px, f64x2.splat(0)), f64x2.div(f64x2.splat(RAD), px), f64x2.splat(NaN));
        xV = f64x2.add(f64x2.splat(x0), f64x2.div(f64x2.mul(py, inv), f64x2.splat(cdelt1)));
        yV = f64x2.add(f64x2.splat(y0), f64x2.div(f64x2.mul(pz, inv), f64x2.splat(cdelt2)));
      } else {
        xV = f64x2.add(f64x2.splat(x0), f64x2.mul(atan2Fast2(py, px), f64x2.splat(sx)));
        yV = f64x2.add(f64x2.splat(y0), f64x2.mul(atan2Fast2(pz, f64x2.sqrt(f64x2.add(f64x2.mul(px, px), f64x2.mul(py, py)))), f64x2.splat(sy)));
        const seam = v128.and(f64x2.lt(px, f64x2.splat(0)), f64x2.lt(f64x2.abs(py), f64x2.splat(1e-9)));
        const pole = f64x2.gt(f64x2.abs(pz), f64x2.splat(1.0 - 1e-10));
        flagV = v128.or(flagV, v128.or(seam, pole));
      }
      settle(i, f64x2.extract_lane(xV, 0), f64x2.extract_lane(yV, 0), i64x2.extract_lane(flagV, 0) != 0, <i32>f64x2.extract_lane(ieV, 0), i64x2.extract_lane(near2, 0) != 0);
      settle(i + 1, f64x2.extract_lane(xV, 1), f64x2.extract_lane(yV, 1), i64x2.extract_lane(flagV, 1) != 0, <i32>f64x2.extract_lane(ieV, 1), i64x2.extract_lane(near2, 1) != 0);
    }
  }
  for (let i = start; i < count; i++) {
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
    settle(i, x, y, flag, ie, nearE);
  }
  return gCount;
}
