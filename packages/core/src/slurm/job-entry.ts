/**
 * The program a Slurm job runs: `node job-entry.js <job-spec.json>`. It reads the spec, runs each task
 * (a command argv, or a step module's run() in this process), writes outputs under temporary names,
 * hashes them, renames them to their final names, and last writes the task's result file atomically.
 * A task whose result file is missing or invalid is never counted as done by the executor, so a job
 * killed at any point here cannot be mistaken for a success.
 *
 * Exit status: one task → that task's exit status (so squeue/sacct show it); several tasks → 0 when all
 * succeeded, EXIT_SOME_TASKS_FAILED when every result was written but some are failures; anything else
 * (a crash, a bad spec) → 2.
 */
import { spawn } from 'node:child_process';
import { open, readFile, readlink, rename, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeDirs } from '@pipe/cache/make-dirs';
import {
  ArgvError,
  expandArgv,
  type OutputFailure,
  renderFailure,
  spawnErrorMessage,
} from '../execute/executor.js';
import { passedEnvNames } from '../execute/step-env.js';
import { stepErrorMessage } from '../execute/step-error.js';
import { type AskedNames, watchNames, withUndeclaredNames } from '../execute/step-names.js';
import { emittedItemsProblem } from '../graph/item-checks.js';
import { blamedParam, type ParamPath, type StepDefinition } from '../model/step.js';
import { runVersions } from '../provenance/record.js';
import { moduleDefault } from '../steps/bundled.js';
import {
  checkJobSpec,
  EXIT_SOME_TASKS_FAILED,
  fsyncDir,
  hashFile,
  type OutputRecord,
  RESULT_VERSION,
  type TaskResultFile,
  type TaskSpec,
  writeFileAtomic,
} from './task-files.js';

interface RunOutcome {
  exitCode: number;
  signal: string | null;
  error?: string;
  /** The param value the step's error blamed (StepDefinition.run). */
  param?: ParamPath;
  items?: TaskResultFile['items'];
  metadata?: Record<string, unknown>;
}

const abort = new AbortController();
let child: ReturnType<typeof spawn> | undefined;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGUSR1'] as const) {
  process.on(sig, () => {
    abort.abort(new Error(`received ${sig}`));
    child?.kill(sig);
  });
}

function taskEnv(spec: TaskSpec): Record<string, string> {
  const env: Record<string, string> = {};
  // The only variables of the job's environment a task sees, besides its declared `env:` (as on the local machine).
  for (const name of passedEnvNames()) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  // What Slurm allocated (as the local executor: the cpus asked for); not part of the key.
  env.PIPE_CPUS = process.env.SLURM_CPUS_PER_TASK ?? '1';
  return { ...env, ...spec.env };
}

