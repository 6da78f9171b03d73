// evalBkgMap: every backend bit-identical to the reference on random background tables and FoV grids
// (NaN/±Inf values, pixels outside the FoV bounds, edges outside the energy axis, single-node axes); and the
// kernels' shared exponential bit-identical to V8's Math.exp, which makes that possible.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../src/native/addon.js';
import { cellIndex, cellWeight, FLOAT32_TINY, referenceKernels } from '../src/reference/index.js';
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

// The reference before each energy plane was interpolated once per pixel (every edge interpolating both planes of
// its cell), kept verbatim as the oracle of that restructuring: the results must not change by a bit.
const LN_TINY = Math.log(FLOAT32_TINY);
function integrateLogLogPerEdge(
  y1: number,
  v1: number,
  v2: number,
  e1: number,
  l1: number,
  l2: number,
): number {
  let lr = v1 - v2;
  if (lr < LN_TINY) lr = LN_TINY;
  const g = 1 + lr / (l1 - l2);
  if (Math.abs(g) <= 1e-8) return y1 * e1 * (l2 - l1);
  return ((y1 * e1) / g) * (Math.exp(g * (l2 - l1)) - 1);
}

function evalBkgMapPerEdge(
  fovLon: Float64Array,
  fovLat: Float64Array,
  npix: number,
  lnTable: Float64Array,
  lnENodes: Float64Array,
  nE: number,
  lonNodes: Float64Array,
  nLon: number,
  latNodes: Float64Array,
  nLat: number,
  bounds: Float64Array,
  edges: Float64Array,
  nK: number,
  solidAngle: Float64Array,
  scale: number,
  work: Float64Array,
  out: Float32Array,
): void {
  const lonMin = bounds[2] as number;
  const lonMax = bounds[3] as number;
  const latMin = bounds[4] as number;
  const latMax = bounds[5] as number;
  // Energy cells of the edges, the same for every pixel: work[3j] = cell (−1 outside the axis), weight, ln E.
  for (let j = 0; j <= nK; j++) {
    const e = edges[j] as number;
    const lnE = Math.log(e);
    const ie = cellIndex(lnENodes, 0, nE, lnE);
    work[3 * j] = e >= (bounds[0] as number) && e <= (bounds[1] as number) ? ie : -1;
    work[3 * j + 1] = cellWeight(lnENodes, 0, nE, ie, lnE);
    work[3 * j + 2] = lnE;
  }
  const planeE = nLon * nLat;
  const dE = nE > 1 ? planeE : 0;
  const dLon = nLon > 1 ? nLat : 0;
  const dLat = nLat > 1 ? 1 : 0;
  for (let p = 0; p < npix; p++) {
    const lon = fovLon[p] as number;
    const lat = fovLat[p] as number;
    if (!(lon >= lonMin && lon <= lonMax && lat >= latMin && lat <= latMax)) {
      for (let k = 0; k < nK; k++) out[k * npix + p] = 0;
      continue;
    }
    const il = cellIndex(lonNodes, 0, nLon, lon);
    const tl = cellWeight(lonNodes, 0, nLon, il, lon);
    const ib = cellIndex(latNodes, 0, nLat, lat);
    const tb = cellWeight(latNodes, 0, nLat, ib, lat);
    const w00 = (1 - tl) * (1 - tb);
    const w01 = (1 - tl) * tb;
    const w10 = tl * (1 - tb);
    const w11 = tl * tb;
    const base = il * nLat + ib;
    const factor = scale * (solidAngle[p] as number);
    let y1 = 0;
    let v1 = 0;
    for (let j = 0; j <= nK; j++) {
      const ie = work[3 * j] as number;
      let y2 = 0;
      let v2 = 0;
      if (ie >= 0) {
        const te = work[3 * j + 1] as number;
        const a = ie * planeE + base;
        const b = a + dE;
        const lo =
          (lnTable[a] as number) * w00 +
          (lnTable[a + dLat] as number) * w01 +
          (lnTable[a + dLon] as number) * w10 +
          (lnTable[a + dLon + dLat] as number) * w11;
        const hi =
          (lnTable[b] as number) * w00 +
          (lnTable[b + dLat] as number) * w01 +
          (lnTable[b + dLon] as number) * w10 +
          (lnTable[b + dLon + dLat] as number) * w11;
        v2 = lo * (1 - te) + hi * te;
        y2 = Math.exp(v2);
        if (!(y2 - FLOAT32_TINY > FLOAT32_TINY)) y2 = 0;
      }
      if (j > 0) {
        const integral =
          y1 > 0 && y2 > 0
            ? integrateLogLogPerEdge(
                y1,
                v1,
                v2,
                edges[j - 1] as number,
                work[3 * j - 1] as number,
                work[3 * j + 2] as number,
              )
            : 0;
        out[(j - 1) * npix + p] = integral * factor;
      }
      y1 = y2;
      v1 = v2;
    }
  }
}

