/**
 * Driving `pipe watch --json` from a test: the process's event stream, read line by line, and
 * waits on events (never on time). Each wait starts at a cursor, so a test reads the stream in order.
 */
import type { ChildProcess } from 'node:child_process';
import type { JsonEvent, Workspace } from './rig.js';

export class WatchProcess {
  readonly events: JsonEvent[] = [];
  stderr = '';
  private cursor = 0;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as JsonEvent);
        nl = buffer.indexOf('\n');
      }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => {
        this.wake();
        resolve(code);
      }),
    );
  }

  static start(ws: Workspace, args: string[], env: Record<string, string> = {}): WatchProcess {
    return new WatchProcess(ws.spawn(['watch', ...args, '--json'], env));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next event (from the cursor on) that matches; moves the cursor past it. */
  async next(match: (e: JsonEvent) => boolean, what: string, timeoutMs = 120_000): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        if (match(this.events[i]!)) {
          this.cursor = i + 1;
          return this.events[i]!;
        }
      }
      if (!this.alive) throw new Error(`pipe watch exited while waiting for ${what}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}\n${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  event(name: string, timeoutMs?: number): Promise<JsonEvent> {
    return this.next((e) => e.event === name, name, timeoutMs);
  }

  /** Position in the stream, to look at what happened between two points. */
  mark(): number {
    return this.cursor;
  }

  between(from: number, to = this.cursor): JsonEvent[] {
    return this.events.slice(from, to);
  }

  /**
   * Resolves once the watch has been idle for `quietMs` (its last event 'idle', none after it): a late file event (an
   * editor's rename seen twice) may start one more, up-to-date build, which a stop would interrupt (exit 130).
   */
  async settled(quietMs = 500, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.events.length;
      if (this.events[seen - 1]?.event === 'idle') {
        await new Promise((r) => setTimeout(r, quietMs));
        if (this.events.length === seen) return;
        continue;
      }
      if (!this.alive) throw new Error(`pipe watch exited while waiting for it to settle\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for pipe watch to settle');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Wait for the next build to end; returns it with the ids of the tasks that ran. */
  async buildEnd(timeoutMs?: number): Promise<JsonEvent & { ran: string[]; status: string }> {
    return (await this.event('build-end', timeoutMs)) as JsonEvent & { ran: string[]; status: string };
  }

  /** The first build's end; a diagnostic before it (a broken setup) fails at once with its message. */
  async initialBuild(timeoutMs?: number): Promise<JsonEvent & { ran: string[]; status: string }> {
    const e = await this.next(
      (x) => x.event === 'build-end' || x.event === 'diagnostics',
      'the first build',
      timeoutMs,
    );
    if (e.event === 'diagnostics') throw new Error(`pipe watch could not build: ${String(e.message)}`);
    return e as JsonEvent & { ran: string[]; status: string };
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }
}
