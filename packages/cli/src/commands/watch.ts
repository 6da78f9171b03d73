/**
 * `pipe watch [targets...]`: build, then rebuild on every change of the graph's inputs (data,
 * pipeline and config files, step and kernel sources). Prints a compact status per rebuild (what
 * changed, what ran, how long, where the products are), or with --json one event per line:
 * watch-start, change, unchanged, kernel-rebuilt, step-compiled, diagnostics, build-start,
 * task-start, task-end, expanded, warning, build-end, note, idle. Ctrl-C stops.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import path from 'node:path';
import type { Pipeline, WatchEvent } from '@pipe/core';
import {
  cacheDirOption,
  findPipelineFile,
  loadForCommand,
  locateParamFor,
  noPipelineMessage,
  workingDir,
} from '../context.js';
import { EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE } from '../exit-codes.js';
import { interrupt } from '../interrupt.js';
import { buildEventJson, failedTaskLabel, ignoreClosedTerminal } from '../output.js';
import { rebuildReasons, rebuildSummary } from '../watch-summary.js';
import { targetsOrDefault } from './default-targets.js';
import { pipelineRemote, type RemoteSetup } from './remote.js';
import { diagnosticJson, forceOption, type SessionCliOptions } from './session.js';

export interface WatchCliOptions extends SessionCliOptions {
  jobs?: number;
  poll?: boolean;
  debounce?: number;
}

function jsonLine(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** --json: one object per line; build events keep the shape `pipe build --json` gives them. */
function printJson(e: WatchEvent): void {
  switch (e.type) {
    case 'build':
      // The shape pipe build --json gives it (attempts, madeIn of a restored task, …).
      jsonLine(buildEventJson(e.event));
      return;
    case 'build-end': {
      const { reports: _reports, type: _type, ...rest } = e;
      jsonLine({ event: 'build-end', ...rest });
      return;
    }
    case 'diagnostics': {
      // One by one with their places as well, where the pipeline or session gave them (the text says them all).
      const { type, diagnostics, ...rest } = e;
      jsonLine({
        event: type,
        ...rest,
        ...(diagnostics ? { diagnostics: diagnostics.map(diagnosticJson) } : {}),
      });
      return;
    }
    default: {
      const { type, ...rest } = e;
      jsonLine({ event: type, ...rest });
      return;
    }
  }
}

/** The terminal status: a few lines per rebuild. */
function printText(e: WatchEvent, root: string): void {
  // The workspace's own folder is '.', not its absolute path.
  const rel = (p: string) => path.relative(root, p) || '.';
  const out = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  switch (e.type) {
    case 'watch-start': {
      const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
      out(
        `watching ${n(e.files, 'file')} in ${n(e.dirs, 'folder')}${e.polling ? ' (polling)' : ''} — Ctrl-C to stop`,
      );
      return;
    }
    case 'change':
      out(`\nchanged: ${e.paths.map(rel).join(', ')}`);
      return;
    case 'kernel-rebuilt':
      out(`rebuilt ${e.backend} kernel ${e.kernel} (${e.ms} ms)`);
      return;
    case 'step-compiled':
      out(`compiled ${rel(e.project)} (${e.ms} ms)`);
      return;
    case 'diagnostics':
      out(
        `${e.source === 'pipeline' || e.source === 'session' ? '' : `${e.source}: `}${e.message}\nstill watching: fix it and save`,
      );
      return;
    case 'build': {
      const b = e.event;
      if (b.type === 'task-end' && b.report.state === 'failed')
        out(
          `FAILED ${failedTaskLabel(b.report)}: ${b.report.error ?? ''}${b.report.log ? `\n  log: ${b.report.log}` : ''}`,
        );
      if (b.type === 'task-end' && b.report.state === 'skipped')
        out(`skipped ${b.report.id}: ${b.report.error ?? ''}`);
      if (b.type === 'warning') out(`warning: ${b.message}`);
      return;
    }
    case 'build-end': {
      for (const line of rebuildReasons(e)) out(line);
      out(rebuildSummary(e));
      const dirs = [...new Set(e.products.map((p) => rel(path.dirname(p))))];
      if (e.status === 'succeeded' && dirs.length > 0) out(`products: ${dirs.join(', ')}`);
      return;
    }
    case 'note':
      out(`note: ${e.message}`);
      return;
    case 'unchanged':
    case 'build-start':
    case 'idle':
      return;
  }
}

/** Run the same command in a fresh process (a rebuilt native addon cannot be loaded into this one). */
function restartSelf(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    child.on('close', (code) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolve(code ?? EXIT_INTERRUPTED);
    });
  });
}

/** How long a watch session uses only the local cache after the remote failed (doubled per failed retry). */
const REMOTE_RETRY_MS = 60_000;

