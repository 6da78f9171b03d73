// gammapy 1.0's WStat counts statistics, per pixel, against gammapy's WStatCountsStatistic on float32 arrays (as its
// maps hold them): excess, error, TS, √TS, and the root-found errn/errp (1σ) and upper limit (2σ); edge cases with no
// ON or no OFF counts, and α > 1. Reference values: /usr/bin/python3 with python3-gammapy 1.0, compute_errn(1),
// compute_errp(1), compute_upper_limit(2).
import { describe, expect, it } from 'vitest';
import { wstatErrors, wstatPixel, wstatUpperLimit } from '../src/estimators/wstat.js';

const GAMMAPY = [
  {
    nOn: 84,
    nOff: 71,
    alpha: 0.05741250142455101,
    nSig: 79.92371368408203,
    error: 9.177909851074219,
    ts: 283.58055199861315,
    sqrtTs: 16.839850118056667,
    errn: 8.848698476303298,
    errp: 9.513308709249813,
    ul: 99.63294730864652,
  },
  {
    nOn: 1,
    nOff: 12,
    alpha: 0.08069589734077454,
    nSig: 0.031649231910705566,
    error: 1.038336157798767,
    ts: 0.0009461462844768675,
    sqrtTs: 0.030759490965828213,
    errn: 0.7830491787672477,
    errp: 1.3794322294336718,
    ul: 3.5660491160923886,
  },
  {
    nOn: 2,
    nOff: 45,
    alpha: 0.08227989822626114,
    nSig: -1.7025954723358154,
    error: 1.5181070566177368,
    ts: 0.8814163423168111,
    sqrtTs: -0.9388377614459332,
    errn: 1.2729397544637617,
    errp: 1.8343738537169412,
    ul: 2.689621939222311,
  },
  {
    nOn: 0,
    nOff: 30,
    alpha: 0.05000000074505806,
    nSig: -1.5,
    error: 0.273861289024353,
    ts: 2.927409892740627,
    sqrtTs: -1.7109675311766226,
    errn: 0.29077544797607313,
    errp: 0.536295053629681,
    ul: 0.5362950536296842,
  },
  {
    nOn: 10,
    nOff: 0,
    alpha: 0.10000000149011612,
    nSig: 10,
    error: 3.1622776985168457,
    ts: 47.957905185037205,
    sqrtTs: 6.925164632341762,
    errn: 2.838105448306565,
    errp: 3.504032559772231,
    ul: 17.722498296092304,
  },
  {
    nOn: 0,
    nOff: 0,
    alpha: 0.20000000298023224,
    nSig: 0,
    error: 0,
    ts: 0,
    sqrtTs: 0,
    errn: 0.10000000149011612,
    errp: 0.5,
    ul: 2,
  },
  {
    nOn: 500,
    nOff: 3000,
    alpha: 0.15000000596046448,
    nSig: 49.999969482421875,
    error: 23.82225799560547,
    ts: 4.639350037781696,
    sqrtTs: 2.1539150488776704,
    errn: 23.536856739384234,
    errp: 24.112307405164373,
    ul: 98.81363074874182,
  },
  {
    nOn: 3,
    nOff: 1,
    alpha: 2.5,
    nSig: 0.5,
    error: 3.041381359100342,
    ts: 0.025678199767547927,
    sqrtTs: 0.16024418793687317,
    errn: 3.6901058146242103,
    errp: 2.824680185639336,
    ul: 6.387093079481653,
  },
];

const near = (ours: number, ref: number, rel: number, what: string) =>
  expect(Math.abs(ours - ref), `${what}: ${ours} vs ${ref}`).toBeLessThanOrEqual(
    rel * Math.max(Math.abs(ref), 1e-12),
  );

describe('WStat counts statistics (gammapy 1.0 WStatCountsStatistic)', () => {
  it('no excess and a NaN TS (α = 0, no ON counts): √TS is NaN, as np.sign(0) · NaN', () => {
    // gammapy: n_sig 0, error 0, ts nan, sqrt_ts nan for n_on 0, n_off 5, α 0.
    const px = wstatPixel(0, 5, 0);
    expect([px.nSig, px.error]).toEqual([0, 0]);
    expect(px.ts).toBeNaN();
    expect(px.sqrtTs).toBeNaN();
  });

  it.each(GAMMAPY)('n_on $nOn, n_off $nOff, α $alpha', (g) => {
    const px = wstatPixel(g.nOn, g.nOff, g.alpha);
    // The float32 quantities are gammapy's exactly; TS from float64 statistics to rounding.
    expect(px.nSig).toBe(g.nSig);
    expect(px.error).toBe(g.error);
    near(px.ts, g.ts, 1e-9, 'ts');
    near(px.sqrtTs, g.sqrtTs, 1e-9, 'sqrt_ts');
    const e = wstatErrors(g.nOn, g.nOff, g.alpha, px, 1);
    near(e.errn, g.errn, 1e-9, 'errn');
    near(e.errp, g.errp, 1e-9, 'errp');
    near(wstatUpperLimit(g.nOn, g.nOff, g.alpha, px, 2), g.ul, 1e-9, 'ul');
  });
});
