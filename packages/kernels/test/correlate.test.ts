import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { correlateDisk, diskKernel, ringKernel } from '../src/reference/correlate.js';

/** The definition, written as plainly as possible: every kernel entry, every output pixel, bounds tested. */
function naiveCorrelate(
  img: Float64Array,
  nx: number,
  ny: number,
  kernel: Float64Array,
  kn: number,
): Float64Array {
  const c = (kn - 1) / 2;
  const out = new Float64Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let j = 0; j < kn; j++) {
        for (let i = 0; i < kn; i++) {
          const w = kernel[j * kn + i] as number;
          const xx = x + i - c;
          const yy = y + j - c;
          if (w !== 0 && xx >= 0 && xx < nx && yy >= 0 && yy < ny) s += w * (img[yy * nx + xx] as number);
        }
      }
      out[y * nx + x] = s;
    }
  }
  return out;
}

function run(img: Float64Array, nx: number, ny: number, kernel: Float64Array, kn: number): Float64Array {
  const out = new Float64Array(nx * ny).fill(Number.NaN); // stale content must be overwritten
  correlateDisk(img, nx, ny, kernel, kn, out);
  return out;
}

describe('diskKernel', () => {
  it('r = 5 px gives the 11×11 disk of gammapy with 81 ones (inclusive at distance exactly 5)', () => {
    const { kernel, kn } = diskKernel(5);
    expect(kn).toBe(11);
    expect(kernel.reduce((a, b) => a + b, 0)).toBe(81);
    const widths = Array.from({ length: 11 }, (_, j) =>
      kernel.subarray(j * 11, j * 11 + 11).reduce((a, b) => a + b, 0),
    );
    expect(widths).toEqual([1, 7, 9, 9, 9, 11, 9, 9, 9, 7, 1]);
    for (const [dx, dy] of [
      [5, 0],
      [0, -5],
      [3, 4],
      [-4, -3],
      [4, 3],
    ] as const)
      expect(kernel[(dy + 5) * 11 + dx + 5]).toBe(1);
    expect(kernel[(4 + 5) * 11 + 4 + 5]).toBe(0); // distance 5.66
    expect(Math.max(...kernel)).toBe(1);
  });

  it('size is the smallest odd integer ≥ 2r', () => {
    expect(diskKernel(0).kn).toBe(1);
    expect(Array.from(diskKernel(0.3).kernel)).toEqual([1]);
    expect(diskKernel(1).kn).toBe(3); // 2 → 3: a plus of 5 ones
    expect(diskKernel(1).kernel.reduce((a, b) => a + b, 0)).toBe(5);
    expect(diskKernel(2.5).kn).toBe(5);
    expect(diskKernel(2.6).kn).toBe(7);
    expect(diskKernel(25).kn).toBe(51);
  });

  it('rejects a negative or non-finite radius', () => {
    expect(() => diskKernel(-1)).toThrow(RangeError);
    expect(() => diskKernel(Number.NaN)).toThrow(RangeError);
  });
});

