// The ring background's sums, as disk differences, against the definition: every pixel's ring summed term by term.
// Counts must come out exact (integers), the acceptance to ~1e-12, pixels whose ring holds no acceptance masked, and a
// ring holding a tiny share of its inner disk's acceptance summed right (where a difference of disk sums loses it).
import { loadKernels, referenceKernels } from '@pipe/kernels';
import { describe, expect, it } from 'vitest';
import { createWcsGeom, isGeomFailure, type WcsGeom } from '../src/geom/wcs-geom.js';
import { ringBackground, ringKernelOnGeom } from '../src/makers/ring-background.js';

function geomOf(nx: number, ny: number, binsize: number): WcsGeom {
  const g = createWcsGeom({ skydir: { lon: 83.6, lat: 22 }, binsize, width: [nx * binsize, ny * binsize] });
  if (isGeomFailure(g)) throw new Error(g.message);
  expect([g.nx, g.ny]).toEqual([nx, ny]);
  return g;
}

/** The definition: Σ over the ring's pixels around p of img, zero outside the map. */
function ringSums(img: Float64Array, nx: number, ny: number, ring: Float64Array, kn: number): Float64Array {
  const c = (kn - 1) / 2;
  const out = new Float64Array(nx * ny);
  for (let y = 0; y < ny; y++)
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let j = 0; j < kn; j++)
        for (let i = 0; i < kn; i++) {
          const xx = x + i - c;
          const yy = y + j - c;
          if (ring[j * kn + i] !== 0 && xx >= 0 && xx < nx && yy >= 0 && yy < ny)
            s += img[yy * nx + xx] as number;
        }
      out[y * nx + x] = s;
    }
  return out;
}

describe('ringBackground', () => {
  const nx = 61;
  const ny = 47;
  const n = nx * ny;
  const geom = geomOf(nx, ny, 0.02);
  let seed = 11;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed >>> 8;
  };
  const counts = Float32Array.from({ length: 2 * n }, () => next() % 6);
  // A smooth template, zero in a band (no acceptance: e.g. beyond the IRF's offsets) and with a bright spot.
  const acceptance = Float32Array.from({ length: 2 * n }, (_, q) => {
    const p = q % n;
    const x = p % nx;
    const y = Math.floor(p / nx);
    if (x < 6) return 0;
    return (1 + (q >= n ? 0.5 : 0)) * Math.exp(-((x - 30) ** 2 + (y - 23) ** 2) / 900) * 0.2;
  });
  // An excluded disk around the centre, larger than the ring's inner radius near its middle.
  const exclusion = Uint8Array.from({ length: n }, (_, p) =>
    ((p % nx) - 30) ** 2 + (Math.floor(p / nx) - 23) ** 2 < 49 ? 0 : 1,
  );

  it('gives α·N_off with the ring summed term by term, masks rings without acceptance, on every backend', async () => {
    const kernelsFor = [referenceKernels, await loadKernels('wasm'), await loadKernels()];
    const rings = ringKernelOnGeom(0.05, 0.06, geom);
    if (!rings) throw new Error('no ring');
    const { ring } = rings;
    for (const kernels of kernelsFor) {
      const maskSafe = new Uint8Array(2 * n).fill(1);
      const got = ringBackground(
        { counts, acceptance, maskSafe, exclusion, geom, nE: 2, kernels: rings },
        kernels,
      );
      let masked = 0;
      let withoutAcceptance = 0;
      for (let e = 0; e < 2; e++) {
        const plane = (a: ArrayLike<number>) =>
          Float64Array.from({ length: n }, (_, p) => (exclusion[p] ? (a[e * n + p] as number) : 0));
        const nOff = ringSums(plane(counts), nx, ny, ring.kernel, ring.kn);
        const aOff = ringSums(plane(acceptance), nx, ny, ring.kernel, ring.kn);
        for (let p = 0; p < n; p++) {
          const a = acceptance[e * n + p] as number;
          if (!(aOff[p]! > 0)) {
            expect(maskSafe[e * n + p], `masked at ${e}/${p}`).toBe(0);
            expect(got.background[e * n + p]).toBe(0);
            masked++;
            if (a > 0) withoutAcceptance++;
            continue;
          }
          expect(maskSafe[e * n + p]).toBe(1);
          const want = Math.fround((nOff[p]! * a) / aOff[p]!);
          const have = got.background[e * n + p] as number;
          expect(Math.abs(have - want), `pixel ${e}/${p}`).toBeLessThanOrEqual(2 * Math.abs(want) * 2 ** -23);
        }
      }
      // The band without acceptance is masked where the whole ring lies in it or in the excluded disk.
      expect(masked).toBeGreaterThan(50);
      expect(got.ringWithoutAcceptance).toBe(withoutAcceptance);
      expect(withoutAcceptance).toBeGreaterThan(0);
    }
  });

  it('keeps a ring whose acceptance is 1e-27 of its inner disk’s, where the difference of the disk sums loses it', () => {
    const big = new Float32Array(n);
    const tiny = 1e-20;
    // Huge acceptance inside the inner disk of pixel (30, 23), tiny on its ring, zero elsewhere.
    const rings = ringKernelOnGeom(0.1, 0.04, geom);
    if (!rings) throw new Error('no ring');
    const { ring, inner } = rings;
    const c = (ring.kn - 1) / 2;
    for (let j = 0; j < ring.kn; j++)
      for (let i = 0; i < ring.kn; i++) {
        const p = (23 + j - c) * nx + (30 + i - c);
        if (inner.kernel[j * ring.kn + i]) big[p] = 1e8;
        if (ring.kernel[j * ring.kn + i]) big[p] = tiny;
      }
    const maskSafe = new Uint8Array(n).fill(1);
    const got = ringBackground(
      {
        counts: new Float32Array(n).fill(1),
        acceptance: big,
        maskSafe,
        exclusion: undefined,
        geom,
        nE: 1,
        kernels: rings,
      },
      referenceKernels,
    );
    const centre = 23 * nx + 30;
    const nOff = ring.kernel.reduce((a, b) => a + b, 0);
    expect(maskSafe[centre]).toBe(1);
    // α·N_off = 1e8 · N_ring / (N_ring · 1e-20 as float32 sums): the ring's own sum, not the 1e8-sized noise.
    const want = (nOff * 1e8) / (nOff * Math.fround(tiny));
    expect(Math.abs((got.background[centre] as number) / want - 1)).toBeLessThan(1e-6);
  });
});
