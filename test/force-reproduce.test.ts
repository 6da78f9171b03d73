/**
 * `pipe build --force` runs a task again under a key the cache holds: a reproduction of that entry. A task whose run
 * writes other bytes (a clock, a random seed, an undeclared input) is warned about, naming the outputs and the build
 * that made the entry; one that writes the same bytes is not. Runs the real binary.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const pipeline = `version: 1
targets:
  same:
    command: [cp, "{inputs.x}", "{outputs.o}"]
    inputs: {x: data/1.txt}
    outputs: {o: build/same.txt}
  clock:
    command: [sh, -c, 'date +%s%N > "$0"', "{outputs.o}"]
    outputs: {o: build/clock.txt}
`;

describe('pipe build --force, a task whose key the cache holds', () => {
  it('warns when the run wrote other bytes than the cache entry, and only then', async () => {
    const ws = new Workspace({ 'pipe.yaml': pipeline, 'data/1.txt': 'one\n' });
    const first = await ws.build(['same', 'clock']);
    expect(first.ended).toEqual({ ran: ['clock', 'same'] });
    const made = first.end?.['buildId'] as string;
    expect(made).toMatch(/^\d{8}-/);
    // The provenance names Node's zlib (another may compress a .gz product into other bytes: reproduced.ts says so).
    const manifests = readdirSync(ws.path('.pipe/cache/ac')).map(
      (f) => JSON.parse(readFileSync(ws.path(`.pipe/cache/ac/${f}`), 'utf8')).manifest,
    );
    expect(manifests.map((m) => m.provenance.versions.zlib)).toEqual([
      process.versions.zlib,
      process.versions.zlib,
    ]);
    const forced = await ws.build(['same', 'clock'], ['--force']);
    expect(forced.ended).toEqual({ ran: ['clock', 'same'] });
    const warnings = parseEvents(forced.run.stdout)
      .filter((e) => e.event === 'warning')
      .map((e) => e['message'] as string);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^clock: not reproduced: run again under the same key, it wrote other bytes than the cache entry made in build ${made}: build/clock.txt sha256 [0-9a-f]{12} → [0-9a-f]{12}\\. Its step is not deterministic`,
      ),
    );
  });
});
