/**
 * sin, cos, asin, acos, atan2, hypot, exp and log correctly rounded (the double nearest the exact value), for the
 * computations whose last bit decides something in gammapy: wcslib's pixel ties (wcs/wcslib-exact.ts) and energy-axis
 * edges and groups (energy-axis.ts, estimators/squash.ts). node's Math functions are fdlibm's, within an ulp but off
 * the nearest double for 3–18 % of arguments; glibc's, which wcslib and numpy call (numpy's own AVX-512 exp and log
 * aside), are the nearest double for all but ~0.1 %. Rounding correctly therefore reproduces glibc's results almost
 * always.
 *
 * Double-double arithmetic (~106 bits): sin and cos by a Taylor series after reduction by π/2 in three parts, exp by
 * one after reduction by ln 2 and a power of two; the inverse functions by one Newton step from node's value
 * (already within an ulp), whose correction is ~1e-16.
 */

type DD = readonly [number, number];

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

const SPLITTER = 134217729; // 2^27 + 1

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function add(a: DD, b: DD): DD {
  const [s, e0] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [s1, e1] = quickTwoSum(s, e0 + t);
  return quickTwoSum(s1, e1 + f);
}

function mul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function mulD(a: DD, b: number): DD {
  const [p, e] = twoProd(a[0], b);
  return quickTwoSum(p, e + a[1] * b);
}

function divD(a: DD, b: number): DD {
  const q1 = a[0] / b;
  const r = add(a, neg(twoProd(q1, b)));
  const q2 = r[0] / b;
  const r2 = add(r, neg(twoProd(q2, b)));
  const [s, e] = quickTwoSum(q1, q2);
  return add([s, e], [r2[0] / b, 0]);
}

const neg = (a: DD): DD => [-a[0], -a[1]];

// π/2 in three parts (its double, then the doubles nearest the remainders).
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;

/** 1/n! for the odd (sin) and even (cos) terms, alternating in sign, as double-doubles. */
const SIN_TERMS: DD[] = [];
const COS_TERMS: DD[] = [];
{
  let f: DD = [1, 0];
  for (let n = 1; n <= 30; n++) {
    f = divD(f, n);
    const term: DD = (n >> 1) % 2 === 1 ? neg(f) : f;
    if (n % 2 === 1) SIN_TERMS.push(term);
    else COS_TERMS.push(term);
  }
}

/** sin and cos of a double-double |r| ≤ ~π/4. */
function sinCosReduced(r: DD): [DD, DD] {
  const r2 = mul(r, r);
  let s: DD = SIN_TERMS[SIN_TERMS.length - 1]!;
  for (let i = SIN_TERMS.length - 2; i >= 0; i--) s = add(mul(s, r2), SIN_TERMS[i]!);
  s = mul(s, r);
  let c: DD = COS_TERMS[COS_TERMS.length - 1]!;
  for (let i = COS_TERMS.length - 2; i >= 0; i--) c = add(mul(c, r2), COS_TERMS[i]!);
  c = add(mul(c, r2), [1, 0]);
  return [s, c];
}

/** sin x and cos x as double-doubles (x a double of moderate size: |x| < 1e6). */
function sinCosDD(x: number): [DD, DD] {
  const k = Math.round(x / PIO2_1);
  let r: DD = add([x, 0], neg(twoProd(k, PIO2_1)));
  r = add(r, neg(twoProd(k, PIO2_2)));
  r = add(r, neg(twoProd(k, PIO2_3)));
  const [s, c] = sinCosReduced(r);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return [s, c];
    case 1:
      return [c, neg(s)];
    case 2:
      return [neg(s), neg(c)];
    default:
      return [neg(c), s];
  }
}

/** Whether the argument is one the double-double path serves (finite, moderate); else node's function is used. */
const served = (x: number) => Number.isFinite(x) && Math.abs(x) < 1e6;

export function sinR(x: number): number {
  if (!served(x) || x === 0) return Math.sin(x);
  return sinCosDD(x)[0][0];
}

export function cosR(x: number): number {
  if (!served(x)) return Math.cos(x);
  return sinCosDD(x)[1][0];
}

