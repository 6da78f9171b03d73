// observations.obs_time cutting through a run, as gammapy 1.0 does (Analysis.get_observations →
// Observations.select_time → Observation.select_time): the run is kept, its events cut to start ≤ TIME < stop and
// its GTI clipped, so its ontime, livetime, exposure and background shrink. Runs the real step code (selection →
// per-run reduction → stack → excess map) on the four shipped Crab runs.
//
// Reference numbers: gammapy 1.0 (Debian python3-gammapy, /usr/bin/python3) on the same configs — the shipped
// pipelines/excess_map/crab.yaml with the obs_time below added to its observations section — printed by
//   GAMMAPY_DATA=pipelines/excess_map/data python3 scripts/gammapy_excess_map.py CONFIG.yaml
// (stacked counts per bin, peak) and by a few lines on the same Analysis: per observation after get_observations,
// len(obs.events.table), obs.observation_time_duration, obs.observation_live_time_duration; per run with
// datasets.stack: false, counts.data.sum(), background.data.sum() (the template), exposure.data.sum(); on the
// stacked dataset, counts and npred_background() summed inside mask_safe.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StepDefinition, StepResult, TaskItem } from '@pipe/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isDatasetReadFailure, readDataset } from '../src/makers/index.js';
import excessMapStep from '../src/steps/excess-map.js';
import reduceStep from '../src/steps/reduce-observation.js';
import { observationOfItem, type RunItemData } from '../src/steps/run-item.js';
import selectStep from '../src/steps/select-observations.js';
import stackStep from '../src/steps/stack-datasets.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DATA = path.join(repo, 'pipelines/excess_map/data');
const STORE = path.join(DATA, 'hess-dl3-dr1');
const EXCLUSION = path.join(DATA, 'joint-crab/exclusion/exclusion_mask_crab.fits.gz');
const CRAB = parse(readFileSync(path.join(repo, 'pipelines/excess_map/crab.yaml'), 'utf8'));

/** The first 14 min of run 23523 (22:07:06–22:35:13 UTC), then the three other runs whole. */
const HALF = {
  start: ['2004-12-04T22:00:00', '2004-12-04T22:40:00'],
  stop: ['2004-12-04T22:21:00', '2004-12-09T00:00:00'],
};
/** Two disjoint intervals through 23523 (gammapy lists it twice, once per piece), then the other runs whole. */
const PIECES = {
  start: ['2004-12-04T22:00:00', '2004-12-04T22:25:00'],
  stop: ['2004-12-04T22:15:00', '2004-12-09T00:00:00'],
};