describe('ringKernel', () => {
  it("is astropy's Ring2DKernel normalised to peak 1 (sides and counts of ones from astropy 5.2)", () => {
    // Ring2DKernel(r_in, width).normalize('peak'): r_in = 0.5°/0.02° = 25 px, width 0.3°/0.02° = 15 px, …
    for (const [rIn, width, side, ones] of [
      [25, 15, 81, 3084],
      [25.000000000000004, 15, 81, 3064], // just past 25: the 20 centres at distance exactly 25 drop out
      [2.5, 1.5, 9, 28],
      [3, 2, 11, 56],
      [35, 35, 141, 11532],
    ] as const) {
      const { kernel, kn } = ringKernel(rIn, width);
      expect(kn, `r_in ${rIn}`).toBe(side);
      expect(
        kernel.reduce((a, b) => a + b, 0),
        `r_in ${rIn}`,
      ).toBe(ones);
      expect(new Set(kernel)).toEqual(new Set([0, 1]));
    }
    // Inclusive at both radii: distance 3 and 5 are in, 2.83 and 5.10 out.
    const { kernel } = ringKernel(3, 2);
    const at = (dx: number, dy: number) => kernel[(dy + 5) * 11 + dx + 5];
    expect([at(3, 0), at(0, -5), at(3, 4), at(2, 2), at(5, 1), at(0, 0)]).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('holds no pixel centre when the ring falls between them, and rejects a bad radius or width', () => {
    expect(ringKernel(1.1, 0.2).kernel.every((v) => v === 0)).toBe(true);
    expect(() => ringKernel(-1, 1)).toThrow(RangeError);
    expect(() => ringKernel(1, Number.NaN)).toThrow(RangeError);
  });
});

describe('correlateDisk', () => {
  it('orientation: an impulse at (px, py) spreads the kernel mirrored (correlation, not convolution)', () => {
    const nx = 7;
    const ny = 6;
    const img = new Float64Array(nx * ny);
    img[2 * nx + 3] = 1; // (x=3, y=2)
    // asymmetric 3×3 kernel, one distinct value per entry
    const kernel = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = run(img, nx, ny, kernel, 3);
    // out[y][x] = Σ k[j][i] img[y+j−1][x+i−1]  ⇒  out[2 − (j−1)][3 − (i−1)] = k[j][i]
    expect(out[(2 - 1) * nx + 3 - 1]).toBe(9); // j = 2, i = 2
    expect(out[(2 + 1) * nx + 3 + 1]).toBe(1); // j = 0, i = 0
    expect(out[2 * nx + 3]).toBe(5);
    expect(out.reduce((a, b) => a + b, 0)).toBe(45);
  });

  it('zero padding at the map edges: a disk on a constant map counts the in-map kernel pixels', () => {
    const n = 20;
    const img = new Float64Array(n * n).fill(1);
    const { kernel, kn } = diskKernel(5);
    const out = run(img, n, n, kernel, kn);
    expect(out[10 * n + 10]).toBe(81);
    expect(out[0]).toBe(naiveCorrelate(img, n, n, kernel, kn)[0]);
    // corner pixel: the quarter disk dx, dy ≥ 0 holds 6 + 5 + 5 + 5 + 4 + 1 = 26 pixels (rows dy = 0..5)
    expect(out[0]).toBe(26);
  });

  it('a kernel larger than the map sums the whole map into every pixel', () => {
    const img = Float64Array.from([1, 2, 3, 4, 5, 6]); // 3×2
    const kernel = new Float64Array(81).fill(1);
    expect(Array.from(run(img, 3, 2, kernel, 9))).toEqual([21, 21, 21, 21, 21, 21]);
    const { kernel: disk, kn } = diskKernel(40);
    expect(Array.from(run(img, 3, 2, disk, kn))).toEqual(Array.from(naiveCorrelate(img, 3, 2, disk, kn)));
  });

  it('a NaN only reaches the pixels whose footprint covers it', () => {
    const n = 15;
    const img = Float64Array.from({ length: n * n }, (_, i) => (i * 7) % 5);
    img[7 * n + 7] = Number.NaN;
    const { kernel, kn } = diskKernel(2);
    const out = run(img, n, n, kernel, kn);
    const clean = img.slice();
    clean[7 * n + 7] = 0;
    const expected = naiveCorrelate(clean, n, n, kernel, kn);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const covered = (x - 7) ** 2 + (y - 7) ** 2 <= 4;
        if (covered) expect(out[y * n + x]).toBeNaN();
        else expect(out[y * n + x]).toBe(expected[y * n + x]);
      }
    }
  });

  it('large disks (row cascade): ±Inf and NaN stay inside their footprints, integers stay exact', () => {
    const n = 40;
    const img = Float64Array.from({ length: n * n }, (_, i) => (i * 7) % 5);
    const { kernel, kn } = diskKernel(9.5);
    const clean = naiveCorrelate(img, n, n, kernel, kn);
    expect(Array.from(run(img, n, n, kernel, kn))).toEqual(Array.from(clean));
    const marks: [number, number, number][] = [
      [10, 12, Number.POSITIVE_INFINITY],
      [30, 25, Number.NaN],
    ];
    for (const [x0, y0, v] of marks) img[y0 * n + x0] = v;
    const out = run(img, n, n, kernel, kn);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const hits = marks.filter(([x0, y0]) => (x - x0) ** 2 + (y - y0) ** 2 <= 9.5 ** 2);
        const got = out[y * n + x] as number;
        if (hits.some(([, , v]) => Number.isNaN(v))) expect(got).toBeNaN();
        else if (hits.length > 0) expect(got).toBe(Number.POSITIVE_INFINITY);
        else expect(got).toBe(clean[y * n + x]);
      }
    }
  });

  it('kernels of centred runs with other values agree with the definition (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 9 }).chain((h) =>
          fc.array(fc.tuple(fc.integer({ min: -1, max: h }), fc.integer({ min: -3, max: 3 })), {
            minLength: 2 * h + 1,
            maxLength: 2 * h + 1,
          }),
        ),
        fc.integer({ min: 0, max: 1 << 30 }),
        (nx, ny, rows, seed) => {
          const kn = rows.length;
          const c = (kn - 1) / 2;
          const kernel = new Float64Array(kn * kn);
          rows.forEach(([w, v], j) => {
            for (let i = 0; i < kn; i++) if (Math.abs(i - c) <= w) kernel[j * kn + i] = v;
          });
          const img = Float64Array.from({ length: nx * ny }, (_, i) => ((seed + i * 2654435761) >>> 0) % 9);
          // Integer weights and pixels: every order of additions is exact, so equality is exact.
          expect(Array.from(run(img, nx, ny, kernel, kn))).toEqual(
            Array.from(naiveCorrelate(img, nx, ny, kernel, kn)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('integer images give exact sums, equal to the plain definition (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.double({ min: 0, max: 30, noNaN: true }),
        fc.integer({ min: 0, max: 1 << 30 }),
        (nx, ny, r, seed) => {
          const img = Float64Array.from({ length: nx * ny }, (_, i) => ((seed + i * 2654435761) >>> 0) % 7);
          const { kernel, kn } = diskKernel(r);
          expect(Array.from(run(img, nx, ny, kernel, kn))).toEqual(
            Array.from(naiveCorrelate(img, nx, ny, kernel, kn)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('float images and arbitrary kernels (runs, gaps, negative weights) agree with the definition (property)', () => {
    const kernelArb = fc.integer({ min: 0, max: 6 }).chain((h) =>
      fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: -3, max: 3, noNaN: true })), {
        minLength: (2 * h + 1) ** 2,
        maxLength: (2 * h + 1) ** 2,
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        kernelArb,
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 400, maxLength: 400 }),
        (nx, ny, k, values) => {
          const kernel = Float64Array.from(k);
          const kn = Math.round(Math.sqrt(k.length));
          const img = Float64Array.from({ length: nx * ny }, (_, i) => values[i] as number);
          const got = run(img, nx, ny, kernel, kn);
          const want = naiveCorrelate(img, nx, ny, kernel, kn);
          const scale = 1 + img.reduce((a, b) => a + Math.abs(b), 0) * 3;
          for (let i = 0; i < nx * ny; i++)
            expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThan(1e-12 * scale);
        },
      ),
      { numRuns: 200 },
    );
  });
});
