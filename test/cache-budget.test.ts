/**
 * The local cache's size budget (design.md: a size budget, least-recently-used eviction, pins): a build that takes
 * the store over PIPE_CACHE_MAX_SIZE evicts the least recently used unpinned entries not used within gc's grace
 * period, and says so; within the budget nothing is walked or evicted. Runs the real binary.
 */
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const PIPELINE = `version: 1
default: [t]
targets:
  t:
    command: [node, -e, "require('fs').writeFileSync(process.argv[1], Buffer.alloc(600000, process.argv[2]))", "{outputs.o}", "{params.c}"]
    params: {c: e}
    outputs: {o: big.bin}
`;

/** Every file of the store an hour old, and every use its access log records: past gc's grace for recent entries. */
function age(dir: string): void {
  const then = new Date(Date.now() - 3600_000);
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) age(p);
    else {
      if (name.startsWith('access'))
        writeFileSync(p, readFileSync(p, 'utf8').replace(/^\d+ /gm, `${then.getTime()} `));
      utimesSync(p, then, then);
    }
  }
}

describe('the local cache size budget', () => {
  it('a build over PIPE_CACHE_MAX_SIZE evicts the least recently used entries, and says so', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    for (const c of ['e', 'f']) expect((await ws.run(['build', '--param', `t.c=${c}`])).code).toBe(0);
    // Within the default budget: nothing said, nothing evicted.
    expect((await ws.run(['build', '--param', 't.c=e'])).stderr).not.toContain('size budget');
    age(ws.path('.pipe/cache'));
    const over = await ws.run(['build', '--param', 't.c=g'], { PIPE_CACHE_MAX_SIZE: '1M' });
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toMatch(
      /note: the local cache was over its size budget \(PIPE_CACHE_MAX_SIZE, 10G by default\): evicted 2 least recently used entries, 1\.7 MB → 0\.6 MB\n/,
    );
    // e's entry is gone (it runs again); g's, just stored, stays (restored when asked for again).
    const e = await ws.build([], ['--param', 't.c=e']);
    expect(e.ended).toEqual({ ran: ['t'] });
    const g = await ws.build([], ['--param', 't.c=g']);
    expect(g.ended).toEqual({ restored: ['t'] });
  });

  it('a build over PIPE_CACHE_MAX_SIZE with nothing it may evict yet says so, rather than nothing', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    // Its one entry was just stored: in gc's grace period, a build may still need it.
    const over = await ws.run(['build'], { PIPE_CACHE_MAX_SIZE: '100k' });
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toMatch(
      /note: the local cache is over its size budget \(PIPE_CACHE_MAX_SIZE, 10G by default\): 0\.6 MB, and nothing could be evicted yet \(entries pinned, or used in the last 10 minutes, which a build may still need\); the first build that stores something after that, or pipe cache gc, evicts the unpinned ones\n/,
    );
  });

  it('a PIPE_CACHE_MAX_SIZE that is not a size is refused (it was the 10G default, silently)', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    for (const bad of ['1e5', '-1', '100 kilobytes']) {
      const r = await ws.run(['build'], { PIPE_CACHE_MAX_SIZE: bad });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `pipe: PIPE_CACHE_MAX_SIZE='${bad}' is not a size: bytes, or a number with a unit (500M, 10G, 1.5T)\n`,
      );
    }
    expect((await ws.run(['build'], { PIPE_CACHE_MAX_SIZE: '1.5G' })).code).toBe(0);
    // Not by the commands that do not apply it, nor by a gc given its own size.
    expect((await ws.run(['log'], { PIPE_CACHE_MAX_SIZE: '1e5' })).code).toBe(0);
    expect((await ws.run(['cache', 'gc', '--max-size', '5G'], { PIPE_CACHE_MAX_SIZE: '1e5' })).code).toBe(0);
    expect((await ws.run(['cache', 'gc'], { PIPE_CACHE_MAX_SIZE: '1e5' })).code).toBe(2);
  });
});
