import { referenceKernels as K } from '/work/main/packages/kernels/dist/index.js';
import { openDataStore } from '/work/main/packages/astro/dist/dl3/index.js';
import { logEnergyAxis } from '/work/main/packages/astro/dist/geom/energy-axis.js';
import { createWcsGeom } from '/work/main/packages/astro/dist/geom/wcs-geom.js';
import { defaultRadEdges, loadObservationData, readSkyMask, reduceObservation, stackDatasets } from '/work/main/packages/astro/dist/makers/index.js';
const t0 = performance.now();
const store = await openDataStore('/work/shared/data/hess-dl3-dr1');
const runs = [];
for (const id of [23523, 23526, 23559, 23592]) runs.push(await loadObservationData(store.observation(id)));
const mask = readSkyMask('/work/shared/data/joint-crab/exclusion/exclusion_mask_crab.fits.gz');
const tLoad = performance.now() - t0;
const spec = { skydir: { lon: 83.633, lat: 22.014 }, binsize: 0.02, width: 2 };
const rg = { geom: createWcsGeom(spec), irfGeom: createWcsGeom({ ...spec, binsize: 0.2 }), energy: logEnergyAxis('reco', 1, 10, 10), energyTrue: logEnergyAxis('true', 0.5, 20, 20), radEdges: defaultRadEdges(), offsetMax: 2.5 };
const config = { maps: ['counts', 'exposure', 'background', 'psf', 'edisp'], safeMask: { methods: ['aeff-default'] }, background: { method: 'fov_background', exclusion: mask } };
const totals = [];
for (let pass = 0; pass < 15; pass++) {
  const t = performance.now();
  const per = [];
  const ds = runs.map((o) => { const a = performance.now(); const r = reduceObservation(o, rg, config, K).dataset; per.push(performance.now() - a); return r; });
  const a = performance.now();
  stackDatasets(ds, rg, K);
  totals.push({ total: performance.now() - t, per, stack: performance.now() - a });
}
totals.sort((a, b) => a.total - b.total);
const best = totals[0];
console.log(`load+read (index, 4 runs, IRFs, mask): ${tLoad.toFixed(1)} ms; reduce 4 runs + stack, best of 15: ${best.total.toFixed(1)} ms (per run ${best.per.map((x) => x.toFixed(1)).join(', ')}; stack ${best.stack.toFixed(1)}); median ${totals[7].total.toFixed(1)} ms`);
