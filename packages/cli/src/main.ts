/**
 * The `pipe` command: argument parsing only. Each subcommand's module is imported when it runs,
 * so `pipe build` on an up-to-date workspace loads no more than it needs.
 * Exit codes: 0 ok, 1 build failed, 2 usage or config error.
 */

import { parseSize } from '@pipe/cache/types';
import { pipeVersion } from '@pipe/core/lean';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_USAGE } from './exit-codes.js';

/** A whole number ≥ 1, or a usage error naming `what` (`-j abc` must not pass as the default). */
const countOf =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`a whole number of ${what}, 1 or more`);
    return n;
  };
/** `-j N`: tasks at once. */
const jobsOption = countOf('tasks');
/** `pipe log -n N` (`-n 0` or `-n abc` listed every build, `-n -1` dropped the oldest). */
const countOption = countOf('builds');

/** `--wait [seconds]`: a number of seconds ≥ 0 (`--wait` alone: no limit). */
function waitOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('a number of seconds (or --wait alone, to wait as long as it takes)');
  return n;
}

/**
 * `--max-size 10G`: bytes, or a number with a binary unit (K, M, G, T; `KB`/`KiB` spellings too, as du and Slurm
 * read them). Anything else is a usage error: a size read as 10 bytes, or as NaN, would evict the whole cache.
 */
export function sizeOption(value: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined) throw new InvalidArgumentError('a size in bytes, or with a unit: 500M, 10G, 1.5T');
  return bytes;
}

