/**
 * Build records: `.pipe/builds/<id>.json`, one per build, written when it starts (status
 * 'running') and when it ends. A 'running' record whose lock owner is gone is a crashed build.
 *
 *   { format: 'pipe-build', version: 1, id, status, startedAt, endedAt?, targets, params, force,
 *     jobs, kernelBackend, usesKernels?, host?, versions?, cacheDir, counts: {state: n}, tasks: {id: TaskReport} }
 *
 * Up-to-date tasks are kept as `{state: 'up-to-date', key}` only, to keep no-op records small.
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { deliveredTargets } from '../graph/edges.js';
import {
  type BuildStatus,
  cancelledBeforeStart,
  type TaskReport,
  type TaskState,
} from '../schedule/events.js';
import { type FailedRun, targetOfTaskId } from '../state/state-file.js';
import { replaceFile, syncFile, writeFileAtomic } from '../workspace/atomic.js';

export const BUILD_FORMAT = 'pipe-build';
export const BUILD_VERSION = 1;

export interface BuildRecord {
  format: typeof BUILD_FORMAT;
  version: typeof BUILD_VERSION;
  id: string;
  status: BuildStatus | 'running';
  startedAt: string;
  endedAt?: string;
  targets: string[];
  /** The targets of this build that are built `with` others: which (pipe compare delivers them with --target). */
  with?: Record<string, string[]>;
  params: Record<string, string>;
  /** The parameter file given by --config (workspace-relative when inside it). */
  config?: string;
  /** The pipeline file given by -f, when not the workspace's pipe.yaml (workspace-relative when inside it). */
  file?: string;
  force?: boolean | string[];
  dryRun?: boolean;
  jobs: number;
  kernelBackend: string;
  /** Whether a step of the graph uses kernels (else `kernelBackend` is only the default steps were given). */
  usesKernels?: boolean;
  /**
   * The machine the build ran on (its driver: a Slurm task's node is in its products' provenance), and pipe's and
   * Node's versions. Absent in records written before they were kept.
   */
  host?: string;
  versions?: { pipe: string; node: string };
  /**
   * The folders the `$NAME/…` paths of this build's task keys stood for (Pipeline.pathRoots): `pipe why` finds a raw
   * input outside the workspace through them.
   */
  pathRoots?: Record<string, string>;
  cacheDir: string;
  counts: Partial<Record<TaskState, number>>;
  tasks: Record<string, Omit<TaskReport, 'id'>>;
  /**
   * A 'running' (or, after markInterrupted, 'interrupted') record only: the tasks the build set out to run or
   * restore, and the fan-outs it was to expand (their items' ids `target[item]`). A build killed before its end record
   * (kill -9) then still says which tasks it stopped before (deadBuildRecord), not "no previous build".
   */
  planned?: { tasks: string[]; fanouts: string[] };
}

/**
 * `targets` and the targets built `with` them in this build, by its record: what the build delivered for them
 * (pipe compare's sides, cache pin), without loading the pipeline it was built from.
 */
export function recordedDelivery(record: BuildRecord, targets: readonly string[]): string[] {
  return deliveredTargets(
    new Map(Object.entries(record.with ?? {}).map(([n, w]) => [n, { with: w }])),
    targets,
  );
}

/** A sortable build id: UTC time to the millisecond, then 6 random hex digits. */
export function newBuildId(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  return `${iso}-${randomBytes(3).toString('hex')}`;
}

export function buildRecordPath(buildsDir: string, id: string): string {
  return path.join(buildsDir, `${id}.json`);
}

/**
 * `.pipe/builds/<id>.tasks.jsonl`: the reports of a running build's tasks that ran, were restored or failed, one JSON
 * line each as they end. The record is written whole only when the build starts and ends; a build killed in between
 * (kill -9, a lost machine) leaves this journal, which `pipe status` and the next build's markInterrupted read, so the
 * interrupted build's record still says which tasks it finished. Removed when the build's end record is written.
 */
export function taskJournalPath(buildsDir: string, id: string): string {
  return path.join(buildsDir, `${id}${JOURNAL_SUFFIX}`);
}

const JOURNAL_SUFFIX = '.tasks.jsonl';

/** Builds with a task journal, also those killed before their record was written. */
export function listJournalIds(buildsDir: string): string[] {
  try {
    return readdirSync(buildsDir)
      .filter((n) => n.endsWith(JOURNAL_SUFFIX))
      .map((n) => n.slice(0, -JOURNAL_SUFFIX.length));
  } catch {
    return [];
  }
}

