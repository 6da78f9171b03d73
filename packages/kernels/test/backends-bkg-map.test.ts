// evalBkgMap: every backend bit-identical to the reference on random background tables and FoV grids
// (NaN/±Inf values, pixels outside the FoV bounds, edges outside the energy axis, single-node axes); and the
// kernels' shared exponential bit-identical to V8's Math.exp, which makes that possible.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../src/native/addon.js';
import { referenceKernels } from '../src/reference/index.js';
import { wasmModulePath } from '../src/wasm/compile.js';
import { instantiateKernelModule } from '../src/wasm/module.js';
import { type CompiledBackend, compiledBackends, firstDifference, sameBits } from './backends-setup.js';

let backends: CompiledBackend[] = [];
beforeAll(async () => {
  backends = await compiledBackends();
});

const odd = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
const values = (n: number, min: number, max: number) =>
  fc.array(
    fc.oneof({ weight: 20, arbitrary: fc.double({ min, max, noNaN: true }) }, { weight: 1, arbitrary: odd }),
    {
      minLength: n,
      maxLength: n,
    },
  );
const ascending = (n: number, start: number, step: number) =>
  Float64Array.from({ length: n }, (_, i) => start + i * step);

describe('evalBkgMap', () => {
  const input = fc
    .record({
      npix: fc.integer({ min: 0, max: 40 }),
      nE: fc.integer({ min: 1, max: 8 }),
      nLon: fc.integer({ min: 1, max: 6 }),
      nLat: fc.integer({ min: 1, max: 6 }),
      nK: fc.integer({ min: 0, max: 8 }),
    })
    .chain((g) =>
      fc.record({
        g: fc.constant(g),
        fovLon: values(g.npix, -4, 4),
        fovLat: values(g.npix, -4, 4),
        // ln(rate): mostly smooth, with the clip level ln(tiny) and extremes that make exp over- or underflow
        lnTable: fc.array(
          fc.oneof(
            { weight: 20, arbitrary: fc.double({ min: -30, max: 5, noNaN: true }) },
            { weight: 2, arbitrary: fc.constant(Math.log(1.1754943508222875e-38)) },
            { weight: 1, arbitrary: fc.double({ min: -800, max: 800, noNaN: true }) },
            { weight: 1, arbitrary: odd },
          ),
          { minLength: g.nE * g.nLon * g.nLat, maxLength: g.nE * g.nLon * g.nLat },
        ),
        edgeStart: fc.double({ min: 0.05, max: 50, noNaN: true }),
        edgeRatio: fc.double({ min: 1.0000001, max: 3, noNaN: true }),
        scale: fc.double({ min: 0, max: 1e7, noNaN: true }),
      }),
    );

  it('matches the reference bit for bit', () => {
    fc.assert(
      fc.property(input, ({ g, fovLon, fovLat, lnTable, edgeStart, edgeRatio, scale }) => {
        const { npix, nE, nLon, nLat, nK } = g;
        const args = [
          Float64Array.from(fovLon),
          Float64Array.from(fovLat),
          npix,
          Float64Array.from(lnTable),
          ascending(nE, Math.log(0.1), 0.5),
          nE,
          ascending(nLon, -3, 6 / Math.max(1, nLon - 1)),
          nLon,
          ascending(nLat, -3, 6 / Math.max(1, nLat - 1)),
          nLat,
          Float64Array.from([0.08, 120, -3.2, 3.2, -3.2, 3.2]),
          Float64Array.from({ length: nK + 1 }, (_, k) => edgeStart * edgeRatio ** k),
          nK,
          Float64Array.from({ length: npix }, (_, p) => 1e-4 * (1 + p / 100)),
          scale,
        ] as const;
        const want = new Float32Array(nK * npix).fill(5);
        referenceKernels.evalBkgMap(...args, new Float64Array(3 * (nK + 1)), want);
        for (const { name, kernels } of backends) {
          const got = new Float32Array(nK * npix).fill(-5);
          kernels.evalBkgMap(...args, new Float64Array(3 * (nK + 1)).fill(9), got);
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the kernels exponential', () => {
  it('is bit-identical to V8 Math.exp on 1e6 arguments across the whole range', async () => {
    const n = 1_000_000;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = i % 3;
      if (r === 0)
        x[i] = (Math.random() - 0.5) * 1500; // overflow and underflow thresholds included
      else if (r === 1)
        x[i] = (Math.random() - 0.5) * 2 ** -Math.floor(Math.random() * 60); // near 0
      else x[i] = (Math.random() - 0.5) * 2 * Math.LN2; // the |x| < ln 2 reductions
    }
    x.set([
      0,
      -0,
      1,
      -1,
      709.782712893384,
      709.79,
      -745.1332191019411,
      -745.2,
      -708.4,
      Number.NaN,
      Infinity,
      -Infinity,
      0.5 * Math.LN2,
      1.5 * Math.LN2,
    ]);
    const want = x.map(Math.exp);
    const probe = await instantiateKernelModule(wasmModulePath('mathProbe'));
    const got = new Float64Array(n);
    probe.call('expArray', ['in', null, 'out'], [x, n, got]);
    expect(sameBits(want, got), `wasm ${firstDifference(want, got)}`).toBe(true);
    const native = loadNativeAddon();
    if (native.ok) {
      const gotNative = new Float64Array(n);
      (native.addon.mathProbeExp as unknown as (x: Float64Array, out: Float64Array) => void)(x, gotNative);
      expect(sameBits(want, gotNative), `native ${firstDifference(want, gotNative)}`).toBe(true);
    }
  });
});
