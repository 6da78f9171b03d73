// Event binning (science spec §4.1) in three tiers, each deciding only what its error bound allows:
// 1. float32, four events per f32x4 vector: polynomial sin/cos/atan and a bit-level logarithm with a
//    per-event bound on the pixel and energy-bin error (float32 rounding included; binEventsFloat32.ts);
//    it decides every event farther than that band from a pixel or energy edge (≈ 95 % of them).
// 2. float64, one event at a time (`binOne`, the algorithm of native/src/bin_events.rs, error ≲ 1e-13
//    rad against a band of 1e-9 rad): the events tier 1 left, and the last count % 4.
// 3. the reference kernel, run by the caller on the indices written to `uncertain`: the few events
//    within 1e-9 rad of an edge, every event exactly on one, and the projection's special cases.
// So the counts equal the reference's exact projection.
export { heapBase } from './common';
import {
  BAND_E, BAND_E1, C, D, HALF, INF, INV_STEP, LN0, MIN_NORMAL, MINUS1, MINUS2, NE, NE1, NX, NY, ONE, ZERO,
  demote4, gBX, gBY, gFlag, gSmallCar, gX, gY, ln4, sel, setupTier1, tier1Project,
} from './binEventsFloat32';

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
let gRa: usize = 0;
let gDec: usize = 0;
let gEnergy: usize = 0;
let gEdges: usize = 0;
let gTan = false;
let gUniform = false;
let gX0: f64 = 0;
let gY0: f64 = 0;
let gSx: f64 = 0;
let gSy: f64 = 0;
let gLn0: f64 = 0;
let gInvStep: f64 = 0;
let gBandE: f64 = 0;
let gR0: f64 = 0;
let gR1: f64 = 0;
let gR2: f64 = 0;
let gR3: f64 = 0;
let gR4: f64 = 0;
let gR5: f64 = 0;
let gR6: f64 = 0;
let gR7: f64 = 0;
let gR8: f64 = 0;
/** Whether tier 1 can be used for this call's axis (see setupTier1). */
let gTier1 = true;

/** Rounds one projected event, applies the safety bands, and counts it or lists it as undecided. */
@inline function settle(i: i32, x: f64, y: f64, flag: bool, ie: i32, nearE: bool): void {
  // A flagged event goes to the reference even when the polynomials gave NaN for it.
  if (!flag && (x != x || y != y)) return;
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

/** Events per counting batch. */
const BATCH: i32 = 256;
/** Cube indices of a batch of tier-1 events (−1: not counted here) and a sink slot per event for those. */
const INDEX: usize = memory.data(BATCH * 4, 16);
const SINK: usize = memory.data(BATCH * 4, 16);

/**
 * Counts the first m events of the batch: one short loop after the projections of 64 groups rather than
 * four adds after each group, so that the loads of the counts (random values of the cube, mostly
 * outside the L1 cache) overlap one another (synthetic 1e7 events: the adds took 29 % of the kernel's
 * samples, 12 % batched). Each event off the cube counts into a sink slot of its own, so no load waits
 * on a store it does not depend on.
 */
@inline function countBatch(out: usize, m: i32): void {
  for (let j = 0; j < m; j++) {
    const k = load<i32>(INDEX + (<usize>j << 2));
    const p = k >= 0 ? out + (<usize>k << 2) : SINK + (<usize>j << 2);
    store<f32>(p, load<f32>(p) + 1.0);
  }
}

/** Tier 2: event i in float64 (see the top of this file), counted or listed for the reference. */
function binOne(i: i32): void {
  const nE = gNE;
  const e = f64At(gEnergy, i);
  let ie: i32 = -1;
  let nearE = false;
  if (gUniform) {
    if (e >= 2.2250738585072014e-308 && e < Infinity) {
      const f = (fastLn(e) - gLn0) * gInvStep;
      const fk = Math.floor(f);
      const rf = f - fk;
      ie = <i32>max(-2.0, min(<f64>nE + 1, fk));
      nearE = rf < gBandE || rf > 1.0 - gBandE;
    } else ie = -2;
  } else {
    for (let k = 0; k <= nE; k++) {
      const edge = f64At(gEdges, k);
      ie += i32(e >= edge);
      nearE = nearE || Math.abs(e - edge) <= ENERGY_BAND * Math.abs(edge);
    }
  }
  // An energy surely outside the axis drops the event whatever its position (the reference tests it first).
  if (!nearE && (ie < 0 || ie >= nE)) return;
  const rav = f64At(gRa, i);
  const decv = f64At(gDec, i);
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
  const px = gR0 * cx + gR1 * cy + gR2 * cz;
  const py = gR3 * cx + gR4 * cy + gR5 * cz;
  const pz = gR6 * cx + gR7 * cy + gR8 * cz;
  let x: f64;
  let y: f64;
  // Outside [−90°, 90°] the latitude polynomials do not hold; beyond 1e6° the reference's own
  // ra·π/180 rounds by more than 1e-11 rad: the reference decides.
  let flag = Math.abs(decv) > 90.0 || Math.abs(rav) > 1e6;
  if (gTan) {
    const inv = px > 0 ? 1.0 / px : NaN;
    x = gX0 + py * inv * gSx;
    y = gY0 + pz * inv * gSy;
  } else {
    x = gX0 + atan2Fast(py, px) * gSx;
    y = gY0 + atan2Fast(pz, Math.sqrt(px * px + py * py)) * gSy;
    flag = flag || (px < 0 && Math.abs(py) < 1e-9) || Math.abs(pz) > 1.0 - 1e-10;
  }
  settle(i, x, y, flag, ie, nearE);
}


/** Per-call setup shared by binEvents and project4: geometry into globals and the tier-1 tables. */
function setup(ra: usize, dec: usize, energy: usize, wcs: usize, nx: i32, ny: i32, edges: usize, lnEdges: usize, nE: i32): bool {
  const code = f64At(wcs, 0);
  if (code != 0 && code != 1) return false;
  gTan = code == 1;
  gRa = ra;
  gDec = dec;
  gEnergy = energy;
  gEdges = edges;
  gX0 = f64At(wcs, 1);
  gY0 = f64At(wcs, 2);
  const cdelt1 = f64At(wcs, 3);
  const cdelt2 = f64At(wcs, 4);
  gR0 = f64At(wcs, 5);
  gR1 = f64At(wcs, 6);
  gR2 = f64At(wcs, 7);
  gR3 = f64At(wcs, 8);
  gR4 = f64At(wcs, 9);
  gR5 = f64At(wcs, 10);
  gR6 = f64At(wcs, 11);
  gR7 = f64At(wcs, 12);
  gR8 = f64At(wcs, 13);
  gBx = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt1);
  gBy = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt2);
  gSx = RAD / cdelt1;
  gSy = RAD / cdelt2;
  gNx = nx;
  gNy = ny;
  gNE = nE;
  // Evenly spaced ln edges (log bins): the bin comes from a fast logarithm instead of every edge.
  const ln0 = f64At(lnEdges, 0);
  const step = (f64At(lnEdges, nE) - ln0) / <f64>nE;
  let uniform = nE >= 1 && step > 0 && isFinite(step);
  for (let k = 0; k <= nE && uniform; k++) uniform = Math.abs((f64At(lnEdges, k) - ln0) / step - <f64>k) < 1e-12;
  gUniform = uniform;
  gLn0 = ln0;
  gInvStep = 1.0 / step;
  gBandE = ENERGY_BAND * gInvStep + 1e-9;
  gTier1 = setupTier1(gR0, gR1, gR2, gR3, gR4, gR5, gR6, gR7, gR8, gX0, gY0, gSx, gSy, nx, ny, nE, lnEdges, ln0, step, gInvStep, !gTan);
  return true;
}

