// The program a Slurm job runs (dist/slurm/job-entry.js), run here as a plain process with the
// environment Slurm would give it: outputs, result files, exit statuses. No cluster needed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_SOME_TASKS_FAILED, type JobSpec, type TaskSpec } from '../src/slurm/task-files.js';
import { checkResult } from '../src/slurm/validate.js';

const entry = join(dirname(fileURLToPath(import.meta.url)), '../dist/slurm/job-entry.js');
let dir: string;

beforeAll(() => {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npx tsc -b packages/core)`);
  dir = mkdtempSync(join(tmpdir(), 'pipe-job-entry-'));
});

function spec(
  taskId: string,
  run: TaskSpec['run'],
  outputs: Record<string, string>,
  extra: Partial<TaskSpec> = {},
): TaskSpec {
  return {
    taskId,
    attempt: 1,
    run,
    cwd: dir,
    inputs: {},
    outputs: Object.fromEntries(
      Object.entries(outputs).map(([k, f]) => [k, { final: f, temp: `${f}.tmp-a1` }]),
    ),
    params: {},
    env: {},
    kernelBackend: 'js',
    resultFile: join(dir, `${taskId}.result.json`),
    ...extra,
  };
}

function runJob(tasks: TaskSpec[], jobId: string, env: Record<string, string> = {}) {
  const file = join(dir, `spec-${jobId}.json`);
  const job: JobSpec = { version: 1, buildId: 'b1', tasks };
  writeFileSync(file, JSON.stringify(job));
  return spawnSync(process.execPath, [entry, file], {
    env: {
      PATH: process.env.PATH ?? '',
      SLURM_JOB_ID: jobId,
      SLURMD_NODENAME: 'n1',
      SECRET_NOT_DECLARED: 'x',
      ...env,
    },
    encoding: 'utf8',
  });
}

describe('job-entry', () => {
  it('runs a command argv, promotes its output and writes a result whose hashes validate', async () => {
    const out = join(dir, 'sub', 'a.txt');
    const t = spec(
      'a',
      {
        kind: 'command',
        argv: [
          '/bin/sh',
          '-c',
          'printf "%s|%s|%s" "$1" "$GREETING" "$SECRET_NOT_DECLARED" > "$0"',
          '{outputs.x}',
          '{item}',
        ],
      },
      { x: out },
      {
        env: { GREETING: 'hi' },
        item: { id: 'obs1', files: [] },
      },
    );
    const r = runJob([t], '42');
    expect(r.status, r.stderr).toBe(0);
    // Only declared env reaches the command; the item id is substituted; no temp file is left.
    expect(readFileSync(out, 'utf8')).toBe('obs1|hi|');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.txt']);
    const check = await checkResult({
      buildId: 'b1',
      taskId: 'a',
      attempt: 1,
      resultFile: t.resultFile,
      outputs: { x: out },
      job: { jobId: '42' },
    });
    expect(check.kind).toBe('ok');
    if (check.kind === 'ok') {
      expect(check.result.slurm).toMatchObject({ jobId: '42', node: 'n1' });
      // The job's own versions, for the provenance of what it made.
      expect(check.result.versions).toEqual({
        pipe: expect.stringMatching(/^\d+\.\d+\.\d+/),
        node: process.version,
        zlib: process.versions.zlib,
      });
    }
    // The same result does not validate for another job, and not once the output bytes change.
    expect(
      (
        await checkResult({
          buildId: 'b1',
          taskId: 'a',
          attempt: 1,
          resultFile: t.resultFile,
          outputs: { x: out },
          job: { jobId: '43' },
        })
      ).kind,
    ).toBe('invalid');
    writeFileSync(out, 'tampered');
    expect(
      (
        await checkResult({
          buildId: 'b1',
          taskId: 'a',
          attempt: 1,
          resultFile: t.resultFile,
          outputs: { x: out },
          job: { jobId: '42' },
        })
      ).kind,
    ).toBe('invalid');
  });

  it('runs a step module in process with a StepContext and the already-normalised params', async () => {
    const mod = join(dir, 'step.mjs');
    writeFileSync(
      mod,
      `import { writeFileSync } from 'node:fs';
       export default { name: 't.double', version: '1',
         // Never called in the job: params were validated and normalised when the pipeline was loaded.
         validateParams: () => { throw new Error('validated twice'); },
         run(ctx) {
           if (typeof ctx.params.n !== 'number') throw new Error('invalid params: n must be a number');
           writeFileSync(ctx.outputs.y, String(ctx.params.n * 2) + ctx.kernelBackend); return { metadata: { n: ctx.params.n * 2 } }; } };`,
    );
    const out = join(dir, 'y.txt');
    const t = spec(
      's',
      { kind: 'step', module: mod },
      { y: out },
      { params: { n: 21 }, kernelBackend: 'wasm' },
    );
    expect(runJob([t], '50').status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('42wasm');
    const result = JSON.parse(readFileSync(t.resultFile, 'utf8'));
    expect(result).toMatchObject({ status: 'ok', metadata: { n: 42 } });
    const bad = spec('s2', { kind: 'step', module: mod }, { y: join(dir, 'y2.txt') }, { params: { n: 'x' } });
    expect(runJob([bad], '51').status).toBe(1);
    expect(JSON.parse(readFileSync(bad.resultFile, 'utf8'))).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/invalid params/),
    });
  });

  it('a step that fails after asking for an output its task lacks is told the name, as in the local worker', () => {
    const mod = join(dir, 'typo.mjs');
    writeFileSync(
      mod,
      `import { writeFileSync } from 'node:fs';
       export default { name: 't.typo', version: '1',
         run(ctx) { if (ctx.outputs.log) writeFileSync(ctx.outputs.log, 'log'); writeFileSync(ctx.outputs.sumary, 'x'); } };`,
    );
    const t = spec('typo', { kind: 'step', module: mod }, { summary: join(dir, 'summary.txt') });
    expect(runJob([t], '53').status).toBe(1);
    const result = JSON.parse(readFileSync(t.resultFile, 'utf8'));
    expect(result.status).toBe('failed');
    expect(result.error).toContain(
      "(the step asked for a name its task does not have: ctx.outputs['sumary'] is not one of this task's outputs (summary): did you mean 'summary'?)",
    );
    expect(result.error).not.toContain("ctx.outputs['log']");
  });

  it('runs a step module tsc compiled to CommonJS (exports.default with __esModule), as the local worker does', () => {
    const mod = join(dir, 'cjs-step.cjs');
    writeFileSync(
      mod,
      `"use strict";
       Object.defineProperty(exports, "__esModule", { value: true });
       exports.default = { name: 't.cjs', version: '1', run(ctx) { require('node:fs').writeFileSync(ctx.outputs.y, 'cjs'); } };`,
    );
    const out = join(dir, 'cjs.txt');
    const t = spec('c', { kind: 'step', module: mod }, { y: out });
    expect(runJob([t], '52').status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('cjs');
  });

  it("checks a step's items as the local executor does: a bad one fails the task", () => {
    const mod = join(dir, 'items.mjs');
    writeFileSync(
      mod,
      `import { writeFileSync } from 'node:fs';
       export default { name: 't.items', version: '1',
         run(ctx) { writeFileSync(ctx.outputs.y, 'x'); return { items: ctx.params.items }; } };`,
    );
    const cases: Array<[unknown, string]> = [
      [
        [{ id: 'a', files: 'x' }],
        'the step emitted a bad item: item "a": files must be a list of absolute paths',
      ],
      [[{ id: '../a', files: [] }], `the step emitted a bad item: item id "../a" has a '..' segment`],
    ];
    for (const [i, [items, error]] of cases.entries()) {
      const out = join(dir, `items${i}.txt`);
      const t = spec(`i${i}`, { kind: 'step', module: mod }, { y: out }, { params: { items } });
      expect(runJob([t], `5${5 + i}`).status).toBe(1);
      expect(existsSync(out)).toBe(false);
      expect(JSON.parse(readFileSync(t.resultFile, 'utf8')).error).toContain(error);
    }
  });

  it('reports failures in the result and the exit status, and never shows a failed output under its final name', () => {
    const out = join(dir, 'f.txt');
    const t = spec(
      'f',
      { kind: 'command', argv: ['/bin/sh', '-c', 'echo partial > "$0"; exit 7', '{outputs.x}'] },
      { x: out },
    );
    expect(runJob([t], '60').status).toBe(7);
    expect(existsSync(out)).toBe(false);
    expect(JSON.parse(readFileSync(t.resultFile, 'utf8'))).toMatchObject({
      status: 'failed',
      exitCode: 7,
      outputs: {},
    });
    const missing = spec('m', { kind: 'command', argv: ['/bin/true'] }, { x: join(dir, 'never.txt') });
    expect(runJob([missing], '61').status).toBe(1);
    // The program's status stays 0; the result says which output failed, in the local executors' words.
    expect(JSON.parse(readFileSync(missing.resultFile, 'utf8'))).toMatchObject({
      status: 'failed',
      exitCode: 0,
      error: "output 'x' was not written (never.txt)",
      outputFailure: { type: 'output-not-written', output: 'x', path: 'never.txt' },
    });
  });

  it('refuses an output made as a symbolic link, before it is renamed into place', () => {
    writeFileSync(join(dir, 'raw.txt'), 'raw');
    const out = join(dir, 'l.txt');
    const t = spec(
      'l',
      { kind: 'command', argv: ['ln', '-s', join(dir, 'raw.txt'), '{outputs.x}'] },
      { x: out },
    );
    expect(runJob([t], '65').status).toBe(1);
    expect(existsSync(out)).toBe(false);
    const result = JSON.parse(readFileSync(t.resultFile, 'utf8'));
    expect(result.error).toBe(
      `output 'x' (l.txt) is a symbolic link to ${join(dir, 'raw.txt')}: write a file (e.g. cp instead of ln -s)`,
    );
    expect(result.outputFailure).toEqual({
      type: 'output-is-symlink',
      output: 'x',
      path: 'l.txt',
      target: join(dir, 'raw.txt'),
    });
  });

  it('runs several tasks per job and exits EXIT_SOME_TASKS_FAILED when some fail', () => {
    const ok = spec(
      'b-ok',
      { kind: 'command', argv: ['/bin/sh', '-c', 'echo ok > "$0"', '{outputs.x}'] },
      { x: join(dir, 'bok.txt') },
    );
    const bad = spec('b-bad', { kind: 'command', argv: ['/bin/false'] }, {});
    const r = runJob([ok, bad], '70');
    expect(r.status).toBe(EXIT_SOME_TASKS_FAILED);
    expect(JSON.parse(readFileSync(ok.resultFile, 'utf8')).status).toBe('ok');
    expect(JSON.parse(readFileSync(bad.resultFile, 'utf8')).status).toBe('failed');
    expect(r.stderr).toMatch(/=== pipe task b-bad/);
  });
});
