// Every backend refuses the same bad arguments with the same error, before its kernel runs (src/arguments.ts):
// WASM used to read stale memory of an earlier call or past an array's end, the reference to sum NaNs, and the
// backends answered differently for an even kernel width, falling edges or a WCS block without a rotation.
import { describe, expect, it } from 'vitest';
import {
  type BackendName,
  binEventsAsync,
  KernelArgumentError,
  type Kernels,
  loadKernels,
} from '../src/index.js';
import { nativeAddonFile } from '../src/native/addon.js';

const names: BackendName[] = ['js', 'wasm', ...(nativeAddonFile() ? (['native'] as const) : [])];
const backends: Array<[BackendName, Kernels]> = await Promise.all(
  names.map(async (b) => [b, await loadKernels(b)] as [BackendName, Kernels]),
);

/** A 10×10 CAR block centred on (0, 0), 0.1° pixels, identity rotation. */
const wcs = () => Float64Array.from([0, 5.5, 5.5, -0.1, 0.1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
const lnEdges = () => Float64Array.from([0, 0.5, 1]);

/** What calling `run` on each backend throws: one message for all of them, a KernelArgumentError. */
function refusal(run: (k: Kernels) => void): string {
  const messages = backends.map(([name, k]) => {
    try {
      run(k);
    } catch (error) {
      expect(error, name).toBeInstanceOf(KernelArgumentError);
      return (error as Error).message;
    }
    return `${name}: no error`;
  });
  expect(new Set(messages).size, messages.join(' | ')).toBe(1);
  return messages[0] as string;
}

describe('kernel arguments, checked alike on every backend', () => {
  it('a short array, whichever it is: named with its length and the length required', () => {
    const n = 4;
    const nOn = new Float64Array(n).fill(3);
    expect(
      refusal((k) =>
        k.cashStatistics(
          nOn,
          new Float64Array(1),
          new Float64Array(n),
          new Float64Array(n),
          new Float64Array(n),
        ),
      ),
    ).toBe('cashStatistics: muB: length 1 < required 4');
    expect(
      refusal((k) =>
        k.cashStatistics(
          nOn,
          new Float64Array(n),
          new Float64Array(n),
          new Float64Array(2),
          new Float64Array(n),
        ),
      ),
    ).toBe('cashStatistics: outTs: length 2 < required 4');
    expect(
      refusal((k) =>
        k.correlateDisk(new Float64Array(50), 10, 10, new Float64Array(9), 3, new Float64Array(100)),
      ),
    ).toBe('correlateDisk: img: length 50 < required 100');
    expect(
      refusal((k) =>
        k.stackAdd(
          new Float32Array(100),
          10,
          10,
          new Float32Array(25),
          5,
          5,
          1,
          0,
          0,
          new Uint8Array(10),
          1,
          1,
        ),
      ),
    ).toBe('stackAdd: mask: length 10 < required 25');
    const ra = new Float64Array(1000);
    expect(
      refusal((k) =>
        k.binEvents(ra, new Float64Array(10), ra, 1000, wcs(), 10, 10, lnEdges(), 2, new Float32Array(200)),
      ),
    ).toBe('binEvents: dec: length 10 < required 1000');
  });

  it('an array of the wrong type, and a size that is no count', () => {
    const ra = new Float64Array(10);
    expect(
      refusal((k) =>
        k.binEvents(
          new Float32Array(10) as unknown as Float64Array,
          ra,
          ra,
          10,
          wcs(),
          10,
          10,
          lnEdges(),
          2,
          new Float32Array(200),
        ),
      ),
    ).toBe('binEvents: ra: a Float64Array is required, not Float32Array');
    expect(
      refusal((k) =>
        k.correlateDisk(new Float64Array(100), 10, 10, new Float64Array(9), -3, new Float64Array(100)),
      ),
    ).toBe('correlateDisk: kn: -3 is not a non-negative integer');
  });

  it('what the backends would answer differently: an even kernel width, falling or NaN edges, no rotation', () => {
    expect(
      refusal((k) =>
        k.correlateDisk(new Float64Array(100), 10, 10, new Float64Array(16), 4, new Float64Array(100)),
      ),
    ).toBe('correlateDisk: kn: 4 must be odd');
    const ra = new Float64Array(10);
    const bin = (w: Float64Array, edges: Float64Array) => (k: Kernels) =>
      k.binEvents(ra, ra, ra, 10, w, 10, 10, edges, 2, new Float32Array(200));
    expect(refusal(bin(wcs(), Float64Array.from([1, 0.5, 0])))).toBe(
      'binEvents: lnEdges: edges must rise: edge 1 (0.5) after 1',
    );
    expect(refusal(bin(wcs(), Float64Array.from([0, Number.NaN, 1])))).toBe(
      'binEvents: lnEdges: edge 1 is NaN',
    );
    const flat = wcs().fill(0, 5);
    expect(refusal(bin(flat, lnEdges()))).toBe(
      'binEvents: wcs: its rotation (values 5–13) is not a rotation matrix',
    );
    const noPixel = wcs();
    noPixel[3] = 0;
    expect(refusal(bin(noPixel, lnEdges()))).toBe('binEvents: wcs: cdelt1 is 0');
  });

  it('binEventsAsync checks as binEvents does, on every backend (the native one runs as a pool task)', async () => {
    const ra = new Float64Array(10);
    const flat = wcs().fill(0, 5);
    for (const backend of names)
      await expect(
        binEventsAsync([ra, ra, ra, 10, flat, 10, 10, lnEdges(), 2, new Float32Array(200)], { backend }),
      ).rejects.toThrow(/binEvents: wcs: its rotation .* is not a rotation matrix/);
  });

  it('good arguments still give every backend the same counts', () => {
    const n = 100;
    const ra = Float64Array.from({ length: n }, (_, i) => ((i % 10) - 4.5) * 0.09);
    const dec = Float64Array.from({ length: n }, (_, i) => (Math.floor(i / 10) - 4.5) * 0.09);
    const energy = new Float64Array(n).fill(Math.exp(0.25));
    const counts = backends.map(([, k]) => {
      const out = new Float32Array(200);
      k.binEvents(ra, dec, energy, n, wcs(), 10, 10, lnEdges(), 2, out);
      return Array.from(out);
    });
    expect(counts[0]?.reduce((a, b) => a + b, 0)).toBeGreaterThan(n / 2); // most fall inside the 1°×1° map
    for (const c of counts) expect(c).toEqual(counts[0]);
  });
});
