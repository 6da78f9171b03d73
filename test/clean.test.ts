/**
 * `pipe clean [targets...]`: products leave the workspace where the cache holds them, and the next build restores
 * them without running anything; an edited product stays and is named; a running build's workspace is not touched.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { holdLock, Workspace } from './rig.js';

const PIPE = `version: 1
targets:
  sorted:
    foreach: {glob: "data/*.txt"}
    inputs: {src: "data/{item}.txt"}
    command: [sort, "-o", "{outputs.out}", "{inputs.src}"]
    outputs: {out: "build/sorted/{item}.txt"}
  report:
    inputs: {parts: {target: sorted}}
    command: [sh, -c, 'cat "$@" > "$0"', "{outputs.out}", "{inputs.parts}"]
    outputs: {out: "build/report.txt"}
`;

const workspace = () =>
  new Workspace({ 'pipe.yaml': PIPE, 'data/one.txt': 'b\na\n', 'data/two.txt': 'd\nc\n' });

describe('pipe clean', () => {
  it('removes the products the cache holds, with their emptied folders; the next build restores them', async () => {
    const ws = workspace();
    expect((await ws.run(['build', 'report'])).code).toBe(0);
    // Up to date: the no-op snapshot now vouches for the products, and must not once they are gone.
    expect((await ws.run(['build', 'report'])).stderr).toContain('up to date');

    const preview = await ws.run(['clean', '-n']);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('would remove 3 files of report, sorted');
    expect(ws.exists('build/report.txt')).toBe(true);

    const cleaned = await ws.run(['clean', '--json']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const event = JSON.parse(cleaned.stdout.trim());
    expect(event).toMatchObject({ event: 'clean', dryRun: false, kept: [] });
    expect([...event.removed].sort()).toEqual([
      'build/report.txt',
      'build/sorted/one.txt',
      'build/sorted/two.txt',
    ]);
    expect(ws.exists('build')).toBe(false);
    // The inputs are not products: they stay.
    expect(ws.read('data/one.txt')).toBe('b\na\n');

    const rebuilt = await ws.run(['build', 'report']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('succeeded: 3 restored');
    expect(ws.read('build/report.txt')).toBe('a\nb\nc\nd\n');
  });

  it('cleans the named targets only, and leaves an edited product in place, named', async () => {
    const ws = workspace();
    expect((await ws.run(['build', 'report'])).code).toBe(0);
    ws.write('build/sorted/two.txt', 'my own edit\n');
    const cleaned = await ws.run(['clean', 'sorted']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain('removed 1 file of sorted');
    expect(cleaned.stdout).toContain('left 1 file edited since pipe wrote it');
    expect(cleaned.stdout).toContain('build/sorted/two.txt');
    expect(ws.exists('build/sorted/one.txt')).toBe(false);
    expect(ws.read('build/sorted/two.txt')).toBe('my own edit\n');
    expect(ws.read('build/report.txt')).toBe('a\nb\nc\nd\n');
  });

  it('leaves a product the cache no longer holds (a build would have to run its task again), saying so', async () => {
    const ws = workspace();
    expect((await ws.run(['build', 'report'])).code).toBe(0);
    ws.remove('.pipe/cache');
    const cleaned = await ws.run(['clean', 'report']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain('left 1 file the cache does not hold');
    expect(cleaned.stdout).toContain('build/report.txt');
    expect(ws.read('build/report.txt')).toBe('a\nb\nc\nd\n');
  });

  it('refuses while a build holds the workspace, touching nothing', async () => {
    const ws = workspace();
    expect((await ws.run(['build', 'report'])).code).toBe(0);
    const holder = holdLock(ws, 'other-build');
    onTestFinished(() => {
      holder.kill('SIGKILL');
    });
    const refused = await ws.run(['clean']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('a build (other-build');
    expect(ws.exists('build/report.txt')).toBe(true);
    expect(ws.exists('build/sorted/one.txt')).toBe(true);
  });

  it('cleans a target whose input file is gone (a data store not mounted here), as any other', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  copy:\n    inputs: {src: in.txt}\n    command: [cp, "{inputs.src}", "{outputs.o}"]\n    outputs: {o: out/copy.txt}\n',
      'in.txt': 'x\n',
    });
    expect((await ws.run(['build', 'copy'])).code).toBe(0);
    ws.remove('in.txt');
    const cleaned = await ws.run(['clean']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain('removed 1 file of copy');
    expect(ws.exists('out/copy.txt')).toBe(false);
  });

  it('an unknown target is an error naming the targets there are', async () => {
    const ws = workspace();
    const run = await ws.run(['clean', 'reprot']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown target 'reprot'");
    expect(run.stderr).toContain('report');
  });
});
