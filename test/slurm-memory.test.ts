// A step's `resources: {mem: …}` enforced for real: `pipe build --executor slurm` on a single-node cluster of its own
// started with SLURM_CI_CGROUP=1 (scripts/slurm-up.sh: task/cgroup, ConstrainRAMSpace=yes), where a job that goes
// over its --mem is killed by the kernel's OOM killer and ends OUT_OF_MEMORY. A task that does fails with that said
// (and the limit to raise); with `retries` its next attempt asks for more memory and succeeds.
// Its cluster has its own directory, ports, node name (so its own /sys/fs/cgroup/<controller>/slurm_<node>) and lock:
// the clusters the other Slurm tests and CI use at the same time are not touched, and it is stopped at the end,
// leaving no daemon, port or cgroup behind.
// Skipped with a printed reason when slurm-wlm/munge are not installed — except under CI=true — and, even under
// CI, when the kernel has no writable cgroup v1 memory controller (a kernel feature, not a service CI installs).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmInstalled } from '../packages/core/test/fixtures/slurm-installed.js';
import { Workspace } from './rig.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const installed = slurmInstalled('Slurm memory-limit tests');

/** Why this kernel cannot enforce a job's memory the way slurm-up.sh sets it up (cgroup v1), or undefined. */
function noCgroupV1Memory(): string | undefined {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const memory = mounts.some((line) => {
    const [, at, type, options = ''] = line.split(' ');
    return at === '/sys/fs/cgroup/memory' && type === 'cgroup' && options.split(',').includes('memory');
  });
  if (!memory) return 'no cgroup v1 memory controller mounted at /sys/fs/cgroup/memory';
  try {
    accessSync('/sys/fs/cgroup/memory', constants.W_OK);
  } catch {
    return '/sys/fs/cgroup/memory is not writable (slurmd must create its job cgroups there: run as root)';
  }
  return undefined;
}
const noCgroup = installed ? noCgroupV1Memory() : undefined;
if (noCgroup) console.log(`skipping Slurm memory-limit tests: ${noCgroup}`);

/** This file's cluster: its node name is its cgroups' (slurm_<node>), not the machine's the other clusters use. */
const node = 'pipememci';
const clusterDir = '/tmp/pipe-slurm-memory';
let clusterEnv: NodeJS.ProcessEnv = {};
let ports = { ctld: 0, slurmd: 0, srun: '' };
let slurmEnv: Record<string, string> = {};
let lockHolder: ChildProcess | undefined;

/** Serialises runs of this file on one machine (two would share its directory and node name). */
async function lockCluster(): Promise<ChildProcess> {
  const holder = spawn('flock', ['-w', '600', `${clusterDir}.lock`, 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) =>
      reject(new Error(`could not lock the memory-test cluster (flock exited ${code})`)),
    );
  });
  return holder;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Ports for slurmctld, slurmd and srun: the first free block among a few in the project's range 18000-18999, away
 * from the clusters of CI (18817/18818, 18900-18949) and of the other Slurm tests (18827/18828, 18950-18999).
 */
async function freePorts(): Promise<{ ctld: number; slurmd: number; srun: string }> {
  for (const base of [18837, 18857, 18877, 18737, 18757, 18777]) {
    const block = Array.from({ length: 12 }, (_, i) => base + i);
    if ((await Promise.all(block.map(portFree))).every(Boolean))
      return { ctld: base, slurmd: base + 1, srun: `${base + 2}-${base + 11}` };
  }
  throw new Error('no free block of 12 ports for the memory-test cluster in 18737-18888');
}

const scontrolJob = (job: string) =>
  execFileSync('scontrol', ['show', 'job', '-o', job], {
    env: { ...process.env, ...slurmEnv },
    encoding: 'utf8',
  });
