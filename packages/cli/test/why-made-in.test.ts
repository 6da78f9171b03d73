// The line `pipe why` adds for a restored product: where its cache entry's provenance says it was made.
import { describe, expect, it } from 'vitest';
import { madeInLine } from '../src/commands/why.js';

describe('madeInLine', () => {
  it('names the build, the Slurm job and node, and the end', () => {
    expect(
      madeInLine({
        buildId: '20261204-182532-087-599527',
        executor: 'slurm',
        jobId: '55_0',
        host: 'node17',
        end: '2026-12-04T18:25:40.000Z',
      }),
    ).toBe(
      'made in build 20261204-182532-087-599527 (Slurm job 55_0 on node17, ended 2026-12-04T18:25:40.000Z)',
    );
  });

  it('a local run, and a record without a build id (nothing to say)', () => {
    expect(madeInLine({ buildId: 'b1', executor: 'local', host: 'ci-runner' })).toBe(
      'made in build b1 (local on ci-runner)',
    );
    expect(madeInLine({ executor: 'local' })).toBeUndefined();
  });

  it('names the kernel backend of a step that ran kernels, not of a command', () => {
    const made = { buildId: 'b1', executor: 'local', host: 'h', kernelBackend: 'wasm' };
    expect(madeInLine({ ...made, kernels: [{ name: 'correlateDisk' }] })).toBe(
      'made in build b1 (local on h, kernels wasm)',
    );
    expect(madeInLine({ ...made, kernels: [] })).toBe('made in build b1 (local on h)');
  });
});
