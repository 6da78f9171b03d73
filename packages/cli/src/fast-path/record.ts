/**
 * Writing the snapshot (fast-path/snapshot.ts) after a successful build or a plan: the stamps of everything
 * the plan depended on — the pipeline's own files (root, includes, config, the directories its globs list,
 * step modules and their code closure: builds/pipeline-cache.ts's dependencies), pipe's build info, the
 * kernels' sources and builds when a step uses kernels, the state file, and every task's raw inputs, item
 * files and outputs — keyed by the command line and environment, with which tasks' records match their
 * files (up to date, or just built). It answers a no-op only when every task's does and no stamp is racily
 * clean (but outputs kept with their record's hash); otherwise it still serves the next run's planner as a hint.
 *
 * Written only when the fast path could answer the same command (fast-path/argv.ts), nothing was reported
 * (notes), no remote cache is in use, and no workspace-wide file is racily clean. After a run whose check
 * produced a hint (same graph), the previous snapshot is patched: only stamps that differed, and the files
 * of tasks the build wrote, are taken again.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type DepStamp,
  type Plan,
  pipelineDeps,
  type ReplayedWarning,
  recordedWarnings,
  replaceFile,
  type Session,
  seenStat,
  slurmTargets,
  stateJournalFile,
  type TaskReport,
} from '@pipe/core/lean';
import { valueDigest } from '@pipe/core/value-digest';
import { findPipelineFile } from '../context.js';
import { groupReplayedWarnings } from '../replayed-warnings.js';
import { parseFastArgv } from './argv.js';
import { engineFiles, kernelFiles } from './pipe-files.js';
import {
  listJson,
  MAX_SNAPSHOTS,
  pipeEnvOf,
  RACY_GRANULARITY_MS,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotHeader,
  type SnapshotHint,
  type SnapshotStamp,
  STAMP_SETTLED,
  STAMP_SHA,
  snapshotDir,
  snapshotFile,
  snapshotKey,
  stampPath,
  stampSeen,
  storedPath,
  type TaskRow,
} from './snapshot.js';

export interface SnapshotSource {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** ms since the epoch when this command started, before it read anything. */
  startedAt: number;
  session: Session;
  /** The plan of this command (for `pipe build`, the plan the build ran). */
  plan: Plan;
  /** `pipe build`: how each task ended (the build succeeded); absent for a plan. */
  reports?: Map<string, TaskReport>;
  /** The hint of this process's declined check (the graph is the one that snapshot describes). */
  hint?: SnapshotHint;
  /** Rendered loader warnings (printed on every run). */
  warnings: string;
  /** Environment variables the loader read, with their values. */
  loaderEnv: Array<[string, string | null]>;
  /** Whether the run printed a note or used a remote cache: then no snapshot. */
  eventful: boolean;
  /** The workspace-wide stamps, taken earlier (while the build ran: see workspaceStamps); else taken now. */
  workspace?: Promise<WorkspaceStamps | { skipped: string }>;
}

/** A snapshot's workspace-wide stamps (but the state file's): absolute paths and their stamps, in order. */
export interface WorkspaceStamps {
  paths: string[];
  stamps: SnapshotStamp[];
}

/**
 * The stamps of what the plan read besides its tasks' files: the pipeline's files and the directories its globs
 * list, step modules and their code closure (core's pipelineDeps), pipe's own build, and the kernels' sources and
 * builds when a step uses kernels. No build writes them, so a build takes them while its first task runs
 * (commands/build.ts), on a main thread that only waits then: a file edited after that differs from its stamp
 * however it is dated, one edited before is racily clean (both as when they were taken after the build).
 */
export async function workspaceStamps(
  session: Session,
  startedAt: number,
  /**
   * The pipeline's dependency stamps as the pipeline cache's hit checked them when loading began (the files this
   * command's pipeline was read from, unchanged since the entry was written, so not racily clean): taken as they are.
   */
  loaded?: DepStamp[],
): Promise<WorkspaceStamps | { skipped: string }> {
  const deps = loaded ?? pipelineDeps(session.pipeline, startedAt);
  if (!deps) return { skipped: 'a pipeline file was modified too recently' };
  const root = session.pipeline.root;
  const paths: string[] = [];
  const stamps: SnapshotStamp[] = [];
  const seen = new Set<string>();
  const add = (abs: string, kind: 'f' | 'd', stamp?: DepStamp) => {
    if (seen.has(abs)) return;
    seen.add(abs);
    paths.push(abs);
    const stored = storedPath(root, abs);
    // A dependency stamp is a snapshot stamp (stampPath's form) but for the stored path.
    stamps.push(
      stamp ? [stored, stamp[1], stamp[2], stamp[3], stamp[4], stamp[5]] : stampPath(abs, kind, stored),
    );
  };
  for (const d of deps) add(d[0], d[1], loaded ? d : undefined);
  for (const f of engineFiles()) add(f, 'f');
  const kernelNames = new Set<string>();
  for (const step of session.steps.values()) for (const k of step.kernels) kernelNames.add(k.name);
  if (kernelNames.size > 0) {
    // Known when the session chose the kernels (from its memo or the seam); else read off the kernels' seam.
    const k = session.kernelFiles ?? (await kernelFiles(kernelNames));
    for (const f of k.files) add(f, 'f');
    for (const d of k.dirs) add(d, 'd');
  }
  return { paths, stamps };
}