const field = (show: string, name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(show)?.[1];
const buildRecord = (ws: Workspace, buildId: string) =>
  JSON.parse(readFileSync(ws.path(`.pipe/builds/${buildId}.json`), 'utf8'));
const onlyBuild = (ws: Workspace) => readdirSync(ws.path('.pipe/builds'))[0]!.replace(/\.json$/, '');
const cgroupDirs = () =>
  readdirSync('/sys/fs/cgroup')
    .map((c) => `/sys/fs/cgroup/${c}/slurm_${node}`)
    .filter((d) => existsSync(d));

/** A command that prints, then holds `MiB` mebibytes it has written to (so they are resident), then writes its output. */
const eat = (mib: number) =>
  `[python3, -c, 'import sys; mib = int(sys.argv[1]); print("allocating %d MiB" % mib, flush=True); b = b"x" * (mib << 20); open(sys.argv[2], "w").write("fed %d MiB" % mib)', '${mib}', '{outputs.out}']`;

// hungry needs 4 times its --mem, whatever the attempt; fits needs a little more than its first --mem (with python
// and pipe's job process, ~20 MiB besides what it allocates: measured 167 MiB for 150) and fits in the second's;
// capped runs out of its first --mem, and its retry's twice that is more than the node has (RealMemory, below).
/** The test cluster's RealMemory (MB): room for the 200M retry of fits, not for the doubled request of capped. */
const NODE_MEM_MB = 300;

const PIPELINE = `version: 1
defaults:
  resources: {time: "00:05:00"}
targets:
  hungry:
    step: command
    command: ${eat(400)}
    outputs: {out: out/hungry.txt}
    resources: {mem: 100M}
  fits:
    step: command
    command: ${eat(130)}
    outputs: {out: out/fits.txt}
    resources: {mem: 100M, retries: 1}
  capped:
    step: command
    command: ${eat(400)}
    outputs: {out: out/capped.txt}
    resources: {mem: ${NODE_MEM_MB - 100}M, retries: 1}
`;

describe.skipIf(!installed || noCgroup !== undefined)('Slurm memory limits (cgroup cluster)', () => {
  beforeAll(async () => {
    lockHolder = await lockCluster();
    ports = await freePorts();
    clusterEnv = {
      ...process.env,
      SLURM_CI_DIR: clusterDir,
      SLURM_CI_CTLD_PORT: String(ports.ctld),
      SLURM_CI_SLURMD_PORT: String(ports.slurmd),
      SLURM_CI_SRUN_PORTS: ports.srun,
      SLURM_CI_NODE: node,
      SLURM_CI_CGROUP: '1',
      SLURM_CI_MEM_MB: String(NODE_MEM_MB),
    };
    const out = execFileSync('bash', [path.join(repo, 'scripts/slurm-up.sh')], {
      env: clusterEnv,
      encoding: 'utf8',
    });
    slurmEnv = { SLURM_CONF: /export SLURM_CONF=(\S+)/.exec(out)?.[1] ?? '' };
    expect(slurmEnv.SLURM_CONF).toBe(`${clusterDir}/etc/slurm.conf`);
    expect(readFileSync(slurmEnv.SLURM_CONF, 'utf8')).toMatch(/^TaskPlugin=task\/cgroup$/m);
  }, 660_000);

  afterAll(() => {
    if (installed && noCgroup === undefined && clusterEnv.SLURM_CI_DIR)
      execFileSync('bash', [path.join(repo, 'scripts/slurm-down.sh')], { env: clusterEnv, stdio: 'ignore' });
    lockHolder?.stdin?.end();
  });

  it('a task over its --mem is killed by Slurm and the build says it ran out of memory, and which limit to raise', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    const r = await ws.run(['build', 'hungry', '--executor', 'slurm'], slurmEnv);
    expect(r.code, r.stderr).toBe(1);
    const job = /FAILED\s+hungry \(Slurm job (\d+)\): /.exec(r.stderr)?.[1];
    expect(job, r.stderr).toBeDefined();
    expect(r.stderr).toContain(
      `FAILED    hungry (Slurm job ${job}): ran out of memory (the job asked for --mem=100M; raise resources.mem)\n`,
    );
    expect(r.stderr).toMatch(/build \S+ failed: 1 failed/);
    // Slurm's own word for it, in the tail of the task's log the build prints.
    expect(r.stderr).toMatch(/--- hungry: last (?:line|\d+ lines) of .*hungry\.log\n/);
    expect(r.stderr).toMatch(/slurmstepd-pipememci: error: Detected 1 oom-kill event/);
    // It was the kernel's memory limit, not anything else: Slurm ended the job OUT_OF_MEMORY.
    const show = scontrolJob(job!);
    expect(field(show, 'JobState')).toBe('OUT_OF_MEMORY');
    expect(field(show, 'MinMemoryNode')).toBe('100M');
    // The record keeps the reason; the task's log has what the program printed before it was killed.
    const buildId = onlyBuild(ws);
    const rec = buildRecord(ws, buildId);
    expect(rec.status).toBe('failed');
    expect(rec.tasks.hungry).toMatchObject({
      state: 'failed',
      executor: 'slurm',
      jobId: job,
      error: 'ran out of memory (the job asked for --mem=100M; raise resources.mem)',
    });
    expect(readFileSync(rec.tasks.hungry.log, 'utf8')).toContain('allocating 400 MiB');
    expect(ws.exists('out/hungry.txt')).toBe(false);
    const status = await ws.run(['status', buildId]);
    expect(status.stdout).toMatch(/failed\s+hungry/);
    expect(status.stdout).toContain('ran out of memory (the job asked for --mem=100M; raise resources.mem)');
    ws.remove('.');
  }, 120_000);

  it('with retries, a task killed for its memory runs again with twice the --mem, and succeeds', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    const r = await ws.run(['build', 'fits', '--executor', 'slurm'], slurmEnv);
    expect(r.code, r.stderr).toBe(0);
    // Said when it happens, as the local executors say a retry: why, the job and its limit, what the next asks for.
    const first =
      /warning: fits: ran out of memory \(Slurm job (\d+), --mem=100M\); retrying with --mem=200M \(attempt 2 of 2\)\n/.exec(
        r.stderr,
      )?.[1];
    expect(first, r.stderr).toBeDefined();
    expect(r.stderr).toMatch(/ran\s+fits \(\d+ ms, 2 attempts\)/);
    expect(r.stderr).toMatch(/build \S+ succeeded: 1 ran/);
    expect(ws.read('out/fits.txt')).toBe('fed 130 MiB');
    expect(field(scontrolJob(first!), 'JobState')).toBe('OUT_OF_MEMORY');
    const buildId = onlyBuild(ws);
    const rec = buildRecord(ws, buildId);
    expect(rec.tasks.fits).toMatchObject({ state: 'ran', executor: 'slurm' });
    const second = scontrolJob(rec.tasks.fits.jobId);
    expect(field(second, 'JobState')).toBe('COMPLETED');
    expect(field(second, 'MinMemoryNode')).toBe('200M');
    // `pipe status` says it took two attempts, as the build's line did.
    const status = await ws.run(['status', buildId]);
    expect(status.stdout).toMatch(
      new RegExp(`ran\\s+fits \\(\\d+ ms, slurm, job ${rec.tasks.fits.jobId}, 2 attempts\\)`),
    );
    // One log for the task: both attempts, the first marked with why it ended.
    const log = readFileSync(rec.tasks.fits.log, 'utf8');
    expect(log).toMatch(
      new RegExp(
        `allocating 130 MiB\\n[\\s\\S]*oom-kill event[\\s\\S]*--- pipe: attempt 1 \\(Slurm job ${first}\\): ran out of memory; attempt 2 follows ---\\n[\\s\\S]*allocating 130 MiB`,
      ),
    );
    // The provenance of what it made says what the job asked for, and what became of the first attempt.
    const manifests = readdirSync(ws.path('.pipe/cache/ac')).map(
      (f) => JSON.parse(readFileSync(ws.path(`.pipe/cache/ac/${f}`), 'utf8')).manifest,
    );
    expect(manifests.find((m) => m.taskId === 'fits').provenance.metadata.slurm).toMatchObject({
      requested: { mem: '200M' },
      attempts: [
        { attempt: 1, job: first, failure: 'ran out of memory' },
        { attempt: 2, job: rec.tasks.fits.jobId },
      ],
    });
    ws.remove('.');
  }, 120_000);

  it('a retry that the node cannot take (its doubled --mem is past RealMemory) fails with why the first attempt ended', async () => {
    const ws = new Workspace({ 'pipe.yaml': PIPELINE });
    const r = await ws.run(['build', 'capped', '--executor', 'slurm'], slurmEnv);
    expect(r.code, r.stderr).toBe(1);
    const job = /FAILED\s+capped \(Slurm job (\d+)\): /.exec(r.stderr)?.[1];
    expect(job, r.stderr).toBeDefined();
    // The node has 300 MB: attempt 2's 400M could not be submitted, and the memory is what to look at.
    expect(r.stderr).toMatch(
      new RegExp(
        `FAILED\\s+capped \\(Slurm job ${job}\\): ran out of memory \\(Slurm job ${job}, --mem=200M\\); its retry \\(attempt 2\\) could not submit the job: .*\\(a retry asks for \\(k \\+ 1\\) × resources\\.mem after k out-of-memory ends`,
      ),
    );
    expect(field(scontrolJob(job!), 'JobState')).toBe('OUT_OF_MEMORY');
    ws.remove('.');
  }, 120_000);

  it('slurm-down.sh stops the cluster without leaving its daemons, ports or cgroups behind', async () => {
    const pids = ['munged', 'slurmctld', 'slurmd'].map((d) =>
      Number(readFileSync(`${clusterDir}/run/${d}.pid`, 'utf8').trim()),
    );
    expect(cgroupDirs().length).toBeGreaterThan(0); // slurmd made them: the cluster enforced with cgroups
    execFileSync('bash', [path.join(repo, 'scripts/slurm-down.sh')], { env: clusterEnv, stdio: 'ignore' });
    expect(cgroupDirs()).toEqual([]);
    for (const pid of pids) {
      // Gone, or a zombie no one reaps (PID 1 here may not): either holds no port nor memory.
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
      expect(stat === '' || / Z /.test(stat) || !/munged|slurm/.test(cmdline), `${pid}: ${stat}`).toBe(true);
    }
    expect(await portFree(ports.ctld)).toBe(true);
    expect(await portFree(ports.slurmd)).toBe(true);
  }, 60_000);
});
