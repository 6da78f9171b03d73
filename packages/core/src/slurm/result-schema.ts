/**
 * The schema the executor checks a job's result file against (zod; only the submitting side loads it).
 */
import { z } from 'zod';
import { RESULT_VERSION, type TaskResultFile } from './task-files.js';

const itemSchema = z.object({ id: z.string(), files: z.array(z.string()), data: z.unknown().optional() });

const outputRecordSchema = z.object({
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
});

export const taskResultSchema: z.ZodType<TaskResultFile> = z.object({
  version: z.literal(RESULT_VERSION),
  buildId: z.string(),
  taskId: z.string(),
  key: z.string().optional(),
  reads: z
    .array(
      z.tuple([
        z.string(),
        z.object({
          size: z.number(),
          mtimeNs: z.string(),
          ctimeNs: z.string(),
          ino: z.string(),
          dev: z.string(),
        }),
      ]),
    )
    .optional(),
  log: z.string().optional(),
  attempt: z.number().int().positive(),
  status: z.enum(['ok', 'failed']),
  exitCode: z.number().int(),
  signal: z.string().nullable(),
  error: z.string().optional(),
  param: z.array(z.union([z.string(), z.number().int()])).optional(),
  outputFailure: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('output-not-written'), output: z.string(), path: z.string() }),
      z.object({
        type: z.literal('output-is-symlink'),
        output: z.string(),
        path: z.string(),
        target: z.string(),
      }),
    ])
    .optional(),
  outputs: z.record(z.string(), outputRecordSchema),
  items: z.array(itemSchema).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  host: z.string(),
  // The job's own pipe, Node and zlib (absent in results of a pipe from before they were kept).
  versions: z.object({ pipe: z.string(), node: z.string(), zlib: z.string().optional() }).optional(),
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
