/**
 * A local cache that cannot be made (a --cache-dir under a file): every task's outputs fail to be stored for the
 * same reason, which the build says once, and the build still delivers its products.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

describe('pipe build: a cache store that cannot be made', () => {
  it('warns once for the reason, not once per output, and builds the products', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  each:
    foreach: [a, b, c, d]
    command: [sh, -c, 'echo "$1" > "$0"', "{outputs.o}", "{item}"]
    outputs: {o: "out/{item}.txt"}
`,
      'not-a-folder': 'x',
    });
    const b = await ws.build(['each'], ['--cache-dir', ws.path('not-a-folder/cache')]);
    expect(b.run.code, b.run.stderr).toBe(0);
    const warnings = b.run.stdout
      .split('\n')
      .filter((l) => l.includes('"event":"warning"') && l.includes('cache:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cannot create the store');
    expect(warnings[0]).toContain('not repeated for other outputs that fail for this reason');
    expect(['a', 'b', 'c', 'd'].map((i) => ws.read(`out/${i}.txt`))).toEqual(['a\n', 'b\n', 'c\n', 'd\n']);
  });

  it('a store that breaks after it was made (read-only, full) is warned about once, not once per blob', async () => {
    const pipeline = (word: string) => `version: 1
targets:
  each:
    foreach: [a, b, c, d]
    command: [sh, -c, 'echo "$1" ${word} > "$0"', "{outputs.o}", "{item}"]
    outputs: {o: "out/{item}.txt"}
`;
    const ws = new Workspace({ 'pipe.yaml': pipeline('one') });
    expect((await ws.run(['build', 'each'])).code).toBe(0);
    // Each blob's write now fails, naming its own path (as EROFS or ENOSPC would): one reason all the same.
    ws.remove('.pipe/cache/cas');
    ws.write('.pipe/cache/cas', 'not a folder');
    ws.write('pipe.yaml', pipeline('two'));
    const b = await ws.build(['each']);
    expect(b.run.code, b.run.stderr).toBe(0);
    const warnings = b.run.stdout
      .split('\n')
      .filter((l) => l.includes('"event":"warning"') && l.includes('cache:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ENOTDIR');
    expect(ws.read('out/a.txt')).toBe('a two\n');
  });
});
