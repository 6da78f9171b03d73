// The Slurm client and executor against a real single-node cluster, started with scripts/slurm-up.sh in a
// directory and on ports of its own (so that killing its slurmd cannot disturb a cluster CI shares).
// Skipped with a printed reason when slurm-wlm/munge are not installed — except under CI=true.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecEvent, ExecRequest } from '../src/execute/executor.js';
import { type CommandRunner, execFileRunner, SlurmClient } from '../src/slurm/client.js';
import { SlurmEngineExecutor } from '../src/slurm/engine-adapter.js';
import { SlurmExecutor, type SlurmExecutorOptions } from '../src/slurm/executor.js';
import { hashFile } from '../src/slurm/task-files.js';
import type { ExecTask, TaskEvent, TaskOutcome } from '../src/slurm/types.js';
import { commandRequest } from './fixtures/run-command.js';
import { slurmInstalled } from './fixtures/slurm-installed.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = join(repo, 'packages/core/dist/slurm/job-entry.js');
const installed = slurmInstalled('Slurm cluster tests');

const clusterEnv = {
  ...process.env,
  SLURM_CI_DIR: '/tmp/pipe-slurm-vitest',
  SLURM_CI_CTLD_PORT: '18827',
  SLURM_CI_SLURMD_PORT: '18828',
  SLURM_CI_SRUN_PORTS: '18950-18999',
  SLURM_CI_CPUS: '16',
  // Not lower than the default SlurmdTimeout=30: on a loaded 2-core machine a slow slurmd would be declared
  // DOWN and its jobs NODE_FAIL (seen with 10 s at load average 20).
};
const node = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim();
let slurmConf = '';
let lockHolder: ChildProcess | undefined;

/**
 * Holds an exclusive lock on the test cluster for the whole file: several engineers (or vitest runs) on one
 * machine would otherwise share it, and one run's slurm-down or slurmd kill would break the other's jobs.
 */
async function lockCluster(): Promise<ChildProcess> {
  const holder = spawn(
    'flock',
    ['-w', '600', `${clusterEnv.SLURM_CI_DIR}.lock`, 'sh', '-c', 'echo locked; exec cat'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) =>
      reject(new Error(`could not lock the test cluster (flock exited ${code})`)),
    );
  });
  return holder;
}
let work = '';

/** Polls `probe` with backoff until it returns a value, or fails after timeoutMs. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 1000)) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function cmd(id: string, target: string, argv: string[], more: Partial<ExecTask> = {}): ExecTask {
  return {
    id,
    target,
    deps: [],
    run: { kind: 'command', argv },
    inputs: {},
    outputs: {},
    params: {},
    env: {},
    resources: {},
    ...more,
  };
}

/** A runner that records every sbatch call and otherwise runs the real commands. */
function recordingRunner(calls: string[][]): CommandRunner {
  return (program, args, options) => {
    if (program === 'sbatch') calls.push(args);
    return execFileRunner(program, args, options);
  };
}

function executor(buildId: string, more: Partial<SlurmExecutorOptions> = {}): SlurmExecutor {
  return new SlurmExecutor({
    buildId,
    workDir: join(work, buildId),
    slurmConf,
    pollMinMs: 100,
    pollMaxMs: 1000,
    ...more,
  });
}

const byStatus = (m: Map<string, TaskOutcome>, status: 'done' | 'failed') =>
  [...m.values()].filter((o) => o.status === status);

