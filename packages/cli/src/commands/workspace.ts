/** Commands that read the workspace's records without loading the pipeline (log, status, why, cache). */
import path from 'node:path';
import { type WorkspaceLayout, workspaceLayout } from '@pipe/core';
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
  if (!file) return { ok: false, message: noPipelineMessage(cwd) };
  return { ok: true, layout: workspaceLayout(path.dirname(file), cacheDirOption(opts)) };
}
