/**
 * `pipe why` on a product or a target of the pipeline that no build has made yet (a first look after writing
 * pipe.yaml, or a target never built here) says so, and what makes it, rather than "neither a product nor a target".
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

describe('pipe why before anything is built', () => {
  it('names the task that declares the file, and the target, as not built yet', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a:
    foreach: [x, y]
    command: [sh, -c, 'echo "$1" > "$2"', sh, "{item}", "{outputs.o}"]
    outputs: {o: "out/{item}.txt"}
  b:
    command: [touch, "{outputs.o}"]
    outputs: {o: out/b.txt}
`,
    });
    const file = await ws.run(['why', 'out/x.txt']);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(
      "pipe: 'out/x.txt' is an output of a[x], not built in this workspace yet (pipe build a makes it)\n",
    );
    const target = await ws.run(['why', 'a']);
    expect(target.code).toBe(2);
    expect(target.stderr).toBe("pipe: target 'a' has not been built in this workspace yet (pipe build a)\n");

    expect((await ws.run(['build', 'b'])).code).toBe(0);
    const still = await ws.run(['why', 'out/y.txt']);
    expect(still.stderr).toBe(
      "pipe: 'out/y.txt' is an output of a[y], not built in this workspace yet (pipe build a makes it)\n",
    );
    // A path no target declares is still neither.
    const other = await ws.run(['why', 'nothing.txt']);
    expect(other.stderr).toContain("'nothing.txt' is neither a product nor a target built in this workspace");
  });

  it('a product built before whose task left the pipeline and came back is not called not built yet', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  a:
    foreach: [x, y]
    command: [sh, -c, 'echo "$1" > "$2"', sh, "{item}", "{outputs.o}"]
    outputs: {o: "out/{item}.txt"}
`,
    });
    const first = await ws.build(['a']);
    expect(first.end).toMatchObject({ status: 'succeeded' });
    // y leaves the list (its record and its output go), then comes back.
    ws.write('pipe.yaml', ws.read('pipe.yaml').replace('[x, y]', '[x]'));
    expect((await ws.run(['build', 'a'])).code).toBe(0);
    ws.write('pipe.yaml', ws.read('pipe.yaml').replace('[x]', '[x, y]'));
    const why = await ws.run(['why', 'out/y.txt']);
    expect(why.code).toBe(2);
    expect(why.stderr).toBe(
      `pipe: 'out/y.txt' is an output of a[y], which build ${first.end?.buildId} made; no record of it is kept now (a task that leaves the pipeline loses its record): pipe build a makes it again\n`,
    );
  });
});

describe('pipe why of a product whose task a newer build failed', () => {
  // Found by helper-155: after a rebuild whose step threw (a watch session, an edit mid-way), pipe why told only of
  // the build that made the file, as if it were what the step makes now.
  it('says so, and which build the file is from; a build that makes it again ends it', async () => {
    const step = (body: string) =>
      `import { writeFileSync } from 'node:fs';\nexport default { name: 's', version: '1', run(ctx) { ${body} } };\n`;
    const ws = new Workspace({
      'pipe.yaml': 'version: 1\ntargets:\n  t:\n    step: ./steps/s.mjs\n    outputs: {o: out.txt}\n',
      'steps/s.mjs': step("writeFileSync(ctx.outputs.o, 'one');"),
    });
    const first = await ws.build(['t']);
    expect(first.ended).toEqual({ ran: ['t'] });
    const made = String(first.end?.buildId);
    ws.write('steps/s.mjs', step("throw new Error('boom');"));
    const failed = await ws.build(['t']);
    expect(failed.ended).toEqual({ failed: ['t'] });
    const why = await ws.run(['why', 'out.txt']);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`  last ran in build ${made}`);
    expect(why.stdout).toMatch(
      new RegExp(
        `\\n  a newer build did not make it: in build ${String(failed.end?.buildId)} it failed: step failed: boom \\(at .*s\\.mjs:2:\\d+\\) \\(log .*\\); these outputs are from build ${made} \\(pipe plan t: whether they are what the pipeline makes now\\)\\n`,
      ),
    );
    // A build that makes it again ends it.
    ws.write('steps/s.mjs', step("writeFileSync(ctx.outputs.o, 'two');"));
    expect((await ws.build(['t'])).ended).toEqual({ ran: ['t'] });
    expect((await ws.run(['why', 'out.txt'])).stdout).not.toContain('a newer build did not make it');
  });
});
