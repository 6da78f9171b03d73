/**
 * A parameter sweep through the real `pipe` command: a foreach list of numbers, a step whose validateParams takes
 * only a number, one task per value; a bad value reported at its place in the list; editing one value runs only
 * that value's task.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const STEP = `
import { writeFileSync } from 'node:fs';
export default {
  name: 'test.radius',
  version: '1',
  validateParams(p) {
    // A number, or (as a quoted sweep gave it) its text.
    if (!['number', 'string'].includes(typeof p?.radius_deg) || !(Number(p.radius_deg) > 0))
      return { ok: false, issues: [{ path: ['radius_deg'], message: 'must be a positive number (degrees)' }] };
    return { ok: true, value: p };
  },
  run(ctx) {
    if (ctx.params.radius_deg === 0.7)
      throw Object.assign(new Error('no background model at 0.7 deg'), { param: ['radius_deg'] });
    writeFileSync(ctx.outputs.out, JSON.stringify({ params: ctx.params, item: ctx.item }));
  },
};
`;

const pipeline = (list: string) => `version: 1
targets:
  scan:
    step: ./steps/r.mjs
    foreach: ${list}
    params: { radius_deg: "{item}", label: "{item} deg" }
    outputs: { out: "out/r{item}.json" }
`;

describe('pipe build: a parameter sweep over a foreach list of numbers', () => {
  it('gives the step numbers, points at a bad value, and reruns only the value edited', async () => {
    // Quoted, as a sweep had to be written: the step gets text.
    const ws = new Workspace({ 'pipe.yaml': pipeline('["0.1", "0.2", "0.50"]'), 'steps/r.mjs': STEP });
    let b = await ws.build(['scan']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(JSON.parse(ws.read('out/r0.50.json')).params.radius_deg).toBe('0.50');

    // Unquoted: the same tasks (ids as written), the param a number now, as plan says.
    ws.write('pipe.yaml', pipeline('[0.1, 0.2, 0.50]'));
    const typed = await ws.run(['plan', 'scan']);
    expect(typed.stdout).toMatch(
      /run\s+scan\[0\.1\]\n\s+param changed: radius_deg "0\.1" → 0\.1\n\s+item changed: data null → 0\.1\n/,
    );
    b = await ws.build(['scan']);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.ended).toEqual({ ran: ['scan[0.1]', 'scan[0.2]', 'scan[0.50]'] });
    // The whole-value "{item}" is the number; inside a longer string, the text as written.
    expect(JSON.parse(ws.read('out/r0.50.json'))).toEqual({
      params: { radius_deg: 0.5, label: '0.50 deg' },
      item: { id: '0.50', files: [], data: 0.5 },
    });

    b = await ws.build(['scan']);
    expect(b.ended).toEqual({ 'up-to-date': ['scan[0.1]', 'scan[0.2]', 'scan[0.50]'] });

    // A value the step refuses: at its place in the list, with the source line; nothing runs.
    ws.write('pipe.yaml', pipeline('[0.1, -0.2, 0.50, 0]'));
    const bad = await ws.run(['build', 'scan']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "for foreach item '-0.2': must be a positive number (degrees)\n 5 |     foreach: [0.1, -0.2, 0.50, 0]\n   |                    ^~~~\npipe.yaml:6:27: note: param 'radius_deg' written here\n",
    );
    expect(bad.stderr).toMatch(
      /^pipe\.yaml:5:20: error: param 'radius_deg' of target 'scan' \(step '.*r\.mjs'\) for/,
    );
    expect(bad.stderr).toContain("pipe.yaml:5:32: error: param 'radius_deg'");
    expect(bad.stderr).toContain('2 errors');

    // One value edited: only its task runs (the others keep their keys).
    ws.write('pipe.yaml', pipeline('[0.1, 0.3, 0.50]'));
    const plan = await ws.run(['plan', 'scan']);
    // The edited value is a new item, the old one departs (its output removed by the build).
    expect(plan.stdout).toMatch(
      /run\s+scan\[0\.3\]\n\s+new item: '0\.3' added to the foreach list of 'scan'\n/,
    );
    expect(plan.stdout).toMatch(/departed\s+scan\[0\.2\]\n.*out\/r0\.2\.json\n/);
    expect(plan.stdout).toContain('plan: 1 to run, 0 to restore, 0 maybe, 2 up to date, 1 departed');
    b = await ws.build(['scan']);
    expect(b.ended).toEqual({ ran: ['scan[0.3]'], 'up-to-date': ['scan[0.1]', 'scan[0.50]'] });
    expect(JSON.parse(ws.read('out/r0.3.json')).params.radius_deg).toBe(0.3);

    // A value the step blames when it runs was set at its place in the list.
    ws.write('pipe.yaml', pipeline('[0.1, 0.3, 0.50, 0.7]'));
    const blamed = await ws.run(['build', 'scan']);
    expect(blamed.code).toBe(1);
    expect(blamed.stderr).toMatch(
      /scan\[0\.7\].*no background model at 0\.7 deg.*; set at pipe\.yaml:5:31 \(its foreach item\)\n/,
    );
  });
});
