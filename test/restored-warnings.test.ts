/**
 * What a step warned about when it made its products is told again when they come back from the cache, not only when
 * its task is up to date: a product restored after being deleted, or from a cache another workspace filled (a CI
 * runner, a colleague's shared `--cache-dir`), says that a run was left out of the stack as the build that made it did.
 */
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const WARNING_STEP = `import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.warns',
  version: '1',
  run(ctx) {
    ctx.log.warn('run 17 left out: no background');
    writeFileSync(ctx.outputs.out, readFileSync(ctx.inputs.src[0], 'utf8').toUpperCase());
  },
};
`;

const PIPELINE = `version: 1
targets:
  stack:
    step: ./steps/warns.mjs
    inputs: { src: data/in.txt }
    outputs: { out: out/stack.txt }
`;

const files = { 'pipe.yaml': PIPELINE, 'steps/warns.mjs': WARNING_STEP, 'data/in.txt': 'abc' };

function warnings(stdout: string): string[] {
  return parseEvents(stdout)
    .filter((e) => e.event === 'warning')
    .map((e) => String((e as { message?: unknown }).message));
}

describe('warnings of restored products', () => {
  it('are told when a deleted product is restored, and by the up-to-date builds after it', async () => {
    const ws = new Workspace(files);
    const first = await ws.build(['stack']);
    expect(first.ended).toEqual({ ran: ['stack'] });
    expect(warnings(first.run.stdout)).toEqual(['stack: run 17 left out: no background']);
    ws.remove('out/stack.txt');
    const again = await ws.build(['stack']);
    expect(again.ended).toEqual({ restored: ['stack'] });
    expect(warnings(again.run.stdout)).toEqual([
      'stack (restored from the cache; the run that made it warned): run 17 left out: no background',
    ]);
    const noop = await ws.run(['build', 'stack']);
    expect(noop.stderr).toContain(
      'warning: stack (up to date; its last run warned): run 17 left out: no background',
    );
  });

  it('are told by a workspace that takes the products from a cache another one filled', async () => {
    const maker = new Workspace(files);
    const cacheDir = maker.path('shared-cache');
    expect((await maker.build(['stack'], ['--cache-dir', cacheDir])).ended).toEqual({ ran: ['stack'] });
    const user = new Workspace(files);
    const got = await user.build(['stack'], ['--cache-dir', cacheDir]);
    expect(got.ended).toEqual({ restored: ['stack'] });
    expect(warnings(got.run.stdout)).toEqual([
      'stack (restored from the cache; the run that made it warned): run 17 left out: no background',
    ]);
    expect(user.read('out/stack.txt')).toBe('ABC');
  });
});