/**
 * Builds whose record still says "running" beside their journal: killed, or ended without their end record (a full
 * disk refused it). Under the workspace lock, none of them runs.
 */
export function unendedBuildIds(buildsDir: string): string[] {
  return listJournalIds(buildsDir).filter((id) => {
    const found = readBuildRecord(buildsDir, id);
    return found.ok && found.record.id === id && found.record.status === 'running';
  });
}

/** Appends task reports to a build's journal (opened at the first report: a build that runs nothing has none). */
export interface TaskJournal {
  add(report: TaskReport): void;
  /** A task started (ran or restored): a build killed before its end still says it had started it. */
  start(id: string, startedAt: string): void;
  /** Close it and remove the file (the build's end record now holds every report). Never throws. */
  remove(): void;
  /** Close it, leaving the file (a build that ended without its end record: the next reader folds it in). */
  close(): void;
}

/**
 * A journal for build `id`. Up-to-date tasks are not journalled (a no-op adds nothing to learn after a crash, and
 * 10,000 of them would cost a write each). Writes are plain appends, not fsynced: the journal only has to outlive the
 * process, which the page cache does; a write that fails turns the journal off (the record then lacks the tasks, as
 * before journals), never the build.
 */
export function openTaskJournal(buildsDir: string, id: string): TaskJournal {
  const file = taskJournalPath(buildsDir, id);
  let fd: number | undefined;
  let off = false;
  const append = (line: object) => {
    try {
      fd ??= openSync(file, 'a', 0o644);
      writeSync(fd, `${JSON.stringify(line)}\n`);
    } catch {
      off = true;
    }
  };
  return {
    add(report) {
      if (off || report.state === 'up-to-date') return;
      append({ id: report.id, ...recordedReport(report) });
    },
    start(id, startedAt) {
      if (!off) append({ id, started: startedAt });
    },
    remove() {
      this.close();
      try {
        rmSync(file, { force: true });
      } catch {
        // Left: the build's record is complete, and prune removes the journal with it.
      }
    },
    close() {
      off = true;
      if (fd === undefined) return;
      try {
        closeSync(fd);
      } catch {
        // Nothing was lost: every line was written synchronously.
      }
      fd = undefined;
    },
  };
}

/**
 * The reports a build's journal holds, by task (a later line for a task replaces an earlier one: a retried task), and
 * when it was last written; undefined without a journal. A last line cut short by the crash is left out.
 */
export function readTaskJournal(
  buildsDir: string,
  id: string,
):
  | {
      tasks: Map<string, Omit<TaskReport, 'id'>>;
      /** When each task that started began (those that ended are in `tasks` too). */
      started: Map<string, string>;
      lastWriteMs: number;
    }
  | undefined {
  const file = taskJournalPath(buildsDir, id);
  let text: string;
  let lastWriteMs: number;
  try {
    text = readFileSync(file, 'utf8');
    lastWriteMs = statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  const tasks = new Map<string, Omit<TaskReport, 'id'>>();
  const started = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const { id: task, started: at, ...report } = JSON.parse(line) as TaskReport & { started?: unknown };
      if (typeof task !== 'string') continue;
      if (typeof report.state === 'string') tasks.set(task, report);
      else if (typeof at === 'string') started.set(task, at);
    } catch {
      // The line being written when the process died.
    }
  }
  return { tasks, started, lastWriteMs };
}

/** A 'running' record with what its journal says the build finished so far (its tasks and counts). */
function withJournal(buildsDir: string, record: BuildRecord): BuildRecord {
  const journal = readTaskJournal(buildsDir, record.id);
  if (!journal) return record;
  return withTasks(record, { ...record.tasks, ...Object.fromEntries(journal.tasks) });
}

function withTasks(record: BuildRecord, tasks: BuildRecord['tasks']): BuildRecord {
  const counts: BuildRecord['counts'] = {};
  for (const t of Object.values(tasks)) counts[t.state] = (counts[t.state] ?? 0) + 1;
  return { ...record, tasks, counts };
}

/**
 * The record of a 'running' build whose process is gone (kill -9, a lost machine), as an interrupted one says it
 * (read with readBuildRecord: its finished tasks folded in): a task its journal says started and did not end was
 * cancelled while it ran; one it planned and never started was cancelled before it started, as after a Ctrl-C.
 */
