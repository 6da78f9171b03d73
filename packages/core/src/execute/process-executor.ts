/**
 * The process executor: runs `command` steps as child processes from an argv array (no shell),
 * with only PATH/HOME/TMPDIR, the locale (LANG, LC_*) and the declared env, output to the task's log file. Each child
 * leads its own process group so that cancelling, or a task outliving its `resources.time`, kills whatever
 * it spawned; and a command that exits while processes it started still run fails, once they are stopped.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import {
  ArgvError,
  type ExecEvent,
  type ExecOutcome,
  type ExecRequest,
  type Executor,
  expandArgv,
  refused,
  spawnErrorMessage,
  timeLimit,
} from './executor.js';
import { forgetCommand, recordCommand } from './orphans.js';
import { stopLeftovers } from './process-group.js';
import { passedEnvNames } from './step-env.js';

/** Time between SIGTERM and SIGKILL when cancelling or stopping at the time limit. */
const KILL_GRACE_MS = 2000;
/** How long what a command started may take to end after the command itself exited. */
const LINGER_GRACE_MS = 1000;

/**
 * A command's environment: PATH/HOME/TMPDIR, the locale (LANG, LC_ALL, the LC_ categories: step-env.ts),
 * `PIPE_CPUS` (the cpus its target asks for, 1 by default: size a thread pool with it), and its declared `env:`. Only
 * the declared ones enter the key.
 */
export function taskEnv(declared: Record<string, string>, cpus?: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of passedEnvNames()) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  env.PIPE_CPUS = String(cpus ?? 1);
  return { ...env, ...declared };
}

function runOne(req: ExecRequest, onEvent: (e: ExecEvent) => void, signal: AbortSignal): Promise<void> {
  if (req.work.kind !== 'command') {
    onEvent(refused(req.id, 'the process executor runs command steps only'));
    return Promise.resolve();
  }
  const limit = timeLimit(req.resources);
  if (!limit.ok) {
    onEvent(refused(req.id, `resources.time: ${limit.message}`));
    return Promise.resolve();
  }
  let argv: string[];
  try {
    argv = expandArgv(req.work.argv, req);
  } catch (error) {
    if (!(error instanceof ArgvError)) throw error;
    onEvent(refused(req.id, error.message));
    return Promise.resolve();
  }
  const [program, ...args] = argv;
  makeDirsSync(path.dirname(req.logFile));
  const log = openSync(req.logFile, 'a');
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ExecOutcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', terminate);
      closeSync(log);
      onEvent({ type: 'ended', id: req.id, outcome });
      resolve();
    };
    if (signal.aborted) return finish({ ok: false, failure: { type: 'cancelled' } });
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(program!, args, {
        cwd: req.cwd,
        env: taskEnv(req.env, req.resources?.cpus),
        stdio: ['ignore', log, log],
        detached: true,
      });
    } catch (error) {
      // Refused before a process exists (E2BIG: the arguments outgrow the system's limit).
      return finish({
        ok: false,
        failure: {
          type: 'spawn-error',
          message: spawnErrorMessage(program!, error as NodeJS.ErrnoException, args),
        },
      });
    }
    let killTimer: NodeJS.Timeout | undefined;
    let limitTimer: NodeJS.Timeout | undefined;
    let timedOut = false;
    function terminate() {
      if (child.pid === undefined || killTimer) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, KILL_GRACE_MS);
      killTimer.unref();
    }
    signal.addEventListener('abort', terminate, { once: true });
    child.once('spawn', () => {
      if (child.pid !== undefined) recordCommand(req.logFile, child.pid);
      if (limit.value)
        limitTimer = setTimeout(() => {
          timedOut = true;
          terminate();
        }, limit.value.seconds * 1000);
      onEvent({ type: 'started', id: req.id });
    });
    child.once('error', (error) =>
      finish({
        ok: false,
        failure: { type: 'spawn-error', message: spawnErrorMessage(program!, error, args) },
      }),
    );
    child.once('close', async (code, sig) => {
      clearTimeout(limitTimer);
      // The group must be empty before the task ends: what the command left running could still write its outputs.
      const stopNow = signal.aborted || timedOut;
      const leftovers =
        child.pid === undefined
          ? { found: [], unstopped: [] }
          : await stopLeftovers(child.pid, { graceMs: LINGER_GRACE_MS, killGraceMs: KILL_GRACE_MS }, stopNow);
      clearTimeout(killTimer);
      forgetCommand(req.logFile);
      if (signal.aborted) return finish({ ok: false, failure: { type: 'cancelled' } });
      if (timedOut && limit.value)
        return finish({ ok: false, failure: { type: 'timed-out', ...limit.value } });
      if (sig) return finish({ ok: false, failure: { type: 'killed', signal: sig } });
      if (code !== 0) return finish({ ok: false, failure: { type: 'exit-non-zero', exitCode: code ?? -1 } });
      if (leftovers.found.length > 0)
        return finish({
          ok: false,
          failure: {
            type: 'left-running',
            processes: leftovers.found.map((m) => `${m.pid} ${m.command}`),
            graceMs: LINGER_GRACE_MS,
            ...(leftovers.unstopped.length > 0
              ? { unstopped: leftovers.unstopped.map((m) => `${m.pid} ${m.command}`) }
              : {}),
          },
        });
      finish({ ok: true });
    });
  });
}

export function createProcessExecutor(): Executor {
  return {
    name: 'process',
    async submit(batch, onEvent, signal) {
      await Promise.all(batch.map((req) => runOne(req, onEvent, signal)));
    },
    async close() {},
  };
}
