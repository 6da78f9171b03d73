/**
 * Terminal output of a build: a compact progress line on a TTY (done/running/cached, ETA), plain
 * lines when not a TTY or under CI, or one JSON event per line with --json (consumed by watch mode
 * and scripts: build-start, task-start, task-end, warning, note, expanded, build-end; a command refused before it runs
 * writes one `error` event instead, see errorEvent in commands/session.ts).
 */
import { existsSync } from 'node:fs';
import type { BuildEvent, BuildStatus, Plan, TaskReport } from '@pipe/core';
import { describeReasons, targetOfTaskId } from '@pipe/core/lean';
import { countsText } from './counts-text.js';
import { idRange, ReplayedWarnings } from './replayed-warnings.js';
import { upToDateLine } from './summary.js';

export type OutputMode = 'tty' | 'plain' | 'json';

export function outputMode(json: boolean | undefined): OutputMode {
  if (json) return 'json';
  return process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain';
}

/**
 * After a hangup the terminal is gone: writing to it fails (EIO), which must not end the process before it has
 * cancelled its tasks and recorded the build.
 */
export function ignoreClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

function jsonLine(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/**
 * A task as a failure line names it: with its job id when it ran as a Slurm job (or array element), so that
 * `scontrol show job`, `sacct` and the cluster's own logs can be searched for it.
 */
export function failedTaskLabel(r: Pick<TaskReport, 'id' | 'jobId' | 'executor'>): string {
  if (!r.jobId) return r.id;
  return `${r.id} (${r.executor === 'slurm' ? 'Slurm job' : 'job'} ${r.jobId})`;
}

/** The fastest the TTY progress line is redrawn. */
const PROGRESS_INTERVAL_MS = 100;
/** While tasks run and none settles (a survey's stack: minutes), the line is redrawn this often: the ETA counts down. */
const TICK_MS = 1000;
/** A task running this long is named on the progress line, with its time so far. */
const NAME_RUNNING_AFTER_MS = 5000;

/** Alike warnings of a fan-out's tasks said one by one for this many tasks; the others are counted, said at the end. */
const LIVE_ALIKE_SHOWN = 5;

/** A target's tasks as the ETA sees them: how many there are, have settled, and what those that ran took. */
interface TargetTimes {
  known: number;
  settled: number;
  ranMs: number;
  ranCount: number;
}

export class BuildOutput {
  private total = 0;
  private done = 0;
  private running = 0;
  private cached = 0;
  /** Per target: a stack or an estimator takes nothing like a per-run reduction, so one average does not do. */
  private readonly times = new Map<string, TargetTimes>();
  /** Running tasks (action run) and when each started. */
  private readonly runningSince = new Map<string, number>();
  /** Dynamic targets whose tasks are not known yet: their time is not in the ETA. */
  private readonly unexpanded = new Set<string>();
  private tick: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly started = Date.now();
  private lineShown = false;
  private lastDrawn = 0;
  /** A redraw deferred by the rate limit (progress()). */
  private redraw: NodeJS.Timeout | undefined;
  /**
   * Warnings of running tasks by target and text: a survey's 200 runs that all warn the same print it 5 times and a
   * count, not 200 lines (each task's log in `.pipe/logs/<build>/` keeps its own).
   */
  private readonly alike = new Map<string, { target: string; body: string; shown: number; held: string[] }>();
  /** Alike warnings of up-to-date or restored tasks, said as one line. */
  private readonly replayed = new ReplayedWarnings((m) => this.printNow(`warning: ${m}`));

  constructor(
    private readonly mode: OutputMode,
    private readonly jobs: number,
  ) {}

  buildStart(buildId: string, targets: string[], plan: Plan, kernels?: string): void {
    this.total = plan.tasks.size;
    for (const id of plan.tasks.keys()) this.timesOf(targetOfTaskId(id)).known++;
    for (const p of plan.pending) this.unexpanded.add(p.target);
    const counts: Record<string, number> = {};
    for (const { decision } of plan.tasks.values())
      counts[decision.action] = (counts[decision.action] ?? 0) + 1;
    if (this.mode === 'json') {
      jsonLine({
        event: 'build-start',
        buildId,
        targets,
        tasks: this.total,
        plan: counts,
        ...(kernels ? { kernels } : {}),
      });
      return;
    }
    // One header line: what is being built and with which kernel backend (also in every product's provenance).
    const toRun = (counts['run'] ?? 0) + (counts['blocked'] ?? 0);
    if (toRun > 0 || (counts['restore'] ?? 0) > 0) {
      this.print(
        `build ${buildId}: ${targets.join(' ')} — ${this.total} task${this.total === 1 ? '' : 's'} planned${fanOuts(plan)}${kernels ? `, kernels: ${kernels}` : ''}`,
      );
    }
  }

  event(e: BuildEvent): void {
    if (this.mode === 'json') return this.json(e);
    switch (e.type) {
      case 'task-start':
        if (e.action === 'run') {
          this.running++;
          this.runningSince.set(e.id, Date.now());
          this.startTicking();
        }
        break;
      case 'task-end':
        this.taskEnd(e.report);
        break;
      case 'expanded':
        this.total += e.tasks;
        this.timesOf(e.target).known += e.tasks;
        this.unexpanded.delete(e.target);
        this.print(`expanded ${e.target}: ${e.tasks} task${e.tasks === 1 ? '' : 's'}`);
        break;
      case 'warning':
        if (e.step && !e.step.replayed && this.holdAlike(e.step)) break;
        this.replayed.add(e.message, e.step);
        break;
    }
    this.progress();
  }
  /** True when the warning is held: a fan-out's task warning what LIVE_ALIKE_SHOWN tasks of its target warned. */
  private holdAlike(from: { id: string; text: string }): boolean {
    const target = targetOfTaskId(from.id);
    if (target === from.id) return false;
    const body = from.text;
    const key = `${target}\0${body}`;
    let group = this.alike.get(key);
    if (!group) {
      group = { target, body, shown: 0, held: [] };
      this.alike.set(key, group);
    }
    if (group.shown < LIVE_ALIKE_SHOWN) {
      group.shown++;
      return false;
    }
    group.held.push(from.id);
    return true;
  }

  /** The held alike warnings, a line per text. */
  private sayHeld(): void {
    for (const g of this.alike.values()) {
      if (g.held.length === 0) continue;
      const n = g.held.length;
      this.print(
        `warning: ${n} more task${n === 1 ? '' : 's'} of ${g.target} (${idRange(g.held)}) warned the same: ${g.body}`,
      );
      g.held = [];
    }
  }

  private json(e: BuildEvent): void {
    jsonLine(buildEventJson(e));
  }

  /**
   * A note of the build (a took-over lock, retired outputs, a cache eviction): on stderr as ever, and under --json an
   * event of its own too, for the tool that reads the events.
   */
  note(message: string): void {
    if (this.mode === 'json') jsonLine({ event: 'note', message });
    this.print(`note: ${message}`);
  }

  private taskEnd(r: TaskReport): void {
    this.done++;
    if (r.state === 'ran' || r.state === 'failed' || r.state === 'cancelled')
      this.running = Math.max(0, this.running - 1);
    this.runningSince.delete(r.id);
    this.saidMinutes.delete(r.id);
    const times = this.timesOf(targetOfTaskId(r.id));
    times.settled++;
    if (r.state === 'ran') {
      times.ranCount++;
      times.ranMs += r.ms ?? 0;
      // Taken from a dead build's Slurm job (its time is that job's): not run again, and said so.
      const taken = r.adoptedFrom
        ? `, by Slurm job ${r.jobId ?? '?'} of build ${r.adoptedFrom}, taken from its result`
        : '';
      this.print(
        `ran       ${r.id} (${r.ms ?? 0} ms${r.attempts ? `, ${r.attempts} attempts` : ''}${taken})${r.reasons?.length ? ` — ${describeReasons(r.reasons)}` : ''}`,
      );
    } else if (r.state === 'restored') {
      this.cached++;
      // Why, when the workspace is the reason: an output deleted, or edited (the edit is replaced, as make would
      // rebuild over it; a user should not learn that from the file).
      const here =
        r.reasons?.filter((x) => x.type === 'output-missing' || x.type === 'output-modified') ?? [];
      // Not flushing alike warnings held before it: a fan-out's restored runs that all warned get one line.
      this.printNow(`restored  ${r.id} from cache${here.length ? ` — ${describeReasons(here)}` : ''}`);
    } else if (r.state === 'up-to-date') {
      this.cached++;
    } else if (r.state === 'failed') {
      // No log line for a task that never wrote one (e.g. a job sbatch refused).
      this.print(
        `FAILED    ${failedTaskLabel(r)}: ${r.error ?? ''}${r.log && existsSync(r.log) ? `\n          log: ${r.log}` : ''}`,
      );
    } else if (r.state === 'skipped') {
      this.print(`skipped   ${r.id}: ${r.error ?? ''}`);
    }
  }

  private print(line: string): void {
    this.replayed.flush();
    this.printNow(line);
  }

  private printNow(line: string): void {
    if (this.mode === 'tty' && this.lineShown) process.stderr.write('\r\x1b[K');
    this.lineShown = false;
    process.stderr.write(`${line}\n`);
  }

  /**
   * The progress line, redrawn at most every PROGRESS_INTERVAL_MS: tasks settle in bursts (10,000 up-to-date tasks,
   * one event each), where one terminal write per event costs more than the build's own work. A deferred redraw
   * shows the last counts.
   */
  private progress(): void {
    if (this.mode !== 'tty') return;
    const since = Date.now() - this.lastDrawn;
    if (this.lineShown && since < PROGRESS_INTERVAL_MS) {
      this.redraw ??= setTimeout(() => {
        this.redraw = undefined;
        this.draw();
      }, PROGRESS_INTERVAL_MS - since).unref();
      return;
    }
    this.draw();
  }

  private draw(): void {
    if (this.closed) return;
    process.stderr.write(
      `\r\x1b[K[${this.done}/${this.total}] ${this.running} running, ${this.cached} cached${this.eta()}${this.longest()}`,
    );
    this.lineShown = true;
    this.lastDrawn = Date.now();
  }

  private timesOf(target: string): TargetTimes {
    let t = this.times.get(target);
    if (!t) {
      t = { known: 0, settled: 0, ranMs: 0, ranCount: 0 };
      this.times.set(target, t);
    }
    return t;
  }

  /**
   * ` ETA n s` from each target's own average over the tasks left; ` ETA ≥ n s` when part of what is left has no
   * measure yet (a target none of whose tasks ran, one not expanded, a task running past its target's average).
   */
  private eta(): string {
    const now = Date.now();
    let ms = 0;
    let atLeast = this.unexpanded.size > 0;
    const runningOf = new Map<string, number>();
    for (const [id, since] of this.runningSince) {
      const target = targetOfTaskId(id);
      runningOf.set(target, (runningOf.get(target) ?? 0) + 1);
      const t = this.times.get(target);
      const avg = t && t.ranCount > 0 ? t.ranMs / t.ranCount : undefined;
      if (avg === undefined || now - since > avg) atLeast = true;
      else ms += avg - (now - since);
    }
    for (const [target, t] of this.times) {
      const waiting = t.known - t.settled - (runningOf.get(target) ?? 0);
      if (waiting <= 0) continue;
      if (t.ranCount === 0) atLeast = true;
      else ms += (t.ranMs / t.ranCount) * waiting;
    }
    const s = Math.ceil(ms / Math.max(1, this.jobs) / 1000);
    if (s === 0) return '';
    return ` ETA ${atLeast ? '≥ ' : ''}${s} s`;
  }

  /** The task running longest, once past NAME_RUNNING_AFTER_MS: what a long wait is spent on. */
  private longest(): string {
    let first: [string, number] | undefined;
    for (const entry of this.runningSince) if (!first || entry[1] < first[1]) first = entry;
    if (!first) return '';
    const ms = Date.now() - first[1];
    return ms >= NAME_RUNNING_AFTER_MS ? ` — ${first[0]} running for ${Math.floor(ms / 1000)} s` : '';
  }

  /**
   * While a task runs, every TICK_MS: on a TTY the line is redrawn, so that a long one's line moves; in plain output
   * (a log file, CI, nohup) a task running 1, 2, 4, 8, … minutes is said to be, so a long stack is not silence.
   */
  private startTicking(): void {
    if (this.mode === 'json' || this.tick) return;
    this.tick = setInterval(() => {
      if (this.runningSince.size === 0) {
        clearInterval(this.tick);
        this.tick = undefined;
        return;
      }
      if (this.mode === 'tty') this.draw();
      else this.sayLongRunning();
    }, TICK_MS).unref();
  }

  /** Minutes a running task was last said to have run (plain output). */
  private readonly saidMinutes = new Map<string, number>();

  private sayLongRunning(): void {
    const now = Date.now();
    for (const [id, since] of this.runningSince) {
      const minutes = Math.floor((now - since) / 60_000);
      const said = this.saidMinutes.get(id) ?? 0;
      // 1, 2, 4, 8, … minutes: a line per doubling.
      if (minutes < 1 || minutes < 2 * said) continue;
      this.saidMinutes.set(id, minutes);
      this.print(`running   ${id} (${minutes} min so far)`);
    }
  }

  /** The closing line. A build with nothing to do wrote no record: its id is not shown (`pipe log` would not know it). */
  buildEnd(buildId: string, status: BuildStatus, reports: Map<string, TaskReport>, recorded = true): void {
    const counts: Record<string, number> = {};
    for (const r of reports.values()) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const ms = Date.now() - this.started;
    clearTimeout(this.redraw);
    this.redraw = undefined;
    clearInterval(this.tick);
    this.tick = undefined;
    this.closed = true;
    if (this.mode === 'json') return jsonLine({ event: 'build-end', buildId, status, counts, ms, recorded });
    this.sayHeld();
    this.replayed.flush();
    if (this.mode === 'tty' && this.lineShown) process.stderr.write('\r\x1b[K');
    if (!recorded) {
      process.stderr.write(`${upToDateLine(reports.size, ms)}\n`);
      return;
    }
    // The counts as pipe log and pipe status say them (a task the stop found waiting is 'not started').
    const parts = countsText(counts, reports.values());
    process.stderr.write(
      `build ${buildId} ${status}: ${parts || 'nothing to do'} (${(ms / 1000).toFixed(2)} s)\n`,
    );
  }
}

/** A build event as `--json` gives it, one shape for `pipe build` and `pipe watch`. */
export function buildEventJson(e: BuildEvent): Record<string, unknown> {
  switch (e.type) {
    case 'task-start':
      return { event: 'task-start', id: e.id, action: e.action, executor: e.executor, reasons: e.reasons };
    case 'task-end': {
      const r = e.report;
      return {
        event: 'task-end',
        id: r.id,
        state: r.state,
        key: r.key,
        reasons: r.reasons,
        ms: r.ms,
        error: r.error,
        log: r.log,
        ...(r.jobId ? { jobId: r.jobId } : {}),
        ...(r.attempts ? { attempts: r.attempts } : {}),
        // A restored task: where its products were made (the cache entry's provenance).
        ...(r.madeIn ? { madeIn: r.madeIn } : {}),
      };
    }
    case 'expanded':
      return { event: 'expanded', target: e.target, tasks: e.tasks };
    case 'warning':
      // A replay names its task, so that a tool can tell whose warning it is without parsing the message.
      return {
        event: 'warning',
        message: e.message,
        ...(e.step?.replayed ? { task: e.step.id, replayed: e.step.replayed } : {}),
      };
  }
}

/** `, more once observations lists its items`: a fan-out whose tasks are not known yet (the total grows). */
function fanOuts(plan: Plan): string {
  const waiting = new Set(plan.pending.map((p) => p.target));
  const after = [...new Set(plan.pending.map((p) => p.after))].filter((t) => !waiting.has(t));
  if (after.length === 0) return '';
  return `, more once ${after.join(' and ')} list${after.length === 1 ? 's' : ''} ${after.length === 1 ? 'its' : 'their'} items`;
}
