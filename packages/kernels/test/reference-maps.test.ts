// The map kernels against scalar versions of science spec §4.2–4.6 and §5 on random tables and points, with the
// edge cases: points on nodes and edges, outside the axes (→ 0), extrapolation, NaN, empty inputs.
import { describe, expect, it } from 'vitest';
import {
  evalAeffMap,
  evalBkgMap,
  evalEdispKernelMap,
  evalPsfMap,
  FLOAT32_TINY,
  pixelFovCoords,
  sampleNearest,
  stackAdd,
  stackMaskOr,
} from '../src/reference/index.js';
import { D, logLogIntegral, multilinear, random, skyToPixelScalar, wcsBlock } from './reference-scalar.js';

const rnd = random(42);
const f32 = Math.fround;

function close(a: number, b: number, rel: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

describe('evalAeffMap', () => {
  const eNodes = Array.from({ length: 12 }, (_, i) => 0.02 * 1.8 ** i);
  const offNodes = [0, 0.5, 1, 1.5, 2, 2.5];
  const table = Float64Array.from({ length: 12 * 6 }, () => rnd() * 1e5);
  const bounds = Float64Array.of(0.015, 2.3, -0.25, 2.75);
  const lnNodes = Float64Array.from(eNodes, Math.log);

  it('is bilinear in (ln E, offset) with extrapolation, × livetime, 0 outside the edges', () => {
    const offsets = Float64Array.from([
      ...Array.from({ length: 200 }, () => rnd() * 3.2 - 0.3),
      0,
      2.5,
      2.75,
      2.7500001,
      -0.25,
      Number.NaN,
    ]);
    const energies = Float64Array.from([
      ...Array.from({ length: 9 }, () => 0.01 + rnd() * 2.5),
      eNodes[3] as number,
      0.015,
      2.3,
      2.31,
    ]);
    const out = new Float32Array(energies.length * offsets.length);
    evalAeffMap(
      offsets,
      offsets.length,
      table,
      lnNodes,
      12,
      Float64Array.from(offNodes),
      6,
      bounds,
      energies,
      energies.length,
      1500,
      new Float64Array(2 * energies.length),
      out,
    );
    energies.forEach((e, t) => {
      offsets.forEach((o, p) => {
        const inside = e >= 0.015 && e <= 2.3 && o >= -0.25 && o <= 2.75;
        const v = inside
          ? Math.max(0, multilinear([Array.from(lnNodes), offNodes], table, [Math.log(e), o]))
          : 0;
        expect(close(out[t * offsets.length + p] as number, f32(v * 1500), 2e-7)).toBe(true);
      });
    });
  });

  it('writes zeros (not stale values) for energies outside the table', () => {
    const out = new Float32Array(3).fill(7);
    evalAeffMap(
      Float64Array.of(0.1, 0.2, 0.3),
      3,
      table,
      lnNodes,
      12,
      Float64Array.from(offNodes),
      6,
      bounds,
      Float64Array.of(50),
      1,
      1,
      new Float64Array(2),
      out,
    );
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });
});

describe('evalBkgMap', () => {
  const nE = 6;
  const nL = 5;
  const eEdges = Array.from({ length: nE + 1 }, (_, i) => 0.1 * 3 ** i);
  const eNodes = eEdges.slice(0, -1).map((lo, i) => Math.sqrt(lo * (eEdges[i + 1] as number)));
  const lonEdges = Array.from({ length: nL + 1 }, (_, i) => -2.5 + i);
  const nodes = lonEdges.slice(0, -1).map((lo) => lo + 0.5);
  const rates = Float64Array.from({ length: nE * nL * nL }, (_, i) => (i % 7 === 3 ? 0 : rnd() * 1e-4));
  const lnTable = rates.map((v) => Math.log(Math.max(v, FLOAT32_TINY)));
  const bounds = Float64Array.of(0.1, eEdges[nE] as number, -2.5, 2.5, -2.5, 2.5);

  it('integrates the ln-interpolated rate log-log over each bin, × Ω × scale, 0 outside the FoV', () => {
    const n = 300;
    const lon = Float64Array.from({ length: n }, (_, i) =>
      i === 0 ? 2.5 : i === 1 ? -2.6 : i === 2 ? Number.NaN : rnd() * 5.4 - 2.7,
    );
    const lat = Float64Array.from({ length: n }, () => rnd() * 5.4 - 2.7);
    const omega = Float64Array.from({ length: n }, () => 1e-7 * (1 + rnd()));
    const edges = Float64Array.of(0.05, 0.1, 0.3, 1.7, 10, 60, 100);
    const nK = edges.length - 1;
    const out = new Float32Array(nK * n);
    evalBkgMap(
      lon,
      lat,
      n,
      lnTable,
      Float64Array.from(eNodes, Math.log),
      nE,
      Float64Array.from(nodes),
      nL,
      Float64Array.from(nodes),
      nL,
      bounds,
      edges,
      nK,
      omega,
      1e6 * 1000,
      new Float64Array(3 * (nK + 1)),
      out,
    );
    const rate = (e: number, l: number, b: number): number => {
      if (!(e >= 0.1 && e <= (eEdges[nE] as number) && l >= -2.5 && l <= 2.5 && b >= -2.5 && b <= 2.5))
        return 0;
      const v = Math.exp(multilinear([eNodes.map(Math.log), nodes, nodes], lnTable, [Math.log(e), l, b]));
      return Math.abs(v) - FLOAT32_TINY <= FLOAT32_TINY ? 0 : v;
    };
    for (let p = 0; p < n; p++) {
      for (let k = 0; k < nK; k++) {
        const e1 = edges[k] as number;
        const e2 = edges[k + 1] as number;
        const expected = f32(
          logLogIntegral(
            e1,
            e2,
            rate(e1, lon[p] as number, lat[p] as number),
            rate(e2, lon[p] as number, lat[p] as number),
          ) *
            1e9 *
            (omega[p] as number),
        );
        expect(close(out[k * n + p] as number, expected, 1e-6)).toBe(true);
      }
    }
    expect(out[0 * n + 1]).toBe(0);
    expect(out[2 * n + 2]).toBe(0);
  });

  it('uses the ln form of the power law when the index is 1', () => {
    // y ∝ E^-1 → Γ = 1: I = y1·E1·ln(E2/E1)
    expect(close(logLogIntegral(1, 3, 2, 2 / 3), 2 * Math.log(3), 1e-12)).toBe(true);
    expect(logLogIntegral(1, 3, 0, 1)).toBe(0);
    expect(logLogIntegral(1, 3, 1, 0)).toBe(0);
  });
});

describe('evalPsfMap', () => {
  it('interpolates in (ln E, offset, rad) and normalises Σ 2π r Δr PSF = 1 (r in rad)', () => {
    const lnE = Float64Array.from([0.1, 1, 10, 100], Math.log);
    const off = Float64Array.of(0, 1, 2);
    const rad = Float64Array.of(0.005, 0.02, 0.05, 0.1, 0.3);
    const table = Float64Array.from({ length: 4 * 3 * 5 }, () => rnd() * 1e4);
    const radEdges = Float64Array.from({ length: 21 }, (_, i) => i * 0.02);
    const offsets = Float64Array.of(0.3, 1.7, 2.4, 4);
    const energies = Float64Array.of(0.5, 20, 1000);
    const out = new Float32Array(3 * 20 * 4);
    evalPsfMap(
      offsets,
      4,
      table,
      lnE,
      4,
      off,
      3,
      rad,
      5,
      Float64Array.of(0.05, 200, -0.5, 2.5, 0, 0.4),
      energies,
      3,
      radEdges,
      20,
      out,
    );
    for (let t = 0; t < 3; t++) {
      for (let p = 0; p < 4; p++) {
        let norm = 0;
        const raw: number[] = [];
        for (let r = 0; r < 20; r++) {
          const rc = ((radEdges[r] as number) + (radEdges[r + 1] as number)) / 2;
          const inside = (energies[t] as number) <= 200 && (offsets[p] as number) <= 2.5 && rc <= 0.4;
          const v = inside
            ? Math.max(
                0,
                multilinear([Array.from(lnE), Array.from(off), Array.from(rad)], table, [
                  Math.log(energies[t] as number),
                  offsets[p] as number,
                  rc,
                ]),
              )
            : 0;
          raw.push(v);
          norm += 2 * Math.PI * rc * D * 0.02 * D * v;
        }
        let check = 0;
        for (let r = 0; r < 20; r++) {
          const got = out[(t * 20 + r) * 4 + p] as number;
          expect(close(got, f32(norm > 0 ? (raw[r] as number) / norm : 0), 1e-6)).toBe(true);
          check += 2 * Math.PI * ((radEdges[r] as number) + 0.01) * D * 0.02 * D * got;
        }
        expect(norm > 0 ? Math.abs(check - 1) < 1e-6 : check === 0).toBe(true);
      }
    }
  });
});

describe('evalEdispKernelMap', () => {
  it('turns the migration pdf into reco-bin probabilities through its cumulative distribution', () => {
    const nE = 5;
    const nM = 8;
    const lnE = Float64Array.from([0.1, 0.5, 2, 8, 30], Math.log);
    const off = Float64Array.of(0, 1.5);
    const migraEdges = Float64Array.from({ length: nM + 1 }, (_, i) => 0.2 + i * 0.6);
    const table = Float64Array.from({ length: nE * nM * 2 }, () => rnd());
    const offsets = Float64Array.of(0.2, 1.1, 3);
    const energies = Float64Array.of(0.3, 1, 5);
    const reco = Float64Array.of(0.1, 0.5, 1, 2, 5, 20);
    const nK = 5;
    const out = new Float64Array(3 * nK * 3);
    evalEdispKernelMap(
      offsets,
      3,
      table,
      lnE,
      nE,
      nM,
      off,
      2,
      migraEdges,
      Float64Array.of(0.05, 50, -0.75, 2.25),
      energies,
      3,
      reco,
      nK,
      new Float64Array(nM + 1),
      out,
    );
    const nodes = Array.from(
      { length: nM },
      (_, m) => ((migraEdges[m] as number) + (migraEdges[m + 1] as number)) / 2,
    );
    for (let t = 0; t < 3; t++) {
      for (let p = 0; p < 3; p++) {
        const inside = (offsets[p] as number) <= 2.25;
        const pdf = nodes.map((mu) =>
          inside
            ? Math.max(
                0,
                multilinear([Array.from(lnE), nodes, Array.from(off)], table, [
                  Math.log(energies[t] as number),
                  mu,
                  offsets[p] as number,
                ]),
              )
            : 0,
        );
        const cum = [0];
        for (const [m, v] of pdf.entries()) cum.push((cum[m] as number) + v * 0.6);
        const total = cum[nM] as number;
        const C = (mu: number): number => {
          if (mu <= 0.2) return 0;
          if (mu >= (migraEdges[nM] as number)) return 1;
          const i = Math.min(nM - 1, Math.floor((mu - 0.2) / 0.6));
          const w = (mu - (migraEdges[i] as number)) / 0.6;
          return ((cum[i] as number) * (1 - w) + (cum[i + 1] as number) * w) / total;
        };
        let sum = 0;
        for (let k = 0; k < nK; k++) {
          const expected =
            total > 0
              ? Math.max(
                  0,
                  C((reco[k + 1] as number) / (energies[t] as number)) -
                    C((reco[k] as number) / (energies[t] as number)),
                )
              : 0;
          const got = out[(t * nK + k) * 3 + p] as number;
          expect(Math.abs(got - expected)).toBeLessThan(1e-12);
          sum += got;
        }
        expect(sum).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });
});

describe('pixelFovCoords', () => {
  it('gives the separation from the pointing and the §3.1 offset-frame angles of every pixel centre', () => {
    const wcs = wcsBlock(0, 83.633, 22.014, [5.5, 4.5], [-0.3, 0.3]);
    const [pra, pdec] = [84.9, 21.2];
    const cl = Math.cos(pra * D);
    const sl = Math.sin(pra * D);
    const cb = Math.cos(pdec * D);
    const sb = Math.sin(pdec * D);
    const pointing = Float64Array.of(cb * cl, cb * sl, sb, -sl, cl, 0, -sb * cl, -sb * sl, cb);
    const n = 10 * 8;
    const off = new Float64Array(n);
    const lon = new Float64Array(n);
    const lat = new Float64Array(n);
    pixelFovCoords(wcs, 10, 8, pointing, new Float64Array(23), off, lon, lat);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 10; x++) {
        // invert the CAR map numerically: pixel centre → sky by the spec's forward rotation
        const phi = -0.3 * (x + 1 - 5.5) * D;
        const th = 0.3 * (y + 1 - 4.5) * D;
        const nvec = [Math.cos(th) * Math.cos(phi), Math.cos(th) * Math.sin(phi), Math.sin(th)] as const;
        const b0 = 22.014 * D;
        const c1 = [
          nvec[0] * Math.cos(b0) - nvec[2] * Math.sin(b0),
          nvec[1],
          nvec[0] * Math.sin(b0) + nvec[2] * Math.cos(b0),
        ] as const;
        const ra = 83.633 + Math.atan2(c1[1], c1[0]) / D;
        const dec = Math.asin(c1[2]) / D;
        // the FoV angles are the CAR pixel angles of a 1°-per-pixel map centred on the pointing
        const [fx, fy] = skyToPixelScalar(0, pra, pdec, [1, 1], [1, 1], ra, dec);
        const p = y * 10 + x;
        expect(lon[p]).toBeCloseTo(fx, 10);
        expect(lat[p]).toBeCloseTo(fy, 10);
        const sep = Math.acos(Math.sin(dec * D) * sb + Math.cos(dec * D) * cb * Math.cos((ra - pra) * D)) / D;
        expect(off[p]).toBeCloseTo(sep, 9);
      }
    }
  });
});

describe('sampleNearest', () => {
  it('samples by rint of the pixel position, fill outside, on shared and on different projections', () => {
    const fine = wcsBlock(0, 83.633, 22.014, [50.5, 50.5], [-0.02, 0.02]);
    const coarse = wcsBlock(0, 83.633, 22.014, [5.5, 5.5], [-0.2, 0.2]);
    const tan = wcsBlock(1, 83.6, 22.1, [30.5, 30.5], [-0.03, 0.03]);
    const values = Uint8Array.from({ length: 2 * 100 * 100 }, () => (rnd() < 0.5 ? 1 : 0));
    const out = new Uint8Array(2 * 100);
    sampleNearest(coarse, 10, 10, fine, 100, 100, values, 2, 9, new Float64Array(23), out);
    for (let k = 0; k < 2; k++) {
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 10; x++) {
          // coarse centre x ↔ fine 49.5 + 10·(x − 4.5): exact half-integers, rounded half to even
          const fx = 49.5 + 10 * (x - 4.5);
          const fy = 49.5 + 10 * (y - 4.5);
          const ix = Math.round(fx) % 2 === 0 ? Math.round(fx) : Math.round(fx) - 1;
          const iy = Math.round(fy) % 2 === 0 ? Math.round(fy) : Math.round(fy) - 1;
          expect(out[k * 100 + y * 10 + x]).toBe(values[k * 10000 + iy * 100 + ix]);
        }
      }
    }
    const mask = Uint8Array.from({ length: 60 * 60 }, () => (rnd() < 0.7 ? 1 : 0));
    const onFine = new Uint8Array(100 * 100);
    sampleNearest(fine, 100, 100, tan, 60, 60, mask, 1, 0, new Float64Array(203), onFine);
    let outside = 0;
    for (let y = 0; y < 100; y += 7) {
      for (let x = 0; x < 100; x += 7) {
        const phi = -0.02 * (x + 1 - 50.5) * D;
        const th = 0.02 * (y + 1 - 50.5) * D;
        const b0 = 22.014 * D;
        const c = [
          Math.cos(th) * Math.cos(phi) * Math.cos(b0) - Math.sin(th) * Math.sin(b0),
          Math.cos(th) * Math.sin(phi),
          Math.cos(th) * Math.cos(phi) * Math.sin(b0) + Math.sin(th) * Math.cos(b0),
        ];
        const [mx, my] = skyToPixelScalar(
          1,
          83.6,
          22.1,
          [30.5, 30.5],
          [-0.03, 0.03],
          83.633 + Math.atan2(c[1] as number, c[0] as number) / D,
          Math.asin(c[2] as number) / D,
        );
        const ix = Math.round(mx);
        const iy = Math.round(my);
        const inside = ix >= 0 && ix < 60 && iy >= 0 && iy < 60;
        if (!inside) outside++;
        expect(onFine[y * 100 + x]).toBe(inside ? mask[iy * 60 + ix] : 0);
      }
    }
    expect(outside).toBeGreaterThan(0);
  });
});

