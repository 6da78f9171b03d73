/**
 * Warnings of up-to-date or restored tasks, said again on each build (core's replayedWarnings): a fan-out whose runs
 * all warned alike (every run of a survey's 21 on one exclusion mask) is one line, not 21 lines of the same text.
 */

const REPLAYED =
  /^(([^\s[]+)\[[^\]]*\]) \((up to date; its last run warned|restored from the cache; the run that made it warned)\): ([\s\S]*)$/;

const PLURAL: Record<string, string> = {
  'up to date; its last run warned': 'up to date; their last runs warned',
  'restored from the cache; the run that made it warned':
    'restored from the cache; the runs that made them warned',
};

interface Group {
  target: string;
  how: string;
  body: string;
  ids: string[];
}

/** The line of a group of alike replays (a single one as it came). */
function groupLine(g: Group): string {
  if (g.ids.length === 1) return `${g.ids[0]} (${g.how}): ${g.body}`;
  // Named in order, whichever order the fan-out's tasks settled in.
  g.ids.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const named = g.ids.length === 2 ? g.ids.join(', ') : `${g.ids[0]} … ${g.ids[g.ids.length - 1]}`;
  return `${g.ids.length} tasks of ${g.target} (${named}; ${PLURAL[g.how]}): ${g.body}`;
}

/** Groups consecutive warning messages; `emit` gets each line (without 'warning: '). */
export class ReplayedWarnings {
  private pending: Group | undefined;

  constructor(private readonly emit: (message: string) => void) {}

  /** Takes a warning message: held when it is a replay that may have alike ones after it, else said at once. */
  add(message: string): void {
    const m = REPLAYED.exec(message);
    if (!m) {
      this.flush();
      this.emit(message);
      return;
    }
    const [, id, target, how, body] = m as unknown as [string, string, string, string, string];
    const p = this.pending;
    if (p && p.target === target && p.how === how && p.body === body) {
      p.ids.push(id);
      return;
    }
    this.flush();
    this.pending = { target, how, body, ids: [id] };
  }

  flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.emit(groupLine(p));
  }
}

/** The messages grouped, as a list (the no-op snapshot keeps them so). */
export function groupReplayedWarnings(messages: readonly string[]): string[] {
  const out: string[] = [];
  const group = new ReplayedWarnings((m) => out.push(m));
  for (const m of messages) group.add(m);
  group.flush();
  return out;
}