export type SnapshotWrite = { written: string } | { skipped: string };

/** Record the snapshot of this command, or say why not. Never throws for an expected reason. */
export async function recordNoopSnapshot(src: SnapshotSource): Promise<SnapshotWrite> {
  const req = parseFastArgv(src.argv);
  if (!req) return { skipped: 'command line not answerable from a snapshot' };
  if (src.eventful) return { skipped: 'notes or a remote cache' };
  if (src.env.PIPE_BUILD_ID) return { skipped: 'detached build' };
  const { session, plan } = src;
  if (plan.pending.length > 0) return { skipped: 'pending targets' };
  // Tasks left the pipeline: the next build retires them (removes their outputs), which a no-op answer would skip.
  if (plan.departed?.length) return { skipped: 'tasks to retire' };
  const cwd = path.resolve(src.cwd, req.cwd ?? '.');
  const file = findPipelineFile(cwd, req.file);
  if (!file) return { skipped: 'no pipeline file' };
  const root = path.dirname(file);
  if (root !== session.pipeline.root) return { skipped: 'pipeline root differs' };
  const key = snapshotKey({
    pipelineFile: file,
    cwd,
    config: req.config === undefined ? undefined : path.resolve(cwd, req.config),
    params: req.params,
    kernels: req.kernels,
    cacheDir: req.cacheDir ?? (src.env.PIPE_CACHE_DIR || undefined),
    targets: req.targets,
  });

  // A command naming no target built the pipeline's `default:` (its file is stamped: a new default misses).
  const wanted = req.targets.length > 0 ? req.targets : (session.pipeline.defaultTargets ?? []);

  // Every stamp of a task's file this command takes from here on (not those of the plan's own stats) is taken
  // after this moment.
  const stampedFrom = Date.now();
  const racyMs = src.startedAt - RACY_GRANULARITY_MS;
  const isRacy = (st: SnapshotStamp) => st[2] !== -1 && Number(st[3]) / 1e6 >= racyMs;
  // How each task ended: its record matches its files when it is up to date or was just built. When every
  // task's does (and no stamp is racily clean), the next plan finds everything up to date: a no-op.
  // A plan records nothing: a task it found up to date only by adopting new stamps or a cache entry still
  // has its old record, which must not be vouched for (a build records the adoption).
  const ended = (id: string): string | undefined => {
    if (src.reports) return src.reports.get(id)?.state;
    const d = plan.tasks.get(id)!.decision;
    return d.action === 'up-to-date' && d.adopted ? 'adopted' : d.action;
  };
  let noop = !src.reports || src.reports.size === plan.tasks.size;
  const matches = (state: string | undefined) =>
    state === 'up-to-date' || state === 'ran' || state === 'restored';
  const stateAbs = session.layout.stateFile;
  const journalAbs = stateJournalFile(stateAbs);
  let stamps: SnapshotStamp[];
  let rows: TaskRow[];
  let globals: number;
  let stateRel: string;
  let journalRel: string;
  let buildable: boolean;
  let summaries: SnapshotHeader['summaries'];
  let envNames: Set<string>;
  // With a hint: the previous snapshot's lists, and which stamps and rows differ from them (only those are written anew).
  let stampsText: string | undefined;
  let rowsText: string | undefined;
  let stampChanged: Uint8Array | undefined;
  let rowChanged: Uint8Array | undefined;
  const hint = src.hint && src.hint.key === key && src.hint.root === root ? src.hint : undefined;
  if (hint && hint.rows.length === plan.tasks.size && hint.rows.every((r) => plan.tasks.has(r[0]))) {
    // Same graph: patch the previous snapshot (its stamps and rows, in place: the hint is used up).
    const h = hint.header;
    ({ globals, stateFile: stateRel, journalFile: journalRel, buildable, summaries } = h);
    const own = (p: string) => p === stateRel || p === journalRel;
    envNames = new Set();
    stamps = hint.stamps;
    stampsText = hint.stampsText;
    rowsText = hint.rowsText;
    const changed = new Uint8Array(stamps.length);
    stampChanged = changed;
    const prefix = `${root}${path.sep}`;
    const restat = (i: number) => {
      const st = stamps[i]!;
      const p = st[0];
      stamps[i] = stampPath(path.isAbsolute(p) ? p : prefix + p, st[1], p);
      changed[i] = 1;
    };
    for (let i = 0; i < stamps.length; i++) if (hint.bad[i] === 1 || own(stamps[i]![0])) restat(i);
    for (let i = 0; i < globals; i++)
      if (!own(stamps[i]![0]) && isRacy(stamps[i]!)) return { skipped: 'racy' };
    rows = hint.rows;
    rowChanged = new Uint8Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const state = ended(row[0]);
      // The build wrote this task's files: stamp them again.
      if (state !== 'up-to-date')
        for (let k = 2; k < row.length; k++) if (hint.bad[row[k] as number] !== 1) restat(row[k] as number);
      const matched = matches(state) ? 1 : 0;
      if (row[1] !== matched) rowChanged[r] = 1;
      row[1] = matched;
      if (row[1] === 0) noop = false;
    }
    for (const [name] of h.env) envNames.add(name);
  } else {
    const workspace = await (src.workspace ?? workspaceStamps(session, src.startedAt));
    if ('skipped' in workspace) return workspace;
    const targets = new Set<string>();
    for (const { task } of plan.tasks.values()) targets.add(task.target);
    buildable = slurmTargets(session.pipeline, targets).length === 0;
    // Workspace-wide stamps first: any difference there voids the whole snapshot.
    stamps = workspace.stamps;
    const index = new Map<string, number>();
    for (const [i, abs] of workspace.paths.entries()) index.set(abs, i);
    // A task's files as this process last stat'ed them (core.seenStat: the plan, or the build publishing an
    // output), unless its task did not end up to date (`fresh`: stat now, whatever was written).
    const add = (abs: string, kind: 'f' | 'd', fresh = true): number => {
      let i = index.get(abs);
      if (i === undefined) {
        i = stamps.length;
        index.set(abs, i);
        const seen = fresh ? undefined : seenStat(abs);
        const stored = storedPath(root, abs);
        stamps.push(seen ? stampSeen(seen, kind, stored) : stampPath(abs, kind, stored));
      }
      return i;
    };
    for (const st of stamps) if (isRacy(st)) return { skipped: `racily clean: ${st[0]}` };
    stateRel = storedPath(root, stateAbs);
    add(stateAbs, 'f');
    journalRel = storedPath(root, journalAbs);
    add(journalAbs, 'f');
    globals = stamps.length;
    envNames = new Set<string>();
    summaries = [];
    rows = [];
    for (const id of plan.order) {
      const { task } = plan.tasks.get(id)!;
      const state = ended(id);
      if (!matches(state)) noop = false;
      const row: TaskRow = [id, matches(state) ? 1 : 0];
      const fresh = state !== 'up-to-date';
      for (const name in task.inputs)
        for (const f of task.inputs[name]!) if (!f.producer) row.push(add(f.path, 'f', fresh));
      for (const f of task.item?.files ?? []) row.push(add(f, 'f', fresh));
      for (const name in task.outputs) row.push(add(task.outputs[name]!, 'f', fresh));
      rows.push(row);
      const target = session.pipeline.targets.get(task.target);
      for (const name of target?.env ?? []) envNames.add(name);
      const summary = task.outputs['summary'];
      if (wanted.includes(task.target) && summary?.endsWith('.json'))
        summaries.push({ id: task.id, target: task.target, path: storedPath(root, summary) });
    }
  }
  const wrote = (id: string) => {
    const state = ended(id);
    return state === 'ran' || state === 'restored';
  };
  const racy = keepOutputHashes(stamps, rows, globals, root, plan, session, isRacy, {
    wrote,
    stampedFrom,
    ...(stampChanged ? { changed: stampChanged } : {}),
  });
  if (noop)
    for (let i = globals; i < stamps.length; i++) if (racy[i] === 1 && !stamps[i]![STAMP_SHA]) noop = false;
  // As the build prints them for up-to-date tasks (plain output: 'warning: ' + the event's message).
  const warned: ReplayedWarning[] = [];
  for (const id of plan.order) warned.push(...recordedWarnings(session.state, id));
  const taskWarnings = groupReplayedWarnings(warned)
    .map((m) => `warning: ${m}`)
    .join('\n');
  const env = new Map<string, string | null>(src.loaderEnv);
  for (const name of envNames) env.set(name, valueDigest(src.env[name]));
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    key,
    checkedAt: src.startedAt,
    stateFile: stateRel,
    journalFile: journalRel,
    pipeEnv: pipeEnvOf(src.env),
    env: [...env].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    warnings: src.warnings,
    ...(taskWarnings ? { taskWarnings } : {}),
    tasks: plan.tasks.size,
    summaries,
    buildable,
    noop,
    globals,
  };
  const out = snapshotFile(root, key);
  // Without fsync: a snapshot is derived data, and whatever a crash leaves of one (nothing, zeros, a prefix)
  // fails to parse and is declined as corrupt; the next full run writes it again.
  await replaceFile(
    out,
    `${JSON.stringify(header)}\n${listJson(stamps, stampsText, stampChanged)}\n${listJson(rows, rowsText, rowChanged)}`,
  );
  pruneSnapshots(root);
  return { written: out };
}

