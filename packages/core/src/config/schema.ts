/**
 * The shape of pipe.yaml, as zod schemas: the one source of truth for validating structure and for
 * the JSON Schema at packages/core/schema/pipe.schema.json (editor completion). Meaning (references
 * between targets, files on disk, steps) is checked afterwards, in checks.ts and targets.ts.
 */
import { z } from 'zod';
import { SLURM_NAME_PATTERN, validateExtraOptions } from '../slurm/resources.js';

/** Slurm-style memory: a number with an optional K/M/G/T suffix (megabytes when none); 1.5G is sent as 1536M. */
export const MEM_PATTERN = /^(?:[1-9][0-9]*|[0-9]+\.[0-9]*[1-9][0-9]*)[KMGT]?$/;
/** Slurm-style time limit: minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]. */
export const TIME_PATTERN = /^(\d+|\d+:[0-5]\d|\d+:[0-5]\d:[0-5]\d|\d+-\d{1,2}(:[0-5]\d(:[0-5]\d)?)?)$/;
/** Target names: usable in task ids (`name[item]`), file names and shells. */
export const TARGET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const executor = z.enum(['local', 'process', 'slurm']).describe('Where tasks run.');

export const ResourcesSchema = z
  .strictObject({
    cpus: z
      .int()
      .positive()
      .optional()
      .describe("CPU cores per task: a command's PIPE_CPUS; Slurm's --cpus-per-task."),
    mem: z
      .union(
        [
          // A plain number is megabytes, as Slurm's --mem and Snakemake's mem_mb take it.
          z.int().positive(),
          z
            .string()
            .regex(MEM_PATTERN, { error: 'memory must look like 4G, 1.5G, 512M or 2048 (megabytes)' }),
        ],
        { error: 'memory must look like 4G, 1.5G, 512M or 2048 (megabytes)' },
      )
      .optional()
      .describe('Memory per task, e.g. 4G, 512M, or 2048 (megabytes) (Slurm only).'),
    time: z
      .union([
        z.int().positive(),
        z.string().regex(TIME_PATTERN, { error: 'time must be minutes, HH:MM:SS or D-HH:MM:SS' }),
      ])
      .optional()
      .describe(
        'Time limit: minutes, MM:SS, HH:MM:SS or D-HH:MM:SS; a task running longer is stopped and fails.',
      ),
    partition: z
      .string()
      .regex(SLURM_NAME_PATTERN, { error: 'a Slurm partition name is letters, digits and _ . , -' })
      .optional()
      .describe('Slurm partition.'),
    account: z
      .string()
      .regex(SLURM_NAME_PATTERN, { error: 'a Slurm account name is letters, digits and _ . , -' })
      .optional()
      .describe('Slurm account.'),
    retries: z.int().nonnegative().optional().describe('How often a failed task is run again.'),
    array_throttle: z
      .int()
      .positive()
      .optional()
      .describe(
        'At most this many tasks of the target run at once as elements of one job array (--array=…%N) (Slurm only; pipe build --array-throttle for targets without it).',
      ),
    extra_sbatch_options: z
      // Refused here, where the config says it, not when the first job is submitted.
      .array(
        z.string().check((ctx) => {
          const checked = validateExtraOptions([ctx.value]);
          if (!checked.ok) ctx.issues.push({ code: 'custom', message: checked.message, input: ctx.value });
        }),
      )
      .optional()
      .describe('Passed to sbatch as they are (Slurm only).'),
  })
  .describe('Resources per task.');

const TargetRefSchema = z
  .strictObject({
    target: z.string().describe('The target whose outputs are read.'),
    output: z.string().optional().describe('Only this named output of the target.'),
    per_item: z
      .boolean()
      .optional()
      .describe('Both targets fan out over the same items: task t[i] reads only target[i] (no gather).'),
  })
  .describe('The outputs of another target.');

const InputEntrySchema = z.union(
  [z.string().describe('A file path or glob, relative to this file.'), TargetRefSchema],
  {
    error: 'an input is a file path or glob, or {target: NAME}',
  },
);

const InputsSchema = z.union(
  [
    z.array(InputEntrySchema),
    z.record(
      z.string(),
      z.union([InputEntrySchema, z.array(InputEntrySchema)], {
        error: 'an input is a file path or glob, {target: NAME}, or a list of them',
      }),
    ),
  ],
  { error: 'inputs are a list, or a map from input name to inputs' },
);

const OutputsSchema = z.union([z.array(z.string()), z.record(z.string(), z.string())], {
  error: 'outputs are a list of paths, or a map from output name to path',
});

