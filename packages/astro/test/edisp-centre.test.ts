/** The EDISP kernel the flux maps use: at the IRF grid's centre pixel, or the nearest pixel where it is not empty. */
import { referenceKernels } from '@pipe/kernels';
import { describe, expect, it } from 'vitest';
import { type EnergyAxis, logEnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, type WcsGeom } from '../src/geom/wcs-geom.js';
import { edispKernelAtMapCentre, type MapDataset } from '../src/makers/index.js';

describe('edispKernelAtMapCentre', () => {
  // 16 × 11 pixels centred on the reference pixel: gammapy tests pixel x = rint(7.5) = 8 for "valid" and reads the
  // kernel at the nearest pixel of the centre, the tie going low: x = 7.
  const geom = createWcsGeom({
    skydir: { lon: 358.5, lat: -14.6 },
    binsize: 0.1,
    width: [1.6, 1.1],
  }) as WcsGeom;
  const energy = logEnergyAxis('reco', 1, 10, 2) as EnergyAxis;
  const energyTrue = logEnergyAxis('true', 0.5, 20, 3) as EnergyAxis;
  const ni = geom.nx * geom.ny;
  const dataset = (empty: Array<[number, number]>): MapDataset => {
    const data = new Float64Array(3 * 2 * ni).fill(0.25);
    for (const [x, y] of empty) for (let tk = 0; tk < 6; tk++) data[tk * ni + y * geom.nx + x] = 0;
    return {
      geom,
      irfGeom: geom,
      energy,
      energyTrue,
      maskSafe: new Uint8Array(2 * ni).fill(1),
      edisp: { data, exposure: new Float32Array(3 * ni).fill(1) },
    } as unknown as MapDataset;
  };

  it('reads the centre pixel when its kernel is there', () => {
    expect([geom.nx, geom.ny]).toEqual([16, 11]);
    const k = edispKernelAtMapCentre(dataset([]), referenceKernels);
    expect(k.pixel).toEqual([7, 5]);
    expect(k.matrix.every((v) => v === 0.25)).toBe(true);
  });

  it('moves to the nearest pixel with a kernel when the one read is empty, though the one tested is not', () => {
    // Before, the kernel read was all zeros: every flux and norm pixel ±inf.
    const k = edispKernelAtMapCentre(dataset([[7, 5]]), referenceKernels);
    expect(k.pixel).not.toEqual([7, 5]);
    expect(Math.abs(k.pixel[0] - 7.5) + Math.abs(k.pixel[1] - 5)).toBeLessThanOrEqual(1.5);
    expect(k.matrix.every((v) => v === 0.25)).toBe(true);
  });
});
