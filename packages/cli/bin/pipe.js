#!/usr/bin/env node
import { statSync } from 'node:fs';

// bin/pipe started node without NODE_EXTRA_CA_CERTS (see there): it goes back into the environment pipe's children
// inherit, and the file node did not load is recorded for fetch's trust in pipe's threads (packages/cache deferred-ca.ts).
const deferredCa = process.env.PIPE_DEFERRED_EXTRA_CA_CERTS;
if (deferredCa !== undefined) {
  delete process.env.PIPE_DEFERRED_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  globalThis[Symbol.for('pipe.deferredExtraCaCerts')] = deferredCa;
}

// `pipe build … | head` closes our stdout early: the build must still finish and record its state, so a
// closed pipe only silences the output. Another write error (a full disk: `pipe log > file` with ENOSPC) does not
// stop the build either; the command then fails, saying why on the other stream.
let outputError;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') outputError ??= { name: stream === process.stdout ? 'stdout' : 'stderr', error };
  });
}
/** The exit code once the output's fate is known: a command whose output was lost is not a success. */
function withOutputError(code) {
  if (!outputError || code !== 0) return code;
  const other = outputError.name === 'stdout' ? process.stderr : process.stdout;
  if (!other.destroyed) other.write(`pipe: could not write to ${outputError.name}: ${outputError.error.message}\n`);
  return 1;
}
// A write that failed after the command's end was decided (a file stream reports its error a tick later).
process.on('exit', (code) => {
  if (code === 0 && outputError) process.exitCode = withOutputError(0);
});

/**
 * The bundle (dist/bundle, made by bundle.mjs at `npm run build`) loads faster than ~80 modules; it is used
 * only when newer than the compiled packages it contains and the installed dependencies, so that a
 * package rebuilt with `tsc -b` alone never runs stale code (then the compiled modules are loaded instead).
 */
function bundleIsFresh() {
  const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
  const bundled = mtime('../dist/bundle/main.js');
  if (bundled === undefined) return false;
  for (const rel of [
    '../dist/.tsbuildinfo',
    '../../core/dist/.tsbuildinfo',
    '../../cache/dist/.tsbuildinfo',
    '../../../node_modules/.package-lock.json',
  ]) {
    const t = mtime(rel);
    if (t !== undefined && t > bundled) return false;
  }
  return true;
}

/** Whether the command line is a build that may run steps on this machine's thread pool (a guess: a miss costs an idle thread). */
function buildsSteps(argv) {
  const args = argv.slice(2);
  return args.includes('build') && !args.some((a) => a === '--dry-run' || a === '-n' || a === '--help' || a === '-h');
}

/**
 * A step left one of pipe's threads blocked in a file operation (a FIFO nobody writes; core's blocked-thread.ts):
 * node's exit waits for it, maybe for ever. The build is recorded by now: when the threads have not ended within
 * BLOCKED_WAIT_MS and the output is written, the process ends itself with SIGKILL, the one way out that does not
 * wait (its status is then 137, not `code`).
 */
const BLOCKED_WAIT_MS = 5000;
function endBlocked(code, threads) {
  const ended = Promise.all(threads).then(() => true);
  const waited = new Promise((resolve) => setTimeout(resolve, BLOCKED_WAIT_MS, false).unref());
  // A reader that went away never drains: 2 s at most.
  const flushed = (stream) =>
    new Promise((resolve) => {
      if (stream.writableLength === 0) return resolve();
      stream.once('drain', resolve);
      setTimeout(resolve, 2000).unref();
    });
  Promise.race([ended, waited]).then(async (done) => {
    if (done) return;
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    const note = `pipe: a step left a file operation blocked in its thread ${BLOCKED_WAIT_MS / 1000} s after the build ended, and node cannot exit while it is: pipe ends itself (SIGKILL, exit status 137 instead of ${code}); the build is recorded\n`;
    process.stderr.write(note, () => process.kill(process.pid, 'SIGKILL'));
  });
}

/** Resources that remain once a command is done and hold nothing pipe still needs (see main's end below). */
const ONLY_TEARDOWN = new Set(['PipeWrap', 'TTYWrap', 'MessagePort']);

const dist = bundleIsFresh()
  ? { fast: '../dist/bundle/fast-path.js', main: '../dist/bundle/main.js' }
  : { fast: '../dist/fast-path/entry.js', main: '../dist/main.js' };

// An up-to-date `pipe build`/`pipe plan` is answered from its no-op snapshot before anything heavy loads
// (PIPE_FAST_PATH=0 turns that off); any other command, or any change, takes the full path.
const fastPath = process.env.PIPE_FAST_PATH === '0' ? undefined : await import(dist.fast);
const fast =
  fastPath === undefined
    ? { code: undefined }
    : fastPath.tryFastPath(process.argv, {
        env: process.env,
        cwd: process.cwd(),
        startedAt: performance.timeOrigin,
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
      });

if (fast.code !== undefined) {
  process.exitCode = fast.code;
} else {
  // A build's first step thread boots now, on another core, while the engine loads (core's execute/early-thread.ts).
  // It first checks, meanwhile, what the declined no-op check left for the full path's hint (fast-path/stamp-job.ts).
  if (buildsSteps(process.argv)) {
    const early = await import('@pipe/core/early-thread');
    early.bootEarlyPoolThread();
    fastPath?.lendThread((message) => early.postToEarlyPoolThread(message));
  }
  const { main } = await import(dist.main);
  main(process.argv).then(
    (done) => {
      const code = withOutputError(done);
      process.exitCode = code;
      const blocked = globalThis[Symbol.for('pipe.blockedThreads')];
      if (blocked) return endBlocked(code, blocked);
      // Done. What may still hold node is the step threads' teardown (their isolates freed, ~10 ms) and node's
      // own: when nothing else is pending — no socket, timer or file operation, and stdout and stderr have written
      // all they were given (a pipe's reader may lag) — exit now; otherwise node ends as usual, once all is done.
      setImmediate(() => {
        const flushed = process.stdout.writableLength === 0 && process.stderr.writableLength === 0;
        if (flushed && process.getActiveResourcesInfo().every((r) => ONLY_TEARDOWN.has(r))) process.exit(code);
      });
    },
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 70;
    },
  );
}
