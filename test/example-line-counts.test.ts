/**
 * The README's first pipeline, pipelines/examples/line-counts, as a user runs it: copied to a folder of its own,
 * built with no target named (its `default`), an input edited, a param overridden. The README shows this session.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, Workspace } from './rig.js';

const report = (title: string, rows: [string, number][]) =>
  [
    `# ${title}`,
    '',
    '| file | lines |',
    '| --- | --- |',
    ...rows.map(([f, n]) => `| ${f} | ${n} |`),
    '',
  ].join('\n');

describe('pipelines/examples/line-counts', () => {
  it('builds its default target, then reruns only what an edit or a param reaches', async () => {
    const ws = new Workspace({});
    // Its files only: a user who ran it in place (as the README says) left its .pipe/ and build/ there.
    const example = path.join(REPO_ROOT, 'pipelines/examples/line-counts');
    cpSync(example, ws.root, {
      recursive: true,
      filter: (src) => !/^(\.pipe|build)(\/|$)/.test(path.relative(example, src)),
    });

    let b = await ws.build([]);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(b.ended).toEqual({ ran: ['report', 'sorted[one]', 'sorted[two]'] });
    expect(ws.read('build/sorted/one.txt')).toBe('a b c\nd e\n');
    expect(ws.read('build/report.md')).toBe(
      report('Line counts', [
        ['one.txt', 2],
        ['two.txt', 1],
      ]),
    );

    b = await ws.build([]);
    expect(b.ended).toEqual({ 'up-to-date': ['report', 'sorted[one]', 'sorted[two]'] });

    // `sort` puts the new line first: the sorted file and the report change, the other file's task does not run.
    ws.write('data/two.txt', 'x y\na\n');
    b = await ws.build([]);
    expect(b.ended).toEqual({ ran: ['report', 'sorted[two]'], 'up-to-date': ['sorted[one]'] });
    expect(ws.read('build/sorted/two.txt')).toBe('a\nx y\n');
    expect(ws.read('build/report.md')).toContain('| two.txt | 2 |');

    // A param of one target, set on the command line: only that target's task runs.
    b = await ws.build([], ['--param', 'report.title=Lines per file']);
    expect(b.ended).toEqual({ ran: ['report'], 'up-to-date': ['sorted[one]', 'sorted[two]'] });
    expect(ws.read('build/report.md').split('\n')[0]).toBe('# Lines per file');
  });
});
