// `pipe build --executor slurm` end to end through a real single-node Slurm cluster (scripts/slurm-up.sh):
// a fan-out becomes one job array and its consumers afterok jobs, products are byte-identical to the local
// executors', cached tasks are never submitted, a failing task is retried with more memory and reported with
// its log, a detached build is followed with `pipe status` and stopped with `pipe cancel`, and the Crab
// excess_map pipeline gives the same FITS bytes as a local build.
// Skipped with a printed reason when slurm-wlm/munge are not installed — except under CI=true.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmInstalled } from '../packages/core/test/fixtures/slurm-installed.js';
import { Workspace } from './rig.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const installed = slurmInstalled('pipe build --executor slurm tests');

// The same cluster (and lock) as packages/core/test/slurm-cluster.test.ts: the two files take turns.
const clusterEnv = {
  ...process.env,
  SLURM_CI_DIR: '/tmp/pipe-slurm-vitest',
  SLURM_CI_CTLD_PORT: '18827',
  SLURM_CI_SLURMD_PORT: '18828',
  SLURM_CI_SRUN_PORTS: '18950-18999',
  SLURM_CI_CPUS: '16',
};
let slurmEnv: Record<string, string> = {};
let lockHolder: ChildProcess | undefined;

async function lockCluster(): Promise<ChildProcess> {
  const holder = spawn(
    'flock',
    ['-w', '900', `${clusterEnv.SLURM_CI_DIR}.lock`, 'sh', '-c', 'echo locked; exec cat'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) =>
      reject(new Error(`could not lock the test cluster (flock exited ${code})`)),
    );
  });
  return holder;
}

/** Polls `probe` with backoff until it returns a value (no fixed sleeps). */
async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 1.5, 1000)) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

const jobTable = (ws: Workspace, buildId: string) =>
  JSON.parse(readFileSync(ws.path(`.pipe/slurm/${buildId}/jobs.json`), 'utf8')) as {
    tasks: Record<string, { job: string; attempt: number; state: string }>;
  };
const buildRecord = (ws: Workspace, buildId: string) =>
  JSON.parse(readFileSync(ws.path(`.pipe/builds/${buildId}.json`), 'utf8'));

/** A build of `slow` on Slurm whose driver got kill -9 once its job started: the job is left running. */
async function killedDriver(): Promise<{ ws: Workspace; buildId: string }> {
  const ws = new Workspace({ 'pipe.yaml': PARTS });
  const driver = ws.spawn(['build', 'slow', '--executor', 'slurm'], slurmEnv);
  await waitFor('the job to start', () => (ws.exists('out/slow.started') ? true : undefined));
  const buildId = readdirSync(ws.path('.pipe/slurm'))[0]!;
  driver.kill('SIGKILL');
  await new Promise((r) => driver.once('exit', r));
  return { ws, buildId };
}

/** The head of the tests' pipelines: small jobs on the test cluster. */
const SMALL_JOBS = `version: 1
defaults:
  resources: {mem: 64M, time: "00:05:00"}
targets:`;

/** A gather of every part. */
const JOINED = `  joined:
    step: command
    inputs: {parts: {target: parts}}
    command: [/bin/sh, -c, 'cat "$@" > "$0"', '{outputs.out}', '{inputs.parts}']
    outputs: {out: out/joined.txt}`;

const PARTS = `${SMALL_JOBS}
  parts:
    step: command
    foreach: [a, b, c, d, e]
    command: [/bin/sh, -c, 'echo "part $0" > "$1"', '{item}', '{outputs.out}']
    outputs: {out: 'out/parts/{item}.txt'}
${JOINED}
  counted:
    step: command
    inputs: {joined: {target: joined}}
    command: [/bin/sh, -c, 'wc -l < "$1" > "$0"', '{outputs.out}', '{inputs.joined}']
    outputs: {out: out/count.txt}
  flaky:
    step: command
    command: [/bin/sh, -c, 'echo "calibrating"; echo "no such calibration" >&2; exit 3']
    outputs: {out: out/flaky.txt}
    resources: {mem: 100M, retries: 1}
  after_flaky:
    step: command
    inputs: {f: {target: flaky}}
    command: [/bin/cp, '{inputs.f}', '{outputs.out}']
    outputs: {out: out/after-flaky.txt}
  once:
    step: command
    command: [/bin/sh, -c, 'if [ -e out/once.tried ]; then echo second > "$0"; else mkdir -p out; touch out/once.tried; exit 3; fi', '{outputs.out}']
    outputs: {out: out/once.txt}
    resources: {mem: 100M, retries: 1}
  forgot:
    step: command
    command: [/bin/true]
    outputs: {out: out/forgot.txt}
  slow:
    step: command
    command: [/bin/sh, -c, 'echo started > "$0"; while [ ! -e "$1" ]; do sleep 0.2; done; echo done > "$2"', 'out/slow.started', 'out/slow.release', '{outputs.out}']
    outputs: {out: out/slow.txt}
`;

