/**
 * Parsers for what Slurm's commands print. Pure functions over strings, so that they are tested without a
 * cluster; the shapes were taken from slurm-wlm 22.05 (Debian 12) and are tolerant of newer fields.
 */

/** One job or array element as Slurm reports it, normalised over squeue --json, scontrol and sacct -c. */
export interface JobRecord {
  /** The job's own id (for an array element: the element's job id, e.g. 21 for 14_5). */
  jobId: string;
  /** Array master id, when the record belongs to an array. */
  arrayJobId?: string;
  /** Array index of an element that has its own record. */
  arrayTaskId?: number;
  /** Indices still pending in the array's master record, e.g. [2..9] for `2-9%2`. */
  pendingIndices?: number[];
  name?: string;
  state: string;
  reason?: string;
  exitCode?: number;
  signal?: number;
  restarts?: number;
  node?: string;
}

/** `sbatch --parsable` prints `id` or `id;cluster`. */
export function parseParsable(stdout: string): { jobId: string; cluster?: string } | undefined {
  const line = stdout.trim().split('\n').pop()?.trim() ?? '';
  const m = /^(\d+)(?:;(\S+))?$/.exec(line);
  if (!m?.[1]) return undefined;
  return m[2] ? { jobId: m[1], cluster: m[2] } : { jobId: m[1] };
}

/** Decodes a raw wait status as `squeue --json` reports `exit_code` in 22.05 (768 = exit 3, 11 = SIGSEGV). */
export function decodeWaitStatus(status: number): { exitCode: number; signal: number } {
  return { exitCode: (status >> 8) & 0xff, signal: status & 0x7f };
}

/** `3:0` (exit code : signal), as scontrol and sacct print ExitCode. */
export function parseExitPair(text: string | undefined): { exitCode: number; signal: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(text?.trim() ?? '');
  return m ? { exitCode: Number(m[1]), signal: Number(m[2]) } : undefined;
}

/** Expands an array index expression: `2-9%2`, `1,3,5-7`, `0-10:2`; the throttle suffix is ignored. */
export function expandArrayIndices(expr: string): number[] {
  const out: number[] = [];
  const body = expr.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const step = m[3] === undefined ? 1 : Math.max(1, Number(m[3]));
    for (let i = lo; i <= hi; i += step) out.push(i);
  }
  return out;
}

function jsonNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  // Newer OpenAPI versions wrap numbers as {set, infinite, number}.
  if (v && typeof v === 'object' && 'number' in v && typeof (v as { number: unknown }).number === 'number') {
    const o = v as { set?: boolean; number: number };
    return o.set === false ? undefined : o.number;
  }
  return undefined;
}

function jsonState(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0]; // 23.x+: job_state is a list of flags
  return 'UNKNOWN';
}

/** Parses `squeue --json` (any OpenAPI version seen so far). Throws on text that is not the expected JSON. */
export function parseSqueueJson(stdout: string): JobRecord[] {
  const doc = JSON.parse(stdout) as { jobs?: unknown };
  if (!Array.isArray(doc.jobs)) throw new Error('squeue --json: no "jobs" array');
  const out: JobRecord[] = [];
  for (const raw of doc.jobs as Record<string, unknown>[]) {
    const jobId = jsonNumber(raw.job_id);
    if (jobId === undefined) continue;
    const rec: JobRecord = { jobId: String(jobId), state: jsonState(raw.job_state) };
    const arrayJobId = jsonNumber(raw.array_job_id);
    if (arrayJobId) rec.arrayJobId = String(arrayJobId);
    const taskString = typeof raw.array_task_string === 'string' ? raw.array_task_string : '';
    const arrayTaskId = jsonNumber(raw.array_task_id);
    if (taskString) rec.pendingIndices = expandArrayIndices(taskString);
    else if (arrayTaskId !== undefined && rec.arrayJobId) rec.arrayTaskId = arrayTaskId;
    if (typeof raw.name === 'string') rec.name = raw.name;
    // 'None' is Slurm's word for no reason (a job cancelled with scancel has it), as scontrol's Reason=None below.
    if (typeof raw.state_reason === 'string' && raw.state_reason !== 'None') rec.reason = raw.state_reason;
    const exit = raw.exit_code;
    const status = jsonNumber(exit);
    if (status !== undefined) Object.assign(rec, decodeWaitStatus(status));
    else if (exit && typeof exit === 'object' && 'return_code' in exit) {
      // 23.x+: {status, return_code, signal: {id}}
      const e = exit as { return_code?: unknown; signal?: { id?: unknown } };
      rec.exitCode = jsonNumber(e.return_code) ?? 0;
      rec.signal = jsonNumber(e.signal?.id) ?? 0;
    }
    const restarts = jsonNumber(raw.restart_cnt);
    if (restarts !== undefined) rec.restarts = restarts;
    if (typeof raw.nodes === 'string' && raw.nodes) rec.node = raw.nodes;
    out.push(rec);
  }
  return out;
}

