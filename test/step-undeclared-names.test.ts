// A step that fails after asking for an input or output its task does not have (a typo in ctx.outputs['…']): the
// failure names that name and the close ones, not only the TypeError that followed from its undefined.
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.copy', version: '1',
  run(ctx) {
    // The names still clone (a step may hand them to a worker of its own).
    structuredClone({ inputs: ctx.inputs, outputs: ctx.outputs });
    // An optional output looked for, and absent: no error by itself.
    if (ctx.outputs['log']) writeFileSync(ctx.outputs['log'], 'log');
    writeFileSync(ctx.outputs['sumary'], readFileSync(ctx.inputs['src'][0], 'utf8'));
  } };
`;

describe('a step asking for a name its task does not have', () => {
  it('fails naming it, with what the task has and the close name', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  copy:
    step: ./steps/copy.mjs
    inputs: { src: data.txt }
    outputs: { summary: out/summary.txt }
`,
      'data.txt': 'd',
      'steps/copy.mjs': STEP,
    });
    const failed = await ws.run(['build', 'copy']);
    expect(failed.code).toBe(1);
    const text = failed.stdout + failed.stderr;
    expect(text).toContain(
      "ctx.outputs['sumary'] is not one of this task's outputs (summary): did you mean 'summary'?",
    );
    // The optional output looked for before is no likely culprit: not named beside the close one.
    expect(text).not.toContain("ctx.outputs['log']");
    ws.write('steps/copy.mjs', STEP.replace("ctx.outputs['sumary']", "ctx.outputs['summary']"));
    const fixed = await ws.run(['build', 'copy']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(ws.read('out/summary.txt')).toBe('d');
  });
});
