/**
 * A task's resources as sbatch arguments: parsing and validating memory and time, growing them per
 * attempt, and checking extra options against an allow-list (the executor owns --array, --dependency,
 * --output, --job-name and the like; a pipeline must not be able to override them).
 */
import type { Resources } from '../model/types.js';

export type ResourceResult<T> = { ok: true; value: T } | { ok: false; message: string };

const MEM_UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** `512M`, `2G`, `1.5G`, `300` (megabytes, Slurm's default unit) → megabytes. */
export function parseMemMb(mem: string): ResourceResult<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT])?B?$/i.exec(mem.trim());
  if (!m?.[1]) return { ok: false, message: `invalid memory '${mem}' (expected e.g. 512M, 2G)` };
  const mb = Math.ceil(Number(m[1]) * (MEM_UNITS[(m[2] ?? 'M').toUpperCase()] ?? 1));
  return mb > 0 ? { ok: true, value: mb } : { ok: false, message: `memory '${mem}' must be positive` };
}

/** Slurm time formats (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) → seconds. */
export function parseTimeSeconds(time: string): ResourceResult<number> {
  const t = time.trim();
  const bad = { ok: false as const, message: `invalid time '${time}' (expected MM, HH:MM:SS or D-HH:MM:SS)` };
  const dm = /^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  let s: number;
  if (dm) {
    s = Number(dm[1]) * 86400 + Number(dm[2]) * 3600 + Number(dm[3] ?? 0) * 60 + Number(dm[4] ?? 0);
  } else {
    const parts = t.split(':');
    if (parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) return bad;
    const n = parts.map(Number);
    if (n.length === 1) s = (n[0] ?? 0) * 60;
    else if (n.length === 2) s = (n[0] ?? 0) * 60 + (n[1] ?? 0);
    else s = (n[0] ?? 0) * 3600 + (n[1] ?? 0) * 60 + (n[2] ?? 0);
  }
  return s > 0 ? { ok: true, value: s } : bad;
}

/** Seconds → `D-HH:MM:SS`. */
export function formatTime(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return `${d}-${pad(h)}:${pad(m)}:${pad(s)}`;
}

/**
 * sbatch long options a pipeline may add (`--name=value` or `--name`). Everything the executor sets
 * itself, and anything that changes identity or environment (--uid, --export, --wrap...), is absent.
 */
export const ALLOWED_SBATCH_OPTIONS: ReadonlySet<string> = new Set([
  'qos',
  'constraint',
  'gres',
  'gpus',
  'gpus-per-node',
  'gpus-per-task',
  'cpus-per-gpu',
  'mem-per-gpu',
  'exclusive',
  'nodelist',
  'exclude',
  'reservation',
  'comment',
  'tmp',
  'licenses',
  'nice',
  'hint',
  'sockets-per-node',
  'cores-per-socket',
  'threads-per-core',
  'ntasks-per-core',
  'mincpus',
  'switches',
  'begin',
  'deadline',
  'signal',
  'clusters',
  'wckey',
  'prefer',
  'time-min',
  'distribution',
  'mcs-label',
  'network',
  'power',
  'core-spec',
  'thread-spec',
  'contiguous',
  'overcommit',
  'oversubscribe',
  'spread-job',
  'use-min-nodes',
  'acctg-freq',
  'profile',
  'gpu-bind',
  'gpu-freq',
  'cpu-freq',
  'mem-bind',
]);

/** A partition or account name as pipe passes it to sbatch (config/schema.ts refuses others where they are written). */
export const SLURM_NAME_PATTERN = /^[A-Za-z0-9_.,-]+$/;

/** The sbatch options pipe writes from a task's resources (or that would contradict them), by the key to use. */
const RESOURCE_KEYS: Record<string, string> = {
  partition: 'partition',
  account: 'account',
  mem: 'mem',
  'mem-per-cpu': 'mem',
  time: 'time',
  'cpus-per-task': 'cpus',
};

