// The reduction geometry of the shipped Crab config (pipelines/excess_map/crab.yaml), at any map width: 0.02° pixels
// centred on (83.633, 22.014), 0.2° IRF pixels, ten reco bins 1–10 TeV, twenty true bins 0.5–20 TeV, offset_max 2.5°.
import { isEnergyAxisFailure, logEnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, isGeomFailure } from '../src/geom/wcs-geom.js';
import { defaultRadEdges, type ReductionGeometry } from '../src/makers/index.js';

export function crabGeometry(widthDeg = 2.0): ReductionGeometry {
  const spec = {
    skydir: { lon: 83.633, lat: 22.014, frame: 'icrs' as const },
    binsize: 0.02,
    width: widthDeg,
  };
  const geom = createWcsGeom(spec);
  const irfGeom = createWcsGeom({ ...spec, binsize: 0.2 });
  const energy = logEnergyAxis('reco', 1, 10, 10);
  const energyTrue = logEnergyAxis('true', 0.5, 20, 20);
  if (
    isGeomFailure(geom) ||
    isGeomFailure(irfGeom) ||
    isEnergyAxisFailure(energy) ||
    isEnergyAxisFailure(energyTrue)
  )
    throw new Error('bad geometry');
  return { geom, irfGeom, energy, energyTrue, radEdges: defaultRadEdges(), offsetMax: 2.5 };
}
