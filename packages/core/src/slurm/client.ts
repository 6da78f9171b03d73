/**
 * A thin client over Slurm's commands. Every call is a program with an argument array (execFile, no
 * shell), so no task data ever passes through a shell. Job state is read from `squeue --json`, falling
 * back to `scontrol show job -o`, the jobcomp/filetxt completion log and `sacct -c` for jobs squeue no
 * longer reports — none of which needs slurmdbd.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import {
  type JobRecord,
  parseKeyValueLine,
  parseParsable,
  parseSacctLines,
  parseScontrolJobLine,
  parseSqueueJson,
} from './parse.js';
import { indexRecords } from './state.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with arguments (the I/O seam of the client; tests of parsing need no cluster). */
export type CommandRunner = (
  program: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
) => Promise<CommandResult>;

export const execFileRunner: CommandRunner = (program, args, { env, timeoutMs }) =>
  new Promise((resolve) => {
    execFile(
      program,
      args,
      { env, timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
        // A machine without Slurm's client commands: say so, rather than pass on `spawn sbatch ENOENT`.
        const extra =
          err?.code === 'ENOENT'
            ? `${program}: command not found on PATH: Slurm's client commands (sbatch, squeue, scancel) must be installed where pipe runs (a login node of the cluster); or build with --executor local\n`
            : err && typeof err.code !== 'number'
              ? `${err.message}\n`
              : '';
        resolve({ code, stdout: String(stdout), stderr: extra + String(stderr) });
      },
    );
  });

/**
 * sbatch's complaint on one line: it reports a refusal in several (`sbatch: error: invalid partition specified:
 * nosuch` then `sbatch: error: Batch job submission failed: …`), which in a build's report and `pipe status` read as
 * lines of their own. Joined with '; ', the repeated `sbatch: error:` said once.
 */
function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.map((l, i) => (i > 0 ? l.replace(/^sbatch: error: /, '') : l)).join('; ');
}

/** What a failed Slurm command said, on one line (its exit status when it said nothing). */
export function commandFailure(res: CommandResult): string {
  return oneLine(res.stderr || res.stdout) || `exit status ${res.code}`;
}

export interface SlurmClientOptions {
  /** Path of slurm.conf for every command (default: the SLURM_CONF of the environment, if any). */
  slurmConf?: string;
  /** Environment of the Slurm commands (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Per-command timeout (default 60 s; a controller that is down makes sbatch fail after ~9 s). */
  timeoutMs?: number;
  runner?: CommandRunner;
}

export interface SubmitRequest {
  /** The batch script (a file; its path is the last argument of sbatch). */
  script: string;
  jobName: string;
  /** --output pattern (use %a for the array index). */
  output: string;
  chdir: string;
  /** Array of `count` elements (indices 0..count-1), at most `throttle` running at once. */
  array?: { count: number; throttle?: number };
  /** Jobs (`id` or `id_index`) that must end successfully first (afterok). */
  afterOk?: string[];
  /** Resource and extra arguments, already validated. */
  resourceArgs: string[];
  /** --export value (default: `NONE`-like minimal list chosen by the caller). */
  exportEnv?: string;
  /** Let Slurm requeue the job after a node failure (default false: the executor retries itself). */
  requeue?: boolean;
}

export type SubmitResult =
  | { ok: true; jobId: string; cluster?: string; args: string[] }
  | { ok: false; message: string };

export interface QueryResult {
  /** Every record found, from whichever source answered. */
  records: JobRecord[];
  /** Job ids that no source knows (purged, or never existed). */
  unknown: string[];
  /** Set when the primary source failed (e.g. controller unreachable). */
  error?: string;
}

export class SlurmClient {
  readonly #env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  readonly #run: CommandRunner;
  #jobCompFile: string | null | undefined;

  constructor(options: SlurmClientOptions = {}) {
    const env = { ...(options.env ?? process.env) };
    if (options.slurmConf) env.SLURM_CONF = options.slurmConf;
    this.#env = env;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#run = options.runner ?? execFileRunner;
  }

