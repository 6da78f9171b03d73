/** `pipe why` on a query that names nothing built: the message suggests the close target, task or product. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyState, explainProduct } from '../src/index.js';

function stateWith(tasks: Record<string, string>) {
  const state = emptyState();
  for (const [id, out] of Object.entries(tasks))
    state.tasks.set(id, {
      key: `k-${id}`,
      outputs: { o: { path: out, sha256: 'ab', size: 1, mtimeNs: '0', ino: 0 } },
      buildId: 'b1',
    });
  return state;
}

const state = stateWith({
  'calibrate[img1]': 'build/cal/img1.txt',
  'calibrate[img2]': 'build/cal/img2.txt',
  catalogue: 'products/cat.txt',
});

const why = (query: string, cwd = '/ws') =>
  explainProduct({ root: '/ws', cwd, state, buildsDir: '/nonexistent', query });

describe('explainProduct: a query that names nothing built', () => {
  it('suggests a misspelt target or task', () => {
    expect(why('catalog')).toEqual({
      ok: false,
      message:
        "'catalog' is neither a product nor a target built in this workspace; did you mean 'catalogue'?",
    });
    expect(why('calibrate[img3]')).toMatchObject({
      message: expect.stringContaining("did you mean 'calibrate[img1]' or 'calibrate[img2]'?"),
    });
  });

  it('suggests a misspelt product path, relative to where the query was made', () => {
    expect(why('build/cal/img1.tx')).toMatchObject({
      message: expect.stringContaining("did you mean 'build/cal/img1.txt'?"),
    });
    expect(why('cal/img2.tx', '/ws/build')).toMatchObject({
      message: expect.stringContaining("did you mean 'cal/img2.txt'?"),
    });
  });

  it('says nothing more when nothing is close', () => {
    expect(why('zzz')).toEqual({
      ok: false,
      message: "'zzz' is neither a product nor a target built in this workspace",
    });
  });

  it('names a raw input as such, with the tasks that read it (not as a copy of a product)', () => {
    const withInputs = stateWith({
      'calibrate[img1]': 'build/cal/img1.txt',
      'calibrate[img2]': 'build/cal/img2.txt',
    });
    for (const id of ['calibrate[img1]', 'calibrate[img2]'])
      withInputs.tasks.get(id)!.fp = { inputs: { script: [['scripts/cal.py', 'h1']] } } as never;
    expect(
      explainProduct({
        root: '/ws',
        cwd: '/ws',
        state: withInputs,
        buildsDir: '/nonexistent',
        query: 'scripts/cal.py',
        querySha256: 'ab', // the content of the products: still no copy of one
      }),
    ).toEqual({
      ok: false,
      message:
        "'scripts/cal.py' is a raw input, not a product: it is made by no task (read by calibrate[img1], calibrate[img2]); pipe why explains products and targets",
    });
  });
});

describe('explainProduct: a raw input outside the workspace', () => {
  // Its key names it `$DATA/sub/x.txt` (workspace/key-paths.ts): by its real path (as `pipe why` prints it), it was
  // taken for no input and explained as "a copy of" a product with its bytes; written so (as `pipe plan` prints it)
  // it was found only while the variable's folder was outside the workspace.
  afterEach(() => vi.unstubAllEnvs());
  const reading = (keyed: string) => {
    const s = stateWith({ 'copy[x]': 'out/x.txt' });
    s.tasks.get('copy[x]')!.fp = { inputs: { src: [[keyed, 'h1']] } } as never;
    return (query: string) =>
      explainProduct({
        root: '/ws',
        cwd: '/ws',
        state: s,
        buildsDir: '/nonexistent',
        query,
        querySha256: 'ab',
      });
  };
  const rawInput = (query: string) => ({
    ok: false,
    message: `'${query}' is a raw input, not a product: it is made by no task (read by copy[x]); pipe why explains products and targets`,
  });

  it('is found by its real path and by its $NAME path alike', () => {
    vi.stubEnv('DATA', '/data');
    const why = reading('$DATA/sub/x.txt');
    expect(why('/data/sub/x.txt')).toEqual(rawInput('/data/sub/x.txt'));
    expect(why('../data/sub/x.txt')).toEqual(rawInput('../data/sub/x.txt'));
    expect(why('$DATA/sub/x.txt')).toEqual(rawInput('$DATA/sub/x.txt'));
    // Another file with the product's bytes is still a copy of it.
    expect(why('/elsewhere/sub/x.txt')).toMatchObject({ ok: true, sameContentAs: ['out/x.txt'] });
  });

  it('is found by its $NAME path when the folder is inside the workspace (keyed by its workspace path)', () => {
    vi.stubEnv('DATA', '/ws/data');
    expect(reading('data/sub/x.txt')('$DATA/sub/x.txt')).toEqual(rawInput('$DATA/sub/x.txt'));
  });
});
