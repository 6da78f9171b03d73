/**
 * What a build record keeps of its steps' metadata (provenance/record.ts keptMetadata), for `pipe why` once the cache
 * entry is gone: each task's up to 2 kB of JSON, and all of them together up to a budget per build, so that a fan-out
 * of thousands of tasks does not make its record megabytes long.
 */
import { describe, expect, it } from 'vitest';
import { KEPT_METADATA_CHARS, KEPT_METADATA_PER_BUILD, keptMetadata } from '../src/provenance/record.js';

describe('keptMetadata', () => {
  it("keeps a task's small metadata object, not a large one, an empty one or another value", () => {
    const budget = { left: KEPT_METADATA_PER_BUILD };
    expect(keptMetadata({ counts: 2485, livetime: 6313.8 }, budget)).toEqual({
      counts: 2485,
      livetime: 6313.8,
    });
    expect(budget.left).toBe(
      KEPT_METADATA_PER_BUILD - JSON.stringify({ counts: 2485, livetime: 6313.8 }).length,
    );
    expect(keptMetadata({ rows: 'x'.repeat(KEPT_METADATA_CHARS) }, budget)).toBeUndefined();
    expect(keptMetadata({}, budget)).toBeUndefined();
    expect(keptMetadata([1, 2], budget)).toBeUndefined();
    expect(keptMetadata('text', budget)).toBeUndefined();
  });

  it("stops keeping once the build's budget is spent: 5,000 tasks of 2 kB each are not 10 MB of record", () => {
    const budget = { left: KEPT_METADATA_PER_BUILD };
    const big = { note: 'n'.repeat(KEPT_METADATA_CHARS - 20) };
    let kept = 0;
    for (let i = 0; i < 5000; i++) if (keptMetadata(big, budget)) kept++;
    expect(kept).toBe(Math.floor(KEPT_METADATA_PER_BUILD / JSON.stringify(big).length));
    expect(kept).toBeLessThan(5000);
    // What is left still takes metadata that fits it.
    expect(keptMetadata({ n: 1 }, budget)).toEqual({ n: 1 });
    expect(keptMetadata({ n: 1 }, { left: 3 })).toBeUndefined();
  });
});
