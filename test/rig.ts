/**
 * The end-to-end rig: a temp workspace, the real `pipe` command (packages/cli/bin/pipe, which runs bin/pipe.js) spawned
 * in it, and helpers to read its --json events. Blocking commands synchronise through files
 * (a command writes a marker when it starts and waits for a release file), never through sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PIPE_BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../packages/cli/bin/pipe.js',
);
/** The `pipe` command as users run it: the launcher that starts node on PIPE_BIN (packages/cli/bin/pipe). */
export const PIPE_COMMAND = path.resolve(path.dirname(PIPE_BIN), 'pipe');

export interface PipeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface JsonEvent {
  event: string;
  id?: string;
  state?: string;
  status?: string;
  [k: string]: unknown;
}

export class Workspace {
  readonly root: string;

  constructor(files: Record<string, string>) {
    this.root = mkdtempSync(path.join(tmpdir(), 'pipe-e2e-'));
    for (const [rel, content] of Object.entries(files)) this.write(rel, content);
  }

  path(rel: string): string {
    return path.join(this.root, rel);
  }

  write(rel: string, content: string): void {
    mkdirSync(path.dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  remove(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** Start `pipe args...` in the workspace (`env` over the test's, with CI=true; an undefined value unsets). */
  spawn(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
    return this.spawnCommand([PIPE_COMMAND, ...args], env);
  }

  /** Start `pipe args...` in a folder of the workspace (`rel`), as a user in a subfolder would. */
  spawnIn(rel: string, args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
    return this.spawnCommand([PIPE_COMMAND, ...args], env, this.path(rel));
  }

  /** Run `pipe args...` to its end. */
  run(args: string[], env: Record<string, string | undefined> = {}): Promise<PipeRun> {
    return finished(this.spawn(args, env));
  }

  /** Run any command in the workspace to its end (e.g. `node bin/pipe.js`, or pipe through a link), env as spawn's. */
  exec(command: string[], env: Record<string, string | undefined> = {}): Promise<PipeRun> {
    return finished(this.spawnCommand(command, env));
  }

  private spawnCommand(
    [program, ...args]: string[],
    env: Record<string, string | undefined>,
    cwd = this.root,
  ): ChildProcess {
    const full: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...env };
    for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k];
    return spawn(program as string, args, { cwd, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** `pipe build --json` → the ids of tasks by end state, and the build-end event. */
  async build(
    targets: string[],
    extra: string[] = [],
  ): Promise<{ run: PipeRun; ended: Record<string, string[]>; end: JsonEvent | undefined }> {
    const run = await this.run(['build', ...targets, '--json', ...extra]);
    const events = parseEvents(run.stdout);
    const ended: Record<string, string[]> = {};
    for (const e of events) {
      if (e.event !== 'task-end') continue;
      ended[e.state!] ??= [];
      ended[e.state!]!.push(e.id!);
    }
    for (const list of Object.values(ended)) list.sort();
    return { run, ended, end: events.find((e) => e.event === 'build-end') };
  }
}

/** The repository's root (where the shipped pipe.yaml and pipelines/ are). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A temp workspace holding a copy of the project's pipe.yaml and pipelines/ (the shipped Crab data with them). */
export function crabWorkspace(): Workspace {
  const ws = new Workspace({});
  cpSync(path.join(REPO_ROOT, 'pipe.yaml'), ws.path('pipe.yaml'));
  cpSync(path.join(REPO_ROOT, 'pipelines'), ws.path('pipelines'), { recursive: true });
  return ws;
}

/**
 * Make `ws` look held by a live build of this host (`buildId`): a `sleep` of its own holds the lock, not the test
 * process (which started the pipe under test, and which acquireLock would read as its ancestor: one that never lets
 * go). Returns the holder, to kill when done.
 */
export function holdLock(ws: Workspace, buildId: string): ChildProcess {
  const holder = spawn('sleep', ['120'], { stdio: 'ignore' });
  ws.write(
    '.pipe/lock',
    JSON.stringify({ pid: holder.pid, host: hostname(), buildId, startedAt: new Date().toISOString() }),
  );
  return holder;
}

export function parseEvents(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

export function finished(child: ChildProcess): Promise<PipeRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolve once `file` exists (polling the file system: the only channel to the blocked command). */
export async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * argv of a command that writes its pid to `<marker>` when it starts, blocks until `<release>`
 * exists, then writes `content` to its output.
 */
export function blockingCommand(marker: string, release: string, content: string): string[] {
  const script = [
    "const fs=require('fs');",
    // Written whole, then renamed: a waiter that sees the file reads the pid (an empty file read as pid 0 made
    // processEnded test the whole process group, which never ends).
    `fs.writeFileSync(${JSON.stringify(`${marker}.tmp`)}, String(process.pid));`,
    `fs.renameSync(${JSON.stringify(`${marker}.tmp`)}, ${JSON.stringify(marker)});`,
    'const sab=new Int32Array(new SharedArrayBuffer(4));',
    `while(!fs.existsSync(${JSON.stringify(release)})) Atomics.wait(sab,0,0,20);`,
    `fs.writeFileSync(process.argv[1], ${JSON.stringify(content)});`,
  ].join('');
  return ['node', '-e', script, '{outputs.out}'];
}

/** Whether a process is still running (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process has ended within `ms`: a killed child may outlive its parent's exit by a moment on a loaded
 * machine, while one left running (what the tests look for) never ends.
 */
export async function processEnded(pid: number, ms = 5000): Promise<boolean> {
  if (!(Number.isInteger(pid) && pid > 0)) throw new Error(`processEnded: ${pid} is not a process id`);
  for (const t0 = Date.now(); alive(pid) && Date.now() - t0 < ms; )
    await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}