  #exec(program: string, args: string[]): Promise<CommandResult> {
    return this.#run(program, args, { env: this.#env, timeoutMs: this.#timeoutMs });
  }

  /** The sbatch argument array for a request (exposed for tests and logs). */
  static sbatchArgs(req: SubmitRequest): string[] {
    const args = [
      '--parsable',
      `--job-name=${req.jobName}`,
      `--output=${req.output}`,
      `--chdir=${req.chdir}`,
    ];
    if (req.array) {
      const throttle = req.array.throttle ? `%${req.array.throttle}` : '';
      args.push(`--array=0-${req.array.count - 1}${throttle}`);
    }
    if (req.afterOk && req.afterOk.length > 0) args.push(`--dependency=afterok:${req.afterOk.join(':')}`);
    args.push(req.requeue ? '--requeue' : '--no-requeue');
    if (req.exportEnv !== undefined) args.push(`--export=${req.exportEnv}`);
    args.push(...req.resourceArgs, req.script);
    return args;
  }

  /** Submits one job or array with `sbatch --parsable`; a rejection (bad partition, limits) is a value. */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const args = SlurmClient.sbatchArgs(req);
    const res = await this.#exec('sbatch', args);
    const parsed = res.code === 0 ? parseParsable(res.stdout) : undefined;
    if (!parsed) {
      return { ok: false, message: oneLine(res.stderr || res.stdout) || `sbatch exited with ${res.code}` };
    }
    return { ok: true, ...parsed, args };
  }

  /**
   * Slurm's records of jobs named as a job table names them (`<job>` or `<array>_<index>`), by that name: `query` of
   * their jobs, each array's elements apart. Names Slurm does not know are absent.
   */
  async jobRecords(jobs: readonly string[]): Promise<{ records: Map<string, JobRecord>; error?: string }> {
    if (jobs.length === 0) return { records: new Map() };
    const q = await this.query([...new Set(jobs.map((j) => j.split('_')[0] ?? j))]);
    const records = indexRecords(q.records);
    return q.error ? { records, error: q.error } : { records };
  }

  /**
   * Reads the state of the given jobs (plain ids or array ids; every element of an array is reported).
   * `squeue --json --me` answers for all of this user's jobs Slurm still remembers; ids it lacks are looked up
   * one by one.
   */
  async query(jobIds: readonly string[]): Promise<QueryResult> {
    const wanted = new Set(jobIds);
    const records: JobRecord[] = [];
    let error: string | undefined;
    // Only this user's jobs (pipe submitted them as this user): on a shared cluster the whole queue is large.
    // (Slurm 22.05 ignores filters with --json and still lists everything; later versions apply them.)
    const sq = await this.#exec('squeue', ['--json', '--me']);
    if (sq.code === 0) {
      try {
        for (const r of parseSqueueJson(sq.stdout)) {
          if (wanted.has(r.arrayJobId ?? r.jobId) || wanted.has(r.jobId)) records.push(r);
        }
      } catch (err) {
        error = `squeue --json: ${(err as Error).message}`;
      }
    } else {
      error = `squeue --json: ${(sq.stderr || sq.stdout).trim()}`;
    }
    if (error) {
      // Older or differently built Slurm without the JSON plugin: scontrol lists every job.
      const sc = await this.#exec('scontrol', ['show', 'job', '-o']);
      if (sc.code === 0) {
        error = undefined;
        for (const r of this.#scontrolRecords(sc.stdout))
          if (wanted.has(r.arrayJobId ?? r.jobId)) records.push(r);
      } else {
        return { records, unknown: [], error: `${error}; scontrol: ${(sc.stderr || sc.stdout).trim()}` };
      }
    }
    const missing = () => [...wanted].filter((id) => !records.some((r) => (r.arrayJobId ?? r.jobId) === id));
    for (const id of missing()) {
      const sc = await this.#exec('scontrol', ['show', 'job', '-o', id]);
      if (sc.code === 0) records.push(...this.#scontrolRecords(sc.stdout));
    }
    let left = missing();
    if (left.length > 0) records.push(...(await this.#fromJobComp(new Set(left))));
    // sacct: first its job-completion data (-c), then the accounting database (-X), for jobs ended longer ago than
    // MinJobAge on a site without the jobcomp log.
    for (const source of ['-c', '-X']) {
      left = missing();
      if (left.length === 0) break;
      const sa = await this.#exec('sacct', [
        source,
        '-n',
        '-P',
        '-o',
        'JobID,State,ExitCode',
        '-j',
        left.join(','),
      ]);
      if (sa.code === 0) records.push(...parseSacctLines(sa.stdout).filter((r) => left.includes(r.jobId)));
    }
    return error ? { records, unknown: missing(), error } : { records, unknown: missing() };
  }

  #scontrolRecords(stdout: string): JobRecord[] {
    return stdout
      .split('\n')
      .map(parseScontrolJobLine)
      .filter((r): r is JobRecord => r !== undefined);
  }

  /** Records of finished jobs from the jobcomp/filetxt log (it keeps array ids, which sacct -c drops). */
  async #fromJobComp(ids: Set<string>): Promise<JobRecord[]> {
    if (this.#jobCompFile === undefined) {
      const res = await this.#exec('scontrol', ['show', 'config']);
      const conf = new Map<string, string>();
      for (const line of res.stdout.split('\n')) {
        const m = /^(\S+)\s*=\s*(.*)$/.exec(line);
        if (m?.[1]) conf.set(m[1], (m[2] ?? '').trim());
      }
      this.#jobCompFile =
        conf.get('JobCompType') === 'jobcomp/filetxt' ? (conf.get('JobCompLoc') ?? null) : null;
    }
    if (!this.#jobCompFile) return [];
    let text: string;
    try {
      text = await readFile(this.#jobCompFile, 'utf8');
    } catch {
      return [];
    }
    // The log is appended to and outlives job ids: after slurmctld's state is reset (or ids wrap at MaxJobId) an id
    // names a new job, so the last line for an id is the one that counts.
    const newest = new Map<string, JobRecord>();
    for (const line of text.split('\n')) {
      const rec = parseScontrolJobLine(line);
      if (rec && ids.has(rec.arrayJobId ?? rec.jobId)) {
        newest.delete(rec.jobId);
        newest.set(rec.jobId, rec);
      }
    }
    return [...newest.values()];
  }

  /** Cancels jobs (`id`, or `id_index` for one array element). */
  async cancel(jobs: readonly string[]): Promise<CommandResult | undefined> {
    if (jobs.length === 0) return undefined;
    return this.#exec('scancel', [...jobs]);
  }

  /**
   * Ids (array ids for arrays) of this user's live jobs whose name starts with `match`, or that `match` accepts (e.g.
   * isJobOfBuild). Throws when squeue fails: "none" would be a guess, and a job believed ended could still overwrite
   * products.
   */
  async jobsNamed(match: string | ((name: string) => boolean)): Promise<string[]> {
    const accepts = typeof match === 'string' ? (name: string) => name.startsWith(match) : match;
    const res = await this.#exec('squeue', ['-h', '--me', '-o', '%F|%j']);
    if (res.code !== 0) throw new Error(`squeue failed: ${commandFailure(res)}`);
    const ids = new Set<string>();
    for (const line of res.stdout.split('\n')) {
      const [id, name] = line.trim().split('|');
      if (id && name !== undefined && accepts(name)) ids.add(id);
    }
    return [...ids];
  }

  /** Node state as `scontrol show node -o` reports it (e.g. `IDLE`, `DOWN+NOT_RESPONDING`). */
  async nodeState(node: string): Promise<string | undefined> {
    const res = await this.#exec('scontrol', ['show', 'node', '-o', node]);
    return res.code === 0 ? parseKeyValueLine(res.stdout.trim()).get('State') : undefined;
  }
}
