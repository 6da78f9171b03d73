/**
 * Warnings of up-to-date or restored tasks, said again on each build (core's replayedWarnings): a fan-out whose runs
 * all warned alike (every run of a survey's 21 on one exclusion mask) is one line, not 21 lines of the same text.
 * Grouped by the event's parts (task, how it was skipped, text), never by reading the printed line back.
 */
import { type ReplayedWarning, replayedWarningText, type StepWarning, targetOfTaskId } from '@pipe/core/lean';

const PLURAL: Record<ReplayedWarning['replayed'], string> = {
  'up to date': 'up to date; their last runs warned',
  restored: 'restored from the cache; the runs that made them warned',
};

interface Group {
  target: string;
  first: ReplayedWarning;
  ids: string[];
}

/** The line of a group of alike replays (a single one as it came). */
function groupLine(g: Group): string {
  if (g.ids.length === 1) return replayedWarningText(g.first);
  return `${g.ids.length} tasks of ${g.target} (${idRange(g.ids)}; ${PLURAL[g.first.replayed]}): ${g.first.text}`;
}

/** A fan-out's task ids named in order, whichever order they settled in: `d[1]`, `d[1], d[2]`, `d[1] … d[10]`. */
export function idRange(ids: string[]): string {
  ids.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return ids.length <= 2 ? ids.join(', ') : `${ids[0]} … ${ids[ids.length - 1]}`;
}

/** Groups consecutive warnings; `emit` gets each line (without 'warning: '). */
export class ReplayedWarnings {
  private pending: Group | undefined;

  constructor(private readonly emit: (message: string) => void) {}

  /**
   * Takes a warning: held when it is the replay of a fan-out item's (others alike may follow), else said at once.
   */
  add(message: string, step?: StepWarning): void {
    const target = step && targetOfTaskId(step.id);
    if (!step?.replayed || !target || target === step.id) {
      this.flush();
      this.emit(message);
      return;
    }
    const replay = { id: step.id, text: step.text, replayed: step.replayed };
    const p = this.pending;
    if (p && p.target === target && p.first.replayed === replay.replayed && p.first.text === replay.text) {
      p.ids.push(replay.id);
      return;
    }
    this.flush();
    this.pending = { target, first: replay, ids: [replay.id] };
  }

  flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.emit(groupLine(p));
  }
}

/** Replayed warnings grouped, as lines (the no-op snapshot keeps them so). */
export function groupReplayedWarnings(replays: readonly ReplayedWarning[]): string[] {
  const out: string[] = [];
  const group = new ReplayedWarnings((m) => out.push(m));
  for (const r of replays) group.add(replayedWarningText(r), r);
  group.flush();
  return out;
}
