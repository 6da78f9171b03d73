/**
 * `resources.retries` and `resources.time` on the local executors (commands, and steps on the worker pool), as
 * under Slurm: a failed attempt runs again from empty temporary outputs and the report counts the attempts; a
 * task that outlives its time limit is stopped and fails saying so, and a timed-out attempt is a failed one.
 * Ctrl-C, and a build stopping after another task's failure, start no further attempt.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, parseEvents, processEnded, Workspace, waitForFile } from './rig.js';

/**
 * A command that counts its attempts in `<name>.attempts`, fails its first one (status 7) after writing part of its
 * output, and succeeds on the next — but fails (status 9) if it finds the output a failed attempt wrote.
 */
function flaky(name: string): string {
  const script = [
    "const fs=require('fs');const [out,name]=process.argv.slice(1);",
    "fs.appendFileSync(name+'.attempts','x');",
    'if(fs.existsSync(out))process.exit(9);',
    "if(!fs.existsSync(name+'.failed')){fs.writeFileSync(name+'.failed','');fs.writeFileSync(out,'partial');process.exit(7);}",
    "fs.writeFileSync(out,'second attempt');",
  ].join('');
  return JSON.stringify(['node', '-e', script, '{outputs.o}', name]);
}

/**
 * A command that counts its attempts in `<name>.attempts`, writes its pid to `<name>.pid` and part of its output,
 * then waits for `release` (forever, unless the test writes it), ignoring SIGTERM when `stubborn`, and exits 7.
 */
function waiting(name: string, stubborn = false): string {
  const script = [
    "const fs=require('fs');const [out,name]=process.argv.slice(1);",
    stubborn ? "process.on('SIGTERM',()=>{});" : '',
    "fs.appendFileSync(name+'.attempts','x');fs.writeFileSync(out,'partial');",
    "fs.writeFileSync(name+'.pid',String(process.pid));",
    'const sab=new Int32Array(new SharedArrayBuffer(4));',
    "while(!fs.existsSync('release')){Atomics.wait(sab,0,0,20);}",
    'process.exit(7);',
  ].join('');
  return JSON.stringify(['node', '-e', script, '{outputs.o}', name]);
}

/** Resolve when the child's stdout has printed a line matching `pattern`. */
function printed(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) resolve();
    });
  });
}