/** Splits a `Key=Value Key=Value` line (scontrol show job -o, jobcomp/filetxt lines) into fields. */
export function parseKeyValueLine(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  // A value runs until the next ` Key=`; values may contain spaces (e.g. Reason, Command).
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=/g;
  const starts: Array<{ key: string; at: number; valueAt: number }> = [];
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const key = m[1] ?? '';
    starts.push({ key, at: m.index, valueAt: m.index + m[0].length });
  }
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? (starts[i + 1]?.at ?? line.length) : line.length;
    fields.set(s.key, line.slice(s.valueAt, end).trim());
  });
  return fields;
}

/** One line of `scontrol show job -o` (or of the jobcomp/filetxt file) as a record. */
export function parseScontrolJobLine(line: string): JobRecord | undefined {
  const f = parseKeyValueLine(line);
  const jobId = f.get('JobId');
  if (!jobId || !/^\d+$/.test(jobId)) return undefined;
  const rec: JobRecord = { jobId, state: (f.get('JobState') ?? 'UNKNOWN').split(/\s/)[0] ?? 'UNKNOWN' };
  const arrayJobId = f.get('ArrayJobId');
  const arrayTask = f.get('ArrayTaskId');
  if (arrayJobId && /^\d+$/.test(arrayJobId)) {
    rec.arrayJobId = arrayJobId;
    if (arrayTask && /^\d+$/.test(arrayTask)) rec.arrayTaskId = Number(arrayTask);
    else if (arrayTask) rec.pendingIndices = expandArrayIndices(arrayTask);
  }
  const name = f.get('JobName') ?? f.get('Name');
  if (name) rec.name = name;
  const reason = f.get('Reason');
  if (reason && reason !== 'None') rec.reason = reason;
  const exit = parseExitPair(f.get('ExitCode'));
  if (exit) Object.assign(rec, exit);
  const restarts = f.get('Restarts');
  if (restarts && /^\d+$/.test(restarts)) rec.restarts = Number(restarts);
  const node = f.get('NodeList');
  if (node && node !== '(null)') rec.node = node;
  return rec;
}

/** Parses `sacct -c -n -P -o JobID,State,ExitCode` lines (`115|FAILED|3:0`, `14_5|COMPLETED|0:0`). */
export function parseSacctLines(stdout: string): JobRecord[] {
  const out: JobRecord[] = [];
  for (const line of stdout.split('\n')) {
    const [id, state, exit] = line.trim().split('|');
    if (!id || !state) continue;
    // 14_5 (an element), or 159_[40-49] (elements that never started, e.g. cancelled while pending, as one line)
    const m = /^(\d+)(?:_(\d+)|_\[([\d,\-%:]+)\])?$/.exec(id);
    if (!m?.[1]) continue;
    const rec: JobRecord = { jobId: m[1], state: state.split(/\s/)[0] ?? state };
    if (m[2] !== undefined) {
      rec.arrayJobId = m[1];
      rec.arrayTaskId = Number(m[2]);
    } else if (m[3] !== undefined) {
      rec.arrayJobId = m[1];
      rec.pendingIndices = expandArrayIndices(m[3]);
    }
    const pair = parseExitPair(exit);
    if (pair) Object.assign(rec, pair);
    out.push(rec);
  }
  return out;
}
