/** What step `astro.select_observations` (select-observations.ts) runs. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StepContext, StepResult, TaskItem } from '@pipe/core';
import { mjdTtToIsoUtc, timeIntervals } from '../config/index.js';
import {
  type DataStore,
  type ObsSelection,
  openDataStore,
  parseObsList,
  runTimeSpan,
  type TimeRange,
} from '../dl3/index.js';
import { type RunItemData, runItemData } from './run-item.js';
import type { Params } from './select-observations.js';

/** HDU types a run's item carries when the index has them, required or not. */
const OPTIONAL_HDUS = ['aeff', 'edisp', 'psf', 'bkg', 'rad_max'];

/**
 * The run ids the config asks for, with where each was written (for errors): obs_ids or the obs_file. `param`: the
 * id's path in the step's params, which an error blames (the engine then names the config file's line and column).
 */
type IdSource = {
  obsIds: number[];
  label: string;
  where: (i: number) => string;
  param?: (i: number) => Array<string | number>;
};

function idSource(o: Params['observations'], obsFile: string | undefined): IdSource | undefined {
  if (o.obs_ids.length > 0)
    return {
      obsIds: o.obs_ids,
      label: 'observations.obs_ids',
      where: (i) => `observations.obs_ids[${i}]`,
      param: (i) => ['observations', 'obs_ids', i],
    };
  if (!o.obs_file) return undefined;
  if (obsFile === undefined)
    throw new Error(
      "observations.obs_file is set, but the step got no 'obs_file' input (check the pipeline)",
    );
  // A problem of the file blames the setting that names it (the build says where it was written).
  const param = { param: ['observations', 'obs_file'] };
  const parsed = parseObsList(readFileSync(obsFile, 'utf8'), obsFile);
  if (!parsed.ok) throw Object.assign(new Error(`observations.obs_file: ${parsed.message}`), param);
  const { obsIds, lines } = parsed.value;
  const first = obsIds.findIndex((id, i) => obsIds.indexOf(id) !== i);
  if (first >= 0) {
    const twice = obsIds.indexOf(obsIds[first]!);
    throw Object.assign(
      new Error(
        `observations.obs_file: ${obsFile}:${lines[first]}: run ${obsIds[first]} is listed again (first at line ${lines[twice]}); gammapy would reduce and stack it twice`,
      ),
      param,
    );
  }
  return { obsIds, label: `observations.obs_file (${obsFile})`, where: (i) => `${obsFile}:${lines[i]}` };
}

/** gammapy fails on an id the observation index lacks (KeyError "No matches found for key ..."); so do we. */
function checkKnownIds(store: DataStore, ids: IdSource, obsIndex: string): void {
  const known = new Set(store.obsIds);
  const at = ids.obsIds.flatMap((id, i) => (known.has(id) ? [] : [i]));
  if (at.length === 0) return;
  const unknown = at.map((i) => `${ids.obsIds[i]} (${ids.where(i)})`);
  const error = new Error(
    `observation${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in the data store's observation index ${obsIndex} (${store.obsIds.length} runs)`,
  );
  // The first unknown id is blamed (StepDefinition.run): the build says where it was written.
  throw ids.param ? Object.assign(error, { param: ids.param(at[0]!) }) : error;
}

/**
 * The store's `stem` index among the files the input glob matched: `stem.fits.gz` (gammapy's DataStore.from_dir
 * reads that name), else `stem.fits`. Any other name (`hdu-index.fits.bak`, an editor's copy) is not an index.
 */
function indexFile(files: readonly string[], stem: string, ctx: StepContext<Params>): string | undefined {
  const gz = files.find((f) => path.basename(f) === `${stem}.fits.gz`);
  const plain = files.find((f) => path.basename(f) === `${stem}.fits`);
  if (gz && plain)
    ctx.log.warn(`both ${gz} and ${plain} exist: reading ${path.basename(gz)}, as gammapy does`);
  return gz ?? plain;
}

