// evalPsfMap and evalEdispKernelMap: every backend bit-identical to the reference on random tables and grids
// (NaN/±Inf and negative table values, offsets and energies outside the axis bounds, single-node axes, rad
// edges beyond the table, reco edges beyond the migration range).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../src/reference/index.js';
import { type CompiledBackend, compiledBackends, firstDifference, sameBits } from './backends-setup.js';

let backends: CompiledBackend[] = [];
beforeAll(async () => {
  backends = await compiledBackends();
});

const odd = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0);
const values = (n: number, min: number, max: number, oddWeight = 1) =>
  fc.array(
    fc.oneof(
      { weight: 20, arbitrary: fc.double({ min, max, noNaN: true }) },
      { weight: oddWeight, arbitrary: odd },
    ),
    { minLength: n, maxLength: n },
  );
const ascending = (n: number, start: number, step: number) =>
  Float64Array.from({ length: n }, (_, i) => start + i * step);

describe('evalPsfMap', () => {
  const input = fc
    .record({
      npix: fc.integer({ min: 0, max: 30 }),
      nE: fc.integer({ min: 1, max: 6 }),
      nOff: fc.integer({ min: 1, max: 5 }),
      nRad: fc.integer({ min: 1, max: 12 }),
      nT: fc.integer({ min: 0, max: 5 }),
      nR: fc.integer({ min: 0, max: 20 }),
    })
    .chain((g) =>
      fc.record({
        g: fc.constant(g),
        offsets: values(g.npix, -0.5, 3.5),
        table: values(g.nE * g.nOff * g.nRad, -10, 1e4),
        energies: values(g.nT, 0.01, 200),
        radStep: fc.double({ min: 0.001, max: 0.2, noNaN: true }),
      }),
    );

  it('matches the reference bit for bit', () => {
    fc.assert(
      fc.property(input, ({ g, offsets, table, energies, radStep }) => {
        const { npix, nE, nOff, nRad, nT, nR } = g;
        const args = [
          Float64Array.from(offsets),
          npix,
          Float64Array.from(table),
          ascending(nE, Math.log(0.05), 0.9),
          nE,
          ascending(nOff, 0, 0.6),
          nOff,
          ascending(nRad, 0.005, 0.07),
          nRad,
          Float64Array.from([0.04, 150, -0.25, 2.75, 0, 0.8]),
          Float64Array.from(energies),
          nT,
          ascending(nR + 1, 0, radStep),
          nR,
        ] as const;
        const want = new Float32Array(nT * nR * npix).fill(5);
        referenceKernels.evalPsfMap(...args, want);
        for (const { name, kernels } of backends) {
          const got = new Float32Array(nT * nR * npix).fill(-5);
          kernels.evalPsfMap(...args, got);
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('evalEdispKernelMap', () => {
  const input = fc
    .record({
      npix: fc.integer({ min: 0, max: 30 }),
      nE: fc.integer({ min: 1, max: 6 }),
      nM: fc.integer({ min: 1, max: 40 }),
      nOff: fc.integer({ min: 1, max: 5 }),
      nT: fc.integer({ min: 0, max: 5 }),
      nK: fc.integer({ min: 0, max: 8 }),
    })
    .chain((g) =>
      fc.record({
        g: fc.constant(g),
        offsets: values(g.npix, -0.5, 3.5),
        table: values(g.nE * g.nM * g.nOff, -1, 50),
        energies: values(g.nT, 0.01, 200),
        recoStart: fc.double({ min: 0.01, max: 5, noNaN: true }),
      }),
    );

  it('matches the reference bit for bit', () => {
    fc.assert(
      fc.property(input, ({ g, offsets, table, energies, recoStart }) => {
        const { npix, nE, nM, nOff, nT, nK } = g;
        const recoEdges = Float64Array.from({ length: nK + 1 }, (_, k) => recoStart * 1.6 ** k);
        const args = [
          Float64Array.from(offsets),
          npix,
          Float64Array.from(table),
          ascending(nE, Math.log(0.05), 0.9),
          nE,
          nM,
          ascending(nOff, 0, 0.6),
          nOff,
          ascending(nM + 1, 0.2, 2.8 / nM),
          Float64Array.from([0.04, 150, -0.25, 2.75]),
          Float64Array.from(energies),
          nT,
          recoEdges,
          nK,
        ] as const;
        const want = new Float64Array(nT * nK * npix).fill(5);
        referenceKernels.evalEdispKernelMap(...args, new Float64Array(nM + 1), want);
        for (const { name, kernels } of backends) {
          const got = new Float64Array(nT * nK * npix).fill(-5);
          kernels.evalEdispKernelMap(...args, new Float64Array(nM + 1).fill(9), got);
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * evalEdispKernelMap's arguments for one pixel at `offset` and one true energy `energy`, on a table of two
 * true-energy nodes (1 and 2 TeV, rows of `table`) and one offset node, four migra bins from 0.5 to 1.5, edges
 * 0.7-2.8 TeV and 0-2.5 deg; reco edges `reco`; the kernel written into `out`.
 */
function twoNodeEdisp(
  table: Float64Array,
  energy: number,
  offset: number,
  reco: number[],
  out: Float64Array,
) {
  const nM = 4;
  return [
    Float64Array.of(offset),
    1,
    table,
    Float64Array.of(Math.log(1), Math.log(2)),
    2,
    nM,
    Float64Array.of(0.5),
    1,
    Float64Array.of(0.5, 0.75, 1, 1.25, 1.5),
    Float64Array.of(0.7, 2.8, 0, 2.5),
    Float64Array.of(energy),
    1,
    Float64Array.from(reco),
    reco.length - 1,
    new Float64Array(nM + 1),
    out,
  ] as const;
}

// Found by a cross-check on an EDISP table narrower in true energy than the map (0.3-8 TeV): pipe zeroed the kernel
// beyond the table, gammapy 1.0 extrapolates it (EnergyDispersion2D masks by offset, or by true energy and migra
// together), and the flux maps were up to 19% off.
describe('evalEdispKernelMap beyond the table', () => {
  it('extrapolates a true energy beyond the table (as gammapy), and gives 0 beyond the offset range', () => {
    // A flat migra PDF.
    const table = Float64Array.from({ length: 8 }, () => 1);
    const kernel = (energy: number, offset: number) => {
      const out = new Float64Array(1);
      referenceKernels.evalEdispKernelMap(
        ...twoNodeEdisp(table, energy, offset, [0.01 * energy, 100 * energy], out),
      );
      return out[0]!;
    };
    expect(kernel(1.5, 1)).toBeCloseTo(1, 12);
    expect(kernel(20, 1)).toBeCloseTo(1, 12); // beyond the true-energy edges: extrapolated (flat here), not 0
    expect(kernel(0.1, 1)).toBeCloseTo(1, 12);
    expect(kernel(1.5, 3)).toBe(0); // beyond the offset edges
  });
});

// Found by helper-114 against gammapy 1.0: its ScaledRegularGridInterpolator clips interpolated values at 0, so a
// migra PDF extrapolated below 0 (a true energy between the table's last node and its edge, an offset past the last
// node) counts 0 there; pipe kept the negatives, and the kernels' normalisation moved the flux by up to 0.3 %.
describe('evalEdispKernelMap clips extrapolated negatives', () => {
  it('takes a negative interpolated PDF value as 0 before the sums, in every backend', () => {
    // Rows at 1 and 2 TeV: [1, 1, 1, 1] and [0, 2, 2, 0]; at 8 TeV (t = 3) the extrapolated row is [-2, 4, 4, -2],
    // clipped [0, 4, 4, 0]: the middle reco bin (migra 0.75-1.25) holds the whole kernel, 1 (2 unclipped: the
    // negative ends shrank the normalisation).
    const table = Float64Array.of(1, 1, 1, 1, 0, 2, 2, 0);
    const want = new Float64Array(3);
    referenceKernels.evalEdispKernelMap(...twoNodeEdisp(table, 8, 0.5, [4, 6, 10, 12], want));
    expect(Array.from(want)).toEqual([0, 1, 0]);
    for (const b of backends) {
      const got = new Float64Array(3);
      b.kernels.evalEdispKernelMap(...twoNodeEdisp(table, 8, 0.5, [4, 6, 10, 12], got));
      expect(Array.from(got), b.name).toEqual([0, 1, 0]);
    }
  });
});
