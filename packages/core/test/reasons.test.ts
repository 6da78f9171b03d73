/** Reasons name what changed, leaf by leaf: an item's changed fields, not the whole item twice. */
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../src/fingerprint/record.js';
import { diffRecords, renderReason } from '../src/plan/reasons.js';

const record = (item: { id: string; data?: unknown }) =>
  makeRecord({
    step: { name: 's', version: '1', code: 'c', kernels: [] },
    params: {},
    inputs: {},
    env: {},
    item,
    outputs: { o: 'out/o' },
  });

describe('reasons', () => {
  it("an item's changed fields are named one by one", () => {
    const run = { obs_id: 23523, livetime: 1581.7, pointing: { ra: 83.6, dec: 22.0 }, irfs: ['aeff', 'bkg'] };
    const old = record({ id: '23523', data: run });
    const now = record({ id: '23523', data: { ...run, livetime: 1500, pointing: { ra: 83.6, dec: 22.5 } } });
    expect(diffRecords(old, now).map(renderReason)).toEqual([
      'item changed: data.livetime 1581.7 → 1500',
      'item changed: data.pointing.dec 22 → 22.5',
    ]);
  });
});
