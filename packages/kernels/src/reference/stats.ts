// Reference kernels: the Cash statistic of gammapy's excess map with a known background (science spec §7.4)
// and its asymmetric errors and upper limits by Brent root finding (§7.6). Per-pixel loops over typed arrays,
// caller-owned outputs, no allocation.

/** gammapy's truncation of the Cash statistic: a predicted count μ ≤ 1e-25 is replaced by 1e-25. */
export const CASH_TRUNCATION = 1e-25;
const CASH_TRUNCATION_F32 = Math.fround(CASH_TRUNCATION);

/** Brent tolerances of scipy's brentq defaults, as gammapy calls it. */
const BRENT_XTOL = 2e-12;
const BRENT_RTOL = 4 * Number.EPSILON;
const BRENT_MAXITER = 100;

/** C(n, μ) = 2(μ − n ln μ), μ clipped to 1e-25 (float64). */
export function cash(n: number, mu: number): number {
  const m = mu <= CASH_TRUNCATION ? CASH_TRUNCATION : mu;
  return 2 * (m - n * Math.log(m));
}

/**
 * C(n, μ) evaluated as numpy does on float32 arrays: inputs rounded to float32, every operation rounded to
 * float32. gammapy computes its root-finding target levels this way (§7.6).
 */
export function cashFloat32(n: number, mu: number): number {
  const f = Math.fround;
  const n32 = f(n);
  let m32 = f(mu);
  if (m32 <= CASH_TRUNCATION) m32 = CASH_TRUNCATION_F32;
  return f(2 * f(m32 - f(n32 * numpyLogFloat32(m32))));
}

// numpy's float32 log on x86-64 (AVX2/FMA3 and AVX512F loops, numpy ≥ 1.20): a rational approximation of
// log(1 + x) on the mantissa, up to 3.8 ulp from the true value. Reproducing it, rather than rounding a
// float64 log, makes gammapy's float32 target levels (and hence errn/errp) agree to ~1e-6 instead of ~1e-5.
// numpy's NPY_COEFF_{P,Q}*_LOGf (as float64 literals; only their float32 roundings matter)
const LOG_P = [
  0.0, 0.9999999999999999, 2.112677543073053, 1.4800006335765066, 0.3808837741388408, 0.025899791179079226,
].map(Math.fround);
const LOG_Q = [
  1.0, 2.6126775430731093, 2.453006071784736, 0.9864942958519419, 0.15464763749839067, 0.005875095403124574,
].map(Math.fround);
const LN2_F32 = Math.fround(Math.LN2);
const SQRT1_2_F32 = Math.fround(Math.SQRT1_2);
const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** fma(a, b, c) rounded to float32: a·b is exact in float64 for float32 operands. */
function fmaF32(a: number, b: number, c: number): number {
  return Math.fround(a * b + c);
}

/** np.log of a float32 array element as numpy's SIMD loop computes it (positive normal finite input). */
export function numpyLogFloat32(x: number): number {
  const x32 = Math.fround(x);
  if (!(x32 > 0) || x32 === Number.POSITIVE_INFINITY || x32 < 1.1754943508222875e-38)
    return Math.fround(Math.log(x32));
  F32_SCRATCH[0] = x32;
  const bits = U32_SCRATCH[0] as number;
  let exponent = (bits >>> 23) - 126;
  U32_SCRATCH[0] = (bits & 0x007fffff) | (126 << 23); // mantissa in [0.5, 1)
  let m = F32_SCRATCH[0] as number;
  if (m <= SQRT1_2_F32) {
    m = m + m;
    exponent -= 1;
  }
  const t = Math.fround(m - 1);
  let num = fmaF32(LOG_P[5] as number, t, LOG_P[4] as number);
  let den = fmaF32(LOG_Q[5] as number, t, LOG_Q[4] as number);
  for (let k = 3; k >= 0; k--) {
    num = fmaF32(num, t, LOG_P[k] as number);
    den = fmaF32(den, t, LOG_Q[k] as number);
  }
  return fmaF32(exponent, LN2_F32, Math.fround(num / den));
}

/**
 * Per pixel, with n = nOn[i] and μ = muB[i] (correlated counts and background):
 * excess = n − μ; TS = max(0, C(n, μ) − C(n, n)); sqrtTs = sign(excess)·√TS with sign(0) = 0.
 * NaN inputs give NaN outputs. All arrays have the length of `nOn`.
 */
export function cashStatistics(
  nOn: Float64Array,
  muB: Float64Array,
  outExcess: Float64Array,
  outTs: Float64Array,
  outSqrtTs: Float64Array,
): void {
  const len = nOn.length;
  for (let i = 0; i < len; i++) {
    const n = nOn[i] as number;
    const mu = muB[i] as number;
    const excess = n - mu;
    let ts = cash(n, mu) - cash(n, n);
    if (ts < 0) ts = 0; // NaN stays NaN
    const root = Math.sqrt(ts);
    outExcess[i] = excess;
    outTs[i] = ts;
    outSqrtTs[i] = excess > 0 ? root : excess < 0 ? -root : excess === 0 ? 0 : Number.NaN;
  }
}