const ForeachSchema = z.union(
  [
    z
      .array(
        z.union([z.string(), z.number(), z.boolean()], {
          error: 'a foreach item is a string, a number or a boolean',
        }),
      )
      .describe(
        'One task per listed item; a number or boolean item is a parameter sweep: a param written "{item}" gets its value.',
      ),
    z.strictObject({ glob: z.string().describe('One task per matching file.') }),
    z.strictObject({ items: z.string().describe('One task per item emitted by this target (dynamic).') }),
  ],
  { error: 'foreach is a list of items ([a, b]), {glob: PATTERN} or {items: TARGET}' },
);

export const TargetSchema = z
  .strictObject({
    description: z.string().optional(),
    step: z
      .string()
      .optional()
      .describe(
        "A registered step ('astro.reduce_observation'), a module path ('./steps/x.js'), or 'command'.",
      ),
    command: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('argv of a command step; may use {inputs.NAME}, {outputs.NAME}, {params.NAME}, {item}.'),
    inputs: InputsSchema.optional(),
    params: z.record(z.string(), z.unknown()).optional().describe('Step parameters; may use ${config.path}.'),
    outputs: OutputsSchema.optional().describe('Workspace-relative paths; foreach targets must use {item}.'),
    needs: z.array(z.string()).optional().describe('Targets that must be built first (ordering only).'),
    with: z
      .array(z.string())
      .optional()
      .describe(
        'Targets built with this one, in no order (e.g. products that need no rerun when this one does): a build of this target builds them too, and --out, watch and compare take their products as its own.',
      ),
    foreach: ForeachSchema.optional(),
    env: z
      .array(z.string().regex(ENV_NAME_PATTERN, { error: 'not an environment variable name' }))
      .optional()
      .describe('Environment variables visible to the step (and entering its key).'),
    resources: ResourcesSchema.optional(),
    executor: executor.optional(),
  })
  .describe('A target: a step, its inputs, parameters and outputs.');

const ConfigRefSchema = z.union(
  [
    z.string(),
    z.strictObject({
      file: z.string().describe('The parameter file, relative to this file.'),
      schema: z.string().optional().describe('A registered config schema that validates the whole file.'),
    }),
  ],
  { error: 'config is a file path or {file: PATH, schema: NAME}' },
);

export const PipeFileSchema = z
  .strictObject({
    version: z
      .literal(1, { error: 'version must be 1' })
      .optional()
      .describe('Format version (required in the root file).'),
    include: z
      .array(z.string())
      .optional()
      .describe('More pipeline files (paths or globs) whose targets are merged.'),
    config: ConfigRefSchema.optional().describe(
      'A parameter file, referenced in params and input paths as ${config.a.b}.',
    ),
    vars: z
      .record(z.string().regex(ENV_NAME_PATTERN, { error: 'not a variable name' }), z.string())
      .optional()
      .describe(
        'Defaults for $NAME in input paths when the environment does not set NAME (relative paths: to this file).',
      ),
    default: z
      .union(
        [
          z.string(),
          z
            .array(z.string())
            .min(1, { error: 'an empty list: name at least one target, or leave default out' }),
        ],
        {
          error: 'default is a target name or a list of them',
        },
      )
      .optional()
      .describe('The targets `pipe build`, `pipe plan` and `pipe watch` take when none is named.'),
    defaults: z
      .strictObject({ executor: executor.optional(), resources: ResourcesSchema.optional() })
      .optional(),
    remote_cache: z
      .strictObject({
        url: z
          .string()
          .regex(/^https?:\/\//, { error: 'the remote cache URL starts with http:// or https://' })
          .optional(),
        protocol: z.enum(['bazel', 'turbo']).optional(),
        team: z.string().optional().describe('Turborepo team (turbo protocol).'),
        mode: z.enum(['read', 'write', 'readwrite', 'off']).optional(),
      })
      .optional()
      .describe(
        'A shared remote cache. Flags and PIPE_REMOTE_CACHE* variables win; the token is read from PIPE_REMOTE_CACHE_TOKEN only.',
      ),
    targets: z
      .record(
        z.string().regex(TARGET_NAME_PATTERN, {
          error:
            'target names use ASCII letters (a-z, A-Z), digits, _ . - and start with an ASCII letter or _',
        }),
        TargetSchema,
      )
      .optional(),
  })
  .describe('A pipe pipeline definition (pipe.yaml).');

export type PipeFileDoc = z.infer<typeof PipeFileSchema>;
export type TargetDoc = z.infer<typeof TargetSchema>;
export type ResourcesDoc = z.infer<typeof ResourcesSchema>;
export type InputEntryDoc = z.infer<typeof InputEntrySchema>;

/** The JSON Schema of pipe.yaml, generated from the zod schemas above. */
export function pipeJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PipeFileSchema, { target: 'draft-2020-12', io: 'input' }),
    title: 'pipe.yaml',
  };
}
