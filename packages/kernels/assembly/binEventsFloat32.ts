// Tier 1 of binEvents (see assembly/binEvents.ts): the float32 projection of four events per f32x4
// vector, with a per-event bound on its error, and its tables of constants.

const DEG: f64 = Math.PI / 180.0;
const RAD: f64 = 180.0 / Math.PI;

@inline function f64At(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

// Error model of tier 1 (float32: unit roundoff u = 2⁻²⁴ ≈ 6e-8). Input angles a (longitude from the
// map centre, reduced to [−π, π]) and b (latitude) are rounded to float32: ≤ u·(|a| + |b|); sin/cos
// (Cody–Waite reduction, Taylor degree 9/8 on [−π/4, π/4], truncation < 2e-9 / 2.5e-8) and their
// products ≲ 6u; the rotation (matrix rounded to float32, three products, two sums) ≲ 6u per component.
// So each native component is off by ≲ 12u + 5e-8 + u(|a| + |b|) < 1e-6·(1 + |a| + |b|) = K1·(…).
// CAR: φ = atan2(y, x) moves by ≲ √2·(component error)/ρ, ρ = √(x² + y²), θ by ≲ 2× the component
// error; the atan itself (reduction to |u| ≤ tan(π/16), Taylor degree 7: truncation < 6e-8, inside
// K1's constant term) and its float32 steps add ≲ 8u·|angle|: K2 = 1e-6 per radian of |angle|.
// TAN: ξ = y/x moves by ≲ (component error)·(1 + |ξ|)/x, plus ≲ 4u·|ξ| (K2 again).
// CAR on a small map (every pixel within SMALL_ANGLE rad of the native origin, 2 pixels of margin
// included): φ = atan(t), t = y/x, and θ = asin z (the reference's own formula) by odd Taylor
// polynomials to t¹¹ and z¹¹ without reduction, valid for |t| ≤ tan 0.25, |z| ≤ sin 0.25 (truncation
// < 1.6e-9 and 2.3e-10 rad); events beyond TMAX/SMAX (or x ≤ 0) lie beyond that margin, surely off the
// map. φ moves by ≲ (component error)·(1 + |t|)/x (as ξ), plus 2u·|t| for t's reciprocal and product and
// 1.2u·|t| for the polynomial; θ by ≲ (component error)/√(1 − z²) ≤ 1.033·(component error) plus 1.1u·|θ|.
// This path takes the component error of native/src/bin_events.rs, derived there for this same
// sin/cos, rotation and rounding to float32, each operation unfused: E = 14u + 1.25u·(|a| + |b|)
// (K1's model above is looser). The code takes 1.01·E·(1 + |t|)/x and 1.05·E (the extra 1 % and 5 %
// of E ≥ 14u cover the truncations) and K2 per radian. No square root, no second division, and about
// 0.4 of the general CAR bands.
// Forming the pixel coordinate (a product, two sums, +0.5) adds ≲ 4u·(|x| + |x0| + 1) pixels:
// K3 = 5e-7, taken for the largest |x| that matters (nx + 6). backends-binning.test.ts checks the
// bands against the exact projection on random geometries (largest error seen: < 0.1 of the band).
export const K1: f32 = 1e-6;
export const K2: f32 = 1e-6;
export const K3: f32 = 5e-7;

// f32x4 constants and per-call values in linear memory (a load is one instruction; V8 rebuilds a
// v128.const inside a loop from immediates each time).
const T: usize = memory.data(16 * 80, 16);
@inline export function C(i: i32): v128 {
  return v128.load(T + (<usize>i << 4));
}
export function setF32(i: i32, v: f32): void {
  store<v128>(T + (<usize>i << 4), f32x4.splat(v));
}
function setI32(i: i32, v: i32): void {
  store<v128>(T + (<usize>i << 4), i32x4.splat(v));
}
// Indices into T.
export const ONE = 0, ZERO = 1, HALF = 2, TWO_OVER_PI = 3, P1 = 4, P2 = 5, S1 = 6, S2 = 7, S3 = 8, S4 = 9;
export const C1 = 10, C2 = 11, C3 = 12, C4 = 13, TAN_PI_8 = 15, TAN_PI_16 = 16, TAN_3PI_16 = 17;
export const ATAN_1 = 18, ATAN_3 = 19, A3 = 20, A5 = 21, A7 = 22, PI_2 = 24, PI = 25, SIGN = 26;
export const MIN_NORMAL = 27, INF = 28, MANT = 29, ONE_BITS = 30, SQRT2 = 31, I127 = 32, LN2_HI = 33, LN2_LO = 34;
export const L1 = 35, L2 = 36, L3 = 37, L4 = 38, TWO = 39, MINUS1 = 40, MINUS2 = 41, K1V = 42, K2V = 43, K3V = 44;
export const LAT_MAX = 45, SEAM = 46, POLE = 47, LON_MAX = 64;
export const A9 = 65, A11 = 66, AS3 = 67, AS5 = 68, AS7 = 69, AS9 = 70, AS11 = 71, EC_T = 72, EC_S = 73, NAN = 74;
export const TMAX = 75, SMAX = 76, EC0 = 77, ECA = 78;
/** Largest native angle (rad) of a CAR map, margin included, for the small-map path. */
const SMALL_ANGLE: f64 = 0.25;
// Per call (f32 unless noted): the rotation, pixel scales, bands, energy axis; f64 pairs for the input.
export const R0 = 48, X0 = 57, Y0 = 58, SX = 59, SY = 60, ABS_SX = 61, ABS_SY = 62, NX = 63;
const T2: usize = memory.data(16 * 16, 16);
@inline export function D(i: i32): v128 {
  return v128.load(T2 + (<usize>i << 4));
}
export function setD(i: i32, v: f64): void {
  store<v128>(T2 + (<usize>i << 4), f64x2.splat(v));
}
export function setD32(i: i32, v: f32): void {
  store<v128>(T2 + (<usize>i << 4), f32x4.splat(v));
}
export const AC_DEG = 0, INV360 = 1, D360 = 2, DEG64 = 3, RA_MAX = 4;
export const NY = 5, NE = 6, NE1 = 7, LN0 = 8, INV_STEP = 9, BAND_E = 10, BAND_E1 = 11, RX0 = 12, RY0 = 13;

export function fillTier1Constants(): void {
  setF32(ONE, 1.0);
  setF32(ZERO, 0.0);
  setF32(HALF, 0.5);
  setF32(TWO, 2.0);
  setF32(MINUS1, -1.0);
  setF32(MINUS2, -2.0);
  setF32(TWO_OVER_PI, <f32>(2.0 / Math.PI));
  setF32(P1, 1.5703125);
  setF32(P2, <f32>(Math.PI / 2 - 1.5703125));
  setF32(S1, <f32>(-1.0 / 6.0));
  setF32(S2, <f32>(1.0 / 120.0));
  setF32(S3, <f32>(-1.0 / 5040.0));
  setF32(S4, <f32>(1.0 / 362880.0));
  setF32(C1, -0.5);
  setF32(C2, <f32>(1.0 / 24.0));
  setF32(C3, <f32>(-1.0 / 720.0));
  setF32(C4, <f32>(1.0 / 40320.0));
  const t1 = <f32>Math.tan(Math.PI / 16);
  const t3 = <f32>Math.tan((3 * Math.PI) / 16);
  setF32(TAN_PI_8, <f32>Math.tan(Math.PI / 8));
  setF32(TAN_PI_16, t1);
  setF32(TAN_3PI_16, t3);
  // atan of the float32 reduction points themselves, so that atan(t) = atan(c) + atan(u) holds.
  setF32(ATAN_1, <f32>Math.atan(<f64>t1));
  setF32(ATAN_3, <f32>Math.atan(<f64>t3));
  setF32(A3, <f32>(-1.0 / 3.0));
  setF32(A5, 0.2);
  setF32(A7, <f32>(-1.0 / 7.0));
  setF32(PI_2, <f32>(Math.PI / 2));
  setF32(PI, <f32>Math.PI);
  setI32(SIGN, 0x80000000);
  setF32(MIN_NORMAL, 1.1754943508222875e-38);
  setF32(INF, Infinity);
  setI32(MANT, 0x007fffff);
  setI32(ONE_BITS, 0x3f800000);
  setF32(SQRT2, <f32>Math.SQRT2);
  setI32(I127, 127);
  setF32(LN2_HI, 0.693145751953125);
  setF32(LN2_LO, <f32>(Math.LN2 - 0.693145751953125));
  setF32(L1, <f32>(2.0 / 3.0));
  setF32(L2, 0.4);
  setF32(L3, <f32>(2.0 / 7.0));
  setF32(L4, <f32>(2.0 / 9.0));
  setF32(K1V, K1);
  setF32(K2V, K2);
  setF32(K3V, K3);
  setF32(LAT_MAX, 2.3);
  setF32(LON_MAX, 3.5);
  setF32(SEAM, 1e-5);
  setF32(POLE, <f32>(1.0 - 1e-5));
  setF32(A9, <f32>(1.0 / 9.0));
  setF32(A11, <f32>(-1.0 / 11.0));
  setF32(AS3, <f32>(1.0 / 6.0));
  setF32(AS5, <f32>(3.0 / 40.0));
  setF32(AS7, <f32>(5.0 / 112.0));
  setF32(AS9, <f32>(35.0 / 1152.0));
  setF32(AS11, <f32>(63.0 / 2816.0));
  setF32(EC_T, 1.01);
  setF32(EC_S, 1.05);
  setF32(NAN, NaN);
  setF32(EC0, <f32>(14.0 * 5.9604644775390625e-8));
  setF32(ECA, <f32>(1.25 * 5.9604644775390625e-8));
  setD(INV360, 1.0 / 360.0);
  setD(D360, 360.0);
  setD(DEG64, DEG);
  setD(RA_MAX, 1e9);
}

function setRotatedRow(r: i32, m0: f64, m1: f64, m2: f64, cc: f64, sc: f64): void {
  setF32(R0 + 3 * r, <f32>(m0 * cc + m1 * sc));
  setF32(R0 + 3 * r + 1, <f32>(m1 * cc - m0 * sc));
  setF32(R0 + 3 * r + 2, <f32>m2);
}

/**
 * Fills the tier-1 tables for one call: the rotation R' = R·Rz(α_c) in float32, pixel scales, the
 * energy axis and the bands (see the error model above).
 */
/** Whether the CAR map of this call takes the small-map path (see the error model above). */
export let gSmallCar = false;

/** Largest |native angle| (rad) of pixel coordinates −0.5 … n − 0.5 around x0, plus 2 pixels and 1e-4 rad. */
function angleReach(x0: f64, s: f64, n: i32): f64 {
  const lo = Math.abs((-0.5 - x0) / s);
  const hi = Math.abs((<f64>n - 0.5 - x0) / s);
  return max(lo, hi) + 2.0 / Math.abs(s) + 1e-4;
}

export function setupTier1(r0: f64, r1: f64, r2: f64, r3: f64, r4: f64, r5: f64, r6: f64, r7: f64, r8: f64, x0: f64, y0: f64, sx: f64, sy: f64, nx: i32, ny: i32, nE: i32, lnEdges: usize, ln0: f64, step: f64, invStep: f64, car: bool): bool {
  // Tier 1: longitudes measured from the map centre's, α_c = atan2(R[0][1], R[0][0]) (R's first row is the
  // centre direction), and R' = R·Rz(α_c) so that R'·c(a, δ) = R·c(α_c + a, δ).
  fillTier1Constants();
  const ac = r0 == 0 && r1 == 0 ? 0.0 : Math.atan2(r1, r0);
  const cc = Math.cos(ac);
  const sc = Math.sin(ac);
  // (No array literal here: the stub runtime would allocate it where the caller's arrays live.)
  setRotatedRow(0, r0, r1, r2, cc, sc);
  setRotatedRow(1, r3, r4, r5, cc, sc);
  setRotatedRow(2, r6, r7, r8, cc, sc);
  setD(AC_DEG, ac * RAD);
  setF32(X0, <f32>x0);
  setF32(Y0, <f32>y0);
  setF32(SX, <f32>sx);
  setF32(SY, <f32>sy);
  setF32(ABS_SX, <f32>Math.abs(sx));
  setF32(ABS_SY, <f32>Math.abs(sy));
  // The K3 term for every event that can be near the map (|x| ≤ nx + 6; the float32 x0 differs from
  // x0 by ≤ u·|x0|); farther events are dropped whatever their band.
  setD32(RX0, <f32>(<f64>K3 * (Math.abs(x0) + <f64>nx + 7.0)));
  setD32(RY0, <f32>(<f64>K3 * (Math.abs(y0) + <f64>ny + 7.0)));
  setF32(NX, <f32>nx);
  const reachX = angleReach(x0, sx, nx);
  const reachY = angleReach(y0, sy, ny);
  gSmallCar = car && reachX <= SMALL_ANGLE && reachY <= SMALL_ANGLE;
  setF32(TMAX, <f32>Math.tan(min(reachX, SMALL_ANGLE)));
  setF32(SMAX, <f32>Math.sin(min(reachY, SMALL_ANGLE)));
  setD32(NY, <f32>ny);
  setD32(NE, <f32>nE);
  setD32(NE1, <f32>(nE + 1));
  setD32(LN0, <f32>ln0);
  setD32(INV_STEP, <f32>invStep);
  // Energy-bin error of tier 1: ln (≲ 2u·(|ln E| + 1)) and the float32 ln0, step and product, for the
  // energies that can be near the axis (|ln E| ≤ max |ln edge| + step), in bins, with a factor 4.
  let maxLn: f64 = 0;
  for (let k = 0; k <= nE; k++) maxLn = max(maxLn, Math.abs(f64At(lnEdges, k)));
  const bandE = 4 * 6e-8 * (4 * (maxLn + step + 1) * invStep + <f64>nE + 2);
  setD32(BAND_E, <f32>bandE);
  setD32(BAND_E1, <f32>(1.0 - bandE));
  // Whether tier 1 knows an event's energy bin to ±1, as its "surely outside the axis" test assumes: bins
  // narrower than float32 resolves (≲ 1e-7 in ln E) leave it off by more, and every event goes to tier 2.
  return bandE < 0.5;
}

@inline export function sel(mask: v128, a: v128, b: v128): v128 {
  return v128.bitselect(a, b, mask);
}

/** Four float64 at p as one f32x4. */
@inline export function demote4(lo: v128, hi: v128): v128 {
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// sin and cos of a ∈ [−5π/4, 5π/4] in float32 lanes (results in gS/gC).
let gS: v128 = i32x4.splat(0);
let gC: v128 = i32x4.splat(0);
@inline function sincos4(a: v128): void {
  const q = f32x4.nearest(f32x4.mul(a, C(TWO_OVER_PI)));
  const r = f32x4.sub(f32x4.sub(a, f32x4.mul(q, C(P1))), f32x4.mul(q, C(P2)));
  const z = f32x4.mul(r, r);
  let ps = f32x4.add(f32x4.mul(C(S4), z), C(S3));
  ps = f32x4.add(f32x4.mul(ps, z), C(S2));
  ps = f32x4.add(f32x4.mul(ps, z), C(S1));
  const s = f32x4.add(r, f32x4.mul(f32x4.mul(r, z), ps));
  let pc = f32x4.add(f32x4.mul(C(C4), z), C(C3));
  pc = f32x4.add(f32x4.mul(pc, z), C(C2));
  pc = f32x4.add(f32x4.mul(pc, z), C(C1));
  const c = f32x4.add(C(ONE), f32x4.mul(pc, z));
  const aq = f32x4.abs(q);
  const odd = f32x4.eq(aq, C(ONE));
  const two = f32x4.eq(aq, C(TWO));
  const s1 = sel(odd, c, s);
  const c1 = sel(odd, s, c);
  const negS = v128.or(two, f32x4.eq(q, C(MINUS1)));
  const negC = v128.or(two, f32x4.eq(q, C(ONE)));
  gS = v128.xor(s1, v128.and(negS, C(SIGN)));
  gC = v128.xor(c1, v128.and(negC, C(SIGN)));
}

@inline function atanFix4(r: v128, ay: v128, ax: v128, y: v128, x: v128): v128 {
  let t = sel(f32x4.gt(ay, ax), f32x4.sub(C(PI_2), r), r);
  t = sel(f32x4.lt(x, C(ZERO)), f32x4.sub(C(PI), t), t);
  return v128.xor(t, v128.and(y, C(SIGN)));
}

@inline function atanPoly4(base: v128, u: v128): v128 {
  const z = f32x4.mul(u, u);
  let p = f32x4.add(f32x4.mul(C(A7), z), C(A5));
  p = f32x4.add(f32x4.mul(p, z), C(A3));
  return f32x4.add(base, f32x4.add(u, f32x4.mul(f32x4.mul(u, z), p)));
}

/** x + x³·(c3 + x²·(c5 + x²·(c7 + x²·(c9 + x²·c11)))), coefficients by index into T (Horner, no fused ops). */
@inline function oddSeries4(x: v128, c3: i32, c5: i32, c7: i32, c9: i32, c11: i32): v128 {
  const x2 = f32x4.mul(x, x);
  let q = f32x4.add(f32x4.mul(C(c11), x2), C(c9));
  q = f32x4.add(f32x4.mul(q, x2), C(c7));
  q = f32x4.add(f32x4.mul(q, x2), C(c5));
  q = f32x4.add(f32x4.mul(q, x2), C(c3));
  return f32x4.add(x, f32x4.mul(f32x4.mul(x, x2), q));
}

// atan2(y1, x1) and atan2(y2, x2) in float32 lanes with one division (results in gA1/gA2).
let gA1: v128 = i32x4.splat(0);
let gA2: v128 = i32x4.splat(0);
@inline function atan2Pair4(y1: v128, x1: v128, y2: v128, x2: v128): void {
  const ax1 = f32x4.abs(x1);
  const ay1 = f32x4.abs(y1);
  const ax2 = f32x4.abs(x2);
  const ay2 = f32x4.abs(y2);
  const mn1 = f32x4.pmin(ax1, ay1);
  const mx1 = f32x4.pmax(ax1, ay1);
  const mn2 = f32x4.pmin(ax2, ay2);
  const mx2 = f32x4.pmax(ax2, ay2);
  // t = mn/mx ∈ [0, 1] reduced around c = tan(π/16) or tan(3π/16): |u| ≤ tan(π/16).
  const hi1 = f32x4.ge(mn1, f32x4.mul(C(TAN_PI_8), mx1));
  const hi2 = f32x4.ge(mn2, f32x4.mul(C(TAN_PI_8), mx2));
  const c1 = sel(hi1, C(TAN_3PI_16), C(TAN_PI_16));
  const c2 = sel(hi2, C(TAN_3PI_16), C(TAN_PI_16));
  const d1 = f32x4.add(mx1, f32x4.mul(c1, mn1));
  const d2 = f32x4.add(mx2, f32x4.mul(c2, mn2));
  const inv = f32x4.div(C(ONE), f32x4.mul(d1, d2));
  const u1 = f32x4.mul(f32x4.sub(mn1, f32x4.mul(c1, mx1)), f32x4.mul(d2, inv));
  const u2 = f32x4.mul(f32x4.sub(mn2, f32x4.mul(c2, mx2)), f32x4.mul(d1, inv));
  gA1 = atanFix4(atanPoly4(sel(hi1, C(ATAN_3), C(ATAN_1)), u1), ay1, ax1, y1, x1);
  gA2 = atanFix4(atanPoly4(sel(hi2, C(ATAN_3), C(ATAN_1)), u2), ay2, ax2, y2, x2);
}

/** ln of normal positive float32 lanes (exponent bits + atanh series, |error| ≲ 2u·(|ln x| + 1)). */
@inline export function ln4(e: v128): v128 {
  let k = i32x4.sub(i32x4.shr_u(e, 23), C(I127));
  let m = v128.or(v128.and(e, C(MANT)), C(ONE_BITS));
  const big = f32x4.gt(m, C(SQRT2));
  m = sel(big, f32x4.mul(m, C(HALF)), m);
  k = i32x4.sub(k, big);
  const kf = f32x4.convert_i32x4_s(k);
  const s = f32x4.div(f32x4.sub(m, C(ONE)), f32x4.add(m, C(ONE)));
  const z = f32x4.mul(s, s);
  let p = f32x4.add(f32x4.mul(C(L4), z), C(L3));
  p = f32x4.add(f32x4.mul(p, z), C(L2));
  p = f32x4.add(f32x4.mul(p, z), C(L1));
  p = f32x4.add(f32x4.mul(p, z), C(TWO));
  return f32x4.add(f32x4.mul(kf, C(LN2_HI)), f32x4.add(f32x4.mul(kf, C(LN2_LO)), f32x4.mul(s, p)));
}

// Tier-1 projection of four events (results in gX/gY and their bands gBX/gBY, pixel units), shared by
// the binning loop and the `project4` test export.
export let gX: v128 = i32x4.splat(0);
export let gY: v128 = i32x4.splat(0);
export let gBX: v128 = i32x4.splat(0);
export let gBY: v128 = i32x4.splat(0);
export let gFlag: v128 = i32x4.splat(0);
@inline export function tier1Project(ra: usize, dec: usize, at: usize, tan: bool, small: bool): void {
  const ra0 = v128.load(ra + at);
  const ra1 = v128.load(ra + at, 16);
  let d0 = f64x2.sub(ra0, D(AC_DEG));
  let d1 = f64x2.sub(ra1, D(AC_DEG));
  d0 = f64x2.sub(d0, f64x2.mul(D(D360), f64x2.nearest(f64x2.mul(d0, D(INV360)))));
  d1 = f64x2.sub(d1, f64x2.mul(D(D360), f64x2.nearest(f64x2.mul(d1, D(INV360)))));
  const a = demote4(f64x2.mul(d0, D(DEG64)), f64x2.mul(d1, D(DEG64)));
  // Beyond 1e9° the reference's own ra·π/180 rounds by more than tier 1 allows for: tier 2 decides
  // (it hands such events to the reference). The i64 masks narrow to one i32 lane per event.
  const hugeRa = i16x8.narrow_i32x4_s(f64x2.gt(f64x2.abs(ra0), D(RA_MAX)), f64x2.gt(f64x2.abs(ra1), D(RA_MAX)));
  const b = demote4(f64x2.mul(v128.load(dec + at), D(DEG64)), f64x2.mul(v128.load(dec + at, 16), D(DEG64)));
  sincos4(a);
  const sa = gS;
  const ca = gC;
  sincos4(b);
  const sb = gS;
  const cb = gC;
  const cx = f32x4.mul(cb, ca);
  const cy = f32x4.mul(cb, sa);
  const px = f32x4.add(f32x4.add(f32x4.mul(C(R0), cx), f32x4.mul(C(R0 + 1), cy)), f32x4.mul(C(R0 + 2), sb));
  const py = f32x4.add(f32x4.add(f32x4.mul(C(R0 + 3), cx), f32x4.mul(C(R0 + 4), cy)), f32x4.mul(C(R0 + 5), sb));
  const pz = f32x4.add(f32x4.add(f32x4.mul(C(R0 + 6), cx), f32x4.mul(C(R0 + 7), cy)), f32x4.mul(C(R0 + 8), sb));
  // Component error bound (see K1) and the flags: latitude beyond the polynomials, huge longitudes.
  const ab = f32x4.add(f32x4.abs(a), f32x4.abs(b));
  const ec = small ? f32x4.add(C(EC0), f32x4.mul(C(ECA), ab)) : f32x4.mul(C(K1V), f32x4.add(C(ONE), ab));
  // (Longitudes so large that the float64 reduction failed come out beyond π.)
  let flag = v128.or(v128.or(f32x4.gt(f32x4.abs(b), C(LAT_MAX)), f32x4.gt(f32x4.abs(a), C(LON_MAX))), hugeRa);
  let ex: v128;
  let ey: v128;
  if (tan) {
    const inv = sel(f32x4.gt(px, C(ZERO)), f32x4.div(C(ONE), px), C(INF));
    const xi = f32x4.mul(py, inv);
    const eta = f32x4.mul(pz, inv);
    gX = f32x4.add(C(X0), f32x4.mul(xi, C(SX)));
    gY = f32x4.add(C(Y0), f32x4.mul(eta, C(SY)));
    // px ≤ 0: off the projection, NaN as in the reference.
    const off = f32x4.le(px, C(ZERO));
    gX = v128.or(gX, v128.and(off, f32x4.splat(NaN)));
    ex = f32x4.add(f32x4.mul(f32x4.mul(ec, inv), f32x4.add(C(ONE), f32x4.abs(xi))), f32x4.mul(C(K2V), f32x4.abs(xi)));
    ey = f32x4.add(f32x4.mul(f32x4.mul(ec, inv), f32x4.add(C(ONE), f32x4.abs(eta))), f32x4.mul(C(K2V), f32x4.abs(eta)));
  } else if (small) {
    // Beyond the small-angle range (or x ≤ 0): surely off the map, NaN (dropped unless flagged).
    const reach = v128.and(
      v128.and(f32x4.gt(px, C(ZERO)), f32x4.le(f32x4.abs(py), f32x4.mul(C(TMAX), px))),
      f32x4.le(f32x4.abs(pz), C(SMAX)),
    );
    const inv = f32x4.div(C(ONE), px);
    const t = f32x4.mul(py, inv);
    const phi = oddSeries4(t, A3, A5, A7, A9, A11); // atan t
    const theta = oddSeries4(pz, AS3, AS5, AS7, AS9, AS11); // asin pz
    gX = v128.or(f32x4.add(C(X0), f32x4.mul(phi, C(SX))), v128.andnot(C(NAN), reach));
    gY = f32x4.add(C(Y0), f32x4.mul(theta, C(SY)));
    ex = f32x4.add(f32x4.mul(f32x4.mul(f32x4.mul(ec, inv), C(EC_T)), f32x4.add(C(ONE), f32x4.abs(t))), f32x4.mul(C(K2V), f32x4.abs(t)));
    ey = f32x4.add(f32x4.mul(ec, C(EC_S)), f32x4.mul(C(K2V), f32x4.abs(theta)));
  } else {
    const rho = f32x4.sqrt(f32x4.add(f32x4.mul(px, px), f32x4.mul(py, py)));
    atan2Pair4(py, px, pz, rho);
    gX = f32x4.add(C(X0), f32x4.mul(gA1, C(SX)));
    gY = f32x4.add(C(Y0), f32x4.mul(gA2, C(SY)));
    // The seam (φ = ±π) and the native poles: the reference decides.
    flag = v128.or(flag, v128.and(f32x4.lt(px, C(ZERO)), f32x4.lt(f32x4.abs(py), C(SEAM))));
    flag = v128.or(flag, f32x4.gt(f32x4.abs(pz), C(POLE)));
    // ρ > 4e-3 here (the poles are flagged), far above the component error.
    ex = f32x4.add(f32x4.div(f32x4.mul(ec, C(SQRT2)), rho), f32x4.mul(C(K2V), f32x4.abs(gA1)));
    ey = f32x4.add(f32x4.mul(ec, C(TWO)), f32x4.mul(C(K2V), f32x4.abs(gA2)));
  }
  gBX = f32x4.add(f32x4.mul(ex, C(ABS_SX)), D(RX0));
  gBY = f32x4.add(f32x4.mul(ey, C(ABS_SY)), D(RY0));
  gFlag = flag;
}

