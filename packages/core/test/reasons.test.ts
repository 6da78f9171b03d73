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

describe('a command change', () => {
  // Found by helper-150: a survey's `sh -c` script given one more option was said as both scripts in full, twice
  // 300 characters, on every task's line.
  it('is said whole when short, and by the arguments that changed, around the change, when long', () => {
    expect(renderReason({ type: 'command-changed', old: ['node', 't'], new: ['node', 'other'] })).toBe(
      'command changed: ["node","t"] → ["node","other"]',
    );
    const script = (extra: string) =>
      `mkdir -p "ws/$1" && cp sub.yaml "ws/$1/pipe.yaml" && pipe -C "ws/$1" build excess_map${extra} --config "$2" --out "$PWD/runs/$1" && cp "runs/$1/summary.json" "$3"`;
    const argv = (extra: string) => [
      'sh',
      '-c',
      script(extra),
      'sh',
      '{item}',
      '{inputs.cfg}',
      '{outputs.summary}',
    ];
    expect(renderReason({ type: 'command-changed', old: argv(''), new: argv(' --cache-dir "$C"') })).toBe(
      'command changed: argument 3 …"C \\"ws/$1\\" build excess_map --config \\"$2\\" --out \\"$PWD/runs/$1"… → …"C \\"ws/$1\\" build excess_map --cache-dir \\"$C\\" --config \\"$2\\" --out \\"$PWD/runs/$1"…',
    );
    const long = (n: number) => Array.from({ length: n }, (_, i) => `argument-number-${i}`);
    expect(renderReason({ type: 'command-changed', old: long(10), new: long(12) })).toBe(
      'command changed: argument 11 ∅ → "argument-number-10"; argument 12 ∅ → "argument-number-11"',
    );
  });
});