describe('stacking', () => {
  it('adds scale × src where the mask holds and the value is finite, at the cutout offset, in float32', () => {
    const dst = new Float32Array(2 * 6 * 5).fill(0.1);
    const src = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) =>
      i === 5 ? Number.NaN : i === 6 ? Number.POSITIVE_INFINITY : rnd(),
    );
    const mask = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const expected = Float32Array.from(dst);
    for (let k = 0; k < 2; k++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 3; x++) {
          const s = k * 12 + y * 3 + x;
          const [dx, dy] = [x + 4, y + 2];
          const v = f32(0.7 * (src[s] as number));
          if (dx < 6 && dy < 5 && mask[s] && Number.isFinite(v))
            expected[k * 30 + dy * 6 + dx] = f32((expected[k * 30 + dy * 6 + dx] as number) + v);
        }
      }
    }
    stackAdd(dst, 6, 5, src, 3, 4, 2, 4, 2, mask, 2, 0.7);
    expect(Array.from(dst)).toEqual(Array.from(expected));
  });

  it('broadcasts a one-plane mask and ORs masks', () => {
    const dst = new Float32Array(3 * 4);
    stackAdd(
      dst,
      2,
      2,
      Float32Array.from({ length: 12 }, () => 1),
      2,
      2,
      3,
      0,
      0,
      Uint8Array.of(1, 0, 0, 1),
      1,
      1,
    );
    expect(Array.from(dst)).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]);
    const m = new Uint8Array(4);
    stackMaskOr(m, 2, 2, Uint8Array.of(1), 1, 1, 1, 1, 1);
    stackMaskOr(m, 2, 2, Uint8Array.of(0, 1), 2, 1, 1, -1, 0);
    expect(Array.from(m)).toEqual([1, 0, 0, 1]);
  });
});
