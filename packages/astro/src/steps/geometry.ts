/**
 * Step params and the task key of the datasets section: what a 3D reduction does not read is left out, so editing
 * it reruns nothing — file paths (those files are task inputs), `containment_correction` and `on_region` (gammapy
 * 1.0 uses them for 1D spectra only) — the lists gammapy reads as sets (MapDatasetMaker's `selection` is
 * tested by membership, SafeMaskMaker does `set(methods)`) are kept in one order, without repeats, and the makers'
 * angles are written one way.
 */

import type { AnalysisConfig } from '../config/index.js';
import { angleText } from '../config/quantity.js';
import { isReductionConfigIssue, reductionConfigFromConfig } from '../makers/from-config.js';

/** MapDatasetMaker.available_selection (gammapy 1.0). */
const MAP_ORDER = ['counts', 'exposure', 'background', 'psf', 'edisp'];
/** The order SafeMaskMaker.run applies its methods in (gammapy 1.0). */
const SAFE_MASK_ORDER = ['offset-max', 'aeff-default', 'aeff-max', 'edisp-bias', 'bkg-peak'];

export function canonicalDatasets(ds: AnalysisConfig['datasets']): void {
  normaliseMakerAngles(ds);
  delete (ds.background as { exclusion?: string | null }).exclusion;
  const unused = ds as { containment_correction?: boolean; on_region?: unknown };
  delete unused.containment_correction;
  delete unused.on_region;
  ds.map_selection = asSet(ds.map_selection, MAP_ORDER);
  ds.safe_mask.methods = asSet(ds.safe_mask.methods, SAFE_MASK_ORDER);
}

/**
 * The angles among the makers' free-form `parameters` (the safe mask's offset_max, the ring's r_in and width) in
 * degrees with their unit, as the makers read them again: "2 deg", "2.0 deg" and "120 arcmin" give one key, in
 * every step that reads the section (the config reader normalises only its typed settings). A section the makers'
 * reader refuses is left as written: the reduction's own check reports it, with its place.
 */
function normaliseMakerAngles(ds: AnalysisConfig['datasets']): void {
  const config = reductionConfigFromConfig(ds);
  if (isReductionConfigIssue(config)) return;
  const { safeMask, background } = config;
  if (safeMask.offsetMax !== undefined) ds.safe_mask.parameters['offset_max'] = angleText(safeMask.offsetMax);
  if (background.method === 'ring') {
    ds.background.parameters['r_in'] = angleText(background.rIn);
    ds.background.parameters['width'] = angleText(background.width);
  }
}

/** The distinct values in `order`'s order (a value it does not know after those, as first given). */
function asSet<T extends string>(values: readonly T[], order: readonly string[]): T[] {
  const rank = (v: string) => {
    const i = order.indexOf(v);
    return i < 0 ? order.length : i;
  };
  return [...new Set(values)].sort((a, b) => rank(a) - rank(b));
}
