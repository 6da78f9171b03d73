/**
 * A long-lived workspace does not keep every build forever: a build prunes the records, task logs and Slurm files
 * of builds beyond the newest 100, keeping the ones that made the current products. The real `pipe` binary, over a
 * `.pipe/` folder seeded with the leftovers of 130 earlier builds.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const WRITE = "require('fs').writeFileSync(process.argv[1], 'made')";

describe('build retention', () => {
  it('a build removes the records, logs and Slurm files of builds beyond the newest 100, but not its products’ build', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  kept:
    command: [node, -e, ${JSON.stringify(WRITE)}, "{outputs.out}"]
    outputs: { out: out/kept.txt }
  next:
    command: [node, -e, ${JSON.stringify(WRITE)}, "{outputs.out}"]
    outputs: { out: out/next.txt }
`,
    });
    // The build that makes `kept` is the oldest (its id given as a detached driver's is), then 130 builds' leftovers.
    const firstId = '20200101-000000-000-aaaaaa';
    const first = await ws.run(['build', 'kept'], { PIPE_BUILD_ID: firstId });
    expect(first.code, first.stderr).toBe(0);
    const builds = ws.path('.pipe/builds');
    for (let n = 0; n < 130; n++) {
      const id = `20210101-${String(n).padStart(6, '0')}-000-abcdef`;
      writeFileSync(path.join(builds, `${id}.json`), '{}');
      mkdirSync(ws.path(`.pipe/logs/${id}`), { recursive: true });
      writeFileSync(ws.path(`.pipe/logs/${id}/t.log`), 'log');
      mkdirSync(ws.path(`.pipe/slurm/${id}`), { recursive: true });
    }
    const second = await ws.build(['next']);
    expect(second.run.code, second.run.stderr).toBe(0);
    const records = readdirSync(builds).sort();
    expect(records).toHaveLength(101); // the newest 100, and the build that made `kept`
    expect(records).toContain(`${firstId}.json`);
    expect(readdirSync(ws.path('.pipe/logs')).sort()).toEqual(records.map((r) => r.slice(0, -5)));
    expect(readdirSync(ws.path('.pipe/slurm'))).toHaveLength(130 - 31); // the 31 oldest seeded builds went
    expect(records).not.toContain('20210101-000030-000-abcdef.json');
    expect(records).toContain('20210101-000031-000-abcdef.json');
    // Asking for a pruned build says why it is gone (not that it found everything up to date).
    const gone = await ws.run(['status', '20210101-000030-000-abcdef']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(
      "no build '20210101-000030-000-abcdef': a workspace keeps the newest 100 builds and those that made its current products",
    );
    const never = await ws.run(['status', '20990101-000000-000-abcdef']);
    expect(never.stderr).toContain('a build that found everything up to date is not recorded');
  });
});
