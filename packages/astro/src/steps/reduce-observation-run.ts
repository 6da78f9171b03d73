/** What step `astro.reduce_observation` (reduce-observation.ts) runs. */
import { statSync } from 'node:fs';
import type { StepContext, StepResult } from '@pipe/core';
import { loadKernels } from '@pipe/kernels';
import { type AnalysisConfig, mjdTtToIsoUtc } from '../config/index.js';
import { FitsError } from '../fits/index.js';
import {
  type IrfType,
  irfsUsed,
  isReductionConfigIssue,
  isReductionFailure,
  loadObservationData,
  type ReductionConfigIssue,
  type RunMeta,
  readSkyMask,
  reduceObservation,
  reductionConfigFromConfig,
  reductionGeometryFromConfig,
  writeDataset,
} from '../makers/index.js';
import { convertFrame } from '../wcs/index.js';
import type { Params } from './reduce-observation.js';
import { observationOfItem, type RunItemData } from './run-item.js';
import { STEP_OUTPUT } from './step-output.js';

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  if (!ctx.item)
    throw new Error('astro.reduce_observation fans out over runs: use foreach: {items: <selection target>}');
  const ds = ctx.params.datasets;
  const kernels = await loadKernels(ctx.kernelBackend as 'js' | 'wasm' | 'native');
  // Only the IRFs this reduction uses, as gammapy reads them.
  const used = irfsUsed(ds.map_selection, ds.safe_mask.methods);
  const types = Object.keys(used) as IrfType[];
  const data = ctx.item.data as RunItemData;
  const gone = types.filter((t) => used[t] && data.missing?.[t]);
  if (gone.length > 0) {
    const error = new Error(
      `OBS_ID ${data.obsId}: ${gone.map((t) => `${data.missing![t]} — needed for ${t}${t === 'bkg' ? ' (datasets.map_selection has background)' : ''}`).join('; ')}`,
    );
    // The setting that asks for the first missing IRF is blamed (the build says where it was written).
    const asking = settingUsing(gone[0]!, ds);
    throw asking ? Object.assign(error, { param: asking }) : error;
  }
  const irfs = types.filter((t) => used[t] && data.hdus[t]);
  const obs = await loadObservationData(observationOfItem(ctx.item), irfs);
  if ('reason' in obs) throw new Error(obs.message);
  const rg = orThrow(
    reductionGeometryFromConfig(ctx.params.center === 'pointing' ? centredOn(ds, obs.pointing) : ds),
  );
  const exclusionFile = ctx.inputs['exclusion']?.[0];
  // A mask file that cannot be read is blamed on the setting that names it (the build says where it was written).
  const blame = { param: ['datasets', 'background', 'exclusion'] };
  let exclusion: ReturnType<typeof readSkyMask> | undefined;
  try {
    exclusion = exclusionFile === undefined ? undefined : readSkyMaskOnce(exclusionFile);
  } catch (error) {
    throw error instanceof FitsError ? Object.assign(error, blame) : error;
  }
  // One gammapy reads (any projection and grid wcslib takes, a cube whose planes differ) is pipe's limit: said so.
  if (exclusion && 'reason' in exclusion)
    throw Object.assign(
      new Error(
        `datasets.background.exclusion: ${exclusion.message}${exclusion.gammapyReads ? '; gammapy 1.0 reads it, pipe cannot' : ''}`,
      ),
      blame,
    );
  const config = orThrow(reductionConfigFromConfig(ds, exclusion));
  const result = reduceObservation(obs, rg, config, kernels);
  if (isReductionFailure(result))
    throw Object.assign(new Error(result.message), result.param ? { param: result.param } : {});
  // A cut that holds none of the run's GTI leaves it without time: what else the reduction says of it (no exposure,
  // no safe band, no FoV fit) follows from that, and would hide why.
  const outside = obs.spanOutsideCut;
  if (outside && data.timeRange) {
    const iso = mjdTtToIsoUtc;
    const [a, b] = [data.timeRange.start, data.timeRange.stop];
    const span = `${iso(outside.start)} to ${iso(outside.stop)} UTC`;
    // Inside the run's span: a gap between its GTI rows. Outside: the obs index, which selected it, disagrees.
    const why =
      a < outside.stop && b > outside.start
        ? `falls between the run's good time intervals (GTI rows from ${span})`
        : `holds none of the run's good time intervals (${span}, by its GTI table), though the obs index's TSTART/TSTOP put the run in it: if they disagree with the run's file, correct the obs index`;
    ctx.log.warn(
      `OBS_ID ${obs.obsId}: observations.obs_time (${iso(a)} to ${iso(b)} UTC) ${why}; the run adds nothing to the stack (gammapy 1.0 selects runs by their GTI and leaves it out)`,
    );
  } else for (const w of result.warnings) ctx.log.warn(w.message);
  writeDataset(ctx.outputs['dataset']!, result.dataset, STEP_OUTPUT);
  const run = result.dataset.runs[0]!;
  if (outside) {
    // its warning above says why the FoV norm could not be fitted
  } else if (run.fovFitProblem)
    ctx.log.warn(
      `OBS_ID ${run.obsId}: the FoV background fit did not converge (${run.fovFitProblem}); its safe mask is set to false, so it adds nothing to the stack (gammapy's FoVBackgroundMaker does the same)`,
    );
  else if (run.fovInvalid)
    ctx.log.warn(
      `OBS_ID ${run.obsId}: FoV background not normalised (${run.fovInvalid}: ${run.fovCounts} counts, ${run.fovBackground?.toFixed(2)} background where the safe mask kept data${exclusion ? ', outside the exclusion mask' : ''}${run.fovCounts === 0 && (run.fovBackground ?? 0) === 0 ? ': the safe mask, or the exclusion mask, leaves no pixel to fit' : ''}); its safe mask is set to false, so it adds nothing to the stack (gammapy's FoVBackgroundMaker does the same)`,
    );
  const cut = data.timeRange ? ' (cut to observations.obs_time)' : '';
  const method = ctx.params.datasets.background.method;
  const background =
    method === 'fov_background'
      ? `FoV norm ${run.fovNorm.toFixed(4)}${run.fovSpectrum ? ` (${fovShapeText(run.fovSpectrum)})` : ''}`
      : method === 'ring'
        ? 'ring background'
        : 'background template';
  ctx.log.info(
    `OBS_ID ${run.obsId}${cut}: ${run.countsInMap} counts, livetime ${run.livetime.toFixed(1)} s, ${background}`,
  );
  return {
    metadata: { obsId: run.obsId, counts: run.countsInMap, livetime: run.livetime, fovNorm: run.fovNorm },
  };
}

