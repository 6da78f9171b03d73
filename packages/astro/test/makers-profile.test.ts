import { referenceKernels as K } from '@pipe/kernels';
import { it } from 'vitest';
import { openDataStore } from '../src/dl3/index.js';
import { logEnergyAxis, type EnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, type WcsGeom, npix } from '../src/geom/wcs-geom.js';
import { aeffInputs, bkgInputs, edispInputs, psfInputs, loadObservationData, type ObservationData, pointingGeometry, makeCounts, makeExposure, makeBackground, makePsfMap, makeEdispKernelMap, makeIrfExposure, defaultRadEdges } from '../src/makers/index.js';

it('profile', async () => {
  const store = await openDataStore('/work/shared/data/hess-dl3-dr1');
  let t = performance.now();
  const obs = (await loadObservationData(store.observation(23523))) as ObservationData;
  console.log('load', performance.now() - t);
  const spec = { skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.02, width: 2.0 };
  const geom = createWcsGeom(spec) as WcsGeom; const ig = createWcsGeom({ ...spec, binsize: 0.2 }) as WcsGeom;
  const e = logEnergyAxis('reco', 1, 10, 10) as EnergyAxis; const et = logEnergyAxis('true', 0.5, 20, 20) as EnergyAxis;
  for (let rep = 0; rep < 3; rep++) {
    const lap = (name: string) => { const n = performance.now(); console.log(rep, name, (n - t).toFixed(2)); t = n; };
    t = performance.now();
    const a = aeffInputs(obs.aeff!) as any; const b = bkgInputs(obs.bkg!) as any; const p = psfInputs(obs.psf!) as any; const d = edispInputs(obs.edisp!) as any; lap('inputs');
    const fov = pointingGeometry(geom, obs.pointing, K); lap('fov');
    makeCounts(obs.events, geom, e, K); lap('counts');
    makeExposure(a, fov.offset, npix(geom), et, 1000, K); lap('exposure');
    makeBackground(b, fov, geom, e, 1000, K); lap('background');
    const ifov = pointingGeometry(ig, obs.pointing, K); const iexp = makeIrfExposure(a, ifov.offset, 100, et, 1000, K); lap('irf fov+exp');
    makePsfMap(p, ifov.offset, 100, et, defaultRadEdges(), iexp, K); lap('psf');
    makeEdispKernelMap(d, ifov.offset, 100, et, e, iexp, K); lap('edisp');
  }
});
