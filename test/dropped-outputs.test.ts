/**
 * An output a task no longer declares (dropped from its target): once the task ran, was restored or adopted without
 * it, the file its last record names is removed when unmodified and held by the cache, else left in place and named — a product folder never shows a product of an earlier configuration next to the new ones.
 * Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

/** `a: out/a.txt, b: out/b.txt` as command arguments and as outputs. */
function declare(outputs: Record<string, string>): string {
  const args = Object.keys(outputs)
    .map((k) => `"{outputs.${k}}"`)
    .join(', ');
  const decl = Object.entries(outputs)
    .map(([k, p]) => `${k}: ${p}`)
    .join(', ');
  return `version: 1
targets:
  maps:
    inputs: {src: in.txt}
    command: [sh, -c, 'for o in "$@"; do cp {inputs.src} "$o"; done', sh, ${args}]
    outputs: {${decl}}
`;
}

describe('outputs a task no longer declares', () => {
  it('are removed once it ran without them (restorable from the cache); moved and edited ones stay', async () => {
    const ws = new Workspace({ 'pipe.yaml': declare({ a: 'out/a.txt', b: 'out/b.txt' }), 'in.txt': 'x\n' });
    expect((await ws.build(['maps'])).run.code).toBe(0);
    expect(ws.read('out/b.txt')).toBe('x\n');

    // b is no longer asked for: the task runs (its outputs are part of its key) and b's file goes.
    ws.write('pipe.yaml', declare({ a: 'out/a.txt' }));
    const second = await ws.build(['maps']);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.ended.ran).toEqual(['maps']);
    expect(second.run.stderr).toContain(
      'removed 1 output their tasks no longer declare (kept in the cache): out/b.txt',
    );
    expect(ws.exists('out/b.txt')).toBe(false);
    expect(ws.read('out/a.txt')).toBe('x\n');

    // Asked for again: the first build's entry is restored from the cache, b included.
    ws.write('pipe.yaml', declare({ a: 'out/a.txt', b: 'out/b.txt' }));
    const third = await ws.build(['maps']);
    expect(third.ended.restored).toEqual(['maps']);
    expect(ws.read('out/b.txt')).toBe('x\n');

    // Moved to another path: the new file is written; the old one stays (only an output whose name is gone is
    // retired: a task of the same id in another pipeline file of the folder records its own paths under its names).
    ws.write('pipe.yaml', declare({ a: 'out/a.txt', b: 'out/moved/b.txt' }));
    const fourth = await ws.build(['maps']);
    expect(fourth.run.stderr).not.toContain('no longer');
    expect(ws.read('out/moved/b.txt')).toBe('x\n');

    // Edited by hand since: left in place, and named.
    ws.write('out/moved/b.txt', 'my notes\n');
    ws.write('pipe.yaml', declare({ a: 'out/a.txt' }));
    const fifth = await ws.build(['maps']);
    expect(fifth.run.code).toBe(0);
    expect(fifth.run.stderr).toContain('left 1 output their tasks no longer declare in place');
    expect(ws.read('out/moved/b.txt')).toBe('my notes\n');

    // Nothing left to retire: the next build is a no-op and says nothing of it.
    const sixth = await ws.build(['maps']);
    expect(sixth.ended['up-to-date']).toEqual(['maps']);
    expect(sixth.run.stderr).not.toContain('no longer');
  });

  it('a path another target now declares is not removed', async () => {
    const ws = new Workspace({ 'pipe.yaml': declare({ a: 'out/a.txt', b: 'out/b.txt' }), 'in.txt': 'x\n' });
    expect((await ws.build(['maps'])).run.code).toBe(0);
    ws.write(
      'pipe.yaml',
      `${declare({ a: 'out/a.txt' })}  other:
    inputs: {src: in.txt}
    command: [cp, "{inputs.src}", "{outputs.b}"]
    outputs: {b: out/b.txt}
`,
    );
    const second = await ws.build(['maps']);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.run.stderr).not.toContain('no longer');
    expect(ws.exists('out/b.txt')).toBe(true);
  });

  it('a path a target now reads as a raw input is not removed (by name or by glob), even when no task reads it in this build', async () => {
    for (const input of ['out/b.txt', '"out/b*.txt"']) {
      const ws = new Workspace({ 'pipe.yaml': declare({ a: 'out/a.txt', b: 'out/b.txt' }), 'in.txt': 'x\n' });
      expect((await ws.build(['maps'])).run.code).toBe(0);
      ws.write(
        'pipe.yaml',
        `${declare({ a: 'out/a.txt' })}  use:
    inputs: {calib: ${input}}
    command: [cat, "{inputs.calib}"]
    outputs: {o: res/use.txt}
`,
      );
      // Only maps is built: use, which reads out/b.txt now, is not part of this build.
      const second = await ws.build(['maps']);
      expect(second.run.code, second.run.stderr).toBe(0);
      expect(second.run.stderr).not.toContain('no longer');
      expect(ws.read('out/b.txt')).toBe('x\n');
    }
  });
});
