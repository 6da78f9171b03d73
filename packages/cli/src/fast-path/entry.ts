/**
 * The no-op fast path: before commander and the engine are loaded, `pipe build`/`pipe plan` checks the
 * snapshot of its command (fast-path/snapshot.ts) and, when nothing it depends on changed, prints what the
 * full path would print for a build or plan with every task up to date. Otherwise it declines (undefined)
 * and the full path runs as if it did not exist. It writes nothing, as a no-op build writes nothing.
 * Imports: node:fs and node:path only (and the summary printer, which needs no more).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { cacheDirOption, findPipelineFile } from '../context.js';
import { summaryLines, upToDateLine } from '../summary.js';
import { type FastRequest, parseFastArgv } from './argv.js';
import { checkSnapshot, type PendingHint, type SnapshotCheck, snapshotKey } from './snapshot.js';

/** What a declined check learnt, for the full path of the same process (commands/session.ts). */
let handover: PendingHint | undefined;

/** The hint of the declined check of this process, if it was for `key` in `root` (taken once; settled by the taker). */
export function takeHint(key: string, root: string): PendingHint | undefined {
  const h = handover;
  handover = undefined;
  return h && h.key === key && h.root === root ? h : undefined;
}

/**
 * Let a thread check what the declined check left for its hint, while the engine loads (bin/pipe.js lends the
 * build's first step thread: `post` sends it a job, see core's pool-worker.ts). Nothing when there is no hint.
 */
export function lendThread(post: Parameters<PendingHint['lend']>[0]): void {
  handover?.lend(post);
}

/** The snapshot key and workspace root of a command line, as the fast path computes them. */
export function locate(
  req: FastRequest,
  cwdNow: string,
  env: NodeJS.ProcessEnv,
): { key: string; root: string } | undefined {
  const cwd = path.resolve(cwdNow, req.cwd ?? '.');
  const file = findPipelineFile(cwd, req.file);
  if (!file) return undefined;
  const key = snapshotKey({
    pipelineFile: file,
    cwd,
    config: req.config === undefined ? undefined : path.resolve(cwd, req.config),
    params: req.params,
    kernels: req.kernels,
    cacheDir: cacheDirOption({ ...(req.cacheDir !== undefined ? { cacheDir: req.cacheDir } : {}) }, env),
    targets: req.targets,
  });
  return { key, root: path.dirname(file) };
}

export interface FastPathIO {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** ms since the epoch when the command started (the elapsed time printed by build). */
  startedAt: number;
}

export interface FastPathResult {
  /** The exit code when answered; undefined when declined. */
  code: number | undefined;
  /** Why it declined (for tests and benchmarks). */
  check?: SnapshotCheck | 'argv' | 'no-pipeline' | 'not-buildable' | 'locked' | 'slurm-unconfirmed';
}

/**
 * Whether a build left Slurm jobs not confirmed ended (core's slurm/unconfirmed-jobs.ts marks them): the full path
 * tries to cancel them at every build, and says so while it cannot.
 */
function slurmJobsUnconfirmed(root: string): boolean {
  const dir = path.join(root, '.pipe', 'slurm');
  return (
    existsSync(dir) && readdirSync(dir).some((b) => existsSync(path.join(dir, b, 'jobs-unconfirmed.json')))
  );
}

/** Answer `argv` from its no-op snapshot, or decline. Never throws: any surprise declines. */
export function tryFastPath(argv: readonly string[], io: FastPathIO): FastPathResult {
  try {
    return answer(argv, io);
  } catch {
    return { code: undefined };
  }
}

function answer(argv: readonly string[], io: FastPathIO): FastPathResult {
  const req = parseFastArgv(argv);
  if (!req) return { code: undefined, check: 'argv' };
  const where = locate(req, io.cwd, io.env);
  if (!where) return { code: undefined, check: 'no-pipeline' };
  const { key, root } = where;
  const check = checkSnapshot(root, key, io.env, { wantHint: true });
  if (!check.ok) {
    handover = check.hint;
    return { code: undefined, check };
  }
  const h = check.header;
  const building = req.command === 'build' && !req.dryRun;
  if (req.command === 'build' && !h.buildable) return { code: undefined, check: 'not-buildable' };
  // A build's lock: another build runs, or a killed one left it, which the full path takes over (recording that
  // build as interrupted and stopping what it left running) even with nothing to do.
  if (building && existsSync(path.join(root, '.pipe', 'lock'))) return { code: undefined, check: 'locked' };
  if (building && slurmJobsUnconfirmed(root)) return { code: undefined, check: 'slurm-unconfirmed' };
  if (h.warnings) io.stderr(`${h.warnings}\n`);
  if (building && h.taskWarnings) io.stderr(`${h.taskWarnings}\n`);
  if (!building) {
    io.stdout(`plan: 0 to run, 0 to restore, 0 maybe, ${h.tasks} up to date\n`);
    return { code: 0, check };
  }
  io.stderr(`${upToDateLine(h.tasks, Date.now() - io.startedAt)}\n`);
  const tasks = h.summaries.map((s) => ({
    id: s.id,
    target: s.target,
    outputs: { summary: path.isAbsolute(s.path) ? s.path : path.join(root, s.path) },
  }));
  // The snapshot kept the summaries of the targets built (the pipeline's `default:` when none was named).
  const lines = summaryLines(
    root,
    tasks,
    h.summaries.map((s) => s.target),
  );
  if (lines.length > 0) io.stdout(`${lines.join('\n')}\n`);
  return { code: 0, check };
}
