// Differential tests: every compiled backend against the TypeScript reference (the specification),
// on random inputs (fast-check) including the awkward ones: NaN/±Inf, empty arrays, map edges.
// correlateDisk and cashStatistics are declared bit-identical (registry.ts), so they must match bit for bit.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../src/native/addon.js';
import { diskKernel, referenceKernels, ringKernel } from '../src/reference/index.js';
import { type CompiledBackend, compiledBackends, firstDifference, sameBits } from './backends-setup.js';

let backends: CompiledBackend[] = [];
beforeAll(async () => {
  backends = await compiledBackends();
});

const special = fc.constantFrom(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  1e-300,
  1e300,
);
const value = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 50 }) },
  { weight: 1, arbitrary: special },
);

describe('correlateDisk', () => {
  const geometry = fc.record({
    nx: fc.integer({ min: 0, max: 40 }),
    ny: fc.integer({ min: 0, max: 40 }),
    kh: fc.integer({ min: 0, max: 12 }),
  });
  const input = geometry.chain(({ nx, ny, kh }) => {
    const kn = 2 * kh + 1;
    return fc.record({
      nx: fc.constant(nx),
      ny: fc.constant(ny),
      kn: fc.constant(kn),
      img: fc.array(value, { minLength: nx * ny, maxLength: nx * ny }),
      // Disks (one run per row: the row cascade), centred runs of other values and widths, zero rows
      // included (the cascade with v ≠ 1), and general kernels (sliding window / direct sum).
      kernel: fc.oneof(
        fc.double({ min: 0, max: kh + 0.5, noNaN: true }).map((r) => diskOf(kn, r)),
        fc
          .array(fc.tuple(fc.integer({ min: -1, max: kh }), fc.double({ min: -2, max: 2, noNaN: true })), {
            minLength: kn,
            maxLength: kn,
          })
          .map((rows) => centredRunsOf(kn, rows)),
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })), {
          minLength: kn * kn,
          maxLength: kn * kn,
        }),
      ),
    });
  });

  it('matches the reference bit for bit on random maps and kernels', () => {
    expect(backends.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(input, ({ nx, ny, kn, img, kernel }) => {
        const imgA = Float64Array.from(img);
        const kernelA = Float64Array.from(kernel);
        const expected = new Float64Array(nx * ny).fill(7);
        referenceKernels.correlateDisk(imgA, nx, ny, kernelA, kn, expected);
        for (const { name, kernels } of backends) {
          const got = new Float64Array(nx * ny).fill(-3);
          kernels.correlateDisk(imgA, nx, ny, kernelA, kn, got);
          if (!sameBits(expected, got)) throw new Error(`${name}: ${firstDifference(expected, got)}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('native takes the FFT for large kernels over integer maps and still gives the exact sums (disks of 0.6°–1°, an asymmetric signed kernel; square and oblong maps)', () => {
    const addon = loadNativeAddon();
    if (!addon.ok) return; // backends-setup printed why (and fails under CI=true with cargo)
    const usesFft = addon.addon.correlateDiskUsesFft as (
      img: Float64Array,
      nx: number,
      ny: number,
      k: Float64Array,
      kn: number,
    ) => boolean;
    const native = backends.find((b) => b.name === 'native')!;
    let s = 3;
    const next = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s >>> 8;
    };
    // An asymmetric integer kernel (a correlation mistaken for a convolution would show), with negative weights.
    const kn = 41;
    const asymmetric = Float64Array.from({ length: kn * kn }, (_, i) => (i % 7 === 0 ? 0 : (next() % 7) - 3));
    const cases: Array<[number, number, Float64Array, number]> = [
      [200, 200, diskKernel(40).kernel, diskKernel(40).kn],
      [301, 157, diskKernel(50).kernel, diskKernel(50).kn],
      [97, 240, diskKernel(30).kernel, diskKernel(30).kn],
      [120, 90, asymmetric, kn],
    ];
    for (const [nx, ny, kernel, side] of cases) {
      // Counts (Poisson-like, a hot spot) and a signed integer image.
      const counts = Float64Array.from(
        { length: nx * ny },
        (_, i) => (next() % 7) + (i % nx === 40 ? 500 : 0),
      );
      const signed = Float64Array.from({ length: nx * ny }, () => (next() % 2001) - 1000);
      for (const img of [counts, signed]) {
        // Asked before the first call: the path a first (uncached) call takes.
        expect(usesFft(img, nx, ny, kernel, side), `${nx}×${ny} kn=${side}`).toBe(true);
        const expected = new Float64Array(nx * ny);
        referenceKernels.correlateDisk(img, nx, ny, kernel, side, expected);
        const got = new Float64Array(nx * ny).fill(Number.NaN);
        native.kernels.correlateDisk(img, nx, ny, kernel, side, got);
        expect(sameBits(expected, got), `${nx}×${ny} kn=${side}: ${firstDifference(expected, got)}`).toBe(
          true,
        );
      }
      // A float image (a background) takes the direct sum: the same bits too.
      const background = Float64Array.from({ length: nx * ny }, () => next() / 65536);
      expect(usesFft(background, nx, ny, kernel, side)).toBe(false);
      const expected = new Float64Array(nx * ny);
      referenceKernels.correlateDisk(background, nx, ny, kernel, side, expected);
      const got = new Float64Array(nx * ny);
      native.kernels.correlateDisk(background, nx, ny, kernel, side, got);
      expect(sameBits(expected, got), `float ${nx}×${ny} kn=${side}: ${firstDifference(expected, got)}`).toBe(
        true,
      );
    }
    // A 0.1° disk stays direct (cheaper).
    const small = diskKernel(5);
    expect(usesFft(new Float64Array(200 * 200), 200, 200, small.kernel, small.kn)).toBe(false);
  });

  it('matches on the excess-map case: 0.1° and 0.5° disks over a 200×200 Poisson-like map', () => {
    const nx = 200;
    const ny = 200;
    const img = new Float64Array(nx * ny);
    let s = 1;
    for (let i = 0; i < img.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      img[i] = (s >>> 8) % 7;
    }
    for (const r of [5, 25]) {
      const { kernel, kn } = diskKernel(r);
      const expected = new Float64Array(nx * ny);
      referenceKernels.correlateDisk(img, nx, ny, kernel, kn, expected);
      for (const { name, kernels } of backends) {
        const got = new Float64Array(nx * ny);
        kernels.correlateDisk(img, nx, ny, kernel, kn, got);
        expect(sameBits(expected, got), `${name} r=${r}: ${firstDifference(expected, got)}`).toBe(true);
      }
    }
  });

  it("matches on the ring background's case: rings of 0.5°+0.3° and 0.7°+0.7° over counts and a float acceptance", () => {
    const nx = 180;
    const ny = 150;
    let s = 7;
    const next = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s >>> 8;
    };
    const counts = Float64Array.from({ length: nx * ny }, () => next() % 5);
    // A smooth acceptance with an excluded disk (zeros), as a background template times an exclusion mask.
    const acceptance = Float64Array.from({ length: nx * ny }, (_, p) => {
      const dx = (p % nx) - 90;
      const dy = Math.floor(p / nx) - 75;
      return dx * dx + dy * dy < 15 * 15
        ? 0
        : Math.exp(-(dx * dx + dy * dy) / 5000) * 0.37 + 1e-3 * (next() % 3);
    });
    for (const [rIn, width] of [
      [25, 15],
      [35, 35],
    ]) {
      const { kernel, kn } = ringKernel(rIn as number, width as number);
      for (const img of [counts, acceptance]) {
        const expected = new Float64Array(nx * ny);
        referenceKernels.correlateDisk(img, nx, ny, kernel, kn, expected);
        for (const { name, kernels } of backends) {
          const got = new Float64Array(nx * ny);
          kernels.correlateDisk(img, nx, ny, kernel, kn, got);
          expect(
            sameBits(expected, got),
            `${name} ring ${rIn}+${width}: ${firstDifference(expected, got)}`,
          ).toBe(true);
        }
      }
    }
  });
});

describe('cashStatistics', () => {
  const pair = fc.tuple(
    fc.oneof(fc.integer({ min: 0, max: 5000 }), value),
    fc.oneof(
      fc.double({ min: 0, max: 5000, noNaN: true }),
      fc.double({ min: 0, max: 1e-20, noNaN: true }),
      value,
    ),
  );

  it('matches the reference bit for bit (n = 0, μ ≤ 1e-25, NaN, ±Inf, empty)', () => {
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 300 }), (pairs) => {
        const nOn = Float64Array.from(pairs, (p) => p[0]);
        const muB = Float64Array.from(pairs, (p) => p[1]);
        const len = nOn.length;
        const want = [new Float64Array(len), new Float64Array(len), new Float64Array(len)] as const;
        referenceKernels.cashStatistics(nOn, muB, want[0], want[1], want[2]);
        for (const { name, kernels } of backends) {
          const got = [new Float64Array(len), new Float64Array(len), new Float64Array(len)] as const;
          kernels.cashStatistics(nOn, muB, got[0], got[1], got[2]);
          for (let k = 0; k < 3; k++) {
            if (!sameBits(want[k] as Float64Array, got[k] as Float64Array))
              throw new Error(
                `${name} output ${k}: ${firstDifference(want[k] as Float64Array, got[k] as Float64Array)}`,
              );
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

/** Kernel whose row j is the run of rows[j][1] over columns c − w … c + w (w = rows[j][0]; −1: zeros). */
function centredRunsOf(kn: number, rows: [number, number][]): number[] {
  const c = (kn - 1) / 2;
  const out: number[] = [];
  for (let j = 0; j < kn; j++) {
    const [w, v] = rows[j] as [number, number];
    for (let i = 0; i < kn; i++) out.push(Math.abs(i - c) <= w ? v : 0);
  }
  return out;
}

function diskOf(kn: number, r: number): number[] {
  const c = (kn - 1) / 2;
  const out: number[] = [];
  for (let j = 0; j < kn; j++)
    for (let i = 0; i < kn; i++) out.push((i - c) ** 2 + (j - c) ** 2 <= r * r ? 1 : 0);
  return out;
}
