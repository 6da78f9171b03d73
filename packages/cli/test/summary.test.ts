import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { summaryLines } from '../src/summary.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The summary lines of one task whose `summary` output holds `data`. */
function linesOf(data: unknown): string[] {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-summary-'));
  const file = path.join(dir, 'out', 'summary.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(data));
  return summaryLines(dir, [{ id: 'm', target: 'm', outputs: { summary: file } }], ['m']);
}

describe('summaryLines', () => {
  it('prints a short list of records an entry per line (per-run norms, per-group peaks), a long one as its count', () => {
    const run = (i: number) => ({ obs_id: 100 + i, fov_bkg_norm: 1 + i / 100, skipped: null });
    expect(
      linesOf({ per_observation: [run(0), run(1)], total_counts: 12, peak: { x: 3, sqrt_ts: 5.123456789 } }),
    ).toEqual([
      'm: out/',
      '  per observation:',
      '    obs_id 100, fov_bkg_norm 1',
      '    obs_id 101, fov_bkg_norm 1.01',
      '  total counts: 12',
      '  peak: x 3, sqrt_ts 5.123457',
    ]);
    const many = Array.from({ length: 21 }, (_, i) => run(i));
    expect(linesOf({ per_observation: many, ids: [1, 2, 3] })).toEqual([
      'm: out/',
      '  per observation: 21 entries (summary.json)',
      '  ids: 1, 2, 3',
    ]);
  });

  it('prints a long list of values by its ends (a survey of 1000 runs is not a 9000-character line)', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => 900000 + i);
    expect(linesOf({ observations: ids, few: Array.from({ length: 20 }, (_, i) => i) })).toEqual([
      'm: out/',
      '  observations: 900000, 900001, 900002, …, 900999 (1000 values, summary.json)',
      `  few: ${Array.from({ length: 20 }, (_, i) => i).join(', ')}`,
    ]);
  });

  // Found by helper-150: with excess_map.energy_edges, each group's line had its totals but not its peak.
  it("prints a listed entry's record in parentheses (each energy group's peak)", () => {
    const group = (lo: number, sqrtTs: number) => ({
      energy_range_tev: [lo, lo * 2],
      total_counts: 10,
      peak: { x: 3, y: 4, sqrt_ts: sqrtTs },
    });
    expect(linesOf({ energy_groups: [group(1, 5), group(2, 3.5)] })).toEqual([
      'm: out/',
      '  energy groups:',
      '    energy_range_tev 1, 2, total_counts 10, peak (x 3, y 4, sqrt_ts 5)',
      '    energy_range_tev 2, 4, total_counts 10, peak (x 3, y 4, sqrt_ts 3.5)',
    ]);
  });
});
