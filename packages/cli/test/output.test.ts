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

describe('the ETA on a TTY', () => {
  type Event = Parameters<BuildOutput['event']>[0];
  const expanded = (target: string, tasks: number) => ({ type: 'expanded', target, tasks }) as Event;
  const start = (id: string) => ({ type: 'task-start', id, action: 'run' }) as Event;
  const ran = (id: string, ms: number) => ({ type: 'task-end', report: { id, state: 'ran', ms } }) as Event;

  it('does not time a stack by the per-run reductions before it', () => {
    vi.useFakeTimers();
    try {
      const writes = captureStderr();
      const out = new BuildOutput('tty', 2);
      out.event(expanded('datasets', 10));
      out.event(expanded('stacked', 1));
      for (let i = 0; i < 10; i++) {
        out.event(start(`datasets[${i}]`));
        out.event(ran(`datasets[${i}]`, 400));
        vi.advanceTimersByTime(200);
      }
      out.event(start('stacked'));
      // The stack runs for a minute; nothing settles meanwhile.
      vi.advanceTimersByTime(60_000);
      const line = writes.filter((w) => w.startsWith('\r\x1b[K[')).at(-1) ?? '';
      // Not 'ETA 1 s' (one stack at the reductions' 0.4 s), frozen for the minute: the line moves, naming the task.
      expect(line).not.toMatch(/ETA/);
      expect(line).toBe('\r\x1b[K[10/11] 1 running, 0 cached — stacked running for 60 s');
      out.buildEnd('b', 'succeeded', new Map(), false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is a lower bound while a target of the tasks left has no time yet, and times each target by its own', () => {
    vi.useFakeTimers();
    try {
      const writes = captureStderr();
      const out = new BuildOutput('tty', 1);
      out.event(expanded('datasets', 4));
      out.event(expanded('stacked', 1));
      out.event(start('datasets[0]'));
      out.event(ran('datasets[0]', 3000));
      vi.advanceTimersByTime(200);
      const drawn = () => writes.filter((w) => w.startsWith('\r\x1b[K[')).at(-1) ?? '';
      expect(drawn()).toBe('\r\x1b[K[1/5] 0 running, 0 cached ETA ≥ 9 s');
      for (let i = 1; i < 4; i++) {
        out.event(start(`datasets[${i}]`));
        out.event(ran(`datasets[${i}]`, 3000));
      }
      out.event(start('stacked'));
      out.event(ran('stacked', 20_000));
      out.event(expanded('excess_map', 2));
      out.event(start('excess_map[0]'));
      out.event(ran('excess_map[0]', 8000));
      vi.advanceTimersByTime(200);
      // One estimator task left, at its own 8 s: not at the build's average (10 s).
      expect(drawn()).toBe('\r\x1b[K[6/7] 0 running, 0 cached ETA 8 s');
      out.event(start('excess_map[1]'));
      vi.advanceTimersByTime(3000);
      // Counting down with no task settling: the last redraw, 2.6 s into its 8 s, has 5.4 s left.
      expect(drawn()).toBe('\r\x1b[K[6/7] 1 running, 0 cached ETA 6 s');
      out.buildEnd('b', 'succeeded', new Map(), false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a long task in plain output', () => {
  it('is said to be running after 1, 2, 4 and 8 minutes, then no more once it ends', () => {
    vi.useFakeTimers();
    try {
      const writes = captureStderr();
      const out = new BuildOutput('plain', 2);
      out.event({ type: 'task-start', id: 'stacked', action: 'run' } as Parameters<BuildOutput['event']>[0]);
      vi.advanceTimersByTime(9.5 * 60_000);
      out.event({ type: 'task-end', report: { id: 'stacked', state: 'ran', ms: 570_000 } } as Parameters<
        BuildOutput['event']
      >[0]);
      vi.advanceTimersByTime(20 * 60_000);
      expect(writes.filter((w) => w.startsWith('running'))).toEqual([
        'running   stacked (1 min so far)\n',
        'running   stacked (2 min so far)\n',
        'running   stacked (4 min so far)\n',
        'running   stacked (8 min so far)\n',
      ]);
      out.buildEnd('b', 'succeeded', new Map());
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('alike warnings of running tasks', () => {
  type Event = Parameters<BuildOutput['event']>[0];
  // As the scheduler gives a running task's step warning: the line, and whose it is.
  const warning = (id: string, text: string) =>
    ({ type: 'warning', message: `${id}: ${text}`, step: { id, text } }) as Event;
  const body = 'reco bin 19 (79.4–100 TeV) has an edge equal to HI_THRES 100 TeV up to rounding';

  it('are said for five tasks of a fan-out, then counted and said once at the end', () => {
    const writes = captureStderr();
    const out = new BuildOutput('plain', 2);
    // Settled in any order (-j 2): the count names the first and last item by number.
    for (const i of [3, 0, 1, 2, 4, 199, 7, 5, 6, ...Array.from({ length: 190 }, (_, k) => k + 8), 198])
      out.event(warning(`datasets[${900000 + i}]`, body));
    out.event(warning('datasets[900042]', 'another text'));
    out.event(warning('stacked', body));
    const live = writes.filter((w) => w.startsWith('warning: datasets['));
    expect(live).toHaveLength(6); // five alike, and the other text
    out.buildEnd('b', 'succeeded', new Map());
    const all = writes.join('');
    expect(all).toContain(
      `warning: 195 more tasks of datasets (datasets[900005] … datasets[900199]) warned the same: ${body}\n`,
    );
    expect(all).toContain(`warning: stacked: ${body}\n`);
    // Said before the closing line.
    expect(all.indexOf('195 more tasks')).toBeLessThan(all.indexOf('build b succeeded'));
  });

  it('of five tasks or fewer are each said as they come', () => {
    const writes = captureStderr();
    const out = new BuildOutput('plain', 2);
    for (let i = 0; i < 5; i++) out.event(warning(`datasets[${i}]`, body));
    out.buildEnd('b', 'succeeded', new Map());
    expect(writes.filter((w) => w.startsWith('warning: '))).toHaveLength(5);
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
