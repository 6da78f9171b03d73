/**
 * Running a step task inside a worker thread of the local executor (see pool-worker.ts): imports the step module
 * and runs its StepDefinition, so kernels never run on the main thread. The engine terminates the thread to cancel.
 */
import { appendFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeDirsSync } from '@pipe/cache/make-dirs';
import type { StepDefinition, StepResult } from '../model/step.js';
import type { TaskItem } from '../model/types.js';
import { moduleDefault, runnableModule } from '../steps/bundled.js';
import { withTaskEnv } from './step-env.js';
import { importErrorMessage } from './step-error.js';
import { type AskedNames, watchNames, withUndeclaredNames } from './step-names.js';

export interface StepPayload {
  module: string;
  params: Record<string, unknown>;
  inputs: Record<string, string[]>;
  outputs: Record<string, string>;
  item?: TaskItem;
  env: Record<string, string>;
  kernelBackend: string;
  logFile: string;
}

/** Step modules this worker has imported, by path. */
const modules = new Map<string, Promise<{ default?: StepDefinition }>>();

/** Import a step module, and what its `warm` loads, once per thread (ahead of its tasks, or at its first task). */
export function importStep(module: string): Promise<{ default?: StepDefinition }> {
  let loading = modules.get(module);
  if (!loading) {
    loading = (import(pathToFileURL(runnableModule(module)).href) as Promise<{ default?: unknown }>).then(
      async (mod) => {
        const def = moduleDefault(mod) as StepDefinition | undefined;
        await def?.warm?.();
        return { default: def };
      },
    );
    modules.set(module, loading);
  }
  return loading;
}

export default async function runStep(payload: StepPayload): Promise<StepResult | undefined> {
  let logOpen = false;
  const write = (level: string, msg: string) => {
    // Created on the first line: a step that logs nothing leaves no file behind.
    if (!logOpen) makeDirsSync(path.dirname(payload.logFile));
    logOpen = true;
    appendFileSync(payload.logFile, `${level} ${msg}\n`);
  };
  let def: StepDefinition | undefined;
  try {
    def = (await importStep(payload.module)).default;
    if (!def || typeof def.run !== 'function')
      throw new Error(`${payload.module} does not default-export a step`);
  } catch (thrown) {
    // A module that does not parse (saved mid-edit, in a watch): node's error says what, not where.
    const error =
      thrown instanceof Error && thrown.name === 'SyntaxError'
        ? new Error(importErrorMessage(payload.module, thrown.message))
        : thrown;
    // The failure message names the log: a module that does not import says so there too.
    try {
      write('error', error instanceof Error ? (error.stack ?? error.message) : String(error));
    } catch {
      // A log that cannot be written must not hide the step's own error.
    }
    throw error;
  }
  const restoreEnv = withTaskEnv(payload.env);
  try {
    return await runDefinition(def, payload, write);
  } catch (error) {
    // The failure message names the log: the error and its stack are kept there, with what the step logged.
    const e = error instanceof Error ? error : new Error(String(error));
    try {
      write('error', e.stack ?? e.message);
    } catch {
      // A log that cannot be written must not hide the step's own error.
    }
    throw error;
  } finally {
    restoreEnv();
  }
}

async function runDefinition(
  def: StepDefinition,
  payload: StepPayload,
  write: (level: string, msg: string) => void,
): Promise<StepResult | undefined> {
  // Params were validated and normalised when the pipeline was loaded (that value is what the key hashes);
  // validating again here would re-parse normalised values, which a step need not accept.
  const params = payload.params;
  const asked: AskedNames = new Map();
  let result: Awaited<ReturnType<StepDefinition['run']>>;
  try {
    result = await def.run({
      params,
      inputs: watchNames(payload.inputs, 'inputs', asked),
      outputs: watchNames(payload.outputs, 'outputs', asked),
      ...(payload.item ? { item: payload.item } : {}),
      env: payload.env,
      kernelBackend: payload.kernelBackend,
      log: { info: (m) => write('info', m), warn: (m) => write('warn', m) },
      signal: new AbortController().signal,
    });
  } catch (error) {
    throw withUndeclaredNames(error, asked, payload);
  }
  await settleFileOperations(write, Object.values(payload.outputs));
  // Items enter the keys of the tasks they fan out to and travel in cache manifests: refuse a malformed list here,
  // as this task's failure, rather than later in the planner or the cache.
  if (result?.items !== undefined) {
    // Imported here, by the few steps that emit items (a module of its own, without the glob libraries).
    const { emittedItemsProblem } = await import('../graph/item-checks.js');
    const problem = emittedItemsProblem(result.items);
    if (problem) throw new Error(problem);
  }
  return result
    ? {
        ...(result.items ? { items: result.items } : {}),
        ...(result.metadata ? { metadata: result.metadata } : {}),
      }
    : undefined;
}

/** File system requests in flight in this thread (node's names for them in getActiveResourcesInfo). */
const FILE_OPERATIONS = new Set(['FSReqCallback', 'FSReqPromise', 'FileHandleCloseReq']);
const pendingFileOperations = (): number =>
  process.getActiveResourcesInfo().filter((r) => FILE_OPERATIONS.has(r)).length;

/**
 * A step left a file operation that still runs (blocked: a FIFO nobody writes, a stalled network file system): the
 * thread cannot be reused, and node cannot exit before the operation ends (its exit joins libuv's threads).
 */
export class ThreadBlockedError extends Error {
  readonly blocksThread = true;
}

/** How long a step's file operations still running when it returned are waited for. */
const SETTLE_MS = 10_000;

/**
 * A step whose `run` returned while writes it started were still going (a stream not awaited to 'finish', an
 * fs.promises call not awaited): its outputs would be hashed, stored and published half-written, and the cache
 * would serve the truncated bytes for good. Its file operations are waited for (a warning says so when an output
 * changed meanwhile); still running after SETTLE_MS, the task fails.
 */
async function settleFileOperations(
  write: (level: string, msg: string) => void,
  outputs: readonly string[],
): Promise<void> {
  // One turn of the event loop first. A stream opens its file on the next tick after `run` returned: by then it
  // has. And a request whose completion resumed the step (its last awaited read) is still listed until its callback
  // has returned: a tick is too soon, and it counted as left running (the stack step was warned about).
  await new Promise((resolve) => setImmediate(resolve));
  const pending = pendingFileOperations();
  if (pending === 0) return;
  // What the outputs are now: a step told of its writes only when one of its outputs changed while they ended (a
  // read or a close it left running, of its own inputs or of pipe's code, is no matter to its outputs).
  const stampOf = (file: string) => {
    const st = statSync(file, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : '';
  };
  const before = outputs.map(stampOf);
  const deadline = Date.now() + SETTLE_MS;
  while (pendingFileOperations() > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const left = pendingFileOperations();
  const what = `the step returned while ${pending} file operation${pending === 1 ? '' : 's'} it started ${pending === 1 ? 'was' : 'were'} still running (a write stream not awaited to 'finish', an fs.promises call not awaited)`;
  if (left > 0)
    throw new ThreadBlockedError(
      `${what}, and ${left} still ${left === 1 ? 'is' : 'are'} after ${SETTLE_MS / 1000} s: its outputs may be incomplete, so none is kept; await them before returning`,
    );
  if (outputs.some((file, i) => stampOf(file) !== before[i]))
    write('warn', `${what}: pipe waited for them before taking its outputs; await them before returning`);
}
