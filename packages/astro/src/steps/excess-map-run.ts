/** What step `astro.excess_map` (excess-map.ts) runs: the estimator, the products and the summary. */
import { writeFileSync } from 'node:fs';
import type { StepContext, StepResult } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import {
  excessMap,
  type FluxQuantity,
  midBinTies,
  type OptionalQuantity,
  summarizeExcessMap,
} from '../estimators/index.js';
import { namedSkyPosition } from '../estimators/summary.js';
import { isEnergyAxisFailure, logEnergyAxis } from '../geom/index.js';
import { edispKernelAtMapCentre, isDatasetReadFailure, readDataset } from '../makers/index.js';
import { pixelToSky } from '../wcs/index.js';
import { energyEdgesSet, type Params, selectionOptional } from './excess-map.js';
import { declaredFluxQuantities, undeclaredOptionalMaps, writeProductMaps } from './products.js';

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  const stackedFile = ctx.inputs['stacked']?.[0];
  if (!stackedFile) throw new Error("input 'stacked' (the stacked dataset) is missing");
  const ds = readDataset(stackedFile);
  if (isDatasetReadFailure(ds)) throw new Error(ds.message);
  const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
  const cfg = ctx.params.excess_map;
  const params = cfg.parameters as {
    selection_optional?: unknown;
    n_sigma?: number;
    n_sigma_ul?: number;
    correlate_off?: boolean | null;
  };
  const optional = selectionOptional(params.selection_optional) as OptionalQuantity[];
  let energyEdges: Float64Array | undefined;
  const ee = cfg.energy_edges;
  if (energyEdgesSet(ee)) {
    const axis = logEnergyAxis('reco', ee.min, ee.max, ee.nbins);
    if (isEnergyAxisFailure(axis)) throw new Error(`excess_map.energy_edges: ${axis.message}`);
    energyEdges = axis.edges;
  }
  const edisp = edispKernelAtMapCentre(ds, kernels);
  if (edisp.tie)
    ctx.log.warn(
      `the energy dispersion is read at IRF pixel (${edisp.pixel.join(', ')}), the one nearest the map centre, but the centre lies on its ${edisp.tie.length > 1 ? 'corner' : 'edge'} with IRF pixel${edisp.tie.length > 1 ? 's' : ''} ${edisp.tie.map((p) => `(${p.join(', ')})`).join(', ')} up to rounding (1e-13 pixel): gammapy 1.0 (wcslib's arithmetic) may read ${edisp.tie.length > 1 ? 'one of those' : 'that one'}, and its norm and flux maps then differ slightly`,
    );
  const result = excessMap(
    {
      counts: ds.counts,
      background: ds.background,
      maskSafe: ds.maskSafe,
      nx: ds.geom.nx,
      ny: ds.geom.ny,
      nEnergy: ds.counts.length / (ds.geom.nx * ds.geom.ny),
      energyEdgesReco: ds.energy.edges,
      binsizeDeg: (Math.abs(ds.geom.wcs.cdelt[0]) + Math.abs(ds.geom.wcs.cdelt[1])) / 2,
      correlationRadiusDeg: cfg.correlation_radius,
      exposure: ds.exposure,
      energyEdgesTrue: ds.energyTrue.edges,
      edispKernel: edisp.matrix,
      ...(params.n_sigma !== undefined ? { nSigma: params.n_sigma } : {}),
      ...(params.n_sigma_ul !== undefined ? { nSigmaUl: params.n_sigma_ul } : {}),
      ...(optional.length > 0 ? { selectionOptional: optional } : {}),
      ...(energyEdges ? { energyEdges } : {}),
      // 'flux' always: the summary's peak reports it, whichever flux maps the target writes.
      fluxQuantities: [...new Set<FluxQuantity>(['flux', ...declaredFluxQuantities(ctx.outputs)])],
      // An unstacked ring-background run: WStat, as gammapy's estimator on a MapDatasetOnOff.
      // gammapy's default is true; `correlate_off: null` reaches its estimator as None, which its `if` takes as false.
      ...(ds.onOff
        ? {
            onOff: ds.onOff,
            correlateOff: params.correlate_off === undefined || params.correlate_off === true,
          }
        : {}),
    },
    kernels,
  );
  if (!result.ok) {
    const error = new Error(`excess map: ${result.message}`);
    // Edges that do not fit the dataset's energy axis: blame the setting (the build says where it was written).
    throw result.reason === 'energy-edges-invalid'
      ? Object.assign(error, { param: ['excess_map', 'energy_edges'] })
      : error;
  }
  const maps = result.value;
  // Every group boundary is a reco-axis edge, which gammapy 1.0 finds again by np.digitize of edges it recomputes on
  // both sides: an ulp decides, and on some CPUs and numpy builds a boundary comes out one reco bin lower.
  if (maps.bins.length > 1)
    ctx.log.warn(
      `excess_map.energy_edges makes ${maps.bins.length} groups of whole reco bins, as gammapy's MapAxis.group_table does; gammapy 1.0 then resamples with edges it recomputes, and its float rounding may put a group boundary one reco bin lower (it depends on numpy's build and the CPU): compare the groups' maps with gammapy's with that in mind (README)`,
    );
  // A boundary exactly mid-bin: gammapy's side depends on its arithmetic in the config's units and numpy's exp/log.
  const ties = energyEdges ? midBinTies(ds.energy.edges, energyEdges) : [];
  if (ties.length > 0)
    ctx.log.warn(
      `excess_map.energy_edges: ${ties.map((e) => `${Number(e.toPrecision(6))} TeV`).join(', ')} ${ties.length === 1 ? 'lies' : 'lie'} exactly mid-way through a reco energy bin (in log): the group boundary goes to the side gammapy 1.0 takes with glibc's exp and log on a TeV axis; with the config's energies in another unit (GeV), or numpy's AVX-512 exp and log, gammapy may take the other side (README)`,
    );
  const toSky = (x: number, y: number) => {
    const [lon, lat] = pixelToSky(ds.geom.wcs, x, y);
    return { lon, lat };
  };
  const summary = summarizeExcessMap(maps, { pixelToSky: toSky });
  // A map of zeros is a result gammapy gives too, but seldom the one meant: say which input left it empty.
  const maskSafe = ds.maskSafe;
  // Stops at the first safe non-zero value (real data: within the first rows), rather than summing the cube.
  const zeroWhereSafe = (cube: Float32Array) => {
    for (let i = 0; i < cube.length; i++) if (maskSafe[i] && cube[i] !== 0) return false;
    return true;
  };
  if (ds.runs.length > 0 && zeroWhereSafe(ds.counts))
    ctx.log.warn(
      'the stacked counts are zero inside the safe mask: no event of the selected runs falls in the map and energy range where the safe mask kept data (with what the background method masked in the runs: a refused FoV fit, pixels whose ring holds no acceptance)',
    );
  else if (ds.runs.length > 0 && zeroWhereSafe(ds.background))
    ctx.log.warn(
      'the stacked background is zero inside the safe mask: no excess or significance can be made (is background in datasets.map_selection?)',
    );
  // Flux = excess / reco exposure: a reco exposure of 0 wherever the map has data makes every flux and norm ±inf.
  const reco = maps.maps.reco_exposure;
  if (reco?.some((v) => !Number.isNaN(v)) && reco.every((v) => Number.isNaN(v) || v === 0))
    ctx.log.warn(
      `the reco exposure is 0 in every pixel, so the flux, norm and their errors are ±inf: ${ds.edisp ? `the EDISP kernel read at IRF pixel (${edisp.pixel.join(', ')})` : "the diagonal response gammapy uses without an edisp map (each true bin's overlap with the reco bins)"} sends no true energy into the reco energy range where the safe mask kept data (energy axes that do not overlap, or a map centre no run's safe mask covers)`,
    );
  // The peak's position under its frame's names (ra/dec or glon/glat), the same in summary.json and the log line.
  const frame = ds.geom.wcs.frame;
  const peakSky = summary.peak?.sky ? namedSkyPosition(summary.peak.sky, frame) : undefined;
  // The sums over the safe mask and the peak of one energy group, as summary.json names them.
  const totalsAndPeak = (of: typeof summary) => ({
    total_counts: of.totalCounts,
    total_background: of.totalBackground,
    total_excess: of.totalExcess,
    total_sqrt_ts: of.totalSqrtTs,
    peak: peakReport(of),
  });
  const peakReport = (of: typeof summary) =>
    of.peak
      ? {
          x: of.peak.x,
          y: of.peak.y,
          ...(of.peak.sky ? namedSkyPosition(of.peak.sky, frame) : {}),
          frame,
          sqrt_ts: of.peak.sqrtTs,
          ts: of.peak.ts,
          n_on: of.peak.nOn,
          mu_b: of.peak.muB,
          excess: of.peak.excess,
          norm: of.peak.norm,
          flux: of.peak.flux,
        }
      : null;
  // With several energy groups (excess_map.energy_edges), the fields above describe the first; each has its own here.
  const groups =
    maps.bins.length > 1
      ? maps.bins.map((_, bin) => {
          const g = bin === 0 ? summary : summarizeExcessMap(maps, { bin, pixelToSky: toSky });
          return { energy_range_tev: [g.eMin, g.eMax], ...totalsAndPeak(g) };
        })
      : undefined;
  await writeProductMaps(ctx.outputs, ds, maps, toSky);
  // Asked for (selection_optional) but declared as no output of the target: say so, rather than drop them quietly.
  const undeclared = undeclaredOptionalMaps(ctx.outputs, maps);
  if (undeclared.length > 0)
    ctx.log.warn(
      `excess_map.parameters.selection_optional computed ${undeclared.length} maps (${undeclared.slice(0, 4).join(', ')}` +
        `${undeclared.length > 4 ? ', …' : ''}) that the target declares no output for, so they are not written: ` +
        `add the ones you want to its outputs, under these names (e.g. flux_ul: products/excess_map/flux_ul.fits.gz)`,
    );
  const report = {
    observations: ds.runs.map((r) => r.obsId),
    livetime_s: ds.livetime,
    ontime_s: ds.ontime,
    per_observation: ds.runs.map((r) => ({
      obs_id: r.obsId,
      livetime_s: r.livetime,
      counts_in_map: r.countsInMap,
      fov_bkg_norm: r.fovNorm,
      ...(r.fovSpectrum
        ? { fov_bkg_spectrum: { model: r.fovSpectrum.model, parameters: r.fovSpectrum.parameters } }
        : {}),
      ...(r.fovInvalid ? { fov_invalid: r.fovInvalid } : {}),
    })),
    // Where the map is (a survey's table of summaries names each field by it): its centre and size.
    map: {
      frame,
      ...namedSkyPosition({ lon: ds.geom.wcs.crval[0], lat: ds.geom.wcs.crval[1] }, frame),
      pixels: [ds.geom.nx, ds.geom.ny],
      binsize_deg: Math.abs(ds.geom.wcs.cdelt[1]),
    },
    energy_range_tev: [summary.eMin, summary.eMax],
    correlation_radius_deg: cfg.correlation_radius,
    ...totalsAndPeak(summary),
    // No kernel backend here: the backends are bit-identical, share one cache entry (the backend is not in the
    // key), and so must write the same bytes. Which one ran is in the task's provenance (pipe why).
    edisp_irf_pixel: edisp.pixel,
    ...(groups ? { energy_groups: groups } : {}),
  };
  if (ctx.outputs['summary']) writeFileSync(ctx.outputs['summary'], `${JSON.stringify(report, null, 2)}\n`);
  const peak = summary.peak;
  ctx.log.info(
    `${ds.runs.length} runs, livetime ${(ds.livetime / 3600).toFixed(2)} h, counts ${summary.totalCounts}, excess ${summary.totalExcess.toFixed(1)}` +
      (peak
        ? `; peak sqrt(TS) ${peak.sqrtTs.toFixed(2)}` +
          (peakSky
            ? ` at ${Object.entries(peakSky)
                .map(([k, v]) => `${k} ${v.toFixed(4)}`)
                .join(', ')} (${frame})`
            : '')
        : ''),
  );
  return {
    metadata: {
      peakSqrtTs: peak?.sqrtTs ?? null,
      totalCounts: summary.totalCounts,
      totalExcess: summary.totalExcess,
    },
  };
}
