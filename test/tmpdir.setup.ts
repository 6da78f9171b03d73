/**
 * vitest globalSetup: one temporary folder for the whole run. TMPDIR points into it, so the tests' mkdtemp
 * workspaces, and the temp files of the pipe processes and Slurm jobs they start, land there and are removed with
 * it at the end, instead of piling up in the system's temp folder (thousands of folders per run otherwise, which
 * also make file creation there slower). PIPE_KEEP_TEST_TMP=1 keeps it (its path is printed) for a post-mortem.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-tests-'));
  chmodSync(dir, 0o755);
  // Test workers (threads or forks) start after global setup and take this environment.
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.PIPE_KEEP_TEST_TMP === '1') {
      console.log(`kept the tests' temporary folder: ${dir}`);
      return;
    }
    // A detached process may still write (a cancelled Slurm job): retry, and never fail the run over it.
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 });
  };
}