describe.skipIf(!installed)('pipe build --executor slurm (real cluster)', () => {
  beforeAll(async () => {
    lockHolder = await lockCluster();
    const out = execFileSync('bash', [path.join(repo, 'scripts/slurm-up.sh')], {
      env: clusterEnv,
      encoding: 'utf8',
    });
    slurmEnv = { SLURM_CONF: /export SLURM_CONF=(\S+)/.exec(out)?.[1] ?? '' };
    expect(slurmEnv.SLURM_CONF).toMatch(/slurm\.conf$/);
    // Every `pipe` the rig spawns (and a detached build's driver) finds the cluster through SLURM_CONF.
    process.env.SLURM_CONF = slurmEnv.SLURM_CONF;
  }, 960_000);

  afterAll(() => {
    if (installed)
      execFileSync('bash', [path.join(repo, 'scripts/slurm-down.sh')], { env: clusterEnv, stdio: 'ignore' });
    lockHolder?.stdin?.end();
  });

  it('submits a fan-out as one array and its consumers with afterok; products equal the local build; cached tasks are never submitted', async () => {
    const onSlurm = new Workspace({ 'pipe.yaml': PARTS });
    const local = new Workspace({ 'pipe.yaml': PARTS });
    const a = await onSlurm.build(['counted'], ['--executor', 'slurm']);
    const b = await local.build(['counted']);
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(a.ended.ran).toHaveLength(7);
    for (const f of ['a', 'b', 'c', 'd', 'e']
      .map((i) => `out/parts/${i}.txt`)
      .concat('out/joined.txt', 'out/count.txt')) {
      expect(onSlurm.read(f), f).toBe(local.read(f));
    }
    expect(onSlurm.read('out/count.txt').trim()).toBe('5');
    const buildId = a.end!.buildId as string;
    const table = jobTable(onSlurm, buildId);
    const arrays = new Set(
      ['a', 'b', 'c', 'd', 'e'].map((i) => table.tasks[`parts[${i}]`]!.job.split('_')[0]),
    );
    expect(arrays.size).toBe(1); // one sbatch for the fan-out
    expect(table.tasks['parts[a]']!.job).toMatch(/^\d+_\d$/);
    // joined was submitted (with afterok) before the parts ended, not after this process saw them end.
    const field = (job: string, name: string) => {
      const show = execFileSync('scontrol', ['show', 'job', '-o', job], {
        env: { ...process.env, ...slurmEnv },
        encoding: 'utf8',
      });
      return new RegExp(`${name}=(\\S+)`).exec(show)?.[1] ?? '';
    };
    const partsEnd = ['a', 'b', 'c', 'd', 'e']
      .map((i) => field(table.tasks[`parts[${i}]`]!.job, 'EndTime'))
      .sort();
    expect(field(table.tasks.joined!.job, 'SubmitTime') <= partsEnd[0]!).toBe(true);
    expect(field(table.tasks.counted!.job, 'SubmitTime') <= partsEnd[0]!).toBe(true);
    // The record and the provenance carry the job ids and placement.
    const rec = buildRecord(onSlurm, buildId);
    expect(rec.tasks.counted.executor).toBe('slurm');
    expect(rec.tasks.counted.jobId).toBe(table.tasks.counted!.job);
    // A task's times are its job's run on the node, not its wait in the queue: counted was submitted with joined,
    // but ran (afterok) only after joined had ended.
    expect(rec.tasks.counted.startedAt >= rec.tasks.joined.endedAt).toBe(true);
    const manifests = readdirSync(onSlurm.path('.pipe/cache/ac')).map(
      (f) => JSON.parse(readFileSync(onSlurm.path(`.pipe/cache/ac/${f}`), 'utf8')).manifest,
    );
    const prov = manifests.find((m) => m.taskId === 'counted').provenance;
    expect(prov).toMatchObject({
      executor: 'slurm',
      jobId: table.tasks.counted!.job,
      metadata: { slurm: { node: expect.any(String), memMb: '64', requested: { mem: '64M' } } },
      versions: { node: process.version, zlib: process.versions.zlib },
    });

    const again = await onSlurm.build(['counted'], ['--executor', 'slurm']);
    expect(again.run.code).toBe(0);
    expect(again.ended['up-to-date']).toHaveLength(7);
    expect(existsSync(onSlurm.path(`.pipe/slurm/${again.end!.buildId}`))).toBe(false);
    onSlurm.remove('.');
    local.remove('.');
  }, 300_000);

  it("says which output a command that exited 0 did not write, in the local executors' words", async () => {
    const ws = new Workspace({ 'pipe.yaml': PARTS });
    const onSlurm = await ws.run(['build', 'forgot', '--executor', 'slurm']);
    const local = await ws.run(['build', 'forgot']);
    for (const r of [onSlurm, local]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /FAILED\s+forgot(?: \(Slurm job \d+\))?: output 'out' was not written \(out\/forgot\.txt\)/,
      );
    }
    ws.remove('.');
  }, 120_000);

  it('a step that blames a param value: the build says where it was set, on Slurm as locally', async () => {
    const ws = new Workspace({
      'steps/blame.mjs': `export default { name: 'test.blame', version: '1', run(ctx) {
  const i = ctx.params.runs.indexOf(13);
  if (i >= 0) throw Object.assign(new Error('run 13 is unknown'), { param: ['runs', i] });
} };
`,
      'pipe.yaml': `version: 1
targets:
  pick:
    step: ./steps/blame.mjs
    params:
      runs: [11, 12, 13]
    outputs: {out: out/pick.txt}
`,
    });
    const onSlurm = await ws.run(['build', 'pick', '--executor', 'slurm']);
    const local = await ws.run(['build', 'pick']);
    for (const r of [onSlurm, local]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /FAILED\s+pick(?: \(Slurm job \d+\))?: step failed: run 13 is unknown; set at pipe\.yaml:6:22\n/,
      );
    }
    ws.remove('.');
  }, 120_000);

  it('retries a failing task with the same request, then reports it with the tail of its log', async () => {
    const ws = new Workspace({ 'pipe.yaml': PARTS });
    const r = await ws.run(['build', 'after_flaky', '--executor', 'slurm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED\s+flaky \(Slurm job \d+\): exited with status 3/);
    expect(r.stderr).toMatch(/--- flaky: last (?:line|\d+ lines) of .*flaky\.log/);
    expect(r.stderr).toContain('no such calibration');
    expect(ws.exists('out/flaky.txt')).toBe(false);
    // The task's log holds both attempts' job logs, the first marked with why it failed.
    const logs = ws.path('.pipe/logs');
    const log = readFileSync(path.join(logs, readdirSync(logs)[0]!, 'flaky.log'), 'utf8');
    expect(log).toMatch(
      /calibrating[\s\S]*--- pipe: attempt 1 \(Slurm job \d+\): exited with status 3; attempt 2 follows ---\n[\s\S]*calibrating/,
    );
    const ids = readdirSync(ws.path('.pipe/builds')).map((f) => f.replace(/\.json$/, ''));
    const table = jobTable(ws, ids[0]!);
    expect(table.tasks.flaky).toMatchObject({ attempt: 2, state: 'failed' });
    // The task behind it is 'skipped' in the live table, as the build's record says it (it read 'failed').
    expect(table.tasks.after_flaky).toMatchObject({ state: 'skipped' });
    // An exit status is no memory shortage: the second attempt asked for the same memory (slurm-memory.test.ts: an
    // out-of-memory end grows it).
    const show = execFileSync('scontrol', ['show', 'job', '-o', table.tasks.flaky!.job], {
      env: { ...process.env, ...slurmEnv },
      encoding: 'utf8',
    });
    expect(show).toMatch(/MinMemoryNode=100M/);
    // A task that succeeds on its second attempt says so.
    const once = await ws.run(['build', 'once', '--executor', 'slurm']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toMatch(/ran\s+once \(\d+ ms, 2 attempts\)/);
    expect(ws.read('out/once.txt')).toBe('second\n');
    ws.remove('.');
  }, 300_000);

  it('detaches, shows the running build with its job in pipe status, and pipe cancel ends it', async () => {
    const ws = new Workspace({ 'pipe.yaml': PARTS });
    const started = await ws.run(['build', 'slow', '--executor', 'slurm', '--detach']);
    expect(started.code, started.stderr).toBe(0);
    const buildId = started.stdout.trim();
    await waitFor('the job to start', () => (ws.exists('out/slow.started') ? true : undefined));
    const status = await ws.run(['status', buildId], slurmEnv);
    expect(status.stdout).toMatch(/status\s+running/);
    expect(status.stdout).toMatch(/running\s+slow \(slurm job \d+/);
    const cancel = await ws.run(['cancel', buildId], slurmEnv);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toMatch(/stopped its driver/);
    const rec = await waitFor('the build to end', () => {
      const r = buildRecord(ws, buildId);
      return r.status === 'running' ? undefined : r;
    });
    expect(rec.status).toBe('interrupted');
    expect(rec.tasks.slow.state).toBe('cancelled');
    // The cancelled job leaves the queue once slurmd has killed it (COMPLETING for up to KillWait).
    await waitFor(
      'the job to leave the queue',
      () => {
        const left = execFileSync('squeue', ['-h', '-o', '%j'], {
          env: { ...process.env, ...slurmEnv },
          encoding: 'utf8',
        });
        return left.includes(`pipe-${buildId}`) ? undefined : true;
      },
      60_000,
    );
    expect(ws.exists('out/slow.txt')).toBe(false);
    ws.remove('.');
  }, 300_000);

  it('a job scancelled from outside fails the build (exit 1), named as such; without -k the jobs not started are cancelled', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
defaults:
  resources: {mem: 64M, time: "00:05:00"}
targets:
  waits:
    step: command
    command: [/bin/sh, -c, 'echo started > "$0"; while [ ! -e "$1" ]; do sleep 0.2; done; echo done > "$2"', 'out/waits.started', 'out/waits.release', '{outputs.out}']
    outputs: {out: out/waits.txt}
  # The whole node per element (SLURM_CI_CPUS=16): the elements run one after the other.
  hogs:
    step: command
    foreach: [a, b, c, d]
    command: [/bin/sh, -c, 'if [ "$0" = a ]; then exit 3; fi; sleep 3; echo "$0" > "$1"', '{item}', '{outputs.out}']
    outputs: {out: 'out/hogs/{item}.txt'}
    resources: {cpus: 16}
`,
    });
    const build = ws.run(['build', 'waits', '--executor', 'slurm']);
    await waitFor('the job to start', () => (ws.exists('out/waits.started') ? true : undefined));
    const job = jobTable(ws, readdirSync(ws.path('.pipe/slurm'))[0]!).tasks.waits!.job;
    execFileSync('scancel', [job], { env: { ...process.env, ...slurmEnv } });
    const r = await build;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/FAILED\s+waits \(Slurm job \d+\): cancelled outside pipe\n/);
    expect(r.stderr).toMatch(/build \S+ failed/);
    // Without -k: a failure stops the build; the elements Slurm had not started are cancelled, not run.
    const t0 = Date.now();
    const hogs = await ws.build(['hogs'], ['--executor', 'slurm']);
    expect(hogs.run.code, hogs.run.stderr).toBe(1);
    expect(hogs.ended.failed).toEqual(['hogs[a]']);
    // b may have started the moment a ended (before this build saw a fail): it then runs to its end, as with
    // the local executor; c and d had not started, and are cancelled.
    expect(hogs.ended.ran ?? []).not.toContain('hogs[c]');
    expect([...(hogs.ended.ran ?? []), ...(hogs.ended.cancelled ?? [])].sort()).toEqual([
      'hogs[b]',
      'hogs[c]',
      'hogs[d]',
    ]);
    expect(hogs.ended.cancelled).toEqual(expect.arrayContaining(['hogs[c]', 'hogs[d]']));
    expect(Date.now() - t0).toBeLessThan(60_000);
    const left = execFileSync('squeue', ['-h', '-o', '%j'], {
      env: { ...process.env, ...slurmEnv },
      encoding: 'utf8',
    });
    expect(left).not.toContain(`pipe-${hogs.end!.buildId}`);
    // A job sbatch refuses (no such partition): its error, and no log line for a log that was never written.
    ws.write(
      'pipe.yaml',
      `${ws.read('pipe.yaml')}  lost:\n    step: command\n    command: [/bin/true]\n    outputs: {out: out/lost.txt}\n    resources: {partition: nosuch}\n`,
    );
    const refused = await ws.run(['build', 'lost', '--executor', 'slurm']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FAILED\s+lost: .*(sbatch|partition)/i);
    expect(refused.stderr).not.toMatch(/^\s+log: /m);
    const status = await ws.run(['status']); // the record of that build: no log either
    expect(status.stdout).toMatch(/failed\s+lost/);
    expect(status.stdout).not.toMatch(/^\s+log: /m);
    // With -k the others run.
    const kept = await ws.build(['hogs'], ['--executor', 'slurm', '-k']);
    expect(kept.ended.failed).toEqual(['hogs[a]']);
    expect([...(kept.ended.ran ?? []), ...(kept.ended['up-to-date'] ?? [])].sort()).toEqual([
      'hogs[b]',
      'hogs[c]',
      'hogs[d]',
    ]);
    ws.remove('.');
  }, 300_000);

  it('kill -9 of a build: the next one cancels the jobs it left and waits for them, then builds', async () => {
    const { ws, buildId: oldBuild } = await killedDriver();
    // The orphan job still waits for its release; the next build must end it before building.
    ws.write('pipe.yaml', PARTS.replace('\'echo started > "$0"; while', '\'echo again > "$0"; while'));
    const next = ws.spawn(['build', 'slow', '--executor', 'slurm'], slurmEnv);
    let stderr = '';
    next.stderr?.on('data', (d) => {
      stderr += d;
    });
    await waitFor('the new job to start', () =>
      ws.read('out/slow.started').startsWith('again') ? true : undefined,
    );
    const listed = execFileSync('squeue', ['-h', '-o', '%j'], {
      env: { ...process.env, ...slurmEnv },
      encoding: 'utf8',
    });
    expect(listed).not.toContain(`pipe-${oldBuild}`);
    ws.write('out/slow.release', '');
    const code = await new Promise((r) => next.once('exit', r));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(new RegExp(`cancelled 1 Slurm job that build ${oldBuild} left`));
    expect(ws.read('out/slow.txt')).toBe('done\n');
    ws.remove('.');
  }, 300_000);

  it('pipe why of a product made on Slurm names its job, as squeue and sacct name it, and its node', async () => {
    const ws = new Workspace({ 'pipe.yaml': PARTS });
    const built = await ws.build(['joined'], ['--executor', 'slurm']);
    expect(built.run.code, built.run.stderr).toBe(0);
    const buildId = built.end!.buildId as string;
    const job = jobTable(ws, buildId).tasks['parts[c]']!.job;
    expect(job).toMatch(/^\d+_\d$/);
    const why = await ws.run(['why', 'out/parts/c.txt']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(new RegExp(`\\n  ran as Slurm job ${job} on \\S+\\n`));
    ws.remove('.');
  }, 300_000);

  it('kill -9 of a build whose jobs then end well: the next build takes their results instead of new jobs', async () => {
    // parts is read by joined in the same batch (its jobs publish in the workspace); solo by nobody (its output stays
    // in the run folder the next build clears, so it is moved aside first).
    const ws = new Workspace({
      'pipe.yaml': `${SMALL_JOBS}
  parts:
    step: command
    foreach: [a, b, c]
    command: [/bin/sh, -c, 'touch "out/started-$0"; while [ ! -e out/release ]; do sleep 0.2; done; echo "making $0"; echo "part $0" > "$1"; echo "$0" >> out/runs.txt', '{item}', '{outputs.out}']
    outputs: {out: 'out/parts/{item}.txt'}
${JOINED}
  solo:
    step: command
    command: [/bin/sh, -c, 'touch out/started-solo; while [ ! -e out/release ]; do sleep 0.2; done; echo "making solo"; echo solo > "$0"; echo solo >> out/runs.txt', '{outputs.out}']
    outputs: {out: out/solo.txt}
`,
      'out/.keep': '',
    });
    const runs = () => ws.read('out/runs.txt').split('\n').filter(Boolean);
    const squeued = () =>
      execFileSync('squeue', ['-h', '-o', '%j'], { env: { ...process.env, ...slurmEnv }, encoding: 'utf8' });
    /** A build of joined and solo whose driver is killed once its four jobs run; they then end well. Its id. */
    const deadBuild = async (extra: string[] = []): Promise<string> => {
      for (const i of ['a', 'b', 'c', 'solo']) ws.remove(`out/started-${i}`);
      ws.remove('out/release');
      const before = new Set(ws.exists('.pipe/slurm') ? readdirSync(ws.path('.pipe/slurm')) : []);
      const driver = ws.spawn(['build', 'joined', 'solo', '--executor', 'slurm', ...extra], slurmEnv);
      await waitFor('the four jobs to start', () =>
        ['a', 'b', 'c', 'solo'].every((i) => ws.exists(`out/started-${i}`)) ? true : undefined,
      );
      const id = readdirSync(ws.path('.pipe/slurm')).find((b) => !before.has(b))!;
      driver.kill('SIGKILL');
      await new Promise((r) => driver.once('exit', r));
      ws.write('out/release', '');
      await waitFor('its jobs to end', () =>
        squeued().includes(`parts.pipe-${id}`) || squeued().includes(`solo.pipe-${id}`) ? undefined : true,
      );
      return id;
    };
    const oldBuild = await deadBuild();
    expect(runs().sort()).toEqual(['a', 'b', 'c', 'solo']);
    const next = await ws.run(['build', 'joined', 'solo', '--executor', 'slurm'], slurmEnv);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`4 Slurm jobs of build ${oldBuild} ended well after its driver did`);
    // Said before the tasks, not after them.
    expect(next.stderr.indexOf('ended well after its driver did')).toBeLessThan(
      next.stderr.indexOf('parts[a]'),
    );
    // Not run again: their results were taken, and only the gather (keyed once they were hashed) had a job.
    expect(runs()).toHaveLength(4);
    expect(ws.read('out/joined.txt')).toBe('part a\npart b\npart c\n');
    expect(ws.read('out/solo.txt')).toBe('solo\n');
    const newBuild = readdirSync(ws.path('.pipe/slurm')).find((b) => b !== oldBuild)!;
    for (const id of ['parts[b]', 'solo']) {
      expect(jobTable(ws, newBuild).tasks[id]).toMatchObject({
        state: 'done',
        detail: `taken from build ${oldBuild}`,
      });
      expect(buildRecord(ws, newBuild).tasks[id]).toMatchObject({ state: 'ran', adoptedFrom: oldBuild });
      // Its log is its job's.
      expect(ws.read(`.pipe/logs/${newBuild}/${id}.log`)).toContain(`making ${id === 'solo' ? 'solo' : 'b'}`);
    }
    expect(next.stderr).toMatch(
      new RegExp(
        `ran\\s+parts\\[b\\] \\(\\d+ ms, by Slurm job \\S+ of build ${oldBuild}, taken from its result\\)`,
      ),
    );
    const status = await ws.run(['status', newBuild]);
    expect(status.stdout).toMatch(
      new RegExp(`ran\\s+solo \\(\\d+ ms, slurm, job \\S+, of build ${oldBuild}, taken from its result\\)`),
    );
    // What was kept for this build is gone with it; the cache holds the taken outputs, intact.
    expect(ws.exists(`.pipe/slurm/${oldBuild}/kept`)).toBe(false);
    const verify = await ws.run(['cache', 'verify']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    ws.remove('out/parts/c.txt');
    const again = await ws.run(['build', 'joined', 'solo', '--executor', 'slurm'], slurmEnv);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/restored\s+parts\[c\]/);
    expect(runs()).toHaveLength(4);
    // --force: what a dead forced build's jobs made is not taken for the next forced build; everything runs anew.
    const forced = await deadBuild(['--force']);
    expect(runs()).toHaveLength(8);
    const rerun = await ws.run(['build', 'joined', 'solo', '--executor', 'slurm', '--force'], slurmEnv);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).not.toContain('taken from its result');
    expect(runs()).toHaveLength(12);
    expect(ws.exists(`.pipe/slurm/${forced}/kept`)).toBe(false);
    ws.remove('.');
  }, 300_000);

  it('pipe cancel of a build whose driver was killed: its jobs cancelled, its record interrupted', async () => {
    const { ws, buildId } = await killedDriver();
    expect(buildRecord(ws, buildId).status).toBe('running');
    const cancel = await ws.run(['cancel', buildId], slurmEnv);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toMatch(/cancelled 1 Slurm job/);
    expect(cancel.stderr).toContain('its driver was gone: recorded as interrupted');
    expect(buildRecord(ws, buildId).status).toBe('interrupted');
    ws.remove('.');
  }, 300_000);

  it('--tasks-per-job: several tasks per array element; a failing one is reported with its own log only', async () => {
    const ws = new Workspace({
      'pipe.yaml': `version: 1
defaults:
  resources: {mem: 64M, time: "00:05:00"}
targets:
  runs:
    step: command
    foreach: [r1, r2, r3, r4]
    command: [/bin/sh, -c, 'echo "reducing $0"; if [ "$0" = r3 ]; then echo "r3: bad pixel table" >&2; exit 4; fi; echo "$0" > "$1"', '{item}', '{outputs.out}']
    outputs: {out: 'out/runs/{item}.txt'}
`,
    });
    const r = await ws.build(['runs'], ['--executor', 'slurm', '--tasks-per-job', '2', '-k']);
    expect(r.run.code).toBe(1);
    expect(r.ended.failed).toEqual(['runs[r3]']);
    expect(r.ended.ran.sort()).toEqual(['runs[r1]', 'runs[r2]', 'runs[r4]']);
    const table = jobTable(ws, r.end!.buildId as string);
    expect(table.tasks['runs[r3]']!.job).toBe(table.tasks['runs[r4]']!.job); // one element, two tasks
    // r3's log is r3's part of the element's log: not r4's lines, which ran after it in the same job.
    const log = readFileSync(ws.path(`.pipe/logs/${r.end!.buildId}/runs[r3].log`), 'utf8');
    expect(log).toContain('r3: bad pixel table');
    expect(log).not.toContain('reducing r4');
    expect(readFileSync(ws.path(`.pipe/logs/${r.end!.buildId}/runs[r4].log`), 'utf8')).not.toContain('r3');
    ws.remove('.');
  }, 120_000);

  it("a workspace whose path holds a '%' (a pattern character of sbatch --output) runs and logs its jobs", async () => {
    const ws = new Workspace({ 'runs 50%x/pipe.yaml': PARTS });
    const r = await ws.run(['-C', 'runs 50%x', 'build', 'joined', '--executor', 'slurm']);
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('runs 50%x/out/joined.txt')).toBe(
      ['a', 'b', 'c', 'd', 'e'].map((i) => `part ${i}\n`).join(''),
    );
    ws.remove('.');
  }, 120_000);

  it('builds the Crab excess_map with byte-identical products to the local executor', async () => {
    const make = () => {
      const ws = new Workspace({});
      cpSync(path.join(repo, 'pipe.yaml'), ws.path('pipe.yaml'));
      cpSync(path.join(repo, 'pipelines/excess_map'), ws.path('pipelines/excess_map'), { recursive: true });
      return ws;
    };
    const onSlurm = make();
    const local = make();
    const [a, b] = [
      await onSlurm.build(['excess_map'], ['--executor', 'slurm']),
      await local.build(['excess_map']),
    ];
    expect(a.run.code, a.run.stderr).toBe(0);
    expect(b.run.code, b.run.stderr).toBe(0);
    expect(a.ended.ran).toEqual(b.ended.ran);
    const products = readdirSync(local.path('products/excess_map')).sort();
    expect(readdirSync(onSlurm.path('products/excess_map')).sort()).toEqual(products);
    expect(products.length).toBeGreaterThan(10);
    for (const f of products) {
      expect(
        readFileSync(onSlurm.path(`products/excess_map/${f}`)).equals(
          readFileSync(local.path(`products/excess_map/${f}`)),
        ),
        f,
      ).toBe(true);
    }
    const datasets = jobTable(onSlurm, a.end!.buildId as string).tasks;
    expect(
      new Set(
        Object.keys(datasets)
          .filter((t) => t.startsWith('datasets['))
          .map((t) => datasets[t]!.job.split('_')[0]),
      ).size,
    ).toBe(1);
    onSlurm.remove('.');
    local.remove('.');
  }, 600_000);
});
