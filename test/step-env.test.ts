/**
 * A step (in a worker thread) sees the variables its target lists under `env:` (which enter its key), and PATH,
 * HOME, TMPDIR and LANG as a command does: not the whole environment pipe was started with, which no key records
 * (a result made under THRESH=5 was restored for THRESH=9). Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const STEP = `import { writeFileSync } from 'node:fs';
const atImport = process.env.THRESH ?? null;
export default {
  name: 'envprobe',
  version: '1',
  run(ctx) {
    const seen = { THRESH: process.env.THRESH ?? null, DECL: process.env.DECL ?? null, atImport, PATH: 'PATH' in process.env, fromCtx: ctx.env.DECL ?? null };
    writeFileSync(ctx.outputs.o, JSON.stringify(seen));
  },
};
`;

describe('the environment a step sees', () => {
  it('is its listed variables and the basic ones: an unlisted variable is neither seen nor keyed', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  probe:\n    step: ./steps/probe.mjs\n    env: [DECL]\n    outputs: {o: seen.json}\n',
      'steps/probe.mjs': STEP,
    });
    const first = await ws.build(['probe'], []);
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(JSON.parse(ws.read('seen.json'))).toEqual({
      THRESH: null,
      DECL: null,
      atImport: null,
      PATH: true,
      fromCtx: null,
    });
    const run = (env: Record<string, string>) => ws.run(['build', 'probe', '--json'], env);
    expect((await run({ THRESH: '5', DECL: 'a' })).code).toBe(0);
    expect(JSON.parse(ws.read('seen.json'))).toEqual({
      THRESH: null,
      DECL: 'a',
      atImport: null,
      PATH: true,
      fromCtx: 'a',
    });
    // An unlisted variable changes nothing (nothing reruns, and nothing could have used it).
    const again = await run({ THRESH: '9', DECL: 'a' });
    expect(again.stdout).toContain('"state":"up-to-date"');
    // A listed one reruns the task, which sees it.
    expect((await run({ DECL: 'b' })).stdout).toContain('"state":"ran"');
    expect(JSON.parse(ws.read('seen.json')).DECL).toBe('b');
  });
});
