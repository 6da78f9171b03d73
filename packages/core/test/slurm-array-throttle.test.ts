// `resources.array_throttle`: a target whose tasks must not all run at once on the cluster (they hammer one file
// server, or a licence) limits its job arrays (`--array=0-N%K`) without limiting the build's other arrays, which
// `pipe build --array-throttle` would. Slurm is played by a runner that records sbatch's arguments: no cluster needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/index.js';
import type { CommandRunner } from '../src/slurm/client.js';
import { SlurmClient } from '../src/slurm/client.js';
import { SlurmEngineExecutor } from '../src/slurm/engine-adapter.js';
import { fixtureRegistry, makeWorkspace, removeWorkspace } from './fixtures/config/workspace.js';
import { commandRequest } from './fixtures/run-command.js';

const work = mkdtempSync(join(tmpdir(), 'pipe-slurm-throttle-'));
const dirs: string[] = [];
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  for (const d of dirs) removeWorkspace(d);
});

describe('resources.array_throttle', () => {
  it('is read from the pipeline, and refused when not a positive integer', async () => {
    const dir = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          heavy:
            foreach: [a, b]
            command: [x, '{item}']
            outputs: {o: 'build/{item}.txt'}
            resources: {array_throttle: 2}
      `,
    });
    dirs.push(dir);
    const loaded = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: dir });
    expect(loaded.ok && loaded.pipeline.targets.get('heavy')?.resources.arrayThrottle).toBe(2);
    const bad = makeWorkspace({
      'pipe.yaml': `
        version: 1
        targets:
          heavy:
            command: [x]
            outputs: {o: build/x.txt}
            resources: {array_throttle: 0}
      `,
    });
    dirs.push(bad);
    const refused = await loadPipeline('pipe.yaml', { registry: fixtureRegistry(), cwd: bad });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.diagnostics.map((d) => d.message).join('\n')).toContain(
      'resources.array_throttle',
    );
  });

  it("limits the target's own arrays, the build's --array-throttle the others", async () => {
    const stop = new AbortController();
    const arrays = new Map<string, string>();
    const runner: CommandRunner = async (program, args) => {
      if (program === 'sbatch') {
        const name = args.find((a) => a.startsWith('--job-name='))!;
        // Named <target>.pipe-<build>: the target is the name's first part.
        arrays.set(
          name.slice('--job-name='.length).split('.')[0]!,
          args.find((a) => a.startsWith('--array='))!,
        );
        if (arrays.size === 2) stop.abort();
        return { code: 0, stdout: `${100 + arrays.size}\n`, stderr: '' };
      }
      if (program === 'squeue') return { code: 0, stdout: '{"jobs": []}', stderr: '' };
      if (program === 'scancel') return { code: 0, stdout: '', stderr: '' };
      return { code: 1, stdout: '', stderr: `${program}: not in this fake` };
    };
    const ex = new SlurmEngineExecutor({
      buildId: 'throttle',
      workDir: join(work, '.pipe/slurm/throttle'),
      client: new SlurmClient({ runner }),
      arrayThrottle: 8,
      pollMinMs: 10,
      pollMaxMs: 20,
    });
    const req = (target: string, item: string, arrayThrottle?: number) =>
      commandRequest(`${target}[${item}]`, ['/bin/true'], work, join(work, `${target}-${item}.log`), {
        target,
        resources: arrayThrottle ? { arrayThrottle } : {},
      });
    await ex.submit(
      ['a', 'b', 'c'].flatMap((i) => [req('heavy', i, 2), req('light', i)]),
      () => undefined,
      stop.signal,
    );
    await ex.close();
    expect(Object.fromEntries(arrays)).toEqual({ heavy: '--array=0-2%2', light: '--array=0-2%8' });
  });
});
