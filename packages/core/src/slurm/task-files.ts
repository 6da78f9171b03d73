/**
 * The two files that cross the boundary between the submitting process and a Slurm job: the task spec
 * (what to run; JSON in a file, never interpolated into a shell script) and the result file (what
 * happened). Both are versioned; the result is written atomically (temp + fsync + rename) by the job and
 * validated by the executor before a task counts as done.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

export const SPEC_VERSION = 1;
export const RESULT_VERSION = 1;

/** Exit status of a job-entry that ran several tasks and wrote every result, some of them failures. */
export const EXIT_SOME_TASKS_FAILED = 86;

const runSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('command'), argv: z.array(z.string()).min(1) }),
  z.object({ kind: z.literal('step'), module: z.string().min(1), exportName: z.string().optional() }),
]);

const itemSchema = z.object({ id: z.string(), files: z.array(z.string()), data: z.unknown().optional() });

export const taskSpecSchema = z.object({
  taskId: z.string(),
  attempt: z.number().int().positive(),
  run: runSchema,
  cwd: z.string(),
  inputs: z.record(z.string(), z.array(z.string())),
  /** Per output: the final path and the temporary name the task writes to. */
  outputs: z.record(z.string(), z.object({ final: z.string(), temp: z.string() })),
  params: z.record(z.string(), z.unknown()),
  env: z.record(z.string(), z.string()),
  item: itemSchema.optional(),
  kernelBackend: z.string(),
  resultFile: z.string(),
});

/** The spec of one array element (one job): one or more tasks, run in order. */
export const jobSpecSchema = z.object({
  version: z.literal(SPEC_VERSION),
  buildId: z.string(),
  tasks: z.array(taskSpecSchema).min(1),
});

export type TaskSpec = z.infer<typeof taskSpecSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;

const outputRecordSchema = z.object({
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
});

export const taskResultSchema = z.object({
  version: z.literal(RESULT_VERSION),
  buildId: z.string(),
  taskId: z.string(),
  attempt: z.number().int().positive(),
  status: z.enum(['ok', 'failed']),
  exitCode: z.number().int(),
  signal: z.string().nullable(),
  error: z.string().optional(),
  outputs: z.record(z.string(), outputRecordSchema),
  items: z.array(itemSchema).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  host: z.string(),
  slurm: z.object({
    jobId: z.string().optional(),
    arrayJobId: z.string().optional(),
    arrayTaskId: z.string().optional(),
    node: z.string().optional(),
    partition: z.string().optional(),
    cpus: z.string().optional(),
    memMb: z.string().optional(),
  }),
  start: z.string(),
  end: z.string(),
});

export type TaskResultFile = z.infer<typeof taskResultSchema>;
export type OutputRecord = z.infer<typeof outputRecordSchema>;

/** Writes bytes atomically: temp name in the same directory, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** fsync of a directory, so a rename in it survives a crash; not every file system allows it. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EINVAL on some file systems: the rename is still atomic, only not yet durable.
  }
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number; mode: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const st = await stat(path);
  return { sha256: hash.digest('hex'), size, mode: st.mode & 0o777 };
}
