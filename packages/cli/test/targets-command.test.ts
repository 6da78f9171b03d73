/** `pipe targets`: each target with its step, its fan-out and its description; the default ones marked. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PIPE_BIN, tempWorkspaces } from './temp-workspace.js';

const temp = tempWorkspaces('pipe-targets-');

const PIPELINE = `version: 1
default: [report]
targets:
  sorted:
    description: |
      Each run file,
      sorted.
    foreach: {glob: "runs/*.txt"}
    command: [sort, -o, "{outputs.out}", "{inputs.text}"]
    inputs: {text: "runs/{item}.txt"}
    outputs: {out: "out/{item}.sorted"}
  scan:
    foreach: [0.1, 0.2, 0.5]
    command: [echo, "{item}"]
    outputs: {out: "out/r{item}.txt"}
  report:
    step: ./steps/report.mjs
    inputs: {runs: {target: sorted, output: out}}
    outputs: {out: out/report.txt}
`;
const STEP = "export default { name: 'x.report', version: '1', run() {} };\n";

describe('pipe targets', () => {
  it('lists the targets in the order written, with step, fan-out, description and the default marked', () => {
    const dir = temp.workspace({ 'pipe.yaml': PIPELINE, 'steps/report.mjs': STEP, 'runs/a.txt': 'b\na\n' });
    const r = spawnSync(process.execPath, [PIPE_BIN, 'targets'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [
        'sorted    command: sort, one task per file of a glob',
        '          Each run file, sorted.',
        'scan      command: echo, one task per item of a list of 3',
        'report *  steps/report.mjs',
        '',
        '* built by a command that names no target (default: in pipe.yaml)',
        '',
      ].join('\n'),
    );
    const json = spawnSync(process.execPath, [PIPE_BIN, 'targets', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(json.stdout).targets).toEqual([
      {
        name: 'sorted',
        step: 'command: sort',
        foreach: 'one task per file of a glob',
        description: 'Each run file,\nsorted.\n',
        default: false,
        outputs: ['out/{item}.sorted'],
      },
      {
        name: 'scan',
        step: 'command: echo',
        foreach: 'one task per item of a list of 3',
        default: false,
        outputs: ['out/r{item}.txt'],
      },
      { name: 'report', step: 'steps/report.mjs', default: true, outputs: ['out/report.txt'] },
    ]);
  });
});