/**
 * A racily clean output whose stamp is the one its task record holds (right after a build, every output it wrote is
 * racily clean) is either settled or keeps the record's SHA-256, which the check re-hashes instead of declining.
 * Settled: this build wrote it (ran or restored), the stamp taken now is still the one taken when it was published,
 * and its mtime is older than now by the racy window — so a later write gets a later mtime, and the stamp vouches
 * for the published bytes as the planner's own output check does (stamp equal to the record). Only the outputs
 * written in the last moments of a build (its final products, not its 200 MB of per-run datasets) keep a hash the
 * next no-op reads again. Returns which task stamps are racily clean (1).
 */
function keepOutputHashes(
  stamps: SnapshotStamp[],
  rows: TaskRow[],
  globals: number,
  root: string,
  plan: Plan,
  session: Session,
  isRacy: (s: SnapshotStamp) => boolean,
  how: {
    /** Whether the build wrote this task's outputs (its stamps were taken by this command, after stampedFrom). */
    wrote: (id: string) => boolean;
    /** ms since the epoch before this command took any stamp of its own. */
    stampedFrom: number;
    /** Marked 1 where a stamp's kept hash is dropped or set (its line is written anew). */
    changed?: Uint8Array;
  },
): Uint8Array {
  const { changed } = how;
  const racy = new Uint8Array(stamps.length);
  let any = false;
  for (let i = globals; i < stamps.length; i++) {
    const st = stamps[i]!;
    if (st.length > STAMP_SHA) {
      st.length = STAMP_SHA; // a hash kept by an earlier snapshot: decided again below
      if (changed) changed[i] = 1;
    }
    if (isRacy(st)) {
      racy[i] = 1;
      any = true;
    }
  }
  if (!any) return racy;
  const settledBefore = how.stampedFrom - RACY_GRANULARITY_MS;
  for (const row of rows) {
    let hit = false;
    for (let k = 2; k < row.length && !hit; k++) hit = racy[row[k] as number] === 1;
    const task = hit ? plan.tasks.get(row[0])?.task : undefined;
    const record = task && session.state.tasks.get(task.id);
    if (!task || !record) continue;
    const wrote = how.wrote(task.id);
    for (let k = 2; k < row.length; k++) {
      const i = row[k] as number;
      if (racy[i] !== 1) continue;
      const st = stamps[i]!;
      for (const name in task.outputs) {
        const rec = record.outputs[name];
        if (!rec || storedPath(root, task.outputs[name]!) !== st[0]) continue;
        if (st[2] === rec.size && st[3] === rec.mtimeNs && st[4] === rec.ino) {
          st[STAMP_SHA] = wrote && Number(st[3]) / 1e6 < settledBefore ? STAMP_SETTLED : rec.sha256;
          if (changed) changed[i] = 1;
        }
      }
    }
  }
  return racy;
}

/** Keep the most recent MAX_SNAPSHOTS snapshots. */
function pruneSnapshots(root: string): void {
  const dir = snapshotDir(root);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.snap'));
  } catch {
    return;
  }
  if (names.length <= MAX_SNAPSHOTS) return;
  const byAge = names
    .map((n) => ({ n, t: statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of byAge.slice(MAX_SNAPSHOTS)) rmSync(path.join(dir, n), { force: true });
}

/** Drop every snapshot of the workspace (a build is about to change it; the stamps would tell, this is cheaper). */
export function dropSnapshots(root: string): void {
  rmSync(snapshotDir(root), { recursive: true, force: true });
}