/** --param's help: the two forms of a key (packages/core/src/config/README.md). */
const PARAM_HELP =
  "override a parameter: TARGET.NAME=value (a target's params), or config.KEY.PATH=value (a config file's value); the value is read as YAML (repeatable)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[]): Promise<number> {
  // A budget the store cannot read would silently be the 10G default (1e5, -1, '100 kilobytes'): refused by the
  // commands that apply it (a build or watch, and gc without --max-size), not by pipe log or --help.
  const budget = process.env.PIPE_CACHE_MAX_SIZE;
  const words = argv.slice(2);
  const applies =
    words.includes('build') ||
    words.includes('watch') ||
    (words.includes('cache') && words.includes('gc') && !words.some((w) => w.startsWith('--max-size')));
  if (applies && budget !== undefined && budget !== '' && parseSize(budget) === undefined) {
    process.stderr.write(
      `pipe: PIPE_CACHE_MAX_SIZE='${budget}' is not a size: bytes, or a number with a unit (500M, 10G, 1.5T)\n`,
    );
    return EXIT_USAGE;
  }
  let code = 0;
  const set = (c: number) => {
    code = c;
  };
  const program = new Command('pipe')
    .description('pipe: an incremental, content-addressed task graph for scientific pipelines')
    .option('-f, --file <pipe.yaml>', 'pipeline file (default: pipe.yaml in this or a parent directory)')
    .option('-C, --cwd <dir>', 'run as if started in <dir>')
    .version(pipeVersion(), '-V, --version', "print pipe's version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const buildLike = (cmd: Command) =>
    cmd
      .option('--config <file>', "parameter file to use instead of the pipeline's config file")
      .option('--param <key=value>', PARAM_HELP, collect, [])
      .option(
        '--kernels <backend>',
        'kernel backend: native, wasm, js, or auto (the default: $PIPE_KERNELS, else native if built, else wasm)',
      )
      .option('--cache-dir <dir>', 'cache directory (default: $PIPE_CACHE_DIR or .pipe/cache)')
      .option(
        '--force [target]',
        'run the tasks even if up to date (all, or one target; repeatable)',
        collect,
        [],
      )
      .addOption(
        new Option(
          '--remote-cache <mode>',
          'use of the remote cache (default: $PIPE_REMOTE_CACHE_MODE or readwrite)',
        ).choices(['read', 'write', 'readwrite', 'off']),
      )
      .option(
        '--remote-cache-url <url>',
        'remote cache URL (default: $PIPE_REMOTE_CACHE; token from $PIPE_REMOTE_CACHE_TOKEN)',
      )
      .addOption(
        new Option(
          '--remote-cache-protocol <protocol>',
          'remote cache protocol (default: $PIPE_REMOTE_CACHE_PROTOCOL or bazel)',
        ).choices(['bazel', 'turbo']),
      )
      .option('--remote-cache-team <team>', 'team of a turbo remote cache (default: $PIPE_REMOTE_CACHE_TEAM)')
      .option(
        '--remote-cache-required',
        'fail the build when the remote cache fails (default: warn once, continue locally)',
      )
      .option('--json', 'print one JSON object per line');

  buildLike(
    program
      .command('build')
      .argument('[targets...]', "targets (none named: the pipeline's `default:`)")
      .description('build targets and what they need'),
  )
    .option('-j, --jobs <n>', 'run at most n tasks at once (default: one per CPU)', jobsOption)
    .option(
      '-k, --keep-going',
      'keep running independent tasks after a failure, and build what does not need a target whose input file is missing',
    )
    .option('-n, --dry-run', 'print the plan, run nothing')
    .option(
      '--out <dir>',
      'copy the outputs of the requested targets (and of those built with them) into <dir>',
    )
    .option(
      '--wait [seconds]',
      'wait for another build of this workspace to finish (default: refuse)',
      waitOption,
    )
    .addOption(
      new Option('--executor <name>', "run tasks here by default (a target's own executor: wins)").choices([
        'local',
        'process',
        'slurm',
      ]),
    )
    .option(
      '--detach',
      'submit and return: the build goes on in a background driver (see pipe status / pipe cancel)',
    )
    .option(
      '--array-throttle <n>',
      "slurm: at most n elements of one job array run at once (--array=...%n); a target's resources.array_throttle wins",
      (v) => Number.parseInt(v, 10),
    )
    .option('--tasks-per-job <n>', 'slurm: run n small tasks per array element', (v) =>
      Number.parseInt(v, 10),
    )
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { buildCommand } = await import('./commands/build.js');
      set(await buildCommand(targets, { ...cmd.optsWithGlobals() }));
    });

  buildLike(
    program
      .command('plan')
      .argument('[targets...]', "targets (none named: the pipeline's `default:`)")
      .description('say what a build would do, and why'),
  )
    .option(
      '-a, --all',
      "list up-to-date tasks too, and each task of a fan-out (else a target's tasks that would do the same for the same reasons are one entry)",
    )
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { planCommand } = await import('./commands/plan.js');
      set(await planCommand(targets, { ...cmd.optsWithGlobals() }));
    });

  buildLike(
    program
      .command('watch')
      .argument('[targets...]', "targets (none named: the pipeline's `default:`)")
      .description('build, then rebuild on every change of the inputs'),
  )
    .option('-j, --jobs <n>', 'run at most n tasks at once (default: one per CPU)', jobsOption)
    .option('--poll', 'poll the file system instead of using inotify (network file systems)')
    .option(
      '--debounce <ms>',
      'quiet period before a burst of changes is built, in milliseconds (default 50)',
      countOf('milliseconds'),
    )
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { watchCommand } = await import('./commands/watch.js');
      set(await watchCommand(targets, { ...cmd.optsWithGlobals() }));
    });

  // graph and why read the pipeline as build and plan do: with the same parameter file and overrides.
  const pipelineOptions = (cmd: Command) =>
    cmd
      .option('--config <file>', "parameter file to use instead of the pipeline's config file")
      .option('--param <key=value>', PARAM_HELP, collect, []);

  pipelineOptions(
    program
      .command('why')
      .argument('<product-or-target>', 'a product file (or a --out copy of one), or a target')
      .description('provenance of a product back to raw inputs, and why it was last rebuilt'),
  )
    .option('--json', 'print JSON')
    .action(async (query: string, _opts, cmd: Command) => {
      const { whyCommand } = await import('./commands/why.js');
      set(await whyCommand(query, { ...cmd.optsWithGlobals() }));
    });

  pipelineOptions(
    program
      .command('graph')
      .argument('[targets...]', 'targets (none named: every target)')
      .description('print the task graph'),
  )
    .addOption(
      new Option('--format <format>', 'output format').choices(['dot', 'mermaid', 'json']).default('dot'),
    )
    .option(
      '--by-target',
      "one node per target, a fan-out's tasks as one with their count (as Snakemake's --rulegraph)",
    )
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { graphCommand } = await import('./commands/graph.js');
      set(await graphCommand(targets, { ...cmd.optsWithGlobals() }));
    });

  pipelineOptions(
    program
      .command('targets')
      .description("list the pipeline's targets: step, fan-out and description (* the default ones)"),
  )
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const { targetsCommand } = await import('./commands/targets.js');
      set(await targetsCommand({ ...cmd.optsWithGlobals() }));
    });

  program
    .command('log')
    .description('list builds of this workspace (one that found everything up to date is not recorded)')
    .option('--json', 'print one JSON object per build, a line each')
    .option('-n, --limit <n>', 'show the last n builds', countOption, 20)
    .action(async (_opts, cmd: Command) => {
      const { logCommand } = await import('./commands/log.js');
      set(await logCommand({ ...cmd.optsWithGlobals() }));
    });

  program
    .command('status')
    .argument('[build]', 'build id or unique prefix (default: the last build)')
    .description('show one build: its tasks and their states')
    .option('--json', 'print JSON')
    .option(
      '-a, --all',
      "list up-to-date tasks too, and each task of a fan-out (else a target's tasks that ended alike, or whose Slurm jobs are in one state, are one entry)",
    )
    .action(async (id: string | undefined, _opts, cmd: Command) => {
      const { statusCommand } = await import('./commands/status.js');
      set(await statusCommand(id, { ...cmd.optsWithGlobals() }));
    });

  pipelineOptions(
    program
      .command('clean')
      .argument('[targets...]', 'targets (none named: every target)')
      .description(
        "remove targets' products from the workspace where the cache holds them (the next build restores them)",
      ),
  )
    .option('-n, --dry-run', 'say what would be removed, and remove nothing')
    .option('--cache-dir <dir>', 'cache directory (default: $PIPE_CACHE_DIR or .pipe/cache)')
    .option('--json', 'print JSON')
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { cleanCommand } = await import('./commands/clean.js');
      set(await cleanCommand(targets, { ...cmd.optsWithGlobals() }));
    });

  program
    .command('cancel')
    .argument('[build]', 'build id or unique prefix (default: the last build)')
    .description('stop a build: its driver process and its Slurm jobs (scancel)')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, _opts, cmd: Command) => {
      const { cancelCommand } = await import('./commands/cancel.js');
      set(await cancelCommand(id, { ...cmd.optsWithGlobals() }));
    });

  const cache = program
    .command('cache')
    .description('inspect and maintain the cache')
    .option('--cache-dir <dir>', 'cache directory (default: $PIPE_CACHE_DIR or .pipe/cache)');
  for (const [name, desc, arg] of [
    ['stats', 'size and entry counts', undefined],
    [
      'gc',
      'evict least recently used entries beyond the size budget (pins, and entries used in the last 10 minutes, which a running build may need, are kept)',
      undefined,
    ],
    ['verify', 'check every entry against its hash', undefined],
    ['pin', 'pin the cache entries of a target (and of the targets built with it)', '<target>'],
    ['unpin', 'unpin the cache entries of a target (those of its earlier builds too)', '<target>'],
  ] as const) {
    const sub = cache.command(name).description(desc).option('--json', 'print JSON');
    if (arg) sub.argument(arg);
    if (name === 'gc')
      sub.option(
        '--max-size <size>',
        'size budget: bytes, or 500M, 10G (default: the store budget, 10G)',
        sizeOption,
      );
    sub.action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const { cacheCommand } = await import('./commands/cache.js');
      set(await cacheCommand(name, arg ? (args[0] as string) : undefined, { ...cmd.optsWithGlobals() }));
    });
  }

  // The remote's mode (`modeHelp`), server, protocol and team, as a build takes them: for doctor and push.
  const remoteServerOptions = (sub: Command, modeHelp: string) =>
    sub
      .addOption(new Option('--remote-cache <mode>', modeHelp).choices(['read', 'write', 'readwrite', 'off']))
      .option('--remote-cache-url <url>', 'remote cache URL (default: $PIPE_REMOTE_CACHE)')
      .addOption(
        new Option(
          '--remote-cache-protocol <protocol>',
          'bazel or turbo (default: $PIPE_REMOTE_CACHE_PROTOCOL)',
        ).choices(['bazel', 'turbo']),
      )
      .option(
        '--remote-cache-team <team>',
        'team of a turbo remote cache (default: $PIPE_REMOTE_CACHE_TEAM)',
      );

  remoteServerOptions(
    cache
      .command('doctor')
      .description('test the configured remote cache: reach, read, write, read back, overwrite, delete')
      .option('--json', 'print JSON'),
    // The mode the builds use: with 'read' (an untrusted branch's read-only token), refused writes are fine (exit 0).
    "the builds' use of the remote (default: $PIPE_REMOTE_CACHE_MODE or readwrite); with read, refused writes pass",
  ).action(async (_opts, cmd: Command) => {
    const { doctorCommand } = await import('./commands/remote.js');
    set(await doctorCommand({ ...cmd.optsWithGlobals() }));
  });

  remoteServerOptions(
    cache
      .command('push')
      .argument('[build]', 'build id or unique prefix (default: the last build)')
      .description(
        "send a build's cache entries that the remote cache lacks (stored while it was down) to it",
      )
      .option('--json', 'print JSON'),
    'the use of the remote (default: $PIPE_REMOTE_CACHE_MODE or readwrite): push needs write or readwrite',
  ).action(async (id: string | undefined, _opts, cmd: Command) => {
    const { pushCommand } = await import('./commands/remote.js');
    set(await pushCommand(id, { ...cmd.optsWithGlobals() }));
  });

  program
    .command('compare')
    .argument(
      '<ref>',
      'reference products: a directory (--out), a workspace, a build of this workspace (id, unique prefix or last) or a build record file (.pipe/builds/<id>.json)',
    )
    .argument('<new>', 'new products: the same forms as <ref>')
    .description('compare two sets of products; exit 1 on a regression')
    .option('--tolerances <file>', 'tolerance file (YAML or JSON)')
    .option('--json [file]', 'print the JSON report (to stdout, or to <file>)')
    .option('--markdown <file>', 'write a Markdown report')
    .option('--diff-dir <dir>', 'write difference images of differing maps into <dir>')
    .option(
      '--target <name>',
      'only the products of these targets (build ids and workspaces; repeatable)',
      collect,
      [],
    )
    .option(
      '--cache-dir <dir>',
      'cache directory to read build products from (default: $PIPE_CACHE_DIR or .pipe/cache)',
    )
    .action(async (ref: string, neu: string, _opts, cmd: Command) => {
      const { compareCommand } = await import('./commands/compare.js');
      set(await compareCommand(ref, neu, { ...cmd.optsWithGlobals() }));
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    throw error;
  }
  return code;
}
