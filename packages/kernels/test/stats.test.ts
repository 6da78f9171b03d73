import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  brentCash,
  cash,
  cashErrors,
  cashFloat32,
  cashStatistics,
  cashUpperLimits,
  numpyLogFloat32,
} from '../src/reference/stats.js';

function stats(n: number[], mu: number[]) {
  const len = n.length;
  const excess = new Float64Array(len);
  const ts = new Float64Array(len);
  const sqrtTs = new Float64Array(len);
  cashStatistics(Float64Array.from(n), Float64Array.from(mu), excess, ts, sqrtTs);
  return { excess: Array.from(excess), ts: Array.from(ts), sqrtTs: Array.from(sqrtTs) };
}

/** Plain bisection to 1e-13: an independent root finder for g(x) = C(n, b + x) − target. */
function bisect(n: number, b: number, target: number, lo: number, hi: number): number {
  const g = (x: number) => cash(n, b + x) - target;
  let glo = g(lo);
  if (glo * g(hi) > 0) return Number.NaN;
  for (let k = 0; k < 200 && hi - lo > 1e-13; k++) {
    const mid = (lo + hi) / 2;
    const gm = g(mid);
    if (gm * glo > 0) {
      lo = mid;
      glo = gm;
    } else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('cashStatistics', () => {
  it('matches the scalar formulas of the spec (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.double({ min: 1e-3, max: 5000, noNaN: true }),
        (n, mu) => {
          const r = stats([n], [mu]);
          const tsWant = n > 0 ? 2 * (n * Math.log(n / mu) - (n - mu)) : 2 * mu;
          expect(r.excess[0]).toBe(n - mu);
          expect(Math.abs((r.ts[0] as number) - Math.max(0, tsWant))).toBeLessThanOrEqual(
            1e-9 * (1 + Math.abs(n * Math.log(mu))),
          );
          expect(r.ts[0]).toBeGreaterThanOrEqual(0);
          expect(Math.sign(r.sqrtTs[0] as number)).toBe(
            Math.sign(n - mu) === 0 ? 0 : (r.ts[0] as number) === 0 ? 0 : Math.sign(n - mu),
          );
          expect(Math.abs(r.sqrtTs[0] as number)).toBe(Math.sqrt(r.ts[0] as number));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('n = 0: TS = 2μ and a negative sqrt_ts', () => {
    const r = stats([0, 0], [3.5, 0]);
    expect(r.ts[0]).toBeCloseTo(7, 12);
    expect(r.sqrtTs[0]).toBeCloseTo(-Math.sqrt(7), 12);
    expect(r.excess[1]).toBe(0);
    expect(r.ts[1]).toBe(0);
    expect(Object.is(r.sqrtTs[1], 0)).toBe(true); // sign(0) = 0, not −0 or NaN
  });

  it('tiny μ is clipped at 1e-25 (finite TS, no Infinity)', () => {
    const r = stats([5, 5], [1e-30, 0]);
    const want = cash(5, 1e-25) - cash(5, 5);
    expect(r.ts[0]).toBe(want);
    expect(r.ts[1]).toBe(want);
    expect(Number.isFinite(r.ts[0])).toBe(true);
    expect(r.sqrtTs[0]).toBeCloseTo(Math.sqrt(want), 10);
  });

  it('n = μ gives exactly zero, and a TS rounding below 0 is clipped', () => {
    const r = stats([7, 1e6, 300], [7, 1e6 * (1 - 1e-16), 300 + 1e-13]);
    expect(r.ts[0]).toBe(0);
    expect(r.sqrtTs[0]).toBe(0);
    for (const t of r.ts) expect(t).toBeGreaterThanOrEqual(0);
  });

  it('NaN in, NaN out', () => {
    const r = stats([Number.NaN, 3], [1, Number.NaN]);
    for (const v of [...r.excess, ...r.ts, ...r.sqrtTs]) expect(v).toBeNaN();
  });
});

describe('numpyLogFloat32 (numpy SIMD float32 log)', () => {
  it('is a float32 within 4 ulp of ln x over the positive normal range (property)', () => {
    fc.assert(
      fc.property(
        fc.float({ min: Math.fround(1.2e-38), max: Math.fround(3e38), noNaN: true, noDefaultInfinity: true }),
        (x) => {
          fc.pre(x > 0);
          const got = numpyLogFloat32(x);
          expect(Math.fround(got)).toBe(got);
          const want = Math.log(x);
          const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(want), 1e-30))) - 23);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(4 * ulp);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('exact points and special values', () => {
    expect(numpyLogFloat32(1)).toBe(0);
    expect(numpyLogFloat32(2)).toBe(Math.fround(Math.LN2));
    expect(numpyLogFloat32(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(numpyLogFloat32(-1)).toBeNaN();
    expect(numpyLogFloat32(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('cashFloat32', () => {
  it('is C(n, μ) rounded like numpy float32 arithmetic', () => {
    expect(cashFloat32(318, 318)).toBe(Math.fround(cashFloat32(318, 318)));
    expect(Math.abs(cashFloat32(318, 318) - cash(318, 318)) / Math.abs(cash(318, 318))).toBeLessThan(3e-7);
    expect(cashFloat32(0, 0)).toBe(Math.fround(2 * Math.fround(1e-25)));
  });
});

describe('Brent root finding: errn, errp, upper limits', () => {
  it('brentCash agrees with bisection and returns NaN without a sign change', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0.1, max: 2000, noNaN: true }),
        (n, b) => {
          const s = n - b;
          const target = cash(n, n) + 1;
          const w = 2 * (Math.sqrt(n) + 1);
          const root = brentCash(n, b, target, s, s + w);
          expect(Math.abs(root - bisect(n, b, target, s, s + w))).toBeLessThan(1e-9 * (1 + Math.abs(root)));
          expect(Math.abs(cash(n, b + root) - target)).toBeLessThan(1e-9 * Math.abs(target) + 1e-9);
        },
      ),
      { numRuns: 300 },
    );
    expect(brentCash(10, 5, cash(10, 10) + 1, 5, 5.5)).toBeNaN(); // bracket without the root
  });

  it('errn/errp approach √n for large n, errn = n without a root, errp = 0.5 at n = 0', () => {
    const n = Float64Array.from([10000, 0, 4]);
    const b = Float64Array.from([9000, 2, 4]);
    const errn = new Float64Array(3);
    const errp = new Float64Array(3);
    cashErrors(n, b, 1, false, errn, errp);
    expect(errn[0]).toBeGreaterThan(99);
    expect(errn[0]).toBeLessThan(100);
    expect(errp[0]).toBeGreaterThan(100);
    expect(errp[0]).toBeLessThan(101);
    expect(errn[1]).toBe(0); // n = 0: no root below s, gammapy returns n
    expect(errp[1]).toBeCloseTo(0.5, 10); // C(0, μ) = 2μ reaches 1 at μ = 0.5
    // independent check against bisection at n = 4, b = 4 (s = 0)
    const t = cash(4, 4) + 1;
    expect(errp[2]).toBeCloseTo(bisect(4, 4, t, 0, 6), 10);
    expect(errn[2]).toBeCloseTo(-bisect(4, 4, t, -6, 0), 10);
  });

  it('n_sigma scales the level: errors at 2σ are about twice those at 1σ for large n', () => {
    const n = Float64Array.from([40000]);
    const b = Float64Array.from([39000]);
    const e1 = [new Float64Array(1), new Float64Array(1)] as const;
    const e2 = [new Float64Array(1), new Float64Array(1)] as const;
    cashErrors(n, b, 1, false, e1[0], e1[1]);
    cashErrors(n, b, 2, false, e2[0], e2[1]);
    expect((e2[1][0] as number) / (e1[1][0] as number)).toBeCloseTo(2, 2);
    expect((e2[0][0] as number) / (e1[0][0] as number)).toBeCloseTo(2, 2);
  });

  it('upper limits: absolute excess where C rises by nSigmaUl² above its value at s', () => {
    const n = Float64Array.from([318, 3, 0]);
    const b = Float64Array.from([17.93158, 10, 1]);
    const ul = new Float64Array(3);
    cashUpperLimits(n, b, 2, false, ul);
    for (let i = 0; i < 3; i++) {
      const ni = n[i] as number;
      const bi = b[i] as number;
      const s = ni - bi;
      expect(Math.abs(cash(ni, bi + (ul[i] as number)) - (cash(ni, ni) + 4))).toBeLessThan(1e-8);
      expect(ul[i]).toBeGreaterThan(s);
    }
    // n = 0, b = 1: s = −1 and C(0, b + s) = C(0, 0) ≈ 0, so the root is at 2(b + x) = 4, x = 1
    expect(ul[2]).toBeCloseTo(1, 10);
  });

  it('float32 levels move results by ~1e-5 relative at high n, not more', () => {
    const n = Float64Array.from([318]);
    const b = Float64Array.from([17.93158]);
    const a = [new Float64Array(1), new Float64Array(1)] as const;
    const c = [new Float64Array(1), new Float64Array(1)] as const;
    cashErrors(n, b, 1, false, a[0], a[1]);
    cashErrors(n, b, 1, true, c[0], c[1]);
    const rel = Math.abs((a[1][0] as number) - (c[1][0] as number)) / (a[1][0] as number);
    expect(rel).toBeGreaterThan(0);
    expect(rel).toBeLessThan(3e-4);
  });
});
