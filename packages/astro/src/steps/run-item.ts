/**
 * A run as a fan-out item: its files (absolute; hashed by the engine) and, as item data, where each HDU is —
 * by index into the files, never by path, so a task's key does not depend on where the data store lives.
 */
import type { TaskItem } from '@pipe/core';
import { type HduLocation, Observation, type ObsValue, type TimeRange } from '../dl3/index.js';

export interface RunItemData {
  obsId: number;
  /** HDU type → {file: index into the item's files, HDU name and class}. */
  hdus: Record<string, { file: number; hduName: string; hduClass: string }>;
  /** The run's obs-index row (JSON values: bigints as numbers). */
  obsIndexRow: Record<string, number | string | boolean | null>;
  /**
   * The observations.obs_time interval (MJD TT) the run is cut to, as gammapy's Observation.select_time cuts it
   * (events and GTI); absent for a run the interval holds whole, so such a run's item (and task key) is the same
   * with or without obs_time.
   */
  timeRange?: TimeRange;
  /**
   * HDU types the index lists for the run whose file is not there (type → the paths tried). Not required by
   * observations.required_irf, so the selection keeps the run, as gammapy does; a reduction that uses one fails.
   */
  missing?: Record<string, string>;
}

export function runItemData(
  obs: Observation,
  hduTypes: readonly string[],
  timeRange?: TimeRange,
  missing?: Record<string, string>,
): { files: string[]; data: RunItemData } {
  const files = obs.filePaths(hduTypes);
  const hdus: RunItemData['hdus'] = {};
  for (const type of hduTypes) {
    const loc = obs.location(type);
    hdus[type] = { file: files.indexOf(loc.path), hduName: loc.hduName, hduClass: loc.hduClass };
  }
  const obsIndexRow: RunItemData['obsIndexRow'] = {};
  // Item data travels as JSON (cache manifests, task keys): bigints become numbers, NaN and ±Inf become null.
  for (const [k, v] of Object.entries(obs.obsIndexRow)) {
    const value = typeof v === 'bigint' ? Number(v) : (v as Exclude<ObsValue, bigint>);
    obsIndexRow[k] = typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  const data: RunItemData = { obsId: obs.obsId, hdus, obsIndexRow };
  if (timeRange) data.timeRange = { start: timeRange.start, stop: timeRange.stop };
  if (missing && Object.keys(missing).length > 0) data.missing = missing;
  return { files, data };
}

/** The Observation of an item made by {@link runItemData}, reading the files the engine handed to the task. */
export function observationOfItem(item: TaskItem): Observation {
  const data = item.data as RunItemData;
  const locations = new Map<string, HduLocation>();
  for (const [type, h] of Object.entries(data.hdus)) {
    const file = item.files[h.file];
    if (file === undefined)
      throw new Error(
        `item ${item.id}: HDU '${type}' names file #${h.file}, but the item has ${item.files.length} files`,
      );
    locations.set(type, {
      path: file,
      exists: true,
      folder: false,
      tried: [file],
      obsId: data.obsId,
      hduType: type,
      hduClass: h.hduClass,
      hduName: h.hduName,
    });
  }
  return new Observation(data.obsId, locations, data.obsIndexRow, data.timeRange);
}
