import { referenceKernels as K } from '@pipe/kernels';
import { it } from 'vitest';
import { openDataStore } from '../src/dl3/index.js';
import { logEnergyAxis, type EnergyAxis } from '../src/geom/energy-axis.js';
import { createWcsGeom, type WcsGeom, npix } from '../src/geom/wcs-geom.js';
import { aeffInputs, bkgInputs, edispInputs, psfInputs, loadObservationData, type ObservationData, pointingGeometry, makeCounts, makeExposure, makeBackground, makePsfMap, makeEdispKernelMap, makeIrfExposure, defaultRadEdges, readSkyMask, projectMask, reduceObservation, stackDatasets, makeSafeMask, fovBackgroundNorm } from '../src/makers/index.js';

it('profile', async () => {
  const store = await openDataStore('/work/shared/data/hess-dl3-dr1');
  let t = performance.now();
  const obs = (await loadObservationData(store.observation(23523))) as ObservationData;
  console.log('load', performance.now() - t);
  const spec = { skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.02, width: 2.0 };
  const geom = createWcsGeom(spec) as WcsGeom; const ig = createWcsGeom({ ...spec, binsize: 0.2 }) as WcsGeom;
  const e = logEnergyAxis('reco', 1, 10, 10) as EnergyAxis; const et = logEnergyAxis('true', 0.5, 20, 20) as EnergyAxis;
  const mask = readSkyMask('/work/shared/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz') as any;
  const rg = { geom, irfGeom: ig, energy: e, energyTrue: et, radEdges: defaultRadEdges(), offsetMax: 2.5 };
  const config = { maps: ['counts', 'exposure', 'background', 'psf', 'edisp'] as any, safeMask: { methods: ['aeff-default'] as any }, background: { method: 'fov_background' as const, exclusion: mask } };
  for (let rep = 0; rep < 4; rep++) {
    const lap = (name: string) => { const n = performance.now(); console.log(rep, name, (n - t).toFixed(2)); t = n; };
    t = performance.now();
    const a = aeffInputs(obs.aeff!) as any; const b = bkgInputs(obs.bkg!) as any; const p = psfInputs(obs.psf!) as any; const d = edispInputs(obs.edisp!) as any; lap('inputs');
    const fov = pointingGeometry(geom, obs.pointing, K); lap('fov');
    const c = makeCounts(obs.events, geom, e, K); lap('counts');
    makeExposure(a, fov.offset, npix(geom), et, 1000, K); lap('exposure');
    const bg = makeBackground(b, fov, geom, e, 1000, K); lap('background');
    const ifov = pointingGeometry(ig, obs.pointing, K); const iexp = makeIrfExposure(a, ifov.offset, 100, et, 1000, K); lap('irf fov+exp');
    makePsfMap(p, ifov.offset, 100, et, defaultRadEdges(), iexp, K); lap('psf');
    makeEdispKernelMap(d, ifov.offset, 100, et, e, iexp, K); lap('edisp');
    const sm = makeSafeMask(['aeff-default'], { energy: e, npix: 10000, background: bg, aeffThresholds: a.thresholds }) as any; lap('safe');
    const ex = projectMask(mask, geom, K); lap('exclusion');
    fovBackgroundNorm(c, bg, sm.mask, ex, 10000, 10); lap('fovnorm');
    const r = reduceObservation(obs, rg, config, K) as any; lap('reduce total');
    stackDatasets([r.dataset, r.dataset, r.dataset, r.dataset], rg, K); lap('stack 4');
  }
});
