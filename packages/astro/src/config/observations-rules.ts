/**
 * Cross-field rules of the `observations` section that gammapy 1.0 applies when it selects runs, checked before
 * anything runs (each issue at the key path of the value to fix).
 */
import type { AnalysisConfig, ParamIssue } from './analysis-config.js';

/**
 * Rules gammapy 1.0 applies when it selects runs (Analysis._make_obs_table_selection, get_excess_map), checked
 * before anything runs: obs_ids and obs_file exclude each other; required_irf lists IRFs only; a time range needs
 * start < stop; and with
 * `stack: false` the excess map refuses several datasets ("Datasets must be stacked to compute the excess map") —
 * known here when the config lists its runs.
 */
export function checkObservations(config: AnalysisConfig, issues: ParamIssue[]): void {
  const obs = config.observations;
  if (obs.obs_ids.length > 0 && obs.obs_file !== null)
    issues.push({
      path: ['observations', 'obs_file'],
      message: 'obs_ids and obs_file are both given; gammapy accepts one of them',
      hint: 'remove obs_ids or obs_file',
    });
  // gammapy's config takes `events` and `gti` in required_irf (RequiredHDUEnum), but DataStore.obs checks the list
  // against its IRFs only (aeff, edisp, psf, bkg, rad_max) and raises ValueError ("{'events'} is not a valid hdu
  // key"), which get_observations(skip_missing=True) reads as a missing run: every run is skipped and get_datasets
  // fails ("No observations have been selected.").
  obs.required_irf.forEach((t, i) => {
    if (t === 'events' || t === 'gti')
      issues.push({
        path: ['observations', 'required_irf', i],
        message: `'${t}' is not an IRF: gammapy 1.0's DataStore.obs rejects the list ("{'${t}'} is not a valid hdu key"), so every run is skipped and no observation is selected`,
        hint: `remove '${t}': events and gti are always required`,
      });
  });
  const { start, stop } = obs.obs_time;
  // gammapy applies obs_time only when start is set (a stop alone is ignored: analysis-config's unusedSettings
  // warns); a start without a stop fails in its select_time.
  if (start !== null && stop === null)
    issues.push({
      path: ['observations', 'obs_time', 'stop'],
      message: 'obs_time needs both start and stop',
    });
  else if (
    start !== null &&
    (Array.isArray(start) !== Array.isArray(stop) ||
      (Array.isArray(start) && start.length !== (stop as number[]).length))
  )
    issues.push({
      path: ['observations', 'obs_time'],
      message: `obs_time start and stop are both one time, or lists of the same length (one interval each): ${
        Array.isArray(start) && Array.isArray(stop)
          ? `here ${start.length} starts and ${stop.length} stops, which gammapy 1.0 pairs in order, silently dropping the ${Math.abs(start.length - stop.length)} left unpaired`
          : 'gammapy 1.0 fails on one time paired with a list'
      }`,
      hint: 'give one stop per start',
    });
  // No interval without a start (timeIntervals).
  else
    timeIntervals(obs.obs_time).forEach(([a, b], i) => {
      if (!(a < b))
        issues.push({
          path: ['observations', 'obs_time', ...(Array.isArray(start) ? ['start', i] : [])],
          message: `obs_time needs start < stop${Array.isArray(start) ? ` (interval ${i})` : ''}: gammapy 1.0 selects nothing in such an interval${Array.isArray(start) ? '' : ' ("No observations have been selected")'}`,
        });
    });
  const seen = new Map<number, number>();
  obs.obs_ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined)
      issues.push({
        path: ['observations', 'obs_ids', i],
        message: `obs_id ${id} is listed twice (also at index ${first}); it would be reduced and stacked twice`,
      });
    else seen.set(id, i);
  });
  if (!config.datasets.stack && seen.size > 1)
    issues.push({
      path: ['datasets', 'stack'],
      message: `stack: false with ${seen.size} runs (observations.obs_ids): gammapy's excess map needs one dataset and refuses unstacked runs ("Datasets must be stacked to compute the excess map")`,
      hint: 'set stack: true, or select one run',
    });
}

/** obs_time as a list of [start, stop] intervals (MJD TT): none, one, or gammapy's several. */
export function timeIntervals(time: AnalysisConfig['observations']['obs_time']): Array<[number, number]> {
  const { start, stop } = time;
  if (start === null || stop === null) return [];
  if (!Array.isArray(start) || !Array.isArray(stop)) return [[start as number, stop as number]];
  return start.map((a, i) => [a, stop[i] as number]);
}