export function deadBuildRecord(buildsDir: string, record: BuildRecord): BuildRecord {
  const journal = readTaskJournal(buildsDir, record.id);
  const tasks = { ...record.tasks };
  for (const [id, startedAt] of journal?.started ?? []) tasks[id] ??= { state: 'cancelled', startedAt };
  for (const id of record.planned?.tasks ?? []) tasks[id] ??= { state: 'cancelled' };
  // Its end time is unknown; the last write to its record or journal is the best guess.
  const last = Math.max(
    statSync(buildRecordPath(buildsDir, record.id), { throwIfNoEntry: false })?.mtimeMs ?? 0,
    journal?.lastWriteMs ?? 0,
    Date.parse(record.startedAt) || 0,
  );
  return withTasks({ ...record, status: 'interrupted', endedAt: new Date(last).toISOString() }, tasks);
}

/**
 * A 'running' record whose driver was found gone, read again: a build that ended since the first read wrote its end
 * record before it let its lock go, and is read as it ended. Still 'running', it was killed (deadBuildRecord).
 */
function endedOrDead(buildsDir: string, record: BuildRecord): BuildRecord {
  const again = readBuildRecord(buildsDir, record.id);
  if (!again.ok) return deadBuildRecord(buildsDir, record);
  return again.record.status === 'running' ? deadBuildRecord(buildsDir, again.record) : again.record;
}

/**
 * Write a build's record; with `reports` (a finished build), its `tasks` and `counts` are those of the reports
 * (summariseReports), written as text straight from them: no object per task for 10,000 up-to-date tasks.
 */
export async function writeBuildRecord(
  buildsDir: string,
  record: BuildRecord,
  reports?: Iterable<TaskReport>,
): Promise<void> {
  await writeFileAtomic(
    buildRecordPath(buildsDir, record.id),
    reports ? finishedRecordJson(record, reports) : JSON.stringify(record),
  );
}

/** Write a build's start record atomically but without fsync (syncBuildRecord then makes it durable). */
export async function placeBuildRecord(buildsDir: string, record: BuildRecord): Promise<void> {
  await replaceFile(buildRecordPath(buildsDir, record.id), JSON.stringify(record));
}

/** Make the record placeBuildRecord wrote durable (not written again). */
export function syncBuildRecord(buildsDir: string, id: string): Promise<void> {
  return syncFile(buildRecordPath(buildsDir, id));
}

/** JSON.stringify of `record` with summariseReports(reports) as its tasks and counts (tasks last). */
function finishedRecordJson(record: BuildRecord, reports: Iterable<TaskReport>): string {
  const counts: BuildRecord['counts'] = {};
  const tasks: string[] = [];
  for (const r of reports) {
    counts[r.state] = (counts[r.state] ?? 0) + 1;
    const value =
      r.state !== 'up-to-date'
        ? JSON.stringify(recordedReport(r))
        : r.key
          ? `{"state":"up-to-date","key":${JSON.stringify(r.key)}}`
          : '{"state":"up-to-date"}';
    tasks.push(`${JSON.stringify(r.id)}:${value}`);
  }
  const { tasks: _tasks, ...rest } = record;
  const head = JSON.stringify({ ...rest, counts });
  return `${head.slice(0, -1)},"tasks":{${tasks.join(',')}}}`;
}

/** A report as a record keeps it: an up-to-date task as its state and key only. */
function recordedReport(r: TaskReport): Omit<TaskReport, 'id'> {
  if (r.state === 'up-to-date') return r.key ? { state: r.state, key: r.key } : { state: r.state };
  const { id: _id, ...rest } = r;
  return rest;
}

/** Compact the reports of a finished build into the record's tasks and counts. */
export function summariseReports(reports: Iterable<TaskReport>): Pick<BuildRecord, 'tasks' | 'counts'> {
  const tasks: BuildRecord['tasks'] = {};
  const counts: BuildRecord['counts'] = {};
  for (const r of reports) {
    counts[r.state] = (counts[r.state] ?? 0) + 1;
    tasks[r.id] = recordedReport(r);
  }
  return { tasks, counts };
}

/** Ids of recorded builds, oldest first. */
export function listBuildIds(buildsDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(buildsDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -5))
    .sort();
}

