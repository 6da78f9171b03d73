/**
 * A fan-out whose item source is decided up to date *during* a build (its upstream reran but wrote the same
 * bytes: restat) must still know its items when the workspace state lost them (a build killed between
 * recording the task and its items): they come from the source's cache manifest, so the fan-out is not
 * silently expanded to nothing.
 */
import { loadState, saveState } from '@pipe/core';
import { describe, expect, it } from 'vitest';
import { parseEvents, Workspace } from './rig.js';

const NORMALISE =
  "const fs=require('fs');fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8').trim().toLowerCase())";

const LIST_STEP = `
import { readFileSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
export default {
  name: 'test.list',
  version: '1',
  run(ctx) {
    const names = readFileSync(ctx.inputs.names[0], 'utf8').split(',');
    writeFileSync(ctx.outputs.out, names.join('\\n'));
    return { items: names.map((id) => ({ id, files: [], data: id })) };
  },
};
`;

const EACH_STEP = `
import { writeFileSync } from 'node:fs';
export default {
  name: 'test.each',
  version: '1',
  run(ctx) { writeFileSync(ctx.outputs.out, 'item ' + ctx.item.id); },
};
`;

const PIPELINE = `version: 1
targets:
  names:
    inputs: { src: names.txt }
    command: [node, -e, ${JSON.stringify(NORMALISE)}, "{inputs.src}", "{outputs.out}"]
    outputs: { out: out/names.txt }
  list:
    step: ./steps/list.mjs
    inputs: { names: { target: names } }
    outputs: { out: out/list.txt }
  each:
    step: ./steps/each.mjs
    foreach: { items: list }
    outputs: { out: "out/each/{item}.txt" }
`;

describe('pipe build: fan-out items lost from the state', () => {
  it('takes them from the cache manifest when the source is re-decided up to date in the build', async () => {
    const ws = new Workspace({
      'pipe.yaml': PIPELINE,
      'names.txt': 'a,b,c',
      'steps/list.mjs': LIST_STEP,
      'steps/each.mjs': EACH_STEP,
    });
    const first = await ws.build(['each']);
    expect(first.end?.status).toBe('succeeded');
    expect(first.ended.ran).toEqual(['each[a]', 'each[b]', 'each[c]', 'list', 'names']);

    // The state forgets the list's items, as after a build killed before it saved them.
    const stateFile = ws.path('.pipe/state.json');
    const { data: state } = loadState(stateFile);
    const { items, ...withoutItems } = state.tasks.get('list')!;
    expect(items).toBeDefined();
    state.tasks.set('list', withoutItems);
    await saveState(stateFile, state);

    // `names` reruns but writes the same bytes: `list` is decided up to date only during the build.
    ws.write('names.txt', 'A,B,C\n');
    const second = await ws.build(['each']);
    expect(second.end?.status).toBe('succeeded');
    expect(second.ended.ran).toEqual(['names']);
    expect(second.ended['up-to-date']).toEqual(['each[a]', 'each[b]', 'each[c]', 'list']);
    expect(ws.read('out/each/b.txt')).toBe('item b');
  });
});

// A source whose output bytes do not show everything its items depend on: gammapy's run list names files by their
// base names, while the items carry the data store they are in. Built under one key, then another (same output
// bytes, other items), then the first again: the first key's cache entry makes it up to date without running, and
// its items must be that entry's, not the ones the state recorded under the other key.
const STORE_LIST_STEP = `
import { readFileSync, writeFileSync } from 'node:fs';
export default {
  name: 'test.store_list',
  version: '1',
  run(ctx) {
    const names = readFileSync(ctx.inputs.names[0], 'utf8').trim().split(',');
    writeFileSync(ctx.outputs.out, names.join('\\n'));
    return { items: names.map((id) => ({ id, files: [], data: ctx.env.STORE + '/' + id })) };
  },
};
`;

const STORE_EACH_STEP = `
import { writeFileSync } from 'node:fs';
export default {
  name: 'test.store_each',
  version: '1',
  run(ctx) { writeFileSync(ctx.outputs.out, 'item ' + ctx.item.data); },
};
`;

const STORE_PIPELINE = `version: 1
targets:
  list:
    step: ./steps/list.mjs
    env: [STORE]
    inputs: { names: names.txt }
    outputs: { out: out/list.txt }
  each:
    step: ./steps/each.mjs
    foreach: { items: list }
    outputs: { out: "out/each/{item}.txt" }
`;

describe('pipe build: items of a task adopted from the cache under another key', () => {
  it("takes the cache entry's items, not those the state holds for the other key", async () => {
    const ws = new Workspace({
      'pipe.yaml': STORE_PIPELINE,
      'names.txt': 'a,b',
      'steps/list.mjs': STORE_LIST_STEP,
      'steps/each.mjs': STORE_EACH_STEP,
    });
    const build = async (store: string) => {
      const run = await ws.run(['build', 'each', '--json'], { STORE: store });
      expect(run.code, run.stderr).toBe(0);
      const ended: Record<string, string[]> = {};
      for (const e of parseEvents(run.stdout))
        if (e.event === 'task-end') (ended[e.state!] ??= []).push(e.id!);
      for (const list of Object.values(ended)) list.sort();
      return ended;
    };
    expect((await build('north')).ran).toEqual(['each[a]', 'each[b]', 'list']);
    expect(ws.read('out/each/b.txt')).toBe('item north/b');
    expect((await build('south')).ran).toEqual(['each[a]', 'each[b]', 'list']);
    expect(ws.read('out/list.txt')).toBe('a\nb'); // the same bytes under both keys
    expect(ws.read('out/each/b.txt')).toBe('item south/b');

    // Back to the first key: `list` is up to date from its cache entry (same bytes), each item restored.
    const third = await build('north');
    expect(third['up-to-date']).toEqual(['list']);
    expect(third.restored).toEqual(['each[a]', 'each[b]']);
    expect(ws.read('out/each/a.txt')).toBe('item north/a');
    expect(ws.read('out/each/b.txt')).toBe('item north/b');
    // …and recorded with those items: the next build is a no-op with the same products.
    const fourth = await build('north');
    expect(fourth['up-to-date']).toEqual(['each[a]', 'each[b]', 'list']);
    expect(ws.read('out/each/b.txt')).toBe('item north/b');
  });
});
