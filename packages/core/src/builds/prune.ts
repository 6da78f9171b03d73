/**
 * What a workspace keeps of past builds: the newest KEEP_BUILDS build records, and the builds the state's task
 * records name (the build that last made each product: `pipe why` reads its record and points at its logs). Of
 * every other build, its record (`.pipe/builds/<id>.json`), its task logs (`.pipe/logs/<id>/`) and its Slurm
 * files (`.pipe/slurm/<id>/`) are removed, so that a long-lived workspace (a `pipe watch` session records a build
 * per rebuild) does not grow forever. Run by a build under the workspace lock once its own record is written; the
 * running build and anything newer than the builds kept by count are never touched. (A killed build's task journal,
 * `<id>.tasks.jsonl`, goes with its record.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { StateData } from '../state/state-file.js';
import type { WorkspaceLayout } from '../workspace/layout.js';
import {
  BUILD_ID,
  buildRecordPath,
  KEEP_BUILDS,
  listBuildIds,
  listJournalIds,
  taskJournalPath,
} from './records.js';

/** Builds let pass beyond KEEP_BUILDS before pruning: reading every task record's build is then paid once per so many builds. */
const PRUNE_SLACK = 20;

/** Remove the builds the module comment says go; returns their ids (oldest first). Never throws. */
export async function pruneBuilds(
  layout: Pick<WorkspaceLayout, 'dir' | 'buildsDir' | 'logsDir'>,
  state: StateData,
  current: string,
  keep = KEEP_BUILDS,
): Promise<string[]> {
  const records = listBuildIds(layout.buildsDir);
  // The slack counts builds that may go: the old ones the last prune kept for their products do not (were there
  // more than PRUNE_SLACK of them, every build would read every task record, and remove nothing).
  const marker = path.join(layout.dir, RETAINED_FILE);
  if (records.length <= keep + PRUNE_SLACK + retainedBefore(marker)) return [];
  // Only builds older than the oldest kept by count: a build started since (a detached one) is newer.
  const oldestKept = records[records.length - keep]!;
  const slurmDir = path.join(layout.dir, 'slurm');
  const candidates = new Set(
    [
      ...records,
      ...listJournalIds(layout.buildsDir),
      ...subfolders(layout.logsDir),
      ...subfolders(slurmDir),
    ].filter((id) => BUILD_ID.test(id) && id < oldestKept && id !== current),
  );
  for (const id of state.tasks.keys()) candidates.delete(state.tasks.get(id)?.buildId ?? '');
  const removed = [...candidates].sort();
  await Promise.all(
    removed.map((id) =>
      Promise.all([
        rm(path.join(layout.logsDir, id), { recursive: true, force: true }),
        rm(path.join(slurmDir, id), { recursive: true, force: true }),
        rm(taskJournalPath(layout.buildsDir, id), { force: true }),
      ])
        // The record last: a build whose files could not all go keeps the record that names them.
        .then(() => rm(buildRecordPath(layout.buildsDir, id), { force: true }))
        .catch(() => undefined),
    ),
  );
  const gone = new Set(removed);
  const retained = records.filter((id) => id < oldestKept && !gone.has(id)).length;
  try {
    writeFileSync(marker, `${retained}\n`);
  } catch {
    // Best effort: without it, the next build prunes again a little early.
  }
  return removed;
}

/** `.pipe/` file: how many builds older than those kept by count the last prune kept for their products. */
const RETAINED_FILE = 'builds-retained';

function retainedBefore(marker: string): number {
  try {
    const n = Number.parseInt(readFileSync(marker, 'utf8'), 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Names of the folders in `dir` (none when it is missing). */
function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}