/** Build records kept by count (`pipe log` lists the last 20 by default); see prune.ts. */
export const KEEP_BUILDS = 100;
/** newBuildId's form: nothing else in the builds, logs and Slurm folders is taken for a build. */
export const BUILD_ID = /^\d{8}-\d{6}-\d{3}-[0-9a-f]{6}$/;

export type ReadRecordResult =
  | { ok: true; record: BuildRecord }
  | { ok: false; reason: 'not-found' | 'unreadable'; detail: string };

/** Read one build record; `idOrPrefix` may be a unique prefix of an id, or 'last'. */
export function readBuildRecord(buildsDir: string, idOrPrefix: string): ReadRecordResult {
  // A whole id is read directly: callers walking the records (pipe log, cache pin) would list the folder per record.
  const exact =
    /^[\w-]+$/.test(idOrPrefix) &&
    idOrPrefix !== 'last' &&
    existsSync(buildRecordPath(buildsDir, idOrPrefix));
  const ids = exact ? [idOrPrefix] : listBuildIds(buildsDir);
  const matches =
    exact || idOrPrefix === 'last' ? ids.slice(-1) : ids.filter((id) => id.startsWith(idOrPrefix));
  if (matches.length !== 1) {
    return {
      ok: false,
      reason: 'not-found',
      detail:
        matches.length === 0
          ? ids.length === 0
            ? 'no build has been recorded in this workspace yet (pipe build makes one)'
            : BUILD_ID.test(idOrPrefix) &&
                ids.length >= KEEP_BUILDS &&
                idOrPrefix < ids[ids.length - KEEP_BUILDS]!
              ? `no build '${idOrPrefix}': a workspace keeps the newest ${KEEP_BUILDS} builds and those that made its current products; the records, logs and Slurm files of older ones are removed`
              : `no build '${idOrPrefix}' (a build that found everything up to date is not recorded: it changed nothing)`
          : `'${idOrPrefix}' matches ${matches.length} builds`,
    };
  }
  try {
    const record = JSON.parse(readFileSync(buildRecordPath(buildsDir, matches[0]!), 'utf8')) as BuildRecord;
    if (record.format !== BUILD_FORMAT || record.version !== BUILD_VERSION) {
      return { ok: false, reason: 'unreadable', detail: `build ${matches[0]}: unknown record format` };
    }
    const missing = missingFields(record);
    if (missing.length > 0)
      return {
        ok: false,
        reason: 'unreadable',
        detail: `build ${matches[0]}: its record lacks ${missing.join(', ')} (damaged, or not written by pipe)`,
      };
    // A running build (or one killed) has its finished tasks in its journal so far.
    return { ok: true, record: record.status === 'running' ? withJournal(buildsDir, record) : record };
  } catch (error) {
    return { ok: false, reason: 'unreadable', detail: `build ${matches[0]}: ${(error as Error).message}` };
  }
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields every reader of a record relies on that `record` lacks or has of another type (a damaged record). */
function missingFields(record: BuildRecord): string[] {
  const r = record as unknown as Record<string, unknown>;
  const checks: Array<[string, (v: unknown) => boolean]> = [
    ['id', (v) => typeof v === 'string'],
    ['status', (v) => typeof v === 'string'],
    ['startedAt', (v) => typeof v === 'string'],
    ['targets', (v) => Array.isArray(v) && v.every((t) => typeof t === 'string')],
    ['params', isObject],
    ['counts', isObject],
    ['tasks', (v) => isObject(v) && Object.values(v as object).every(isObject)],
  ];
  return checks.filter(([name, ok]) => !ok(r[name])).map(([name]) => name);
}

/** How many of the newest build records a task's last failure is looked for in. */
const FAILURE_LOOKBACK = 20;

/**
 * Where each task without a record last failed, read from the newest build records when first asked (a plan asks
 * only for tasks that have no record, and most plans have none). A task's newest report decides, passing over the
 * builds that did not run it (skipped behind a failure, not started, cancelled before it started): a failed one is its
 * last failure, one cancelled while it ran its last run stopped; one that ran, restored or was up to date means it
 * since succeeded, and no failure is told. A task no build ran, only left unstarted, gets the newest such build
 * (`stopped.started: false`).
 */
export function failedRunLookup(
  buildsDir: string,
  /** Whether a 'running' build still runs (buildIsLive): one that does not was killed, and is read as interrupted. */
  isLive?: (buildId: string) => boolean,
): (taskId: string) => FailedRun | undefined {
  let failures: Map<string, FailedRun> | undefined;
  const settled = new Set<string>();
  /** Killed builds' fan-outs not expanded (or not all of whose items started), newest first. */
  const fanoutsStopped: Array<{ fanouts: Set<string>; tasks: Set<string>; run: FailedRun }> = [];
  const read = () => {
    const found = new Map<string, FailedRun>();
    const unstartedIn = new Map<string, FailedRun>();
    const targetsSeen = new Set<string>();
    for (const id of listBuildIds(buildsDir).slice(-FAILURE_LOOKBACK).reverse()) {
      const got = readBuildRecord(buildsDir, id);
      if (!got.ok) continue;
      const record =
        got.record.status === 'running' && isLive && !isLive(id)
          ? endedOrDead(buildsDir, got.record)
          : got.record;
      // Only a fan-out no newer build has a task of: a newer one that expanded it tells better of its items.
      const fanouts = record.status === 'interrupted' ? (record.planned?.fanouts ?? []) : [];
      const stoppedFanouts = fanouts.filter((t) => !targetsSeen.has(t));
      for (const t of Object.keys(record.tasks)) targetsSeen.add(targetOfTaskId(t));
      if (stoppedFanouts.length > 0)
        fanoutsStopped.push({
          fanouts: new Set(stoppedFanouts),
          tasks: new Set(Object.keys(record.tasks)),
          run: {
            build: id,
            ...(record.endedAt ? { at: record.endedAt } : {}),
            stopped: { interrupted: true, started: false },
          },
        });
      for (const [taskId, report] of Object.entries(record.tasks ?? {})) {
        if (settled.has(taskId)) continue;
        // Stopped while it ran (cancelled): the next build runs it again, and says so rather than "no previous build".
        // One the stop found waiting for a free slot (-j; no startedAt), or that a build stopped at a failure left
        // unstarted or skipped, never ran there: passed over, and said only when no older build tells more (else a
        // fan-out's such task would read as a new item added to the foreach).
        const unstarted =
          cancelledBeforeStart(report) || report.state === 'not-started' || report.state === 'skipped';
        const at = report.endedAt ?? record.endedAt;
        const when = { build: id, ...(at ? { at } : {}) };
        const interrupted = record.status === 'interrupted';
        if (unstarted) {
          if (!unstartedIn.has(taskId))
            unstartedIn.set(taskId, {
              ...when,
              stopped: {
                interrupted,
                started: false,
                // Skipped behind a failure says which; after a stop, the stop is the reason.
                ...(report.state === 'skipped' && report.error && !interrupted
                  ? { skipped: report.error }
                  : {}),
              },
            });
        } else if (report.state === 'failed' || report.state === 'cancelled') {
          settled.add(taskId);
          found.set(taskId, {
            ...when,
            ...(report.state === 'cancelled'
              ? { stopped: { interrupted } }
              : report.error
                ? { error: report.error }
                : {}),
          });
        } else if (report.state === 'ran' || report.state === 'restored' || report.state === 'up-to-date')
          settled.add(taskId);
      }
    }
    for (const [taskId, run] of unstartedIn) if (!settled.has(taskId)) found.set(taskId, run);
    return found;
  };
  return (taskId) => {
    failures ??= read();
    const failed = failures.get(taskId);
    if (failed || settled.has(taskId)) return failed;
    // An item of a fan-out a killed build was to expand, never started there.
    const target = targetOfTaskId(taskId);
    if (target === taskId) return undefined;
    return fanoutsStopped.find((b) => b.fanouts.has(target) && !b.tasks.has(taskId))?.run;
  };
}

/**
 * The record of a build whose process died (killed, crashed) still says "running": it ended, interrupted. It takes
 * the tasks its journal says finished (readBuildRecord folds them in), and the journal goes. Its end time is unknown;
 * the last write to its record or journal is the best guess. True when it was rewritten so.
 */
export async function markInterrupted(buildsDir: string, buildId: string): Promise<boolean> {
  const found = readBuildRecord(buildsDir, buildId);
  if (!found.ok || found.record.id !== buildId || found.record.status !== 'running') return false;
  return writeBuildRecord(buildsDir, deadBuildRecord(buildsDir, found.record)).then(
    () => {
      rmSync(taskJournalPath(buildsDir, buildId), { force: true });
      return true;
    },
    () => false,
  );
}