/**
 * Bins events [0, count) of ra/dec/energy (f64) into `out` (f32 cube [ie][iy][ix], added to) through the
 * 14-value WCS block `wcs` (src/reference/sky.ts); `edges` and `lnEdges` hold the nE + 1 energy edges and
 * their logarithms. Indices of events left to the reference go to `uncertain` (u32, capacity count,
 * ascending); returns how many, or −1 for an unknown projection code.
 */
export function binEvents(ra: usize, dec: usize, energy: usize, count: i32, wcs: usize, nx: i32, ny: i32, edges: usize, lnEdges: usize, nE: i32, out: usize, uncertain: usize): i32 {
  if (!setup(ra, dec, energy, wcs, nx, ny, edges, lnEdges, nE)) return -1;
  gOut = out;
  gUncertain = uncertain;
  gCount = 0;
  const uniform = gUniform;
  const tan = gTan;
  const small = gSmallCar;
  // Tier 1 (float32, four at a time) where it can place energies; else every event by binOne.
  const start = gTier1 ? count & ~3 : 0;
  let batched = 0;
  for (let i = 0; i < start; i += 4) {
    const at = <usize>i << 3;
    const e = demote4(v128.load(energy + at), v128.load(energy + at, 16));
    // Energy bin as f32 (−2 when unusable) and whether E may be near an edge. A positive float64 that
    // float32 cannot hold as a normal number goes to tier 2; negative and NaN energies are dropped.
    const positive = f32x4.ge(e, C(ZERO));
    const normal = v128.and(f32x4.ge(e, C(MIN_NORMAL)), f32x4.lt(e, C(INF)));
    let unsure = v128.andnot(positive, normal);
    let ie: v128;
    let nearE: v128;
    if (uniform) {
      const f = f32x4.mul(f32x4.sub(ln4(e), D(LN0)), D(INV_STEP));
      const fk = f32x4.floor(f);
      const rf = f32x4.sub(f, fk);
      nearE = v128.and(normal, v128.or(f32x4.lt(rf, D(BAND_E)), f32x4.gt(rf, D(BAND_E1))));
      ie = sel(normal, f32x4.pmax(C(MINUS2), f32x4.pmin(D(NE1), fk)), C(MINUS2));
    } else {
      ie = C(MINUS1);
      nearE = C(ZERO);
      for (let k = 0; k <= nE; k++) {
        const edge = <f32>f64At(edges, k);
        const vEdge = f32x4.splat(edge);
        ie = f32x4.add(ie, v128.and(f32x4.ge(e, vEdge), C(ONE)));
        nearE = v128.or(nearE, f32x4.le(f32x4.abs(f32x4.sub(e, vEdge)), f32x4.splat(<f32>(1e-6 * Math.abs(<f64>edge)))));
      }
      nearE = v128.and(nearE, normal);
      ie = sel(normal, ie, C(MINUS2));
    }
    const inRangeE = v128.and(f32x4.ge(ie, C(ZERO)), f32x4.lt(ie, D(NE)));
    // All four energies surely outside the axis: the events are dropped whatever their position.
    if (!v128.any_true(v128.or(v128.or(inRangeE, nearE), unsure))) continue;
    tier1Project(ra, dec, at, tan, small);
    const x = gX;
    const y = gY;
    const xh = f32x4.add(x, C(HALF));
    const yh = f32x4.add(y, C(HALF));
    const fx = f32x4.floor(xh);
    const fy = f32x4.floor(yh);
    const rx = f32x4.sub(xh, fx);
    const ry = f32x4.sub(yh, fy);
    const nearX = v128.or(f32x4.lt(rx, gBX), f32x4.gt(rx, f32x4.sub(C(ONE), gBX)));
    const nearY = v128.or(f32x4.lt(ry, gBY), f32x4.gt(ry, f32x4.sub(C(ONE), gBY)));
    const valid = v128.and(f32x4.eq(x, x), f32x4.eq(y, y));
    const inside = v128.and(
      v128.and(valid, inRangeE),
      v128.and(v128.and(f32x4.ge(fx, C(ZERO)), f32x4.lt(fx, C(NX))), v128.and(f32x4.ge(fy, C(ZERO)), f32x4.lt(fy, D(NY)))),
    );
    // Within a pixel of the map, widened by the event's band (which grows as 1/ρ near a CAR map's native poles:
    // ≈ 2 pixels of 0.02° there), so that "not close" proves an event off the map whatever its band.
    const lowX = f32x4.add(xh, gBX);
    const highX = f32x4.sub(xh, f32x4.add(gBX, C(ONE)));
    const lowY = f32x4.add(yh, gBY);
    const highY = f32x4.sub(yh, f32x4.add(gBY, C(ONE)));
    const close = v128.and(
      v128.and(f32x4.ge(ie, C(MINUS1)), f32x4.le(ie, D(NE))),
      v128.and(
        v128.and(f32x4.ge(lowX, C(MINUS1)), f32x4.lt(highX, C(NX))),
        v128.and(f32x4.ge(lowY, C(MINUS1)), f32x4.lt(highY, D(NY))),
      ),
    );
    unsure = v128.or(unsure, v128.or(gFlag, v128.and(v128.and(valid, close), v128.or(v128.or(nearX, nearY), nearE))));
    // Cube index of the events decided here (−1 for the others), counted without a branch.
    const counted = v128.andnot(inside, unsure);
    const ix = i32x4.trunc_sat_f32x4_s(fx);
    const iy = i32x4.trunc_sat_f32x4_s(fy);
    const iz = i32x4.trunc_sat_f32x4_s(ie);
    const index = v128.or(v128.and(counted, i32x4.add(i32x4.mul(i32x4.add(i32x4.mul(iz, i32x4.splat(ny)), iy), i32x4.splat(nx)), ix)), v128.not(counted));
    v128.store(INDEX + (<usize>batched << 2), index);
    batched += 4;
    if (batched == BATCH) {
      countBatch(out, batched);
      batched = 0;
    }
    // The events tier 1 cannot decide: tier 2, in order.
    if (v128.any_true(unsure)) {
      if (i32x4.extract_lane(unsure, 0) != 0) binOne(i);
      if (i32x4.extract_lane(unsure, 1) != 0) binOne(i + 1);
      if (i32x4.extract_lane(unsure, 2) != 0) binOne(i + 2);
      if (i32x4.extract_lane(unsure, 3) != 0) binOne(i + 3);
    }
  }
  countBatch(out, batched);
  for (let i = start; i < count; i++) binOne(i);
  return gCount;
}

/**
 * Test seam: the tier-1 pixel coordinates of events [0, count) (count a multiple of 4) and their error
 * bands, as f32 into x, y, bandX, bandY, and the tier-1 flag (1 = left to tier 2) as f32 into flag.
 * Returns −1 for an unknown projection code, else 0.
 */
export function project4(ra: usize, dec: usize, count: i32, wcs: usize, nx: i32, ny: i32, x: usize, y: usize, bandX: usize, bandY: usize, flag: usize): i32 {
  if (!setup(ra, dec, ra, wcs, nx, ny, 0, SINK, 0)) return -1;
  for (let i = 0; i < (count & ~3); i += 4) {
    tier1Project(ra, dec, <usize>i << 3, gTan, gSmallCar);
    const at = <usize>i << 2;
    v128.store(x + at, gX);
    v128.store(y + at, gY);
    v128.store(bandX + at, gBX);
    v128.store(bandY + at, gBY);
    v128.store(flag + at, v128.and(gFlag, C(ONE)));
  }
  return 0;
}
