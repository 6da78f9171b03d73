/** Commands that read the workspace's records without loading the pipeline (log, status, why, cache). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type BuildRecord, readBuildRecord, type WorkspaceLayout, workspaceLayout } from '@pipe/core/lean';
import {
  cacheDirOption,
  findPipelineFile,
  type GlobalOptions,
  noPipelineMessage,
  workingDir,
} from '../context.js';

export function workspaceFromCli(
  opts: GlobalOptions,
): { ok: true; layout: WorkspaceLayout } | { ok: false; message: string } {
  const cwd = workingDir(opts);
  const file = findPipelineFile(cwd, opts.file);
  // A folder whose builds were all given `-f other.yaml` has no pipe.yaml, but its records are in its .pipe.
  const root = file ? path.dirname(file) : opts.file ? undefined : recordsFolder(cwd);
  if (!root) return { ok: false, message: noPipelineMessage(cwd) };
  return { ok: true, layout: workspaceLayout(root, cacheDirOption(opts)) };
}

/** The nearest folder, from `cwd` up, holding build records (.pipe/builds). */
function recordsFolder(cwd: string): string | undefined {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.pipe', 'builds'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The workspace and one build's record (`id`: an id, a unique prefix or 'last'), or the line that says why not (for
 * stderr; the command then exits 2): what `pipe status`, `cancel` and `cache push` start from.
 */
export function buildRecordFromCli(
  opts: GlobalOptions,
  id: string | undefined,
): { ok: true; layout: WorkspaceLayout; record: BuildRecord } | { ok: false; message: string } {
  const ws = workspaceFromCli(opts);
  if (!ws.ok) return ws;
  const got = readBuildRecord(ws.layout.buildsDir, id ?? 'last');
  return got.ok
    ? { ok: true, layout: ws.layout, record: got.record }
    : { ok: false, message: `pipe: ${got.detail}` };
}