function runCommand(spec: TaskSpec): Promise<RunOutcome> {
  if (spec.run.kind !== 'command') throw new Error('not a command');
  // The engine's placeholder rules ({inputs.X}, {outputs.X}, {params.X}, {item}), with our temporary names.
  const temps = Object.fromEntries(Object.entries(spec.outputs).map(([k, o]) => [k, o.temp]));
  let argv: string[];
  try {
    argv = expandArgv(spec.run.argv, {
      inputs: spec.inputs,
      outputs: temps,
      params: spec.params,
      ...(spec.item ? { item: spec.item } : {}),
    });
  } catch (error) {
    if (!(error instanceof ArgvError)) throw error;
    return Promise.resolve({ exitCode: 2, signal: null, error: error.message });
  }
  const [program, ...args] = argv;
  return new Promise((resolve) => {
    if (!program) return resolve({ exitCode: 2, signal: null, error: 'empty argv' });
    const p = spawn(program, args, {
      cwd: spec.cwd,
      env: taskEnv(spec),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child = p;
    p.on('error', (err) =>
      resolve({
        exitCode: 127,
        signal: null,
        error: `cannot run ${program}: ${spawnErrorMessage(program, err)}`,
      }),
    );
    p.on('exit', (code, signal) => {
      child = undefined;
      resolve({ exitCode: code ?? 128, signal });
    });
  });
}

async function runStep(spec: TaskSpec): Promise<RunOutcome> {
  if (spec.run.kind !== 'step') throw new Error('not a step');
  const mod = (await import(pathToFileURL(spec.run.module).href)) as Record<string, unknown>;
  // The default export as the local worker takes it (a module tsc compiled to CommonJS has the step one level down).
  const def = moduleDefault(mod) as StepDefinition | undefined;
  if (!def || typeof def.run !== 'function') {
    return { exitCode: 1, signal: null, error: `${spec.run.module} does not export a step definition` };
  }
  // Params were validated and normalised when the pipeline was loaded (that value is what the key hashes),
  // as for the local executor's worker: validating again would re-parse normalised values.
  const params: unknown = spec.params;
  const outputs = Object.fromEntries(Object.entries(spec.outputs).map(([k, o]) => [k, o.temp]));
  const log = {
    info: (msg: string) => process.stderr.write(`[${spec.taskId}] ${msg}\n`),
    warn: (msg: string) => process.stderr.write(`[${spec.taskId}] warning: ${msg}\n`),
  };
  // As the local executor's worker: a failure after asking for a name the task lacks says so (execute/step-names.ts).
  const asked: AskedNames = new Map();
  const ctx = {
    params: params as Record<string, unknown>,
    inputs: watchNames(spec.inputs, 'inputs', asked),
    outputs: watchNames(outputs, 'outputs', asked),
    env: { ...spec.env },
    kernelBackend: spec.kernelBackend,
    log,
    signal: abort.signal,
    ...(spec.item ? { item: spec.item } : {}),
  };
  try {
    let res: Awaited<ReturnType<StepDefinition['run']>>;
    try {
      res = await def.run(ctx);
    } catch (thrown) {
      throw withUndeclaredNames(thrown, asked, { inputs: spec.inputs, outputs });
    }
    // As the local executor's worker checks them (step-worker.ts): the result file's JSON would turn NaN into null.
    const itemsProblem = res?.items !== undefined ? emittedItemsProblem(res.items) : undefined;
    if (itemsProblem) throw new Error(itemsProblem);
    const out: RunOutcome = { exitCode: 0, signal: null };
    if (res?.items) out.items = res.items;
    if (res?.metadata) out.metadata = res.metadata;
    return out;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`[${spec.taskId}] step failed: ${e.stack ?? e.message}\n`);
    const param = blamedParam(err);
    return {
      exitCode: 1,
      signal: null,
      error: stepErrorMessage(err, spec.run.module),
      ...(param ? { param } : {}),
    };
  }
}

/** Hashes each output at its temporary name, then renames it to its final name (atomic, same directory). */
async function promoteOutputs(
  spec: TaskSpec,
): Promise<{ ok: true; records: Record<string, OutputRecord> } | { ok: false; failure: OutputFailure }> {
  const records: Record<string, OutputRecord> = {};
  for (const [name, o] of Object.entries(spec.outputs)) {
    // Refused before it is renamed into place, where a dependant's job would read through it (as the engine does).
    const link = await readlink(o.temp).catch(() => undefined);
    if (link !== undefined)
      return {
        ok: false,
        failure: { type: 'output-is-symlink', output: name, path: relative(spec.cwd, o.final), target: link },
      };
    let h: Awaited<ReturnType<typeof hashFile>>;
    try {
      const fh = await open(o.temp, 'r');
      await fh.sync().finally(() => fh.close());
      h = await hashFile(o.temp);
    } catch {
      return {
        ok: false,
        failure: { type: 'output-not-written', output: name, path: relative(spec.cwd, o.final) },
      };
    }
    records[name] = { path: o.final, ...h };
  }
  for (const o of Object.values(spec.outputs)) {
    await rename(o.temp, o.final);
    await fsyncDir(dirname(o.final));
    await rmdir(dirname(o.temp)).catch(() => undefined); // empty once its last output has moved
  }
  return { ok: true, records };
}

/** The log Slurm writes this job's output to: `log-<i>.txt` beside `spec-<i>.json` (submission.ts). */
function logOf(specPath: string): string | undefined {
  return /spec-(\d+)\.json$/.test(specPath) ? specPath.replace(/spec-(\d+)\.json$/, 'log-$1.txt') : undefined;
}

async function runTask(spec: TaskSpec, buildId: string, log: string | undefined): Promise<TaskResultFile> {
  const start = new Date().toISOString();
  for (const o of Object.values(spec.outputs)) {
    await makeDirs(dirname(o.temp));
    await rm(o.temp, { force: true });
  }
  let outcome: RunOutcome;
  if (abort.signal.aborted) outcome = { exitCode: 143, signal: 'SIGTERM', error: 'job was signalled' };
  else outcome = spec.run.kind === 'command' ? await runCommand(spec) : await runStep(spec);
  let outputs: Record<string, OutputRecord> = {};
  let outputFailure: OutputFailure | undefined;
  if (outcome.exitCode === 0 && outcome.signal === null && !abort.signal.aborted) {
    const promoted = await promoteOutputs(spec);
    // The program's own status stays 0: the result says the output failed, as the local executors do.
    if (!promoted.ok) {
      outputFailure = promoted.failure;
      outcome = { ...outcome, error: renderFailure(outputFailure) };
    } else outputs = promoted.records;
  }
  const ok = !outputFailure && outcome.exitCode === 0 && outcome.signal === null && !abort.signal.aborted;
  if (!ok) {
    // A failed attempt leaves nothing behind, not even its hidden temporary directory.
    for (const o of Object.values(spec.outputs)) {
      await rm(o.temp, { force: true });
      await rmdir(dirname(o.temp)).catch(() => undefined);
    }
  }
  const env = process.env;
  const slurm: TaskResultFile['slurm'] = {};
  const put = (k: keyof TaskResultFile['slurm'], v: string | undefined) => {
    if (v !== undefined) slurm[k] = v;
  };
  put('jobId', env.SLURM_JOB_ID);
  put('arrayJobId', env.SLURM_ARRAY_JOB_ID);
  put('arrayTaskId', env.SLURM_ARRAY_TASK_ID);
  put('node', env.SLURMD_NODENAME);
  put('partition', env.SLURM_JOB_PARTITION);
  put('cpus', env.SLURM_CPUS_PER_TASK ?? env.SLURM_CPUS_ON_NODE);
  put('memMb', env.SLURM_MEM_PER_NODE ?? env.SLURM_MEM_PER_CPU);
  const result: TaskResultFile = {
    version: RESULT_VERSION,
    buildId,
    taskId: spec.taskId,
    ...(spec.key ? { key: spec.key } : {}),
    ...(spec.reads ? { reads: spec.reads } : {}),
    ...(log ? { log } : {}),
    attempt: spec.attempt,
    status: ok ? 'ok' : 'failed',
    exitCode: outcome.signal ? 128 : outcome.exitCode,
    signal: outcome.signal,
    outputs,
    host: hostname(),
    versions: runVersions(),
    slurm,
    start,
    end: new Date().toISOString(),
  };
  if (outcome.error) result.error = outcome.error;
  if (outcome.param) result.param = outcome.param;
  if (outputFailure) result.outputFailure = outputFailure;
  if (outcome.items) result.items = outcome.items;
  if (outcome.metadata) result.metadata = outcome.metadata;
  await writeFileAtomic(spec.resultFile, `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

async function main(specPath: string | undefined): Promise<number> {
  if (!specPath) {
    process.stderr.write('usage: job-entry <job-spec.json>\n');
    return 2;
  }
  const job = checkJobSpec(JSON.parse(await readFile(specPath, 'utf8')));
  if (typeof job === 'string') {
    process.stderr.write(`pipe job-entry: invalid spec ${specPath}: ${job}\n`);
    return 2;
  }
  const results: TaskResultFile[] = [];
  for (const spec of job.tasks) {
    if (job.tasks.length > 1)
      process.stderr.write(`=== pipe task ${spec.taskId} (attempt ${spec.attempt}) ===\n`);
    results.push(await runTask(spec, job.buildId, logOf(specPath)));
  }
  if (results.length === 1) {
    const r = results[0];
    if (!r || r.status === 'ok') return 0;
    return r.exitCode === 0 ? 1 : Math.min(r.exitCode, 255);
  }
  return results.every((r) => r.status === 'ok') ? 0 : EXIT_SOME_TASKS_FAILED;
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pipe job-entry: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
