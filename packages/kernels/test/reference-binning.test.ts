// binEvents against the scalar formulas of science spec §4.1 (§3.1 sky → pixel, scipy's energy coordinate,
// half-even rounding), on random events and on the edge cases: exact energy edges, pixel borders, NaN, outside.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binEvents, energyBinCoordinate, rint } from '../src/reference/index.js';
import { energyCoordScalar, rintScalar, skyToPixelScalar, wcsBlock } from './reference-scalar.js';

const LON0 = 83.633;
const LAT0 = 22.014;
const CRPIX: [number, number] = [15.5, 15.5];
const CDELT: [number, number] = [-0.02, 0.02];
const NX = 30;
const NY = 30;
const EDGES = Array.from({ length: 11 }, (_, k) =>
  k < 10 ? Math.exp((k * Math.log(10)) / 10) : Math.exp(Math.log(10)),
);
const LN_EDGES = Float64Array.from(EDGES, Math.log);

function scalarBin(
  projection: 0 | 1,
  ra: number[],
  dec: number[],
  energy: number[],
  nx: number,
  ny: number,
): Float32Array {
  const out = new Float32Array(10 * nx * ny);
  for (let i = 0; i < ra.length; i++) {
    const ie = rintScalar(energyCoordScalar(Array.from(LN_EDGES), Math.log(energy[i] as number)));
    const [x, y] = skyToPixelScalar(projection, LON0, LAT0, CRPIX, CDELT, ra[i] as number, dec[i] as number);
    const ix = rintScalar(x);
    const iy = rintScalar(y);
    if (ie >= 0 && ie < 10 && ix >= 0 && ix < nx && iy >= 0 && iy < ny)
      out[(ie * ny + iy) * nx + ix] = (out[(ie * ny + iy) * nx + ix] as number) + 1;
  }
  return out;
}

function kernelBin(
  projection: 0 | 1,
  ra: number[],
  dec: number[],
  energy: number[],
  nx = NX,
  ny = NY,
): Float32Array {
  const out = new Float32Array(10 * nx * ny);
  binEvents(
    Float64Array.from(ra),
    Float64Array.from(dec),
    Float64Array.from(energy),
    ra.length,
    wcsBlock(projection, LON0, LAT0, CRPIX, CDELT),
    nx,
    ny,
    LN_EDGES,
    10,
    out,
  );
  return out;
}

const event = fc.record({
  ra: fc.double({ min: 83.633 - 0.4, max: 83.633 + 0.4, noNaN: true }),
  dec: fc.double({ min: 22.014 - 0.35, max: 22.014 + 0.35, noNaN: true }),
  energy: fc.oneof(
    fc.double({ min: 0.5, max: 20, noNaN: true }),
    fc.constantFrom(...EDGES, 0, -1, Number.NaN, Number.POSITIVE_INFINITY),
  ),
});

describe('binEvents', () => {
  for (const projection of [0, 1] as const) {
    it(`agrees with the scalar §3.1/§4.1 formulas on random events (${projection === 0 ? 'CAR' : 'TAN'})`, () => {
      fc.assert(
        fc.property(fc.array(event, { maxLength: 200 }), (events) => {
          const ra = events.map((e) => e.ra);
          const dec = events.map((e) => e.dec);
          const energy = events.map((e) => e.energy);
          const a = kernelBin(projection, ra, dec, energy);
          const b = scalarBin(projection, ra, dec, energy, NX, NY);
          return a.every((v, i) => v === b[i]);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('puts an event exactly on energy edge k in the bin the computed coordinate rounds to', () => {
    for (let k = 0; k <= 10; k++) {
      const e = energyBinCoordinate(LN_EDGES, 11, LN_EDGES[k] as number);
      expect(e).toBe(energyCoordScalar(Array.from(LN_EDGES), LN_EDGES[k] as number));
      // within a rounding error of k − 0.5, so the event lands in bin k or k − 1, never elsewhere
      expect(Math.abs(e - (k - 0.5))).toBeLessThan(1e-12);
      expect([k - 1, k]).toContain(rint(e));
    }
  });

  it('keeps events inside [lo, hi) bins and pixels, and drops everything outside', () => {
    // pixel centres of (10, 20) at 1.5 TeV (bin 1), and several events that must be dropped
    const [ra, dec] = [83.633 + (0.02 * 4) / Math.cos(LAT0 * (Math.PI / 180)), 22.014];
    const counts = kernelBin(
      0,
      [ra, Number.NaN, ra, ra, 83.633 + 180],
      [dec, dec, 40, dec, -22],
      [1.5, 1.5, 1.5, 25, 1.5],
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
    const idx = counts.indexOf(1);
    expect(Math.floor(idx / (NX * NY))).toBe(1);
  });

  it('adds to the output it is given and does nothing for no events', () => {
    const out = new Float32Array(10 * NX * NY).fill(2);
    binEvents(
      new Float64Array(0),
      new Float64Array(0),
      new Float64Array(0),
      0,
      wcsBlock(0, LON0, LAT0, CRPIX, CDELT),
      NX,
      NY,
      LN_EDGES,
      10,
      out,
    );
    expect(out.every((v) => v === 2)).toBe(true);
    binEvents(
      Float64Array.of(LON0),
      Float64Array.of(LAT0 + 0.01),
      Float64Array.of(2),
      1,
      wcsBlock(0, LON0, LAT0, CRPIX, CDELT),
      NX,
      NY,
      LN_EDGES,
      10,
      out,
    );
    expect(out.reduce((a, b) => a + b, 0)).toBe(2 * out.length + 1);
  });

  it('bins only `count` events even when the arrays are longer', () => {
    const a = kernelBin(0, [LON0, LON0], [LAT0 + 0.01, LAT0 + 0.03], [2, 2]);
    const out = new Float32Array(10 * NX * NY);
    binEvents(
      Float64Array.of(LON0, LON0),
      Float64Array.of(LAT0 + 0.01, LAT0 + 0.03),
      Float64Array.of(2, 2),
      1,
      wcsBlock(0, LON0, LAT0, CRPIX, CDELT),
      NX,
      NY,
      LN_EDGES,
      10,
      out,
    );
    expect(out.reduce((s, v) => s + v, 0)).toBe(1);
    expect(a.reduce((s, v) => s + v, 0)).toBe(2);
  });
});
