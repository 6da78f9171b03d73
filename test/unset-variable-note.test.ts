/**
 * A failed build says which `$NAME` of its input paths came from the root pipe.yaml's `vars:` because the environment
 * lacks NAME: a user who forgot to export GAMMAPY_DATA gets the shipped data store, and a failure about its content
 * (no run in the cone) that does not say why pipe looked there. Set, or a build that succeeds: no such note.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const PIPE_YAML = `version: 1
vars: {DATA: ./shipped}
targets:
  check:
    command: [grep, -q, wanted, "{inputs.table}"]
    inputs: {table: $DATA/table.txt}
`;

describe('a failed build and the vars: defaults it used', () => {
  let ws: Workspace | undefined;
  afterEach(() => {
    if (ws) rmSync(ws.root, { recursive: true, force: true });
  });
  const note =
    /note: DATA is not set in the environment: input paths with \$DATA used the root pipe\.yaml's default \(vars:\), shipped; set DATA if you meant other data/;

  it('names the variable and the default when it is unset', async () => {
    ws = new Workspace({
      'pipe.yaml': PIPE_YAML,
      'shipped/table.txt': 'other\n',
      'mine/table.txt': 'wanted\n',
    });
    const unset = await ws.run(['build', 'check'], { DATA: undefined });
    expect(unset.code).toBe(1);
    expect(unset.stderr + unset.stdout).toMatch(note);
    // The same failure with the variable set to the same folder: it was meant, nothing to say.
    const set = await ws.run(['build', 'check'], { DATA: 'shipped' });
    expect(set.code).toBe(1);
    expect(set.stderr + set.stdout).not.toMatch(/is not set in the environment/);
    // Set to the data that was meant: the build succeeds, and no note either.
    const mine = await ws.run(['build', 'check'], { DATA: 'mine' });
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stderr + mine.stdout).not.toMatch(/is not set in the environment/);
    // From the pipeline cache (the second unset build loads nothing again): still said.
    const again = await ws.run(['build', 'check'], { DATA: undefined });
    expect(again.code).toBe(1);
    expect(again.stderr + again.stdout).toMatch(note);
  });
});
