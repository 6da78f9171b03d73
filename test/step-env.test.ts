/**
 * A step (in a worker thread) sees the variables its target lists under `env:` (which enter its key), and PATH,
 * HOME, TMPDIR and LANG as a command does: not the whole environment pipe was started with, which no key records
 * (a result made under THRESH=5 was restored for THRESH=9). Runs the real binary.
 */
import { describe, expect, it } from 'vitest';
import { Workspace } from './rig.js';

const STEP = `import { writeFileSync } from 'node:fs';
const atImport = process.env.THRESH ?? null;
export default {
  name: 'envprobe',
  version: '1',
  run(ctx) {
    const seen = { THRESH: process.env.THRESH ?? null, DECL: process.env.DECL ?? null, atImport, PATH: 'PATH' in process.env, fromCtx: ctx.env.DECL ?? null };
    writeFileSync(ctx.outputs.o, JSON.stringify(seen));
  },
};
`;

describe('the environment a step sees', () => {
  it('is its listed variables and the basic ones: an unlisted variable is neither seen nor keyed', async () => {
    const ws = new Workspace({
      'pipe.yaml':
        'version: 1\ntargets:\n  probe:\n    step: ./steps/probe.mjs\n    env: [DECL]\n    outputs: {o: seen.json}\n',
      'steps/probe.mjs': STEP,
    });
    const first = await ws.build(['probe'], []);
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(JSON.parse(ws.read('seen.json'))).toEqual({
      THRESH: null,
      DECL: null,
      atImport: null,
      PATH: true,
      fromCtx: null,
    });
    const run = (env: Record<string, string>) => ws.run(['build', 'probe', '--json'], env);
    expect((await run({ THRESH: '5', DECL: 'a' })).code).toBe(0);
    expect(JSON.parse(ws.read('seen.json'))).toEqual({
      THRESH: null,
      DECL: 'a',
      atImport: null,
      PATH: true,
      fromCtx: 'a',
    });
    // An unlisted variable changes nothing (nothing reruns, and nothing could have used it).
    const again = await run({ THRESH: '9', DECL: 'a' });
    expect(again.stdout).toContain('"state":"up-to-date"');
    // A listed one reruns the task, which sees it.
    expect((await run({ DECL: 'b' })).stdout).toContain('"state":"ran"');
    expect(JSON.parse(ws.read('seen.json')).DECL).toBe('b');
  });
});

// A shell's LC_ALL=C (a sort in C order, a decimal point) reached no command: it saw LANG alone and behaved per LANG.
describe('the locale a task sees', () => {
  it("is the shell's: LANG, LC_ALL and each LC_* pass (not LANGUAGE), and none enters the key", async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
targets:
  cmd:
    command: [sh, -c, 'printf "%s|%s|%s|%s" "$LANG" "\${LC_ALL-unset}" "\${LC_COLLATE-unset}" "\${LANGUAGE-unset}" > "$0"', "{outputs.o}"]
    outputs: {o: cmd.txt}
  step:
    step: ./steps/locale.mjs
    outputs: {o: step.json}
`,
      'steps/locale.mjs': `import { writeFileSync } from 'node:fs';
export default {
  name: 'locale',
  version: '1',
  run(ctx) {
    const { LANG, LC_ALL, LC_COLLATE, LANGUAGE } = process.env;
    writeFileSync(ctx.outputs.o, JSON.stringify({ LANG, LC_ALL, LC_COLLATE, LANGUAGE: LANGUAGE ?? null }));
  },
};
`,
    });
    const shell = { LANG: 'en_US.UTF-8', LC_ALL: 'C', LC_COLLATE: 'C', LANGUAGE: 'fr' };
    const first = await ws.run(['build', 'cmd', 'step', '--json'], shell);
    expect(first.code, first.stderr).toBe(0);
    expect(ws.read('cmd.txt')).toBe('en_US.UTF-8|C|C|unset');
    expect(JSON.parse(ws.read('step.json'))).toEqual({
      LANG: 'en_US.UTF-8',
      LC_ALL: 'C',
      LC_COLLATE: 'C',
      LANGUAGE: null,
    });
    // Another locale changes no key (as LANG's): a target that depends on it lists it under env:.
    const again = await ws.run(['build', 'cmd', 'step', '--json'], {
      ...shell,
      LC_ALL: 'POSIX',
      LC_COLLATE: undefined,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('"state":"ran"');
    expect(ws.read('cmd.txt')).toBe('en_US.UTF-8|C|C|unset');
  });
});
