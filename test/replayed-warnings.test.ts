// Found by helper-150: each build of a survey source re-said one long warning per run (21 alike lines for 21 runs
// on one exclusion mask), up to date or restored; alike ones of one fan-out are now one line.
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const STEP = `import { writeFileSync } from 'node:fs';
export default { name: 'test.warn', version: '1', run(ctx) {
  ctx.log.warn('the mask edge passes through pixel centres');
  writeFileSync(ctx.outputs.o, ctx.item.id);
} };
`;

const PIPE = `version: 1
targets:
  run:
    step: ./steps/warn.mjs
    foreach: [a, b, c, d]
    outputs: {o: "out/{item}.txt"}
`;

describe('warnings of up-to-date and restored tasks of one fan-out', () => {
  it('are said once for all the tasks that gave the same', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPE, 'steps/warn.mjs': STEP });
    const first = await ws.run(['build', 'run', '-j', '2']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.match(/the mask edge/g)).toHaveLength(4);
    for (const run of [await ws.run(['build', 'run']), await ws.run(['build', 'run'])]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        'warning: 4 tasks of run (run[a] … run[d]; up to date; their last runs warned): the mask edge passes through pixel centres\n',
      );
      expect(run.stderr.match(/the mask edge/g)).toHaveLength(1);
    }
    for (const f of ['a', 'b', 'c', 'd']) ws.remove(`out/${f}.txt`);
    const restored = await ws.run(['build', 'run', '-j', '2']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toContain(
      'warning: 4 tasks of run (run[a] … run[d]; restored from the cache; the runs that made them warned): the mask edge',
    );
    expect(restored.stderr.match(/the mask edge/g)).toHaveLength(1);

    // --json: one event per replay (a tool groups as it likes), each naming its task and how it was skipped.
    const json = await ws.run(['build', 'run', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const warnings = parseEvents(json.stdout).filter((e) => e.event === 'warning');
    expect(warnings.map((w) => w.task).sort()).toEqual(['run[a]', 'run[b]', 'run[c]', 'run[d]']);
    for (const w of warnings) {
      expect(w.replayed).toBe('up to date');
      expect(w.message).toBe(
        `${w.task} (up to date; its last run warned): the mask edge passes through pixel centres`,
      );
    }
  });
});
