/** A step module that does not parse: pipe names the line (node's import() error says only what is wrong). */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

describe('pipe plan: a step module with a syntax error', () => {
  it('names the file and line of the error', async () => {
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  a: {step: ./steps/bad.mjs, outputs: [a.txt]}\n',
      'steps/bad.mjs': 'export default {\n  name: "bad", version: "1",\n  run() { const x = ; },\n};\n',
    });
    const plan = await ws.run(['plan', 'a']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(`Unexpected token ';' (at ${ws.path('steps/bad.mjs')}:3)`);
  });
});