describe.skipIf(!installed)('Slurm on a real single-node cluster', () => {
  beforeAll(async () => {
    lockHolder = await lockCluster();
    if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npx tsc -b packages/core)`);
    const out = execFileSync('bash', [join(repo, 'scripts/slurm-up.sh')], {
      env: clusterEnv,
      encoding: 'utf8',
    });
    slurmConf = /export SLURM_CONF=(\S+)/.exec(out)?.[1] ?? '';
    expect(slurmConf).toMatch(/slurm\.conf$/);
    work = mkdtempSync(join(tmpdir(), 'pipe-slurm-test-'));
  }, 660_000);

  afterAll(() => {
    if (installed)
      execFileSync('bash', [join(repo, 'scripts/slurm-down.sh')], { env: clusterEnv, stdio: 'ignore' });
    lockHolder?.stdin?.end();
  });

  it('submits a job and reads its state from squeue --json, scontrol and the completion log', async () => {
    const client = new SlurmClient({ slurmConf });
    const script = join(work, 'exit3.sh');
    writeFileSync(script, '#!/bin/bash\necho "running on $SLURMD_NODENAME"\nexit 3\n');
    chmodSync(script, 0o755);
    const sub = await client.submit({
      script,
      jobName: 'pipe-t1-exit3',
      output: join(work, 'exit3.log'),
      chdir: work,
      resourceArgs: ['--mem=64M'],
    });
    if (!sub.ok) throw new Error(sub.message);
    expect(sub.jobId).toMatch(/^\d+$/);
    const rec = await waitFor('job to fail', async () => {
      const q = await client.query([sub.jobId]);
      const r = q.records.find((x) => x.jobId === sub.jobId);
      return r && r.state !== 'PENDING' && r.state !== 'RUNNING' && r.state !== 'COMPLETING' ? r : undefined;
    });
    expect(rec).toMatchObject({ state: 'FAILED', exitCode: 3, signal: 0, name: 'pipe-t1-exit3' });
    // Without squeue --json: scontrol; without scontrol's record: the jobcomp/filetxt log.
    const noSqueue: CommandRunner = (p, a, o) =>
      p === 'squeue' ? Promise.resolve({ code: 1, stdout: '', stderr: 'no json' }) : execFileRunner(p, a, o);
    const viaScontrol = await new SlurmClient({ slurmConf, runner: noSqueue }).query([sub.jobId]);
    expect(viaScontrol.records.find((x) => x.jobId === sub.jobId)).toMatchObject({
      state: 'FAILED',
      exitCode: 3,
    });
    // As after MinJobAge: squeue and scontrol have forgotten the job.
    const purged: CommandRunner = (p, a, o) => {
      if (p === 'squeue') return Promise.resolve({ code: 0, stdout: '{"jobs": []}', stderr: '' });
      if (p === 'scontrol' && a[1] === 'job')
        return Promise.resolve({ code: 1, stdout: '', stderr: 'Invalid job id specified' });
      return execFileRunner(p, a, o);
    };
    const viaLog = await new SlurmClient({ slurmConf, runner: purged }).query([sub.jobId]);
    expect(viaLog.records.find((x) => x.jobId === sub.jobId)).toMatchObject({ state: 'FAILED', exitCode: 3 });
    // An impossible request is a value, not an exception.
    const rejected = await client.submit({
      script,
      jobName: 'pipe-t1-x',
      output: '/dev/null',
      chdir: work,
      resourceArgs: ['--partition=short', '--time=01:00:00'],
    });
    expect(rejected).toMatchObject({ ok: false, message: expect.stringMatching(/time limit/i) });
  });

  it('sends a fan-out of 200 tasks as ONE array and runs the gather after it (afterok)', async () => {
    const calls: string[][] = [];
    const ex = executor('fan', { client: new SlurmClient({ slurmConf, runner: recordingRunner(calls) }) });
    const out = join(work, 'fan-out');
    const fan = Array.from({ length: 200 }, (_, i) =>
      cmd(`part[${i}]`, 'part', ['/bin/sh', '-c', 'echo "$1" > "$0"', '{outputs.out}', String(i)], {
        outputs: { out: join(out, `p${i}.txt`) },
      }),
    );
    const gather = cmd(
      'sum',
      'sum',
      ['/bin/sh', '-c', 'cat "$@" > "$0"', '{outputs.out}', '{inputs.parts}'],
      {
        deps: fan.map((t) => t.id),
        inputs: { parts: fan.map((t) => t.outputs.out ?? '') },
        outputs: { out: join(out, 'sum.txt') },
      },
    );
    const res = await ex.run([gather, ...fan.reverse()]).done;
    expect(byStatus(res, 'failed')).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toContain('--array=0-199');
    const arrayId = /^\d+$/.exec(String(res.get('part[0]')?.attempts[0]?.job.split('_')[0]))?.[0];
    const jobs = fan.map((t) => res.get(t.id)?.attempts[0]?.job);
    expect(new Set(jobs.map((j) => j?.split('_')[0]))).toEqual(new Set([arrayId]));
    expect(new Set(jobs.map((j) => Number(j?.split('_')[1])))).toEqual(
      new Set(Array.from({ length: 200 }, (_, i) => i)),
    );
    expect(calls[1]).toContain(`--dependency=afterok:${arrayId}`);
    expect(readFileSync(join(out, 'sum.txt'), 'utf8')).toBe(
      `${Array.from({ length: 200 }, (_, i) => i).join('\n')}\n`,
    );
    const sum = res.get('sum');
    const lastPartEnd = Math.max(
      ...fan.map((t) =>
        Date.parse(
          res.get(t.id)?.status === 'done' ? (res.get(t.id) as { result: { end: string } }).result.end : '',
        ),
      ),
    );
    if (sum?.status !== 'done') throw new Error('sum not done');
    expect(Date.parse(sum.result.start)).toBeGreaterThanOrEqual(lastPartEnd);
    expect(sum.result.outputs.out?.sha256).toBe((await hashFile(join(out, 'sum.txt'))).sha256);
  }, 180_000);

  it("plugs into the engine's Executor contract (ExecRequest in, ExecEvents out, logs copied)", async () => {
    // A compute node's `node` that reports another version than the submitting one.
    const otherNode = join(work, 'other-node');
    writeFileSync(
      join(work, 'other-version.cjs'),
      "Object.defineProperty(process, 'version', { value: 'v99.1.2' });\n",
    );
    writeFileSync(
      otherNode,
      `#!/bin/sh\nexec '${process.execPath}' -r '${join(work, 'other-version.cjs')}' "$@"\n`,
    );
    chmodSync(otherNode, 0o755);
    const ex = new SlurmEngineExecutor({
      buildId: 'engine',
      workDir: join(work, 'engine'),
      slurmConf,
      nodePath: otherNode,
      pollMinMs: 100,
      pollMaxMs: 1000,
    });
    const req = (id: string, argv: string[], more: Partial<ExecRequest> = {}): ExecRequest =>
      commandRequest(id, argv, work, join(work, `${id}.log`), more);
    const events: ExecEvent[] = [];
    const tmpOut = join(work, 'engine-a.tmp');
    await ex.submit(
      [
        req('a', ['/bin/sh', '-c', 'echo "n=$1"; echo "$1" > "$0"', '{outputs.x}', '{params.n}'], {
          outputs: { x: tmpOut },
          params: { n: 5 },
        }),
        req('b', ['/bin/sh', '-c', 'exit 2'], { deps: ['a'] }),
      ],
      (e) => events.push(e),
      new AbortController().signal,
    );
    expect(readFileSync(tmpOut, 'utf8')).toBe('5\n');
    expect(readFileSync(join(work, 'a.log'), 'utf8')).toContain('n=5');
    const ended = Object.fromEntries(events.flatMap((e) => (e.type === 'ended' ? [[e.id, e.outcome]] : [])));
    expect(ended.a).toMatchObject({ ok: true, jobId: expect.stringMatching(/^\d+$/) });
    expect(ended.b).toMatchObject({ ok: false, failure: { type: 'exit-non-zero', exitCode: 2 } });
    // The versions the job ran with are its own (a provenance record's), not this process's: here a node
    // wrapper plays a compute node whose Node is another release.
    expect(ended.a).toMatchObject({ versions: { node: 'v99.1.2', zlib: process.versions.zlib } });
    expect(
      events
        .filter((e) => e.type === 'started')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['a', 'b']);
  }, 60_000);

  it('retries a failing task N times with the same request (an exit status), then reports it with its log tail', async () => {
    const events: TaskEvent[] = [];
    const marker = join(work, 'flaky-marker');
    const tasks = [
      cmd('bad', 'bad', ['/bin/sh', '-c', 'echo "boom from attempt"; exit 4'], {
        resources: { retries: 2, mem: '64M' },
      }),
      cmd('after-bad', 'after', ['/bin/true'], { deps: ['bad'] }),
      // Fails the first time only: the retry succeeds and its dependent is re-plumbed onto the new job.
      cmd('flaky', 'flaky', ['/bin/sh', '-c', '[ -e "$0" ] && exit 0; touch "$0"; exit 9', marker], {
        resources: { retries: 1 },
      }),
      cmd('after-flaky', 'after2', ['/bin/sh', '-c', 'echo ok > "$0"', '{outputs.o}'], {
        deps: ['flaky'],
        outputs: { o: join(work, 'after-flaky.txt') },
      }),
    ];
    const res = await executor('retry').run(tasks, { onEvent: (e) => events.push(e) }).done;
    const bad = res.get('bad');
    if (bad?.status !== 'failed') throw new Error('bad should fail');
    expect(bad.reason).toEqual({ type: 'exit-non-zero', exitCode: 4 });
    expect(bad.attempts.map((a) => a.resources.mem)).toEqual(['64M', '64M', '64M']);
    expect(new Set(bad.attempts.map((a) => a.job)).size).toBe(3);
    expect(bad.logTail).toContain('boom from attempt');
    expect(events.filter((e) => e.type === 'retrying' && e.taskId === 'bad')).toHaveLength(2);
    expect(res.get('after-bad')).toMatchObject({
      status: 'failed',
      reason: { type: 'upstream-failed', upstream: 'bad' },
    });
    expect(res.get('flaky')).toMatchObject({ status: 'done' });
    expect(res.get('flaky')?.attempts).toHaveLength(2);
    expect(res.get('after-flaky')).toMatchObject({ status: 'done' });
  }, 120_000);

  it('never counts a COMPLETED job without a valid result file as done', async () => {
    // Fake job runners at the seam: one exits 0 and writes nothing; one runs the real entry, then corrupts the output.
    const silent = join(work, 'silent-entry.mjs');
    writeFileSync(silent, 'process.exit(0);\n');
    const tamper = join(work, 'tamper-entry.mjs');
    writeFileSync(
      tamper,
      `import { spawnSync } from 'node:child_process'; import { appendFileSync, readFileSync } from 'node:fs';
       const r = spawnSync(process.execPath, [${JSON.stringify(entry)}, process.argv[2]], { stdio: 'inherit' });
       for (const t of JSON.parse(readFileSync(process.argv[2], 'utf8')).tasks) for (const o of Object.values(t.outputs)) appendFileSync(o.final, 'x');
       process.exit(r.status ?? 1);\n`,
    );
    const task = (id: string) =>
      cmd(id, id, ['/bin/sh', '-c', 'echo data > "$0"', '{outputs.o}'], {
        outputs: { o: join(work, `${id}.txt`) },
        resources: { retries: 1 },
      });
    const a = await executor('silent', { workerEntry: silent, resultGraceMs: 200 }).run([task('s')]).done;
    expect(a.get('s')).toMatchObject({ status: 'failed', reason: { type: 'missing-result' } });
    expect(a.get('s')?.attempts).toHaveLength(2);
    const b = await executor('tamper', { workerEntry: tamper }).run([task('t')]).done;
    expect(b.get('t')).toMatchObject({
      status: 'failed',
      reason: { type: 'invalid-result', detail: expect.stringMatching(/recorded hash/) },
    });
  }, 60_000);

  it("cancels a build's jobs, from the run's handle or by job name from elsewhere", async () => {
    const client = new SlurmClient({ slurmConf });
    const long = (id: string, deps: string[] = []) =>
      cmd(id, id.split('[')[0] ?? id, ['/bin/sleep', '120'], { deps });
    const events: TaskEvent[] = [];
    const h1 = executor('cancel1').run([long('s[0]'), long('s[1]'), long('d', ['s[0]', 's[1]'])], {
      onEvent: (e) => events.push(e),
    });
    await waitFor('tasks running', () =>
      events.filter((e) => e.type === 'running').length >= 2 ? true : undefined,
    );
    await h1.cancel();
    const r1 = await h1.done;
    expect([...r1.values()].map((o) => o.status === 'failed' && o.reason.type)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    await waitFor('no jobs left', async () =>
      (await client.jobsNamed('pipe-cancel1-')).length === 0 ? true : undefined,
    );

    const ex2 = executor('cancel2');
    const events2: TaskEvent[] = [];
    const h2 = ex2.run([long('s[0]'), long('s[1]'), long('d', ['s[0]', 's[1]'])], {
      onEvent: (e) => events2.push(e),
    });
    await waitFor('tasks running', () =>
      events2.filter((e) => e.type === 'running').length >= 2 ? true : undefined,
    );
    const cancelled = await SlurmExecutor.cancelBuild(client, 'cancel2');
    expect(cancelled).toHaveLength(2); // the array and the dependent job
    const r2 = await h2.done;
    for (const o of r2.values())
      expect(o.status === 'failed' && ['cancelled', 'upstream-failed'].includes(o.reason.type)).toBe(true);
    expect(r2.get('s[0]')).toMatchObject({ reason: { type: 'cancelled' } });
    await waitFor('no jobs left', async () =>
      (await client.jobsNamed('pipe-cancel2-')).length === 0 ? true : undefined,
    );
  }, 60_000);

  it('survives slurmd being killed mid-job: a retry or a clear failure, never a success without a valid result', async () => {
    const dir = join(clusterEnv.SLURM_CI_DIR, 'run');
    const pidOf = (name: string) => readFileSync(join(dir, `${name}.pid`), 'utf8').trim();
    const flag = join(work, 'victim.pids');
    const victimOut = join(work, 'victim.txt');
    const survivorOut = join(work, 'survivor.txt');
    // The victim records its shell's and its job runner's pids on the first attempt, then waits to be killed.
    const victim = cmd(
      'victim',
      'victim',
      [
        '/bin/sh',
        '-c',
        'if [ ! -e "$1" ]; then echo "$$ $PPID" > "$1"; sleep 60; fi; echo v > "$0"',
        '{outputs.o}',
        flag,
      ],
      {
        outputs: { o: victimOut },
        resources: { retries: 2 },
      },
    );
    // The survivor keeps running through the outage and must complete normally.
    const started = join(work, 'survivor.started');
    const survivor = cmd(
      'survivor',
      'survivor',
      [
        '/bin/sh',
        '-c',
        'touch "$2"; while [ ! -e "$1" ]; do sleep 0.1; done; sleep 2; echo s > "$0"',
        '{outputs.o}',
        flag,
        started,
      ],
      {
        outputs: { o: survivorOut },
      },
    );
    const events: TaskEvent[] = [];
    const h = executor('slurmd-kill').run([victim, survivor], { onEvent: (e) => events.push(e) });
    // Both jobs fully launched (a job whose launch slurmd had not finished is lost with it: NODE_FAIL later).
    const pids = await waitFor('victim and survivor to start', () =>
      existsSync(flag) && existsSync(started) ? readFileSync(flag, 'utf8').trim().split(' ') : undefined,
    );
    process.kill(Number(pidOf('slurmd')), 'SIGKILL');
    // The node dies with its work: the job's runner and its command go too.
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    await waitFor('victim processes gone', () =>
      pids.every(
        (p) =>
          !existsSync(`/proc/${p}/cmdline`) || readFileSync(`/proc/${p}/stat`, 'utf8').split(' ')[2] === 'Z',
      )
        ? true
        : undefined,
    );
    execFileSync('slurmd', ['-f', slurmConf, '-N', node]);
    const res = await h.done;
    for (const [id, o] of res) {
      if (o.status !== 'done') continue;
      // Done means: a result file from the job that ran, and outputs whose bytes match it.
      const out = o.result.outputs.o;
      expect(out, id).toBeDefined();
      expect((await hashFile(out?.path ?? '')).sha256).toBe(out?.sha256);
    }
    const v = res.get('victim');
    expect(v?.status === 'done' || (v?.status === 'failed' && v.reason.type !== 'missing-result')).toBe(true);
    if (v?.status === 'done') {
      expect(v.attempts.length).toBeGreaterThanOrEqual(2);
      expect(v.attempts[0]?.reason?.type).toMatch(/killed|exit-non-zero|node-fail/);
      expect(readFileSync(victimOut, 'utf8')).toBe('v\n');
    }
    expect(res.get('survivor'), JSON.stringify(res.get('survivor'))).toMatchObject({ status: 'done' });
    expect(readFileSync(survivorOut, 'utf8')).toBe('s\n');
    await waitFor('node back', async () =>
      (await new SlurmClient({ slurmConf }).nodeState(node))?.startsWith('IDLE') ? true : undefined,
    );
  }, 120_000);

  // Found by a review: with slurmctld stopped, a build said nothing for up to 10 minutes. The controller's silence is
  // played by a client whose queries fail (the job itself runs on the real cluster, and is cancelled at the end).
  it('says when the controller stops answering, and fails the jobs when it still does not at the limit', async () => {
    const silent: CommandRunner = (program, args, options) =>
      program === 'sbatch' || program === 'scancel'
        ? execFileRunner(program, args, options)
        : Promise.resolve({
            code: 1,
            stdout: '',
            stderr: 'slurm_load_jobs error: Unable to contact slurm controller',
          });
    const events: TaskEvent[] = [];
    const ex = executor('silent', {
      client: new SlurmClient({ slurmConf, runner: silent }),
      unreachableTimeoutMs: 2_000,
    });
    const res = await ex.run([cmd('wait', 'wait', ['/bin/sh', '-c', 'sleep 30'])], {
      onEvent: (e) => events.push(e),
    }).done;
    const notes = events.flatMap((e) => (e.type === 'note' ? [e.message] : []));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^Slurm's controller has not answered since .*; pipe keeps asking and fails/);
    const wait = res.get('wait');
    expect(wait?.status).toBe('failed');
    if (wait?.status === 'failed')
      expect(wait.reason).toMatchObject({ type: 'slurm-state', state: 'UNREACHABLE' });
    const job = wait?.attempts[0]?.job;
    if (job)
      await execFileRunner('scancel', [job], {
        env: { ...process.env, SLURM_CONF: slurmConf },
        timeoutMs: 10_000,
      });
  }, 60_000);
});