/**
 * evalBkgMap's arguments (but the scratch and the output) for a table on evenly spaced ln E, lon and lat nodes,
 * FoV bounds ±3.2 rad, energy edges growing by `edgeRatio`, and per-pixel solid angles.
 */
function bkgArgs(o: {
  fovLon: readonly number[];
  fovLat: readonly number[];
  npix: number;
  table: readonly number[];
  nE: number;
  eStep: number;
  nLon: number;
  nLat: number;
  edgeStart: number;
  edgeRatio: number;
  nK: number;
  scale: number;
}) {
  const { npix, nE, nLon, nLat, nK } = o;
  return [
    Float64Array.from(o.fovLon),
    Float64Array.from(o.fovLat),
    npix,
    Float64Array.from(o.table),
    ascending(nE, Math.log(0.1), o.eStep),
    nE,
    ascending(nLon, -3, 6 / Math.max(1, nLon - 1)),
    nLon,
    ascending(nLat, -3, 6 / Math.max(1, nLat - 1)),
    nLat,
    Float64Array.from([0.08, 120, -3.2, 3.2, -3.2, 3.2]),
    Float64Array.from({ length: nK + 1 }, (_, k) => o.edgeStart * o.edgeRatio ** k),
    nK,
    Float64Array.from({ length: npix }, (_, p) => 1e-4 * (1 + p / 100)),
    o.scale,
  ] as const;
}