const GAMMAPY_HALF = {
  observations: [23523, 23526, 23559, 23592],
  // Run 23523 cut at 22:21:00 UTC: GTI [123890826, 123891660.00000016] s.
  cut: {
    events: 3847,
    ontime: 834.0000001639128,
    livetime: 781.9611511649733,
    countsInMap: 402,
    backgroundTemplate: 337.0638447766118,
    exposureSum: 61233520760941.945,
  },
  // The three other runs, as the whole runs (science.md §10.1).
  others: [
    { obsId: 23526, livetime: 1572.6867490857837, countsInMap: 659 },
    { obsId: 23559, livetime: 1578.123479828238, countsInMap: 448 },
    { obsId: 23592, livetime: 1581.2646658122546, countsInMap: 592 },
  ],
  countsPerBin: [476, 353, 314, 277, 186, 153, 125, 102, 60, 54],
  exposureSum: 347113401621904.0,
  totalCounts: 2100,
  totalBackground: 1692.2909824287053,
  peak: { x: 50, y: 49, sqrtTs: 31.970388412475586 },
};
const GAMMAPY_PIECES = {
  observations: [23523, 23523, 23526, 23559, 23592],
  pieces: [
    { events: 2210, ontime: 474.0000001639128, livetime: 444.42396367808635 },
    { events: 2696, ontime: 612.9999998360872, livetime: 574.7508218725974 },
  ],
  countsPerBin: [506, 379, 340, 275, 200, 147, 133, 99, 68, 60],
  totalBackground: 1763.9752706568688,
  peak: { x: 50, y: 49, sqrtTs: 33.31212615966797 },
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One step's run, as a worker runs it: params validated by the step, inputs and outputs as files. */
async function runStep<P>(
  step: StepDefinition<P>,
  params: unknown,
  inputs: Record<string, string[]>,
  outputs: Record<string, string>,
  item?: TaskItem,
): Promise<{ result: StepResult | undefined; log: string[] }> {
  const checked = step.validateParams!(params);
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  const log: string[] = [];
  const result = await step.run({
    params: checked.value,
    inputs,
    outputs,
    ...(item ? { item } : {}),
    env: {},
    kernelBackend: 'js',
    log: { info: (m) => log.push(m), warn: (m) => log.push(m) },
    signal: new AbortController().signal,
  });
  return { result: result ?? undefined, log };
}

async function select(obsTime?: { start: string | string[]; stop: string | string[] }): Promise<TaskItem[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipe-obs-time-'));
  dirs.push(dir);
  const observations = { ...CRAB.observations, ...(obsTime ? { obs_time: obsTime } : {}) };
  const { result } = await runStep(
    selectStep,
    { observations },
    { index: [path.join(STORE, 'hdu-index.fits.gz'), path.join(STORE, 'obs-index.fits.gz')] },
    { observations: path.join(dir, 'observations.json') },
  );
  return result!.items!;
}

/** selection → one reduction per item → stack → excess map; the per-run datasets, the stack and the summary. */
async function analysis(obsTime: { start: string[]; stop: string[] }) {
  const items = await select(obsTime);
  const dir = dirs[dirs.length - 1]!;
  const datasets: string[] = [];
  for (const item of items) {
    const file = path.join(dir, `${item.id}.fits`);
    await runStep(
      reduceStep,
      { datasets: CRAB.datasets },
      { exclusion: [EXCLUSION] },
      { dataset: file },
      item,
    );
    datasets.push(file);
  }
  const stacked = path.join(dir, 'stacked.fits');
  await runStep(stackStep, { datasets: CRAB.datasets }, { datasets }, { stacked });
  const summary = path.join(dir, 'summary.json');
  await runStep(excessMapStep, { excess_map: CRAB.excess_map }, { stacked: [stacked] }, { summary });
  const read = (f: string) => {
    const ds = readDataset(f);
    if (isDatasetReadFailure(ds)) throw new Error(ds.message);
    return ds;
  };
  return {
    items,
    runs: datasets.map(read),
    stacked: read(stacked),
    summary: JSON.parse(readFileSync(summary, 'utf8')),
  };
}

const sum = (a: ArrayLike<number>) =>
  Array.prototype.reduce.call(a, (s: number, v) => s + (v as number), 0) as number;
const rel = (a: number, b: number) => Math.abs(a / b - 1);

describe('obs_time cutting through run 23523: kept, cut to the interval, as gammapy 1.0', () => {
  it('the cut run carries its interval; the runs held whole keep the items (and keys) they have without obs_time', async () => {
    const [cut, whole] = await Promise.all([select(HALF), select()]);
    expect(cut.map((i) => i.id)).toEqual(GAMMAPY_HALF.observations.map(String));
    const range = (cut[0]!.data as RunItemData).timeRange!;
    expect(range).toBeDefined();
    // 22:00 and 22:21 UTC in MJD TT (TT − UTC = 64.184 s in 2004).
    expect(Math.abs(range.start - (53343 + (22 * 3600 + 64.184) / 86400))).toBeLessThan(1e-9);
    expect(Math.abs(range.stop - (53343 + (22 * 3600 + 21 * 60 + 64.184) / 86400))).toBeLessThan(1e-9);
    expect(cut.slice(1)).toEqual(whole.slice(1));
    expect(cut[0]!.files).toEqual(whole[0]!.files);

    // The item's observation: events and GTI cut as gammapy's select_time.
    const obs = observationOfItem(cut[0]!);
    const [events, gti, times] = await Promise.all([obs.events(), obs.gti(), obs.livetime()]);
    expect(events.rows).toBe(GAMMAPY_HALF.cut.events);
    expect(Array.from(gti.start)).toEqual([123890826]);
    expect(Math.abs(gti.stop[0]! - 123891660.00000016)).toBeLessThan(1e-6);
    expect(Math.abs(times.ontime - GAMMAPY_HALF.cut.ontime)).toBeLessThan(1e-6);
    expect(Math.abs(times.livetime - GAMMAPY_HALF.cut.livetime)).toBeLessThan(1e-6);
    const all = await observationOfItem(whole[0]!).events();
    expect(all.rows).toBe(7613);
    // Every kept event is inside the interval, every dropped one outside.
    const stopMet = gti.stop[0]!;
    expect(events.time?.length).toBe(events.rows);
    expect(events.time?.every((t) => t < stopMet)).toBe(true);
    expect(all.time?.filter((t) => t < stopMet).length).toBe(GAMMAPY_HALF.cut.events);
  }, 60_000);

  it('reduces the cut run with its shorter livetime (exposure, background) and stacks the excess map of gammapy', async () => {
    const { runs, stacked, summary } = await analysis(HALF);
    const cut = runs[0]!;
    expect(cut.runs[0]!.obsId).toBe(23523);
    expect(Math.abs(cut.livetime - GAMMAPY_HALF.cut.livetime)).toBeLessThan(1e-6);
    expect(Math.abs(cut.ontime - GAMMAPY_HALF.cut.ontime)).toBeLessThan(1e-6);
    expect(cut.runs[0]!.countsInMap).toBe(GAMMAPY_HALF.cut.countsInMap);
    expect(rel(cut.runs[0]!.backgroundTemplateSum, GAMMAPY_HALF.cut.backgroundTemplate)).toBeLessThan(1e-5);
    expect(rel(sum(cut.exposure), GAMMAPY_HALF.cut.exposureSum)).toBeLessThan(1e-6);
    for (const [i, ref] of GAMMAPY_HALF.others.entries()) {
      const run = runs[i + 1]!.runs[0]!;
      expect(run.obsId).toBe(ref.obsId);
      expect(run.livetime).toBe(ref.livetime);
      expect(run.countsInMap).toBe(ref.countsInMap);
    }

    const livetime = GAMMAPY_HALF.cut.livetime + sum(GAMMAPY_HALF.others.map((r) => r.livetime));
    expect(Math.abs(stacked.livetime - livetime)).toBeLessThan(1e-5);
    const n = stacked.geom.nx * stacked.geom.ny;
    const perBin = GAMMAPY_HALF.countsPerBin.map((_, e) => sum(stacked.counts.subarray(e * n, (e + 1) * n)));
    expect(perBin).toEqual(GAMMAPY_HALF.countsPerBin);
    expect(rel(sum(stacked.exposure), GAMMAPY_HALF.exposureSum)).toBeLessThan(1e-6);

    expect(summary.observations).toEqual(GAMMAPY_HALF.observations);
    expect(summary.total_counts).toBe(GAMMAPY_HALF.totalCounts);
    expect(rel(summary.total_background, GAMMAPY_HALF.totalBackground)).toBeLessThan(1e-5);
    const excess = GAMMAPY_HALF.totalCounts - GAMMAPY_HALF.totalBackground;
    expect(Math.abs(summary.total_excess - excess)).toBeLessThan(1e-5 * GAMMAPY_HALF.totalBackground);
    expect([summary.peak.x, summary.peak.y]).toEqual([GAMMAPY_HALF.peak.x, GAMMAPY_HALF.peak.y]);
    expect(rel(summary.peak.sqrt_ts, GAMMAPY_HALF.peak.sqrtTs)).toBeLessThan(3e-5);
    // Not the uncut result: the whole four runs have 2485 counts (science.md §10.2).
    expect(summary.total_counts).toBeLessThan(2485);
  }, 240_000);

  it('two disjoint intervals through one run: two pieces, stacked, as gammapy lists and stacks them', async () => {
    const { items, runs, summary } = await analysis(PIECES);
    expect(items.map((i) => i.id)).toEqual(['23523', '23523-2', '23526', '23559', '23592']);
    expect(items.map((i) => (i.data as RunItemData).obsId)).toEqual(GAMMAPY_PIECES.observations);
    for (const [i, ref] of GAMMAPY_PIECES.pieces.entries()) {
      expect((await observationOfItem(items[i]!).events()).rows).toBe(ref.events);
      expect(Math.abs(runs[i]!.ontime - ref.ontime)).toBeLessThan(1e-6);
      expect(Math.abs(runs[i]!.livetime - ref.livetime)).toBeLessThan(1e-6);
    }
    expect(summary.observations).toEqual(GAMMAPY_PIECES.observations);
    expect(summary.total_counts).toBe(sum(GAMMAPY_PIECES.countsPerBin));
    expect(rel(summary.total_background, GAMMAPY_PIECES.totalBackground)).toBeLessThan(1e-5);
    expect([summary.peak.x, summary.peak.y]).toEqual([GAMMAPY_PIECES.peak.x, GAMMAPY_PIECES.peak.y]);
    expect(rel(summary.peak.sqrt_ts, GAMMAPY_PIECES.peak.sqrtTs)).toBeLessThan(3e-5);
  }, 240_000);

  it("an interval that holds no run names the runs' spans as read from the obs index, and its MJDREF", async () => {
    // A store whose obs index disagrees with its runs' files (gammapy 1.0's DataStore.from_events_files writes
    // MJDREFI 51544, MJDREFF 0.5 whatever the events' MJDREF; helper-134 met one with events referenced to 2021):
    // gammapy selects by each run's GTI, pipe by the obs index, so the message shows what pipe read.
    await expect(select({ start: '2010-01-01T00:00:00', stop: '2010-01-02T00:00:00' })).rejects.toThrow(
      /holds none of the 4 runs selected before it \(23523: 2004-12-04T22:07:06 to 2004-12-04T22:35:13; .*UTC, from TSTART\/TSTOP and MJDREFI 51910, MJDREFF 0\.00074287037037\d*, TIMESYS TT of .*obs-index\.fits\.gz; gammapy 1\.0 compares the interval with each run's GTI instead/,
    );
  });

  // Found with a store written by gammapy's DataStore.from_events_files (obs index on MJDREF 51544.5, events on 2021):
  // an interval the obs index put the run in, but its GTI not, built empty maps "successfully", the run's warnings
  // blaming a zero effective area; gammapy 1.0 selects by the GTI and fails ("No observations have been selected").
  it('a run whose GTI the interval misses adds nothing, says why; with no run left the stack fails as gammapy', async () => {
    const [whole] = await select();
    const dir = dirs[dirs.length - 1]!;
    // Run 23523 spans 22:07:06–22:35:13 UTC: a cut the obs index would not make, as a disagreeing index would.
    const missed: TaskItem = {
      ...whole!,
      data: { ...(whole!.data as RunItemData), timeRange: { start: 53343.95, stop: 53343.96 } },
    };
    const file = path.join(dir, 'missed.fits');
    const { log } = await runStep(
      reduceStep,
      { datasets: CRAB.datasets },
      { exclusion: [EXCLUSION] },
      { dataset: file },
      missed,
    );
    const warnings = log.filter((m) => m.includes('OBS_ID 23523') && !m.includes('counts, livetime'));
    expect(warnings).toEqual([
      "OBS_ID 23523: observations.obs_time (2004-12-04T22:46:56 to 2004-12-04T23:01:20 UTC) holds none of the run's good time intervals (2004-12-04T22:07:06 to 2004-12-04T22:35:13 UTC, by its GTI table), though the obs index's TSTART/TSTOP put the run in it: if they disagree with the run's file, correct the obs index; the run adds nothing to the stack (gammapy 1.0 selects runs by their GTI and leaves it out)",
    ]);
    await expect(
      runStep(
        stackStep,
        { datasets: CRAB.datasets },
        { datasets: [file] },
        { stacked: path.join(dir, 's.fits') },
      ),
    ).rejects.toThrow(
      /^no run has any good time left: observations\.obs_time holds none of the selected runs' GTI rows/,
    );
  }, 60_000);

  it('two intervals overlapping within a run are refused (gammapy would stack that part twice)', async () => {
    await expect(
      select({
        start: ['2004-12-04T22:00:00', '2004-12-04T22:15:00'],
        stop: ['2004-12-04T22:21:00', '2004-12-09T00:00:00'],
      }),
    ).rejects.toThrow(
      /interval 1 .* holds run 23523 .* again, overlapping observations\.obs_time interval 0/,
    );
  });
});