export async function run(ctx: StepContext<Params>): Promise<StepResult> {
  const index = ctx.inputs['index'] ?? [];
  // A store directory's two index files, or one file holding both tables (gammapy's DataStore.from_file).
  const single = index.length === 1 ? index[0] : undefined;
  const hduIndex = single ?? indexFile(index, 'hdu-index', ctx);
  const obsIndex = single ?? indexFile(index, 'obs-index', ctx);
  if (!hduIndex || !obsIndex)
    throw new Error(
      `input 'index' must name the store's hdu-index and obs-index files; got ${index.join(', ') || 'none'}`,
    );
  const store = await openDataStore(path.dirname(hduIndex), {
    hduIndex,
    obsIndex,
    env: ctx.env,
    ...(single ? { singleFile: true } : {}),
  });
  const o = ctx.params.observations;
  const ids = idSource(o, ctx.inputs['obs_file']?.[0]);
  if (ids) checkKnownIds(store, ids, obsIndex);
  // Each criterion with the config key an empty selection blames (the build says where it was written).
  const criteria: Array<[string, ObsSelection, Array<string | number>]> = [];
  if (ids)
    criteria.push([
      ids.label,
      { type: 'ids', obsIds: ids.obsIds },
      ['observations', o.obs_ids.length > 0 ? 'obs_ids' : 'obs_file'],
    ]);
  // As gammapy: the cone applies when lon is set (the config check then has lat and radius too).
  if (o.obs_cone.lon !== null && o.obs_cone.lat !== null && o.obs_cone.radius !== null) {
    const c = o.obs_cone;
    criteria.push([
      `observations.obs_cone (${c.frame ?? 'icrs'} ${c.lon}, ${c.lat}, radius ${c.radius} deg)`,
      { type: 'cone', frame: c.frame ?? 'icrs', lon: c.lon!, lat: c.lat!, radius: c.radius! },
      ['observations', 'obs_cone'],
    ]);
  }
  const required = [...new Set(['events', 'gti', ...o.required_irf])];
  const picked = store.select(
    criteria.map(([, c]) => c),
    required,
  );
  for (const w of picked.warnings)
    ctx.log.warn(
      w.reason === 'missing-hdu'
        ? `OBS_ID ${w.obsId} skipped: no ${w.missing.join(', ')} HDU${w.otherCase ? ` (the HDU index has HDU_TYPE ${w.otherCase.map((t) => `'${t}'`).join(', ')} for it: types are matched exactly, in lower case, as gammapy does)` : ''}`
        : `OBS_ID ${w.obsId} is not in the observation index`,
    );
  if (picked.obsIds.length === 0) {
    const empty = emptySelection(store, criteria, required, obsIndex, hduIndex);
    throw Object.assign(new Error(empty.message), empty.param ? { param: empty.param } : {});
  }
  const intervals = timeIntervals(o.obs_time);
  const selected: Selected[] =
    intervals.length > 0
      ? selectByTime(store, picked.obsIds, intervals)
      : picked.obsIds.map((obsId) => ({ obsId }));
  const obsIds = [...new Set(selected.map((r) => r.obsId))];
  const items: TaskItem[] = [];
  const runs: Array<RunItemData & { files: string[] }> = [];
  // A run whose file is missing is an error naming the index and the paths tried (gammapy fails there too),
  // not a silently smaller selection.
  const byFile = new Map<string, string[]>();
  // A run's item holds every IRF it has, not only the required ones: gammapy reads the others when the reduction
  // asks for them (required_irf only decides which runs are skipped).
  const runsById = new Map(obsIds.map((id) => [id, store.observation(id)]));
  for (const [id, run] of runsById)
    for (const type of store.duplicatedHduTypes(id))
      ctx.log.warn(
        `OBS_ID ${id}: ${hduIndex} has several '${type}' rows; the first (${run.location(type).hduName} in ${path.basename(run.location(type).path)}) is used, as gammapy does`,
      );
  // An HDU the run lists but does not require whose file is missing is left out of its item, as gammapy
  // accepts such a store until something reads that HDU; the reduction fails if it uses it (run-item.ts).
  const absent = new Map<number, Record<string, string>>();
  const hduTypes = (id: number) => [
    ...required,
    ...OPTIONAL_HDUS.filter(
      (t) => !required.includes(t) && runsById.get(id)!.hduTypes.includes(t) && !absent.get(id)?.[t],
    ),
  ];
  let folders = false;
  let unreachable = false; // a link to nowhere, a loop of links, a folder that cannot be searched
  for (const id of obsIds) {
    for (const type of hduTypes(id)) {
      const loc = runsById.get(id)!.location(type);
      // A FILE_NAME that is empty or '.' names the folder: caught here with the index, not as a task's input later.
      if (loc.exists && !loc.folder) continue;
      if (loc.folder) folders = true;
      if (loc.instead) unreachable = true;
      const tried = loc.folder
        ? `${loc.path} is a folder, not a file`
        : loc.instead
          ? `${loc.tried[0]}: ${loc.instead}`
          : `${loc.tried.join(' (nor ')}${loc.tried.length > 1 ? ')' : ''} not found`;
      if (required.includes(type)) {
        const where = `OBS_ID ${id}: ${tried}`;
        byFile.set(where, [...(byFile.get(where) ?? []), type]);
      } else {
        absent.set(id, { ...absent.get(id), [type]: tried });
        ctx.log.warn(
          `OBS_ID ${id}: ${tried}: its ${type} HDU is left out (${type} is not in observations.required_irf); a reduction that uses it fails`,
        );
      }
    }
  }
  const missing = [...byFile].map(([where, types]) => `${where} — needed for ${types.join(', ')}`);
  if (missing.length > 0) {
    const shown = missing.slice(0, 10);
    // A $VAR left in a path was not expanded: the step sees only the variables its target declares (`env:`).
    const unexpanded = [
      ...new Set(
        [...byFile.keys()].flatMap((w) => [...w.matchAll(/\$\{?([A-Za-z_]\w*)/g)].map((m) => m[1]!)),
      ),
    ];
    const hint =
      unexpanded.length > 0
        ? `\n  ${unexpanded.map((v) => `$${v}`).join(', ')} ${unexpanded.length > 1 ? 'are' : 'is'} not set for this step: set ${unexpanded.length > 1 ? 'them' : 'it'} and declare ${unexpanded.length > 1 ? 'them' : 'it'} in the selection target's env: (e.g. env: [${unexpanded.join(', ')}])`
        : '';
    throw new Error(
      `the data store ${hduIndex} names files that do not exist${folders ? ' or are folders' : ''}${unreachable ? ' or cannot be reached' : ''}:\n  ${shown.join('\n  ')}${missing.length > shown.length ? `\n  and ${missing.length - shown.length} more` : ''}${hint}`,
    );
  }
  const pieces = new Map<number, number>();
  for (const { obsId: id, timeRange } of selected) {
    const { files, data } = runItemData(runsById.get(id)!, hduTypes(id), timeRange, absent.get(id));
    // A run two disjoint intervals cut is two items (gammapy's list holds it twice): the later ones `<id>-<k>`.
    const k = (pieces.get(id) ?? 0) + 1;
    pieces.set(id, k);
    items.push({ id: k === 1 ? String(id) : `${id}-${k}`, files, data });
    runs.push({ ...data, files: files.map((f) => path.basename(f)) });
    if (timeRange)
      ctx.log.info(
        `OBS_ID ${id} cut to ${mjdTtToIsoUtc(timeRange.start)} to ${mjdTtToIsoUtc(timeRange.stop)} UTC (observations.obs_time)`,
      );
  }
  writeFileSync(ctx.outputs['observations']!, `${JSON.stringify({ count: runs.length, runs }, null, 2)}\n`);
  const list = selected.map((r) => String(r.obsId) + (r.timeRange ? ' (cut)' : ''));
  ctx.log.info(`selected ${selected.length} observations: ${list.join(', ')}`);
  return { items, metadata: { observations: selected.length } };
}

/** Which criterion left no run: each one applied in turn, the first that empties the selection is named. */
function emptySelection(
  store: DataStore,
  criteria: Array<[string, ObsSelection, Array<string | number>]>,
  required: string[],
  obsIndex: string,
  hduIndex: string,
): { message: string; param?: Array<string | number> } {
  const total = store.obsIds.length;
  let matched: number[] = [];
  for (let i = 1; i <= criteria.length; i++) {
    matched = store.select(
      criteria.slice(0, i).map(([, c]) => c),
      [],
    ).obsIds;
    if (matched.length === 0) {
      const before = i === 1 ? `the ${total} runs of ${obsIndex}` : `the runs left by ${criteria[i - 2]![0]}`;
      return {
        message: `no observation selected: ${criteria[i - 1]![0]} matches none of ${before}`,
        param: criteria[i - 1]![2],
      };
    }
  }
  // An HDU index without the runs at all (empty, or another store's) is what to name, not the HDU types.
  if (criteria.length === 0) matched = store.select([], []).obsIds;
  if (matched.every((id) => !store.listsRun(id)))
    return {
      message: `no observation selected: the HDU index ${hduIndex} has no rows for the ${matched.length} run${matched.length === 1 ? '' : 's'} of ${obsIndex} that match${matched.length === 1 ? 'es' : ''} (${matched.slice(0, 5).join(', ')}${matched.length > 5 ? ', …' : ''})`,
      param: ['observations', 'datastore'],
    };
  return {
    message: `no observation selected: every run of ${obsIndex} that matches lacks one of the required HDUs in ${hduIndex} (${required.join(', ')}; see the warnings above, or change observations.required_irf)`,
    param: ['observations', 'required_irf'],
  };
}

/** A run of the selection, and the obs_time interval it is cut to when the interval does not hold it whole. */
interface Selected {
  obsId: number;
  timeRange?: TimeRange;
}

/**
 * A run is cut when an interval bound lies inside its span or within this many seconds of it. pipe decides from
 * the obs index (TSTART/TSTOP, equal to the single GTI row of every H.E.S.S. DR1 run) without reading events, but
 * a run's events can lie past its GTI (DR1: up to 0.93 s after STOP, none before START) and gammapy's cut drops
 * those too; a run whose span is more than this inside the interval is kept whole (its item and key unchanged).
 */
const CUT_MARGIN_S = 10;

/**
 * gammapy's Observations.select_time: for each interval in turn, the runs that overlap it (tstart < stop and
 * tstop > start), in selection order, each cut to the interval (Observation.select_time: events and GTI) — a run
 * two intervals overlap comes twice, once per interval. A run the interval holds whole (with CUT_MARGIN_S to
 * spare) is not cut: the cut would change nothing. Two intervals that overlap each other within one run would
 * stack that part twice (gammapy does): an error naming the run instead.
 */
function selectByTime(store: DataStore, obsIds: number[], intervals: Array<[number, number]>): Selected[] {
  const iso = mjdTtToIsoUtc;
  const label = (i: number) =>
    `observations.obs_time${intervals.length > 1 ? ` interval ${i}` : ''} (${iso(intervals[i]![0])} to ${iso(intervals[i]![1])} UTC)`;
  const margin = CUT_MARGIN_S / 86400;
  const out: Selected[] = [];
  const holding = new Map<number, number[]>();
  intervals.forEach(([start, stop], i) => {
    for (const id of obsIds) {
      const span = runTimeSpan(store.obsIndex, id);
      if (!(span.start < stop && span.stop > start)) continue;
      const twice = (holding.get(id) ?? []).find((j) => intervals[j]![0] < stop && intervals[j]![1] > start);
      if (twice !== undefined)
        throw new Error(
          `${label(i)} holds run ${id} (${iso(span.start)} to ${iso(span.stop)} UTC) again, overlapping ${label(twice)}: gammapy would reduce and stack that part of the run twice; make the intervals disjoint`,
        );
      holding.set(id, [...(holding.get(id) ?? []), i]);
      const whole = start <= span.start - margin && stop >= span.stop + margin;
      out.push(whole ? { obsId: id } : { obsId: id, timeRange: { start, stop } });
    }
  });
  if (out.length === 0) {
    // The runs' spans as pipe read them: an obs index whose MJDREF disagrees with the runs' files (gammapy's
    // DataStore.from_events_files writes MJDREF 51544.5 whatever the events' MJDREF) puts them elsewhere in time
    // than gammapy, which compares the interval with each run's GTI.
    const spans = obsIds.slice(0, 5).map((id) => {
      const span = runTimeSpan(store.obsIndex, id);
      return `${id}: ${iso(span.start)} to ${iso(span.stop)}`;
    });
    throw Object.assign(
      new Error(
        `no observation selected: ${intervals.map((_, i) => label(i)).join(', ')} holds none of the ${obsIds.length} runs selected before it (${spans.join('; ')}${obsIds.length > 5 ? '; ...' : ''} UTC, from TSTART/TSTOP and ${timeRefText(store.obsIndex.header)} of ${store.obsIndex.file}; gammapy 1.0 compares the interval with each run's GTI instead: if the obs index's times disagree with the runs' files, correct the obs index)`,
      ),
      { param: ['observations', 'obs_time'] },
    );
  }
  return out;
}

/** The time reference keywords of an index header as written: "MJDREFI 51544, MJDREFF 0.5, TIMESYS TT". */
function timeRefText(header: Readonly<Record<string, unknown>>): string {
  const keys = ['MJDREFI', 'MJDREFF', 'MJDREF', 'TIMESYS'].filter((k) => header[k] !== undefined);
  return keys.length > 0 ? keys.map((k) => `${k} ${String(header[k]).trim()}`).join(', ') : 'no MJDREF';
}
