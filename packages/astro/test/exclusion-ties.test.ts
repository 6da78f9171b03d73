// Exclusion-mask sampling ties (no shared data needed): map pixel centres on edges of the mask's pixels.
import { referenceKernels } from '@pipe/kernels';
import { expect, it } from 'vitest';
import { maskBoundaryTies, projectMask, sampleMaskNearest } from '../src/makers/exclusion.js';
import { createWcs } from '../src/wcs/wcs.js';

// A mask grid commensurate with the map's but offset by half a pixel puts map pixel centres on mask pixel edges,
// where gammapy's choice is its WCS round trip's rounding noise (a PKS 2155-304 cross-check: a 0.05° mask of
// 140 pixels on a 0.03° map of 99 put 28 centres on the exclusion circle's edges and moved the FoV norm by 1.5e-3).
it('counts the map pixel centres on an edge between usable and excluded mask pixels (the ties a shift flips)', () => {
  const centre = [329.71694, -30.2255] as const;
  // 0.05° mask, 40 (even) columns: its edges pass through the centre; 41 rows: no row edge meets a 0.03° centre.
  const mnx = 40;
  const mny = 41;
  const data = new Uint8Array(mnx * mny);
  for (let j = 0; j < mny; j++)
    for (let i = 0; i < mnx; i++) data[j * mnx + i] = Math.hypot(i - 19.5, j - 20) > 6.2 ? 1 : 0;
  const maskWcs = createWcs({
    frame: 'icrs',
    projection: 'CAR',
    crval: centre,
    crpix: [(mnx + 1) / 2, (mny + 1) / 2],
    cdelt: [-0.05, 0.05],
  });
  const mask = { wcs: maskWcs, nx: mnx, ny: mny, data };
  const map = (dx: number, binsize = 0.03, nx = 33, ny = 33) => ({
    wcs: createWcs({
      frame: 'icrs',
      projection: 'CAR',
      crval: centre,
      crpix: [(nx + 1) / 2 + dx, (ny + 1) / 2],
      cdelt: [-binsize, binsize],
    }),
    nx,
    ny,
  });
  const ties = maskBoundaryTies(mask, map(0));
  expect(ties).toBeGreaterThan(0);
  // Moving the map by a millionth of a pixel either way decides every tie: exactly the counted pixels flip.
  const left = projectMask(mask, map(-1e-6), referenceKernels);
  const right = projectMask(mask, map(1e-6), referenceKernels);
  let flipped = 0;
  for (let p = 0; p < left.length; p++) if (left[p] !== right[p]) flipped++;
  expect(ties).toBe(flipped);
  // The mask on the map's own grid, or a mask usable everywhere: no tie that matters.
  expect(maskBoundaryTies(mask, map(0, 0.05, mnx, mny))).toBe(0);
  expect(maskBoundaryTies({ ...mask, data: new Uint8Array(mnx * mny).fill(1) }, map(0))).toBe(0);
});

// projectMask and maskBoundaryTies remember their result per mask and exact geometry (a worker reduces run after run
// on one geometry): a repeat returns the same values, never an array a caller changed, nor another geometry's.
it('a projection asked again is the same, unaffected by a caller changing its copy, and per exact geometry', () => {
  const centre = [83.633, 22.014] as const;
  const n = 21;
  const data = new Uint8Array(n * n);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) data[j * n + i] = Math.hypot(i - 10, j - 10) > 4 ? 1 : 0;
  const mask = {
    wcs: createWcs({ frame: 'icrs', projection: 'CAR', crval: centre, crpix: [11, 11], cdelt: [-0.1, 0.1] }),
    nx: n,
    ny: n,
    data,
  };
  const map = (crpixX: number) => ({
    wcs: createWcs({
      frame: 'icrs',
      projection: 'TAN',
      crval: centre,
      crpix: [crpixX, 16],
      cdelt: [-0.07, 0.07],
    }),
    nx: 31,
    ny: 31,
  });
  const first = projectMask(mask, map(16), referenceKernels);
  const excluded = first.reduce((k, v) => k + (v === 0 ? 1 : 0), 0);
  expect(excluded).toBeGreaterThan(20);
  first.fill(7);
  const again = projectMask(mask, map(16), referenceKernels);
  expect(again.reduce((k, v) => k + (v === 0 ? 1 : 0), 0)).toBe(excluded);
  expect(again.every((v) => v === 0 || v === 1)).toBe(true);
  // The outside fill is part of what is remembered: a map reaching past the mask image.
  const wide = { ...map(16), nx: 61, ny: 61, wcs: map(31).wcs };
  const outsideTwo = projectMask(mask, wide, referenceKernels, 2);
  const outsideZero = projectMask(mask, wide, referenceKernels);
  expect(outsideTwo.some((v) => v === 2)).toBe(true);
  expect(outsideZero.some((v) => v === 2)).toBe(false);
  // Shifted by 5 pixels: another geometry, another answer, the one computed afresh for it.
  const shifted = projectMask(mask, map(21), referenceKernels);
  expect(shifted).not.toEqual(again);
  expect(shifted).toEqual(sampleMaskNearest(mask, map(21)));
  expect(again).toEqual(sampleMaskNearest(mask, map(16)));
});
