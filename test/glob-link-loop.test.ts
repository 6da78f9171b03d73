/**
 * A symbolic link loop among the files a foreach glob matches (data/a.txt → data/b → data/a.txt), as a user meets it
 * in pipelines/examples/line-counts: the glob leaves it out with a warning that says it is a loop; `pipe plan` and
 * `pipe build` go on. The pipeline cache stamped each such link with a stat that threw ELOOP: both commands ended with
 * "Error: ELOOP: too many symbolic links encountered" and a stack trace (exit 70), `build` after it had built.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, Workspace } from './rig.js';

describe('a foreach glob matching a loop of symbolic links', () => {
  it('is left out with a warning naming the loop; plan and build succeed, and the loop undone is seen', async () => {
    const ws = new Workspace({});
    const example = path.join(REPO_ROOT, 'pipelines/examples/line-counts');
    cpSync(example, ws.root, {
      recursive: true,
      filter: (src) => !/^(\.pipe|build)(\/|$)/.test(path.relative(example, src)),
    });
    let b = await ws.build([]);
    expect(b.run.code, b.run.stderr).toBe(0);
    const report = ws.read('build/report.md');

    symlinkSync('loop', ws.path('data/three.txt'));
    symlinkSync('three.txt', ws.path('data/loop'));
    const warning =
      "warning: foreach of target 'sorted': 'data/three.txt' matches glob 'data/*.txt' but is a loop of symbolic links, so it is left out";
    const plan = await ws.run(['plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toContain(warning);
    expect(plan.stderr).not.toContain('ELOOP');
    expect(plan.stdout).toContain('3 up to date');
    b = await ws.build([]);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.run.stderr).not.toContain('ELOOP');
    expect(b.ended).toEqual({ 'up-to-date': ['report', 'sorted[one]', 'sorted[two]'] });
    expect(ws.read('build/report.md')).toBe(report);

    // The loop undone: the file is an item of the next build.
    ws.remove('data/three.txt');
    ws.write('data/three.txt', 'z\ny\nx\n');
    b = await ws.build([]);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.ended).toEqual({
      ran: ['report', 'sorted[three]'],
      'up-to-date': ['sorted[one]', 'sorted[two]'],
    });
    expect(ws.read('build/report.md')).toContain('| three.txt | 3 |');
  });

  // Found by linking a pipeline from a data disk that was not mounted: its targets were gone without a word (the
  // include glob leaves a dangling link out), and mounting the disk was not seen by the remembered pipeline.
  it('an include glob matching a dangling link warns that its targets are left out, and sees them come', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ninclude: [pipelines/*/pipe.yaml]\ndefault: [a]\ntargets:\n  a: {command: [touch, "{outputs.0}"], outputs: [a.txt]}\n',
    });
    const disk = path.join(ws.root, 'disk');
    mkdirSync(ws.path('pipelines/extra'), { recursive: true });
    symlinkSync(path.join(disk, 'pipe.yaml'), ws.path('pipelines/extra/pipe.yaml'));
    const before = await ws.run(['plan']);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stderr).toContain(
      `warning: include 'pipelines/*/pipe.yaml': 'pipelines/extra/pipe.yaml' is a symbolic link to '${disk}/pipe.yaml', which does not exist, so its targets are left out`,
    );
    expect(before.stderr.match(/warning:/g)).toHaveLength(1);
    expect((await ws.run(['targets'])).stdout).not.toContain('extra_target');
    ws.write(
      'disk/pipe.yaml',
      'targets:\n  extra_target: {command: [touch, "{outputs.0}"], outputs: [b.txt]}\n',
    );
    const after = await ws.run(['plan']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).not.toContain('warning');
    expect((await ws.run(['targets'])).stdout).toContain('extra_target');
  });
});