/**
 * Asymmetric errors on the excess s = n − μ at `nSigma` (gammapy `compute_errn/compute_errp`): roots of
 * C(n, μ + x) = C(n, n) + nSigma² on [s − 2·nSigma·(√n + 1), s] (errn = s − root; n when there is no root)
 * and on [s, s + 2·nSigma·(√n + 1)] (errp = root − s; NaN when there is no root).
 * With `float32Levels`, n, μ, s and the level C(n, n) are rounded as gammapy's float32 maps round them,
 * which brings the result to ~1e-6 relative agreement with gammapy instead of ~1e-4.
 */
export function cashErrors(
  nOn: Float64Array,
  muB: Float64Array,
  nSigma: number,
  float32Levels: boolean,
  outErrn: Float64Array,
  outErrp: Float64Array,
): void {
  const len = nOn.length;
  const f = float32Levels ? Math.fround : identity;
  const level = nSigma * nSigma;
  for (let i = 0; i < len; i++) {
    const n = f(nOn[i] as number);
    const b = f(muB[i] as number);
    const s = f(n - b);
    const halfWidth = 2 * nSigma * (Math.sqrt(n) + 1);
    const target = (float32Levels ? cashFloat32(n, n) : cash(n, n)) + level;
    const lo = brentCash(n, b, target, s - halfWidth, s);
    outErrn[i] = Number.isNaN(lo) ? (Number.isNaN(s) ? Number.NaN : n) : s - lo;
    const hi = brentCash(n, b, target, s, s + halfWidth);
    outErrp[i] = hi - s;
  }
}

/**
 * Upper limit on the excess at `nSigmaUl` (gammapy `compute_upper_limit`): the root of
 * C(n, μ + x) = C(n, μ + s) + nSigmaUl² on [s, s + 2·nSigmaUl·(√n + 1)], an absolute excess; NaN when
 * there is no root. `float32Levels` as in {@link cashErrors}.
 */
export function cashUpperLimits(
  nOn: Float64Array,
  muB: Float64Array,
  nSigmaUl: number,
  float32Levels: boolean,
  outUl: Float64Array,
): void {
  const len = nOn.length;
  const f = float32Levels ? Math.fround : identity;
  const level = nSigmaUl * nSigmaUl;
  for (let i = 0; i < len; i++) {
    const n = f(nOn[i] as number);
    const b = f(muB[i] as number);
    const s = f(n - b);
    // gammapy evaluates this level on numpy scalars, which promote to float64: float32 inputs, float64 maths
    const target = cash(n, f(s + b)) + level;
    outUl[i] = brentCash(n, b, target, s, s + 2 * nSigmaUl * (Math.sqrt(n) + 1));
  }
}

function identity(x: number): number {
  return x;
}

/** Root of g(x) = C(n, b + x) − target on [xa, xb] by {@link brentq}. */
export function brentCash(n: number, b: number, target: number, xa: number, xb: number): number {
  return brentq((x) => cash(n, b + x) - target, xa, xb);
}

/**
 * Root of g on [xa, xb] by Brent's method, a transcription of scipy's brentq with its default tolerances (same
 * steps and stopping rule), as gammapy's find_roots calls it on one bin. NaN when g has the same sign at both ends
 * or after 100 iterations.
 */
export function brentq(g: (x: number) => number, xa: number, xb: number): number {
  let xpre = xa;
  let xcur = xb;
  let fpre = g(xpre);
  let fcur = g(xcur);
  if (fpre === 0) return xpre;
  if (fcur === 0) return xcur;
  if (!(fpre * fcur < 0)) return Number.NaN; // same sign, or NaN
  let xblk = 0;
  let fblk = 0;
  let spre = 0;
  let scur = 0;
  for (let iter = 0; iter < BRENT_MAXITER; iter++) {
    if (fpre !== 0 && fcur !== 0 && fpre < 0 !== fcur < 0) {
      xblk = xpre;
      fblk = fpre;
      spre = scur = xcur - xpre;
    }
    if (Math.abs(fblk) < Math.abs(fcur)) {
      xpre = xcur;
      xcur = xblk;
      xblk = xpre;
      fpre = fcur;
      fcur = fblk;
      fblk = fpre;
    }
    const delta = (BRENT_XTOL + BRENT_RTOL * Math.abs(xcur)) / 2;
    const sbis = (xblk - xcur) / 2;
    if (fcur === 0 || Math.abs(sbis) < delta) return xcur;
    if (Math.abs(spre) > delta && Math.abs(fcur) < Math.abs(fpre)) {
      let stry: number;
      if (xpre === xblk) {
        stry = (-fcur * (xcur - xpre)) / (fcur - fpre); // secant
      } else {
        const dpre = (fpre - fcur) / (xpre - xcur);
        const dblk = (fblk - fcur) / (xblk - xcur);
        stry = (-fcur * (fblk * dblk - fpre * dpre)) / (dblk * dpre * (fblk - fpre)); // inverse quadratic
      }
      if (2 * Math.abs(stry) < Math.min(Math.abs(spre), 3 * Math.abs(sbis) - delta)) {
        spre = scur;
        scur = stry;
      } else {
        spre = sbis;
        scur = sbis;
      }
    } else {
      spre = sbis;
      scur = sbis;
    }
    xpre = xcur;
    fpre = fcur;
    xcur += Math.abs(scur) > delta ? scur : sbis > 0 ? delta : -delta;
    fcur = g(xcur);
  }
  return Number.NaN;
}
