/** The analysis grids of the `datasets.geom` config section (gammapy's WcsGeom.create and MapAxis.from_energy_bounds). */
import type { AnalysisConfig } from '../config/index.js';
import { createWcsGeom, isEnergyAxisFailure, isGeomFailure, logEnergyAxis } from '../geom/index.js';
import { defaultRadEdges, type ReductionGeometry } from '../makers/index.js';

export function reductionGeometry(ds: AnalysisConfig['datasets']): ReductionGeometry {
  const wcs = ds.geom.wcs;
  const spec = {
    skydir: { lon: wcs.skydir.lon!, lat: wcs.skydir.lat!, frame: wcs.skydir.frame ?? 'icrs' },
    binsize: wcs.binsize,
    width: [wcs.width.width, wcs.width.height] as const,
  };
  const geom = createWcsGeom(spec);
  const irfGeom = createWcsGeom({ ...spec, binsize: wcs.binsize_irf });
  const axes = ds.geom.axes;
  const energy = logEnergyAxis('reco', axes.energy.min, axes.energy.max, axes.energy.nbins);
  const energyTrue = logEnergyAxis(
    'true',
    axes.energy_true.min,
    axes.energy_true.max,
    axes.energy_true.nbins,
  );
  for (const g of [geom, irfGeom]) if (isGeomFailure(g)) throw new Error(`datasets.geom.wcs: ${g.message}`);
  for (const a of [energy, energyTrue])
    if (isEnergyAxisFailure(a)) throw new Error(`datasets.geom.axes: ${a.message}`);
  return {
    geom: geom as Exclude<typeof geom, { reason: string }>,
    irfGeom: irfGeom as Exclude<typeof irfGeom, { reason: string }>,
    energy: energy as Exclude<typeof energy, { reason: string }>,
    energyTrue: energyTrue as Exclude<typeof energyTrue, { reason: string }>,
    radEdges: defaultRadEdges(),
    offsetMax: ds.geom.selection.offset_max,
  };
}

/** The datasets section without file paths (those are task inputs), for the task key. */
export function dropDatasetPaths(ds: AnalysisConfig['datasets']): void {
  delete (ds.background as { exclusion?: string | null }).exclusion;
}