/** Checks extra sbatch options: long form only, allow-listed name, printable single-line value. */
export function validateExtraOptions(options: readonly string[]): ResourceResult<string[]> {
  for (const opt of options) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(opt);
    if (!m?.[1]) {
      return { ok: false, message: `sbatch option '${opt}' must be of the form --name or --name=value` };
    }
    if (!ALLOWED_SBATCH_OPTIONS.has(m[1])) {
      const key = Object.hasOwn(RESOURCE_KEYS, m[1]) ? RESOURCE_KEYS[m[1]] : undefined;
      return {
        ok: false,
        message: key
          ? `sbatch option '--${m[1]}' is not passed as it is: pipe asks Slurm for it from resources.${key} (${key === 'mem' ? "a task's memory, sent as --mem" : `sent as --${m[1]}`}): write it there`
          : `sbatch option '--${m[1]}' is not allowed (the executor sets it, or it is unsafe)`,
      };
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (m[2] !== undefined && /[\u0000-\u001f\u007f]/.test(m[2])) {
      return { ok: false, message: `sbatch option '--${m[1]}' has a control character in its value` };
    }
  }
  return { ok: true, value: [...options] };
}

/**
 * How resources grow on a retry: what ran out, by one more share for each earlier attempt it ran out in (an
 * attempt after one OUT_OF_MEMORY gets 2 × mem, after two 3 ×; a TIMEOUT likewise grows time). A failure of any other
 * kind (a lost node, an exit status) retries with the same request: asking for more would only wait longer in the queue.
 */
export interface GrowthPolicy {
  mem: boolean;
  time: boolean;
}

/**
 * Resources for the next attempt of a task whose earlier attempts ended as `earlier` (none: the first), normalised
 * (mem in M, time as D-HH:MM:SS).
 */
export function resourcesForAttempt(
  res: Resources,
  earlier: ReadonlyArray<{ type: string } | undefined> = [],
  growth: GrowthPolicy = { mem: true, time: true },
): ResourceResult<Resources> {
  const out: Resources = { ...res };
  const ranOut = (type: string) => 1 + earlier.filter((r) => r?.type === type).length;
  if (res.mem !== undefined) {
    const mb = parseMemMb(res.mem);
    if (!mb.ok) return mb;
    out.mem = `${growth.mem ? mb.value * ranOut('out-of-memory') : mb.value}M`;
  }
  if (res.time !== undefined) {
    const s = parseTimeSeconds(res.time);
    if (!s.ok) return s;
    out.time = formatTime(growth.time ? s.value * ranOut('timeout') : s.value);
  }
  if (res.cpus !== undefined && (!Number.isInteger(res.cpus) || res.cpus < 1)) {
    return { ok: false, message: `cpus must be a positive integer (got ${res.cpus})` };
  }
  if (res.retries !== undefined && (!Number.isInteger(res.retries) || res.retries < 0)) {
    return { ok: false, message: `retries must be a non-negative integer (got ${res.retries})` };
  }
  for (const [key, v] of [
    ['partition', res.partition],
    ['account', res.account],
  ] as const) {
    if (v !== undefined && !SLURM_NAME_PATTERN.test(v))
      return { ok: false, message: `invalid ${key} '${v}'` };
  }
  const extra = validateExtraOptions(res.extraSbatchOptions ?? []);
  if (!extra.ok) return extra;
  return { ok: true, value: out };
}

/** The sbatch arguments for (already normalised) resources. */
export function resourceArgs(res: Resources): string[] {
  const args: string[] = [];
  if (res.partition) args.push(`--partition=${res.partition}`);
  if (res.account) args.push(`--account=${res.account}`);
  if (res.cpus !== undefined) args.push(`--cpus-per-task=${res.cpus}`);
  if (res.mem !== undefined) args.push(`--mem=${res.mem}`);
  if (res.time !== undefined) args.push(`--time=${res.time}`);
  args.push(...(res.extraSbatchOptions ?? []));
  return args;
}
