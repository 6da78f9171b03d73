// evalAeffMap, stackAdd, stackMaskOr and stackIrfWeighted: every backend bit-identical to the reference on random tables, grids and
// cutouts (NaN/±Inf values, offsets out of bounds, cutouts hanging over every edge, broadcast masks);
// and the kernels' shared logarithm bit-identical to V8's Math.log, which makes that possible.
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

const odd = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0);

describe('evalAeffMap', () => {
  const input = fc
    .record({
      npix: fc.integer({ min: 0, max: 50 }),
      nE: fc.integer({ min: 1, max: 8 }),
      nOff: fc.integer({ min: 1, max: 6 }),
      nT: fc.integer({ min: 0, max: 6 }),
    })
    .chain(({ npix, nE, nOff, nT }) =>
      fc.record({
        npix: fc.constant(npix),
        nE: fc.constant(nE),
        nOff: fc.constant(nOff),
        nT: fc.constant(nT),
        offsets: fc.array(
          fc.oneof(
            { weight: 9, arbitrary: fc.double({ min: -0.5, max: 3.5, noNaN: true }) },
            { weight: 1, arbitrary: odd },
          ),
          { minLength: npix, maxLength: npix },
        ),
        table: fc.array(
          fc.oneof(
            { weight: 20, arbitrary: fc.double({ min: -1e3, max: 1e6, noNaN: true }) },
            { weight: 1, arbitrary: odd },
          ),
          { minLength: nE * nOff, maxLength: nE * nOff },
        ),
        energies: fc.array(
          fc.oneof(
            { weight: 9, arbitrary: fc.double({ min: 0.01, max: 200, noNaN: true }) },
            { weight: 1, arbitrary: odd },
          ),
          { minLength: nT, maxLength: nT },
        ),
        scale: fc.double({ min: 0, max: 1e5, noNaN: true }),
      }),
    );

  it('matches the reference bit for bit', () => {
    fc.assert(
      fc.property(input, ({ npix, nE, nOff, nT, offsets, table, energies, scale }) => {
        const lnENodes = Float64Array.from({ length: nE }, (_, i) => Math.log(0.05) + i * 0.7);
        const offNodes = Float64Array.from({ length: nOff }, (_, i) => i * 0.5);
        const bounds = Float64Array.from([0.04, 150, -0.25, 2.75]);
        const args = [
          Float64Array.from(offsets),
          npix,
          Float64Array.from(table),
          lnENodes,
          nE,
          offNodes,
          nOff,
          bounds,
          Float64Array.from(energies),
          nT,
          scale,
        ] as const;
        const want = new Float32Array(nT * npix).fill(5);
        referenceKernels.evalAeffMap(...args, new Float64Array(2 * nT), want);
        for (const { name, kernels } of backends) {
          const got = new Float32Array(nT * npix).fill(-5);
          kernels.evalAeffMap(...args, new Float64Array(2 * nT).fill(9), got);
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('stackAdd', () => {
  const input = fc
    .record({
      dstNx: fc.integer({ min: 1, max: 20 }),
      dstNy: fc.integer({ min: 1, max: 20 }),
      srcNx: fc.integer({ min: 0, max: 20 }),
      srcNy: fc.integer({ min: 0, max: 20 }),
      nPlanes: fc.integer({ min: 0, max: 4 }),
      broadcast: fc.boolean(),
    })
    .chain((g) => {
      const srcLen = g.nPlanes * g.srcNx * g.srcNy;
      const maskLen = (g.broadcast ? 1 : g.nPlanes) * g.srcNx * g.srcNy;
      return fc.record({
        g: fc.constant(g),
        x0: fc.integer({ min: -25, max: 25 }),
        y0: fc.integer({ min: -25, max: 25 }),
        src: fc.array(
          fc.oneof(
            { weight: 20, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
            { weight: 1, arbitrary: odd },
          ),
          { minLength: srcLen, maxLength: srcLen },
        ),
        mask: fc.array(fc.constantFrom(0, 1, 1), { minLength: maskLen, maxLength: maskLen }),
        dst: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
          minLength: g.nPlanes * g.dstNx * g.dstNy,
          maxLength: g.nPlanes * g.dstNx * g.dstNy,
        }),
        scale: fc.oneof(fc.constant(1), fc.double({ min: -10, max: 1e30, noNaN: true })),
      });
    });

  it('matches the reference bit for bit (cutouts over the edges, broadcast masks, non-finite values)', () => {
    fc.assert(
      fc.property(input, ({ g, x0, y0, src, mask, dst, scale }) => {
        const maskPlanes = g.broadcast ? 1 : g.nPlanes;
        const srcA = Float32Array.from(src);
        const maskA = Uint8Array.from(mask);
        const want = Float32Array.from(dst);
        referenceKernels.stackAdd(
          want,
          g.dstNx,
          g.dstNy,
          srcA,
          g.srcNx,
          g.srcNy,
          g.nPlanes,
          x0,
          y0,
          maskA,
          maskPlanes,
          scale,
        );
        for (const { name, kernels } of backends) {
          const got = Float32Array.from(dst);
          kernels.stackAdd(
            got,
            g.dstNx,
            g.dstNy,
            srcA,
            g.srcNx,
            g.srcNy,
            g.nPlanes,
            x0,
            y0,
            maskA,
            maskPlanes,
            scale,
          );
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('stackMaskOr', () => {
  const input = fc
    .record({
      dstNx: fc.integer({ min: 1, max: 20 }),
      dstNy: fc.integer({ min: 1, max: 20 }),
      srcNx: fc.integer({ min: 0, max: 20 }),
      srcNy: fc.integer({ min: 0, max: 20 }),
      nPlanes: fc.integer({ min: 0, max: 4 }),
    })
    .chain((g) =>
      fc.record({
        g: fc.constant(g),
        x0: fc.integer({ min: -25, max: 25 }),
        y0: fc.integer({ min: -25, max: 25 }),
        // any byte: non-zero bytes other than 1 must still OR in as 1
        src: fc.array(fc.constantFrom(0, 0, 1, 1, 2, 255), {
          minLength: g.nPlanes * g.srcNx * g.srcNy,
          maxLength: g.nPlanes * g.srcNx * g.srcNy,
        }),
        dst: fc.array(fc.constantFrom(0, 0, 1, 7), {
          minLength: g.nPlanes * g.dstNx * g.dstNy,
          maxLength: g.nPlanes * g.dstNx * g.dstNy,
        }),
      }),
    );

  it('matches the reference byte for byte (cutouts over every edge, bytes other than 0 and 1)', () => {
    fc.assert(
      fc.property(input, ({ g, x0, y0, src, dst }) => {
        const srcA = Uint8Array.from(src);
        const want = Uint8Array.from(dst);
        referenceKernels.stackMaskOr(want, g.dstNx, g.dstNy, srcA, g.srcNx, g.srcNy, g.nPlanes, x0, y0);
        for (const { name, kernels } of backends) {
          const got = Uint8Array.from(dst);
          kernels.stackMaskOr(got, g.dstNx, g.dstNy, srcA, g.srcNx, g.srcNy, g.nPlanes, x0, y0);
          if (!sameBits(want, got)) throw new Error(`${name}: ${firstDifference(want, got)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference on analysis-sized masks (10 × 200² run cutouts into a 240² stack, then OR over planes)', () => {
    let s = 99;
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const [nE, n, N] = [10, 200, 240];
    // safe masks as the reduction makes them: whole energy planes off, an offset cut (a disk) on the others
    const src = new Uint8Array(nE * n * n);
    for (let k = 3; k < nE; k++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++)
          src[(k * n + y) * n + x] = (x - 100) ** 2 + (y - 100) ** 2 < 90 ** 2 ? 1 : 0;
    for (const [x0, y0] of [
      [0, 0],
      [40, 40],
      [Math.floor(rnd() * 80) - 20, Math.floor(rnd() * 80) - 20],
      [-150, 190],
    ] as const) {
      const want = new Uint8Array(nE * N * N);
      referenceKernels.stackMaskOr(want, N, N, src, n, n, nE, x0, y0);
      const wantImage = new Uint8Array(n * n);
      for (let k = 0; k < nE; k++)
        referenceKernels.stackMaskOr(wantImage, n * n, 1, src.subarray(k * n * n), n * n, 1, 1, 0, 0);
      for (const { name, kernels } of backends) {
        const got = new Uint8Array(nE * N * N);
        kernels.stackMaskOr(got, N, N, src, n, n, nE, x0, y0);
        expect(sameBits(want, got), `${name} at (${x0}, ${y0}): ${firstDifference(want, got)}`).toBe(true);
        const image = new Uint8Array(n * n);
        for (let k = 0; k < nE; k++)
          kernels.stackMaskOr(image, n * n, 1, src.subarray(k * n * n), n * n, 1, 1, 0, 0);
        expect(sameBits(wantImage, image), `${name} image: ${firstDifference(wantImage, image)}`).toBe(true);
      }
    }
  });
});

describe('the kernels logarithm (fdlibm e_log.c)', () => {
  it('is bit-identical to V8 Math.log on 1e6 arguments across the whole range', async () => {
    const n = 1_000_000;
    const x = new Float64Array(n);
    const bits = new BigUint64Array(x.buffer);
    for (let i = 0; i < n; i++) {
      const r = i % 4;
      if (r === 0)
        bits[i] = BigInt(Math.floor(Math.random() * 2 ** 32)) << 31n || 1n; // any positive double
      else if (r === 1) x[i] = 1 + (Math.random() - 0.5) * 2 ** -Math.floor(Math.random() * 40);
      else if (r === 2)
        x[i] = Math.random() * 1e-310; // subnormal
      else x[i] = Math.exp((Math.random() - 0.5) * 1400);
    }
    x.set([
      0,
      -0,
      -1,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      1,
      2,
      Number.MIN_VALUE,
      Number.MAX_VALUE,
    ]);
    const want = x.map(Math.log);
    const probe = await instantiateKernelModule(wasmModulePath('mathProbe'));
    const got = new Float64Array(n);
    probe.call('logArray', ['in', null, 'out'], [x, n, got]);
    expect(sameBits(want, got), `wasm ${firstDifference(want, got)}`).toBe(true);
    const native = loadNativeAddon();
    if (native.ok) {
      const gotNative = new Float64Array(n);
      (native.addon.mathProbeLog as unknown as (x: Float64Array, out: Float64Array) => void)(x, gotNative);
      expect(sameBits(want, gotNative), `native ${firstDifference(want, gotNative)}`).toBe(true);
    }
  });
});

describe('stackIrfWeighted', () => {
  /** Segments p → q of a run grid (ni pixels) into a stack grid (nI pixels), each stack pixel used at most once. */
  const segments = (ni: number, nI: number) =>
    fc.array(fc.record({ p: fc.nat(), q: fc.nat(), n: fc.nat() }), { maxLength: 6 }).map((raw) => {
      const from: number[] = [];
      const to: number[] = [];
      const len: number[] = [];
      const used = new Uint8Array(nI);
      for (const r of raw) {
        if (ni === 0 || nI === 0) break;
        const p = r.p % ni;
        const q = r.q % nI;
        let n = Math.min(r.n % 8, ni - p, nI - q);
        for (let j = 0; j < n; j++)
          if (used[q + j]) {
            n = j;
            break;
          }
        for (let j = 0; j < n; j++) used[q + j] = 1;
        from.push(p);
        to.push(q);
        len.push(n);
      }
      return { from: Int32Array.from(from), to: Int32Array.from(to), len: Int32Array.from(len) };
    });
  const value = fc.oneof(
    { weight: 20, arbitrary: fc.float({ min: -1e6, max: 1e9, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0) },
  );
  const input = fc
    .record({
      ni: fc.integer({ min: 0, max: 30 }),
      nI: fc.integer({ min: 0, max: 40 }),
      nT: fc.integer({ min: 0, max: 4 }),
      nA: fc.integer({ min: 0, max: 5 }),
    })
    .chain((g) =>
      fc.record({
        g: fc.constant(g),
        seg: segments(g.ni, g.nI),
        data: fc.array(value, { minLength: g.nT * g.nA * g.ni, maxLength: g.nT * g.nA * g.ni }),
        weight: fc.array(value, { minLength: g.nT * g.ni, maxLength: g.nT * g.ni }),
        num: fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), {
          minLength: g.nT * g.nA * g.nI,
          maxLength: g.nT * g.nA * g.nI,
        }),
        den: fc.array(fc.double({ min: 0, max: 1e12, noNaN: true }), {
          minLength: g.nT * g.nI,
          maxLength: g.nT * g.nI,
        }),
      }),
    );

  it('matches the reference bit for bit (sums already under way, NaN/Inf values, segments anywhere)', () => {
    fc.assert(
      fc.property(input, ({ g, seg, data, weight, num, den }) => {
        const d = Float32Array.from(data);
        const w = Float32Array.from(weight);
        const args = (n: Float64Array, e: Float64Array) =>
          [n, e, d, w, seg.from, seg.to, seg.len, seg.from.length, g.ni, g.nI, g.nT, g.nA] as const;
        const wantNum = Float64Array.from(num);
        const wantDen = Float64Array.from(den);
        referenceKernels.stackIrfWeighted(...args(wantNum, wantDen));
        for (const { name, kernels } of backends) {
          const gotNum = Float64Array.from(num);
          const gotDen = Float64Array.from(den);
          kernels.stackIrfWeighted(...args(gotNum, gotDen));
          if (!sameBits(wantNum, gotNum)) throw new Error(`${name} num: ${firstDifference(wantNum, gotNum)}`);
          if (!sameBits(wantDen, gotDen)) throw new Error(`${name} den: ${firstDifference(wantDen, gotDen)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference on a PSF-sized stack (20 energies × 66 rad bins, 20² run grids into 22²)', () => {
    let s = 7;
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const [nT, nA, n, N] = [20, 66, 20, 22];
    const from: number[] = [];
    const to: number[] = [];
    const len: number[] = [];
    for (let y = 0; y < n; y++) {
      from.push(y * n);
      to.push((y + 1) * N + 2);
      len.push(n);
    }
    const seg = [Int32Array.from(from), Int32Array.from(to), Int32Array.from(len)] as const;
    const wantNum = new Float64Array(nT * nA * N * N);
    const wantDen = new Float64Array(nT * N * N);
    const got = backends.map(() => ({
      num: new Float64Array(wantNum.length),
      den: new Float64Array(wantDen.length),
    }));
    for (let run = 0; run < 3; run++) {
      const data = Float32Array.from({ length: nT * nA * n * n }, () => rnd() * 1e3);
      const weight = Float32Array.from({ length: nT * n * n }, () => rnd() * 1e9);
      referenceKernels.stackIrfWeighted(wantNum, wantDen, data, weight, ...seg, n, n * n, N * N, nT, nA);
      for (const [i, { kernels }] of backends.entries())
        kernels.stackIrfWeighted(got[i]!.num, got[i]!.den, data, weight, ...seg, n, n * n, N * N, nT, nA);
    }
    backends.forEach(({ name }, i) => {
      expect(sameBits(wantNum, got[i]!.num), `${name} num: ${firstDifference(wantNum, got[i]!.num)}`).toBe(
        true,
      );
      expect(sameBits(wantDen, got[i]!.den), `${name} den: ${firstDifference(wantDen, got[i]!.den)}`).toBe(
        true,
      );
    });
  });
});
