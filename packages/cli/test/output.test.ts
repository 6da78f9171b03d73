/**
 * The TTY progress line: tasks settle in bursts (every up-to-date task of a large build is one event), so the line
 * is redrawn at most every 100 ms, a deferred redraw shows the last counts, and nothing is drawn after the build's
 * closing line.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BuildOutput } from '../src/output.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function captureStderr(): string[] {
  const writes: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  return writes;
}

const upToDate = (i: number) =>
  ({ type: 'task-end', report: { id: `t[${i}]`, state: 'up-to-date' } }) as Parameters<
    BuildOutput['event']
  >[0];

describe('BuildOutput on a TTY', () => {
  it('redraws the progress line at most every 100 ms, then shows the last counts', async () => {
    const writes = captureStderr();
    const out = new BuildOutput('tty', 2);
    out.event({ type: 'expanded', target: 't', tasks: 1000 } as Parameters<BuildOutput['event']>[0]);
    for (let i = 0; i < 1000; i++) out.event(upToDate(i));
    const drawn = () => writes.filter((w) => w.startsWith('\r\x1b[K['));
    // One line for the expansion, one progress line drawn at once; the other 999 events only schedule a redraw.
    expect(drawn().length).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(drawn().at(-1)).toBe('\r\x1b[K[1000/1000] 0 running, 1000 cached');
  });

  it('draws nothing after the closing line', async () => {
    const writes = captureStderr();
    const out = new BuildOutput('tty', 2);
    out.event({ type: 'expanded', target: 't', tasks: 3 } as Parameters<BuildOutput['event']>[0]);
    for (let i = 0; i < 3; i++) out.event(upToDate(i));
    out.buildEnd('b1', 'succeeded', new Map(), false);
    const closed = writes.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(writes.length).toBe(closed);
    expect(writes.at(-1)).toMatch(/nothing to do/);
  });
});

describe('a failed task', () => {
  const failed = {
    type: 'task-end',
    report: {
      id: 'broken',
      state: 'failed',
      executor: 'slurm',
      jobId: '7',
      error: 'exited with status 7',
    },
  } as Parameters<BuildOutput['event']>[0];

  it('is named with its Slurm job id, which scontrol and the cluster logs know it by', () => {
    const writes = captureStderr();
    new BuildOutput('plain', 1).event(failed);
    expect(writes.join('')).toContain('FAILED    broken (Slurm job 7): exited with status 7');
  });

  it('carries the job id in --json', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    new BuildOutput('json', 1).event(failed);
    expect(JSON.parse(lines.join(''))).toMatchObject({ event: 'task-end', id: 'broken', jobId: '7' });
  });
});

describe('a restored task', () => {
  const restored = (reasons: unknown[]) =>
    ({ type: 'task-end', report: { id: 'merged', state: 'restored', reasons } }) as Parameters<
      BuildOutput['event']
    >[0];

  it('says so when the workspace was the reason (an output deleted or edited), and only then', () => {
    const writes = captureStderr();
    const out = new BuildOutput('plain', 1);
    out.event(restored([{ type: 'output-modified', output: 'm', path: 'build/merged.tsv' }]));
    out.event(restored([{ type: 'output-missing', output: 'm', path: 'build/merged.tsv' }]));
    out.event(restored([{ type: 'param-changed', key: 'tag', old: 'a', new: 'b' }]));
    expect(writes.join('').split('\n').filter(Boolean)).toEqual([
      'restored  merged from cache — output modified in the workspace: build/merged.tsv',
      'restored  merged from cache — output missing: build/merged.tsv',
      'restored  merged from cache',
    ]);
  });
});