/** θ0 (within an ulp of the answer) moved by the double `delta` (the Newton correction), rounded once. */
const corrected = (theta0: number, delta: number) => (Number.isFinite(delta) ? theta0 + delta : theta0);

export function asinR(v: number): number {
  const t = Math.asin(v);
  if (!Number.isFinite(t) || t === 0 || Math.abs(v) >= 1) return t;
  const [s, c] = sinCosDD(t);
  return corrected(t, add([v, 0], neg(s))[0] / c[0]);
}

export function acosR(v: number): number {
  const t = Math.acos(v);
  if (!Number.isFinite(t) || t === 0 || Math.abs(v) >= 1) return t;
  const [s, c] = sinCosDD(t);
  return corrected(t, add(c, [-v, 0])[0] / s[0]);
}

export function atan2R(y: number, x: number): number {
  const a = Math.atan2(y, x);
  if (!Number.isFinite(a) || !Number.isFinite(x) || !Number.isFinite(y) || y === 0 || x === 0) return a;
  const [s, c] = sinCosDD(a);
  // tan(θ − a) = (y cos a − x sin a) / (x cos a + y sin a); θ − a is ~1e-16, so atan of it is itself.
  const num = add(mulD(c, y), neg(mulD(s, x)));
  const den = x * c[0] + y * s[0];
  return corrected(a, num[0] / den);
}

/** √(x² + y²) correctly rounded (glibc's hypot is; V8's Math.hypot is not always). */
export function hypotR(x: number, y: number): number {
  if (!Number.isFinite(x) || !Number.isFinite(y)) return Math.hypot(x, y);
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = Math.max(ax, ay);
  if (big === 0) return 0;
  // Scaled by a power of two (exact) so that the squares neither overflow nor underflow.
  const e = Math.floor(Math.log2(big));
  const scale = 2 ** -e;
  const a = ax * scale;
  const b = ay * scale;
  const s = add(twoProd(a, a), twoProd(b, b));
  const r = Math.sqrt(s[0]);
  // One Newton step in double-double: r + (s − r²) / (2r).
  const residual = add(s, neg(twoProd(r, r)));
  return (r + residual[0] / (2 * r)) / scale;
}

// ln 2 in three parts (its double, then the doubles nearest the remainders).
const LN2_1 = Math.LN2;
const LN2_2 = 2.3190468138462996e-17;
const LN2_3 = 5.707708438416212e-34;

/** 1/n! for n = 0…20, as double-doubles (exp's Taylor terms). */
const EXP_TERMS: DD[] = [[1, 0]];
for (let n = 1; n <= 20; n++) EXP_TERMS.push(divD(EXP_TERMS[n - 1]!, n));

/** e^x as a double-double, for |x| ≤ 700: x = k ln 2 + r, e^r = (e^(r/256))^256 with e^(r/256) by its series. */
function expDD(x: number): DD {
  const k = Math.round(x / LN2_1);
  let r: DD = add([x, 0], neg(twoProd(k, LN2_1)));
  r = add(r, neg(twoProd(k, LN2_2)));
  r = add(r, neg(twoProd(k, LN2_3)));
  const s: DD = [r[0] / 256, r[1] / 256]; // exact: a power of two
  let e: DD = EXP_TERMS[EXP_TERMS.length - 1]!;
  for (let i = EXP_TERMS.length - 2; i >= 0; i--) e = add(mul(e, s), EXP_TERMS[i]!);
  for (let i = 0; i < 8; i++) e = mul(e, e);
  // 2^k in two exact factors (k may exceed a double's exponent range by itself near the ends).
  const half = Math.trunc(k / 2);
  return [e[0] * 2 ** half * 2 ** (k - half), e[1] * 2 ** half * 2 ** (k - half)];
}

export function expR(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) > 700 || x === 0) return Math.exp(x);
  return expDD(x)[0];
}

export function logR(x: number): number {
  const y = Math.log(x);
  if (!Number.isFinite(y) || y === 0 || Math.abs(y) > 700) return y;
  // Newton on e^y = x: y + (x − e^y) / e^y.
  const e = expDD(y);
  return corrected(y, add([x, 0], neg(e))[0] / e[0]);
}