describe('pipe build: retries and time limits on the local executors', () => {
  it('retries a failed command (from empty outputs) and says it took 2 attempts; without retries it fails', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  once:
    command: ${flaky('once')}
    outputs: {o: out/once.txt}
    resources: {retries: 1}
  never:
    command: ${flaky('never')}
    outputs: {o: out/never.txt}
    resources: {retries: 0}
`,
    });
    const once = await ws.run(['build', 'once']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toContain('warning: once: exited with status 7; retrying (attempt 2 of 2)');
    expect(once.stderr).toMatch(/ran\s+once \(\d+ ms, 2 attempts\)/);
    expect(ws.read('once.attempts')).toBe('xx');
    expect(ws.read('out/once.txt')).toBe('second attempt');
    const status = JSON.parse((await ws.run(['status', '--json'])).stdout);
    expect(status.tasks.once).toMatchObject({ state: 'ran', attempts: 2 });
    // The attempts share one log, marked where the second starts and why the first failed.
    const logs = ws.path('.pipe/logs');
    const log = readFileSync(path.join(logs, readdirSync(logs)[0]!, 'once.log'), 'utf8');
    expect(log).toContain('--- pipe: attempt 1 of 2: exited with status 7; attempt 2 follows ---\n');

    const never = await ws.build(['never']);
    expect(never.run.code).toBe(1);
    expect(never.ended).toEqual({ failed: ['never'] });
    expect(never.run.stdout).toContain('"error":"exited with status 7"');
    expect(ws.read('never.attempts')).toBe('x');
    expect(ws.exists('out/never.txt')).toBe(false);
  });

  it('an attempt that exits 0 without writing its output is a failed one, and is retried', async () => {
    const script =
      "const fs=require('fs');if(fs.existsSync('tried')){fs.writeFileSync(process.argv[1],'written');}else{fs.writeFileSync('tried','');}";
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  quiet:
    command: ${JSON.stringify(['node', '-e', script, '{outputs.o}'])}
    outputs: {o: out/quiet.txt}
    resources: {retries: 1}
`,
    });
    const r = await ws.run(['build', 'quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "warning: quiet: output 'o' was not written (out/quiet.txt); retrying (attempt 2 of 2)",
    );
    expect(r.stderr).toMatch(/ran\s+quiet \(\d+ ms, 2 attempts\)/);
    expect(ws.read('out/quiet.txt')).toBe('written');
  });

  it('stops a command at resources.time (SIGKILL after the grace period if it ignores SIGTERM), publishing nothing', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  slow:
    command: ${waiting('slow', true)}
    outputs: {o: out/slow.txt}
    resources: {time: "0:01", retries: 1}
`,
    });
    const started = Date.now();
    const r = await ws.build(['slow']);
    expect(r.run.code).toBe(1);
    expect(r.ended).toEqual({ failed: ['slow'] });
    // Two attempts of 1 s, each followed by SIGTERM and, 2 s later, SIGKILL; not the forever it would wait.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.run.stdout).toContain(
      '"error":"exceeded its time limit resources.time = 0:01 (1 s) after 2 attempts"',
    );
    expect(r.run.stdout).toContain(
      'slow: exceeded its time limit resources.time = 0:01 (1 s); retrying (attempt 2 of 2)',
    );
    expect(ws.read('slow.attempts')).toBe('xx');
    expect(await processEnded(Number(ws.read('slow.pid')))).toBe(true);
    expect(ws.exists('out/slow.txt')).toBe(false);
  });

  it('stops a step that never returns at resources.time; its retry runs on the thread that replaces the stopped one', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  spin:
    step: ./steps/spin.mjs
    outputs: {o: out/spin.txt}
    resources: {time: "0:01", retries: 1}
`,
      'steps/spin.mjs': `import { appendFileSync, writeFileSync } from 'node:fs';
export default { name: 'test.spin', version: '1',
  run(ctx) { appendFileSync('spin.attempts', 'x'); writeFileSync(ctx.outputs.o, 'partial'); for (;;) {} } };
`,
    });
    // One thread: the second attempt runs only if the first one's thread was replaced.
    const r = await ws.run(['build', 'spin', '-j', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAILED\s+spin: exceeded its time limit resources.time = 0:01 \(1 s\) after 2 attempts\n/,
    );
    expect(ws.read('spin.attempts')).toBe('xx');
    expect(ws.exists('out/spin.txt')).toBe(false);
  });

  it('Ctrl-C cancels a task without retrying it', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  slow:
    command: ${waiting('slow')}
    outputs: {o: out/slow.txt}
    resources: {retries: 2}
`,
    });
    const child = ws.spawn(['build', 'slow', '--json']);
    const done = finished(child);
    await waitForFile(ws.path('slow.pid'));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    expect(parseEvents(run.stdout).find((e) => e.event === 'task-end')).toMatchObject({
      id: 'slow',
      state: 'cancelled',
    });
    expect(ws.read('slow.attempts')).toBe('x');
    expect(ws.exists('out/slow.txt')).toBe(false);
  });

  it('a build stopping after another task failed starts no further attempt', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  slow:
    command: ${waiting('slow')}
    outputs: {o: out/slow.txt}
    resources: {retries: 2}
  bad:
    command: [node, -e, "const fs=require('fs');const a=new Int32Array(new SharedArrayBuffer(4));while(!fs.existsSync('slow.pid'))Atomics.wait(a,0,0,20);process.exit(1)", "{outputs.o}"]
    outputs: {o: out/bad.txt}
`,
    });
    const child = ws.spawn(['build', 'slow', 'bad', '--json', '-j', '2']);
    const done = finished(child);
    // slow's first attempt ends (status 7) only once bad has failed and the build is stopping.
    await printed(child, /"id":"bad","state":"failed"/);
    ws.write('release', '');
    const run = await done;
    expect(run.code).toBe(1);
    expect(parseEvents(run.stdout).find((e) => e.event === 'task-end' && e.id === 'slow')).toMatchObject({
      state: 'failed',
      error: 'exited with status 7',
    });
    expect(ws.read('slow.attempts')).toBe('x');
  });

  it("a time limit beyond setTimeout's range (30 days) is no limit, not an instant one", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  long:
    resources: {time: "30-00:00:00"}
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], 'done')", "{outputs.o}"]
    outputs: {o: out/long.txt}
`,
    });
    const r = await ws.run(['build', 'long']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('out/long.txt')).toBe('done');
  });
});