/**
 * The config setting that makes the reduction read IRF `type` (irfsUsed): the map_selection list, or the safe-mask
 * methods for an EDISP read only by edisp-bias. None for the effective area, which every reduction reads. (The
 * lists themselves: their entries are sorted in the params, so an index would not be the config's.)
 */
function settingUsing(type: IrfType, ds: Params['datasets']): Array<string | number> | undefined {
  if (type === 'bkg' || type === 'psf') return ['datasets', 'map_selection'];
  if (type === 'edisp')
    return ds.map_selection.includes('edisp')
      ? ['datasets', 'map_selection']
      : ['datasets', 'safe_mask', 'methods'];
  return undefined;
}

/** Params were checked at load time, so an issue here is a bug, not bad input. */
function orThrow<T extends object>(v: T | ReductionConfigIssue): T {
  if (isReductionConfigIssue(v)) throw new Error(`${v.path.join('.')}: ${v.message}`);
  return v as T;
}

/** The datasets section with the map centred on a run's pointing, in the frame the config asks for. */
function centredOn(
  ds: AnalysisConfig['datasets'],
  pointing: { ra: number; dec: number },
): AnalysisConfig['datasets'] {
  const frame = ds.geom.wcs.skydir.frame ?? 'icrs';
  const [lon, lat] = convertFrame('icrs', frame, pointing.ra, pointing.dec);
  return { ...ds, geom: { ...ds.geom, wcs: { ...ds.geom.wcs, skydir: { frame, lon, lat } } } };
}

/**
 * The exclusion mask, read once per worker thread: every run of a fan-out reads the same file. Keyed by the file's
 * identity and modification stamp, so a file replaced between builds of a long-lived (watch) process is read again.
 */
const masks = new Map<string, { stamp: string; mask: ReturnType<typeof readSkyMask> }>();
function readSkyMaskOnce(file: string): ReturnType<typeof readSkyMask> {
  const st = statSync(file, { bigint: true });
  const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = masks.get(file);
  if (known?.stamp === stamp) return known.mask;
  const mask = readSkyMask(file);
  masks.set(file, { stamp, mask });
  return mask;
}

/** "lp-norm: alpha 0.3852, beta 0.1948" (the fitted shape), or "lp-norm, its shape at gammapy's defaults" (scale). */
function fovShapeText(spectrum: NonNullable<RunMeta['fovSpectrum']>): string {
  const fitted = Object.keys(spectrum.errors).filter((name) => name !== 'norm');
  if (fitted.length === 0) return `${spectrum.model}, its shape at gammapy's defaults`;
  return `${spectrum.model}: ${fitted.map((name) => `${name} ${spectrum.parameters[name]?.toPrecision(4)}`).join(', ')}`;
}
