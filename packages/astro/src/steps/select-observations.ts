/**
 * Step `astro.select_observations`: the `observations` section of a gammapy config applied to a DL3 data store
 * (ids, cone, time range, required IRFs). Writes the selection as JSON and emits one item per run, whose files
 * are the run's FITS files, so the per-run reduction fans out over them and reruns only for runs that change.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StepDefinition, TaskItem } from '@pipe/core';
import type { AnalysisConfig } from '../config/index.js';
import { type ObsSelection, openDataStore } from '../dl3/index.js';
import { sectionParams } from './analysis-params.js';
import { type RunItemData, runItemData } from './run-item.js';

type Params = { observations: AnalysisConfig['observations'] };

const step: StepDefinition<Params> = {
  name: 'astro.select_observations',
  version: '1',
  validateParams: (p) =>
    sectionParams(p, 'observations', (o) => {
      // The store is an input (its index files); its path must not enter the key.
      (o as { datastore?: string }).datastore = undefined;
      delete (o as { datastore?: string }).datastore;
    }),
  async run(ctx) {
    const index = ctx.inputs['index'] ?? [];
    const hduIndex = index.find((f) => path.basename(f).startsWith('hdu-index'));
    const obsIndex = index.find((f) => path.basename(f).startsWith('obs-index'));
    if (!hduIndex || !obsIndex)
      throw new Error(
        `input 'index' must name the store's hdu-index and obs-index files; got ${index.join(', ') || 'none'}`,
      );
    const store = await openDataStore(path.dirname(hduIndex), { hduIndex, obsIndex, env: ctx.env });
    const o = ctx.params.observations;
    const criteria: ObsSelection[] = [];
    if (o.obs_ids.length > 0) criteria.push({ type: 'ids', obsIds: o.obs_ids });
    if (o.obs_cone.radius !== null) {
      criteria.push({
        type: 'cone',
        frame: o.obs_cone.frame ?? 'icrs',
        lon: o.obs_cone.lon!,
        lat: o.obs_cone.lat!,
        radius: o.obs_cone.radius,
      });
    }
    if (o.obs_time.start !== null && o.obs_time.stop !== null)
      criteria.push({ type: 'time', mjdStart: o.obs_time.start, mjdStop: o.obs_time.stop });
    const required = ['events', 'gti', ...o.required_irf];
    const { obsIds, warnings } = store.select(criteria, required);
    for (const w of warnings)
      ctx.log.warn(
        w.reason === 'missing-hdu'
          ? `OBS_ID ${w.obsId} skipped: no ${w.missing.join(', ')} HDU`
          : `OBS_ID ${w.obsId} is not in the observation index`,
      );
    if (obsIds.length === 0)
      throw new Error(
        'no observation matches the selection (check obs_ids, obs_cone, obs_time and required_irf)',
      );
    const items: TaskItem[] = [];
    const runs: Array<RunItemData & { files: string[] }> = [];
    // A run whose file is missing is an error naming the index and the paths tried (gammapy fails there too),
    // not a silently smaller selection.
    const byFile = new Map<string, string[]>();
    for (const id of obsIds) {
      for (const type of required) {
        const loc = store.observation(id).location(type);
        if (!loc.exists) {
          const where = `OBS_ID ${id}: ${loc.tried.join(' (nor ')}${loc.tried.length > 1 ? ')' : ''} not found`;
          byFile.set(where, [...(byFile.get(where) ?? []), type]);
        }
      }
    }
    const missing = [...byFile].map(([where, types]) => `${where} — needed for ${types.join(', ')}`);
    if (missing.length > 0) {
      const shown = missing.slice(0, 10);
      throw new Error(
        `the data store ${hduIndex} names files that do not exist:\n  ${shown.join('\n  ')}${missing.length > shown.length ? `\n  and ${missing.length - shown.length} more` : ''}`,
      );
    }
    for (const id of obsIds) {
      const obs = store.observation(id);
      const { files, data } = runItemData(obs, required);
      items.push({ id: String(id), files, data });
      runs.push({ ...data, files: files.map((f) => path.basename(f)) });
    }
    writeFileSync(ctx.outputs['observations']!, `${JSON.stringify({ count: runs.length, runs }, null, 2)}\n`);
    ctx.log.info(`selected ${obsIds.length} observations: ${obsIds.join(', ')}`);
    return { items, metadata: { observations: obsIds.length } };
  },
};

export default step;
