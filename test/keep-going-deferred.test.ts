/**
 * `pipe build -k` over a target the loader cannot build (an error of its own, deferred to the commands that need it)
 * builds the others and ends naming it. The error may be a missing input file or, since empty variables are
 * deferred too, an input path starting with an empty $VARIABLE: the end line said "an input file is missing" of both.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const PIPELINE = `version: 1
vars: {DATA: data}
targets:
  fan:
    command: [cp, "{inputs.src}", "{outputs.o}"]
    inputs: {src: "$DATA/a.txt"}
    outputs: {o: out/fan.txt}
  other:
    command: [touch, "{outputs.o}"]
    outputs: {o: out/other.txt}
`;

describe('pipe build -k with a target whose inputs cannot be read', () => {
  it('builds the others and ends naming it, whatever made its inputs unreadable', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    // No data/a.txt: a missing input.
    const missing = await ws.run(['build', '-k', 'fan', 'other']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("file 'data/a.txt' does not exist");
    expect(missing.stderr).toContain(
      'pipe: --keep-going: not built, for the errors above (its inputs cannot be read): fan\n',
    );
    ws.write('data/a.txt', 'a');
    // DATA set empty: no file is missing; the variable is the reason.
    const empty = await ws.run(['build', '-k', 'fan', 'other'], { DATA: '' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('starts with $DATA, which is set to an empty value in the environment');
    expect(empty.stderr).not.toContain('an input file is missing');
    expect(empty.stderr).toContain(
      'pipe: --keep-going: not built, for the errors above (its inputs cannot be read): fan\n',
    );
  });
});