/** Every compiled backend writes the reference's map bit for bit (its scratch handed over dirty). */
function expectBackendsMatchReference(args: ReturnType<typeof bkgArgs>, npix: number, nK: number): void {
  const want = new Float32Array(nK * npix).fill(5);
  referenceKernels.evalBkgMap(...args, new Float64Array(3 * (nK + 1)), want);
  for (const { name, kernels } of backends) {
    const got = new Float32Array(nK * npix).fill(-5);
    kernels.evalBkgMap(...args, new Float64Array(3 * (nK + 1)).fill(9), got);
    if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
  }
}

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
        const args = bkgArgs({
          fovLon,
          fovLat,
          npix,
          table: lnTable,
          nE,
          eStep: 0.5,
          nLon,
          nLat,
          edgeStart,
          edgeRatio,
          nK,
          scale,
        });
        expectBackendsMatchReference(args, npix, nK);
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference bit for bit on maps inside the FoV (native: four pixels per AVX2 vector), exp arguments at its branch boundaries', () => {
    // Native evaluates four pixels at once when all four are inside the FoV bounds, with fdlibm's exp on vectors; a
    // lane needing one of exp's special cases sends the four pixels back to the scalar loop. Table values at and
    // next to the arguments where exp changes branch (±0.5 ln 2, ±1.5 ln 2, 1, tiny, ±700, overflow, ln tiny).
    const ln2 = Math.LN2;
    const edgesOfExp = [
      0,
      1,
      -1,
      0.5 * ln2,
      -0.5 * ln2,
      1.5 * ln2,
      -1.5 * ln2,
      700,
      -700,
      709.5,
      -708.5,
      -745,
    ];
    const nextTo = (x: number, ulps: number) => {
      const b = new Float64Array([x]);
      const u = new BigInt64Array(b.buffer);
      u[0] = (u[0] as bigint) + BigInt(ulps);
      return b[0] as number;
    };
    const tableValue = fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: -30, max: 5, noNaN: true }) },
      { weight: 3, arbitrary: fc.double({ min: -2, max: 2, noNaN: true }) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...edgesOfExp, 2 ** -28, Math.log(FLOAT32_TINY)),
            fc.integer({ min: -3, max: 3 }),
          )
          .map(([x, u]) => nextTo(x, u)),
      },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 70 }),
        fc.double({ min: 0.05, max: 20, noNaN: true }),
        fc.double({ min: 1.001, max: 2.5, noNaN: true }),
        fc.array(tableValue, { minLength: 6 * 5 * 5, maxLength: 6 * 5 * 5 }),
        fc.array(fc.double({ min: -3.2, max: 3.2, noNaN: true }), { minLength: 140, maxLength: 140 }),
        (nE, nLon, nLat, nK, npix, edgeStart, edgeRatio, table, fov) => {
          const args = bkgArgs({
            fovLon: fov.slice(0, npix),
            fovLat: fov.slice(70, 70 + npix),
            npix,
            table: table.slice(0, nE * nLon * nLat),
            nE,
            eStep: 0.7,
            nLon,
            nLat,
            edgeStart,
            edgeRatio,
            nK,
            scale: 3e6,
          });
          expectBackendsMatchReference(args, npix, nK);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reference: interpolating each energy plane once per pixel changes no bit (edges sharing cells)', () => {
    fc.assert(
      fc.property(
        input,
        fc.boolean(),
        ({ g, fovLon, fovLat, lnTable, edgeStart, edgeRatio, scale }, dense) => {
          const { npix, nE, nLon, nLat, nK } = g;
          // dense: many edges per table cell (repeated and adjacent cells); else the generated spacing
          const ratio = dense ? 1 + (edgeRatio - 1) / 8 : edgeRatio;
          const args = bkgArgs({
            fovLon,
            fovLat,
            npix,
            table: lnTable,
            nE,
            eStep: 0.5,
            nLon,
            nLat,
            edgeStart,
            edgeRatio: ratio,
            nK,
            scale,
          });
          const want = new Float32Array(nK * npix).fill(5);
          evalBkgMapPerEdge(...args, new Float64Array(3 * (nK + 1)), want);
          const got = new Float32Array(nK * npix).fill(-5);
          referenceKernels.evalBkgMap(...args, new Float64Array(3 * (nK + 1)), got);
          if (!sameBits(want, got)) throw new Error(`reference: ${firstDifference(want, got)}`);
        },
      ),
      { numRuns: 500 },
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
    // a few ulps around the arguments where exp changes branch
    const boundaries = [0.5 * Math.LN2, 1.5 * Math.LN2, 1, 2 ** -28, 700, 709.4, 709.78, -708.4, -745.13];
    const bits = new BigInt64Array(x.buffer);
    let at = 100;
    for (const b of boundaries)
      for (const sign of [1, -1])
        for (let u = -40; u <= 40; u++) {
          x[at] = sign * b;
          bits[at] = (bits[at] as bigint) + BigInt(u);
          at++;
        }
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
      // evalBkgMap's four-lane exp (AVX2), with the scalar exp for the lanes it leaves to it
      const gotVector = new Float64Array(n);
      (native.addon.mathProbeExp4 as unknown as (x: Float64Array, out: Float64Array) => void)(x, gotVector);
      expect(sameBits(want, gotVector), `native exp4 ${firstDifference(want, gotVector)}`).toBe(true);
    }
  });
});