export async function watchCommand(named: string[], opts: WatchCliOptions): Promise<number> {
  const cwd = workingDir(opts);
  const file = findPipelineFile(cwd, opts.file);
  if (!file) {
    process.stderr.write(`${noPipelineMessage(cwd)}\n`);
    return EXIT_USAGE;
  }
  // Before any step module is imported (the targets' load below may import some): each is stamped for reloads.
  (await import('@pipe/core/lean')).watchStepReloads();
  // Taken once: an edit of `default:` while watching changes what a next `pipe watch` watches.
  const resolved = await targetsOrDefault('watch', named, opts, file);
  if (!resolved.ok) return resolved.code;
  const targets = resolved.targets;
  const core = await import('@pipe/core');
  const jobs = opts.jobs && opts.jobs > 0 ? opts.jobs : Math.max(1, cpus().length);
  const cacheDir = cacheDirOption(opts);
  const force = forceOption(opts.force);
  const params: Record<string, string> = {};
  for (const p of opts.param ?? []) params[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1);
  const abort = new AbortController();
  // The exit code of a build the signal interrupts, as pipe build's: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.
  let interruptedCode = EXIT_INTERRUPTED;
  const onSignal = (sig: NodeJS.Signals) => {
    interruptedCode = sig === 'SIGTERM' ? EXIT_TERMINATED : sig === 'SIGHUP' ? EXIT_HANGUP : EXIT_INTERRUPTED;
    // A closed terminal: stop as for Ctrl-C (the commands of a build, in process groups of their own, would run on).
    if (sig === 'SIGHUP') ignoreClosedTerminal();
    abort.abort();
    interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const root = path.dirname(file);
  let lastStatus: string | undefined;
  const session: NonNullable<Parameters<typeof core.runWatch>[0]['session']> = {
    ...(cacheDir ? { cacheDir } : {}),
    ...(opts.kernels ? { kernels: opts.kernels } : {}),
    ...(force !== undefined ? { force } : {}),
  };
  // The remote cache as `pipe build` has it (flags, environment, the pipeline's remote_cache:), set up again
  // only when the pipeline's setting changes.
  let remoteFor: string | undefined;
  let remote: RemoteSetup | undefined;
  const setRemote = (pipeline: Pipeline): string | undefined => {
    const id = JSON.stringify(pipeline.remoteCache ?? {});
    if (id === remoteFor) return undefined;
    // A watcher keeps going when the remote fails (--remote-cache-required is for builds that must share).
    const resolved = pipelineRemote(
      opts,
      pipeline,
      cacheDir,
      (line) =>
        opts.json ? jsonLine({ event: 'warning', message: line }) : process.stderr.write(`${line}\n`),
      core.workspaceLayout,
      // A remote that failed is tried again at a later rebuild, not given up for the whole session; its return is told.
      {
        required: false,
        retryAfterMs: REMOTE_RETRY_MS,
        onRecovered: (message) =>
          opts.json ? jsonLine({ event: 'note', message }) : process.stderr.write(`note: ${message}\n`),
      },
    );
    if (!resolved.ok) return resolved.message;
    remoteFor = id;
    remote = resolved.remote;
    if (remote) session.cache = remote.cache;
    else delete session.cache;
    return undefined;
  };
  try {
    const end = await core.runWatch({
      targets,
      pipelineFile: file,
      async load() {
        // The pipeline file found at the start, not one looked for again: while it is gone for a moment (a save by
        // rename), a pipe.yaml in a parent folder is another project.
        const loaded = await loadForCommand({ ...opts, file });
        if (!loaded.ok)
          return {
            ok: false,
            message: loaded.message,
            ...(loaded.diagnostics ? { diagnostics: loaded.diagnostics } : {}),
          };
        const remoteProblem = setRemote(loaded.pipeline);
        if (remoteProblem) return { ok: false, message: remoteProblem };
        remote?.cache.retryRemote();
        return {
          ok: true,
          pipeline: loaded.pipeline,
          loadStep: (m) => loaded.registry.load(m),
          ...(loaded.warnings ? { warnings: loaded.warnings } : {}),
        };
      },
      session,
      jobs,
      params,
      locateParam: (target, param, item) => locateParamFor(opts, target, param, item),
      poll: opts.poll ?? false,
      ...(opts.debounce !== undefined ? { debounceMs: opts.debounce } : {}),
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'build-end') lastStatus = e.status;
        // Stopped during the first build: it will not be watching.
        if (e.type === 'watch-start' && abort.signal.aborted) return;
        if (opts.json) printJson(e);
        else printText(e, root);
      },
    });
    if (end.reason === 'restart') {
      if (!opts.json) process.stderr.write(`restarting: ${end.why}\n`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      return await restartSelf();
    }
    // Ctrl-C while idle is how a watch ends (0); during a build it interrupted that build (130, as pipe build).
    return lastStatus === 'interrupted' ? interruptedCode : EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
