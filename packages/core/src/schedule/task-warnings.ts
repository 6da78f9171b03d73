/**
 * Warnings a task gives: the `warn` lines its step writes to its log, and those of an up-to-date or restored task's
 * last run, said again by a build that skips it (its record keeps them).
 */
import { readFileSync, statSync } from 'node:fs';
import type { StateData } from '../state/state-file.js';
import type { BuildEvent, ReplayedWarning } from './events.js';

/**
 * The `warn` lines of a task's log (steps write `<level> <message>`; a message's further lines follow as they are).
 * A log that is absent (the step logged nothing) or unreadable has none.
 */
export function stepWarnings(logFile: string): string[] {
  // Most steps log nothing: a stat that finds no file costs a few µs, a read that throws ENOENT ~25 µs (its error).
  if (!statSync(logFile, { throwIfNoEntry: false })) return [];
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('warn ')) {
      if (current) out.push(current.join('\n'));
      current = [line.slice(5)];
    } else if (line.startsWith('info ') || line.startsWith('error ')) {
      // The step's error (and its stack, written on failure by step-worker.ts) is no part of the warning before it.
      if (current) out.push(current.join('\n'));
      current = undefined;
    } else if (current && line !== '') current.push(line);
  }
  if (current) out.push(current.join('\n'));
  return out;
}

/**
 * The warnings an up-to-date task's step gave when it ran, as build events: a rerun that runs nothing still says
 * that a run was left out of the stack, say (the fast path prints the same lines: cli fast-path/record.ts).
 */
export function replayedWarnings(
  id: string,
  warnings: readonly string[] | undefined,
  replayed: ReplayedWarning['replayed'] = 'up to date',
): readonly ReplayedWarning[] {
  // Most tasks warned of nothing: no array made for each of them (10,000 up-to-date tasks per no-op plan).
  if (!warnings?.length) return NO_WARNINGS;
  return warnings.map((text) => ({ id, text, replayed }));
}

const NO_WARNINGS: readonly ReplayedWarning[] = Object.freeze([]);

const REPLAY_HOW: Record<ReplayedWarning['replayed'], string> = {
  'up to date': 'up to date; its last run warned',
  restored: 'restored from the cache; the run that made it warned',
};

/** A replayed warning as a build prints it: `d[23523] (up to date; its last run warned): …`. */
export function replayedWarningText(r: ReplayedWarning): string {
  return `${r.id} (${REPLAY_HOW[r.replayed]}): ${r.text}`;
}

/** The build event of a replayed warning: its text, and its parts for those who group or filter them. */
export function replayEvent(replay: ReplayedWarning): BuildEvent {
  return { type: 'warning', message: replayedWarningText(replay), step: replay };
}

/** What task `id`'s last run warned about, by its record (most records, without warnings, are not parsed for it). */
export function recordedWarningList(state: StateData, id: string): string[] | undefined {
  return state.tasks.mayHave(id, 'warnings') ? state.tasks.get(id)?.warnings : undefined;
}

/** The warnings an up-to-date task `id` replays, from its record (replayedWarnings of recordedWarningList). */
export function recordedWarnings(state: StateData, id: string): readonly ReplayedWarning[] {
  return replayedWarnings(id, recordedWarningList(state, id));
}
