/** `pipe plan` / `pipe build --dry-run`: one line per task that would do something, and why. */
import {
  type DepartedTask,
  type Plan,
  type Reason,
  renderAlikeReason,
  renderReason,
  targetOfTaskId,
} from '@pipe/core/lean';
import { alikeGroups, someOf } from './alike-groups.js';

export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    tasks: plan.order.map((id) => {
      const d = plan.tasks.get(id)!.decision;
      switch (d.action) {
        case 'blocked':
          return d.reasons
            ? { id, action: 'run', reasons: d.reasons, upstream: d.upstream }
            : { id, action: 'runs-if-upstream-changes', upstream: d.upstream };
        case 'missing-input':
          return {
            id,
            action: 'missing-input',
            input: d.input,
            path: d.path,
            ...(d.why ? { why: d.why } : {}),
          };
        case 'up-to-date':
          return { id, action: d.action, key: d.key };
        default:
          return { id, action: d.action, key: d.key, reasons: d.reasons };
      }
    }),
    pending: plan.pending,
    // Tasks no longer in the pipeline: the outputs a build that succeeds removes (the cache keeps them), and leaves.
    departed: plan.departed ?? [],
  };
}

/** Upstream task ids for a plan line: a gather over thousands of items names five and counts the rest. */
const upstreamList = (ids: readonly string[]): string => someOf(ids, 5);

interface Entry {
  /** The first column: run, restore, maybe, cannot run, up-to-date. */
  label: string;
  /** Its reason lines. */
  reasons: string[];
  /** Its reason lines as an entry for many tasks says them (renderAlikeReason): the same for each task of a group. */
  alike: string[];
  /** Upstream tasks it waits for (run after them, or maybe). */
  upstream?: readonly string[];
  /** The closing line for a task behind upstream work: 'after' (runs anyway) or 'maybe'. */
  behind?: 'after' | 'maybe';
  /** What the summary counts it as. */
  count: string;
}

/** Input reasons of one task shown before the rest are counted. */
const INPUTS_SHOWN = 5;

/**
 * A task's reasons as lines: every one but its changed inputs past the first five, which one line counts (a gather
 * whose 500 files moved to another folder listed 500 'input removed' lines; `--json` lists each).
 */
export function reasonLines(
  reasons: readonly Reason[],
  render: (r: Reason) => string,
  listsEach = 'pipe plan --json lists each',
): string[] {
  type InputReason = Extract<Reason, { type: 'input-changed' }>;
  const inputs = reasons.filter((r): r is InputReason => r.type === 'input-changed');
  if (inputs.length <= INPUTS_SHOWN + 1) return reasons.map(render);
  const rest = inputs.slice(INPUTS_SHOWN);
  const left = new Set<Reason>(rest);
  const kinds = [
    [rest.filter((r) => r.old === null).length, 'added'],
    [rest.filter((r) => r.new === null).length, 'removed'],
    [rest.filter((r) => r.old !== null && r.new !== null).length, 'changed'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ');
  const lines = reasons.filter((r) => !left.has(r)).map(render);
  lines.push(`and ${rest.length} more inputs (${kinds}; ${listsEach})`);
  return lines;
}

function entryOf(plan: Plan, id: string): Entry {
  const d = plan.tasks.get(id)!.decision;
  switch (d.action) {
    case 'blocked':
      // With reasons: its own inputs, parameters or code changed, so it runs, after its upstream.
      return d.reasons
        ? {
            label: 'run',
            reasons: reasonLines(d.reasons, renderReason),
            alike: reasonLines(d.reasons, renderAlikeReason),
            upstream: d.upstream,
            behind: 'after',
            count: 'run',
          }
        : { label: 'maybe', reasons: [], alike: [], upstream: d.upstream, behind: 'maybe', count: 'blocked' };
    case 'up-to-date':
      return { label: 'up-to-date', reasons: [], alike: [], count: 'up-to-date' };
    case 'run':
    case 'restore': {
      const reasons = reasonLines(d.reasons, renderReason);
      const alike = reasonLines(d.reasons, renderAlikeReason);
      const closing =
        d.action === 'restore'
          ? ['key in cache: restore without running']
          : d.reasons.some((r) => r.type === 'output-missing' || r.type === 'output-modified')
            ? ['not in cache: recompute']
            : [];
      return {
        label: d.action,
        reasons: [...reasons, ...closing],
        alike: [...alike, ...closing],
        count: d.action,
      };
    }
    case 'missing-input': {
      const line = `input missing: ${d.path} (${d.input})${d.why ? `: ${d.why}` : ''}`;
      return { label: 'cannot run', reasons: [line], alike: [line], count: 'missing-input' };
    }
  }
}

function pushEntry(
  lines: string[],
  entry: Entry,
  name: string,
  upstream: readonly string[] | undefined,
  reasons: readonly string[] = entry.reasons,
): void {
  lines.push(`${entry.label.padEnd(10)}  ${name}`);
  for (const r of reasons) lines.push(`              ${r}`);
  if (entry.behind === 'after')
    lines.push(
      `              after its upstream (${upstreamList(upstream ?? [])}), unless the cache then holds its result`,
    );
  else if (entry.behind === 'maybe')
    lines.push(`              runs if its upstream outputs change (${upstreamList(upstream ?? [])})`);
}

/**
 * The plan as text. A fan-out's tasks that would do the same for the same reasons (2,000 files after an edit of
 * the script they all run, a first build) are one entry naming the target and how many (`all` lists each).
 */
export function planToText(plan: Plan, all: boolean): string {
  const lines: string[] = [];
  const counts: Record<string, number> = {};
  const entries = new Map<string, Entry>();
  for (const id of plan.order) {
    const entry = entryOf(plan, id);
    entries.set(id, entry);
    counts[entry.count] = (counts[entry.count] ?? 0) + 1;
  }
  // A target's tasks that would do the same for the same reasons are one entry.
  const grouped = alikeGroups(plan.order, (id) => {
    const entry = entries.get(id)!;
    const target = plan.tasks.get(id)!.task.target;
    if (all || entry.label === 'up-to-date' || target === id) return undefined;
    return [target, entry.label, entry.behind ?? '', ...entry.alike].join('\0');
  });
  for (const id of plan.order) {
    const entry = entries.get(id)!;
    if (entry.label === 'up-to-date') {
      if (all) lines.push(`up-to-date  ${id}`);
      continue;
    }
    const members = grouped.get(id);
    if (!members) {
      pushEntry(lines, entry, id, entry.upstream);
      continue;
    }
    if (members[0] !== id) continue;
    const target = plan.tasks.get(id)!.task.target;
    const upstream = entry.upstream ? unionUpstream(plan, members) : undefined;
    pushEntry(
      lines,
      entry,
      `${target}: ${members.length} tasks (${upstreamList(members)}; pipe plan -a lists each)`,
      upstream,
      entry.alike,
    );
  }
  lines.push(...departedLines(plan.departed ?? [], all));
  for (const p of plan.pending) lines.push(`pending     ${p.target}: expands once '${p.after}' has run`);
  const summary = [
    `${counts.run ?? 0} to run`,
    `${counts.restore ?? 0} to restore`,
    `${counts.blocked ?? 0} maybe`,
    `${counts['up-to-date'] ?? 0} up to date`,
    ...(counts['missing-input'] ? [`${counts['missing-input']} missing inputs`] : []),
    ...(plan.departed?.length ? [`${plan.departed.length} departed`] : []),
  ].join(', ');
  lines.push(`plan: ${summary}`);
  return `${lines.join('\n')}\n`;
}

/** The upstream tasks of a group's members, each once, in the order they are first named. */
function unionUpstream(plan: Plan, members: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const id of members) {
    const d = plan.tasks.get(id)!.decision;
    if (d.action === 'blocked') for (const u of d.upstream) seen.add(u);
  }
  return [...seen];
}

/**
 * Tasks that left the pipeline (a file gone from a glob, an entry from a list) and what a build that succeeds does
 * with their outputs, as the note it ends with says it afterwards; more than five of one target are one entry.
 */
function departedLines(departed: readonly DepartedTask[], all: boolean): string[] {
  const lines: string[] = [];
  const byId = new Map(departed.map((d) => [d.id, d]));
  const grouped = alikeGroups(byId.keys(), (id) => {
    const target = targetOfTaskId(id);
    return all || target === id ? undefined : target;
  });
  for (const d of departed) {
    const members = grouped.get(d.id);
    if (members && members[0] !== d.id) continue;
    const group = (members ?? [d.id]).map((id) => byId.get(id)!);
    const name = members
      ? `${targetOfTaskId(d.id)}: ${members.length} tasks (${upstreamList(members)}; pipe plan -a lists each)`
      : d.id;
    lines.push(`departed    ${name}`);
    const removed = group.flatMap((g) => g.removed);
    const kept = group.flatMap((g) => g.kept);
    // A task's output(s), or a group's: 'its output', 'its 2 outputs', '1 output', 'their 6 outputs'.
    const n = (k: number) =>
      k === 1 ? (members ? '1 output' : 'its output') : `${members ? 'their' : 'its'} ${k} outputs`;
    if (removed.length > 0)
      lines.push(
        `              no longer in the pipeline: a build that succeeds removes ${n(removed.length)} from the workspace (the cache keeps ${removed.length === 1 ? 'it' : 'them'}): ${someOf(removed, 5)}`,
      );
    if (kept.length > 0)
      lines.push(
        `              ${removed.length > 0 ? 'and leaves' : 'no longer in the pipeline: a build leaves'} ${n(kept.length)} in place (edited since, or not in the cache): ${someOf(kept, 5)}`,
      );
    if (removed.length === 0 && kept.length === 0)
      lines.push(
        // Not "no output": an output the target no longer declares (its path template edited), or that another task
        // writes now, is left where it is, as is one already gone (builds/retire.ts).
        `              no longer in the pipeline: a build that succeeds forgets ${members ? 'their records' : 'its record'} and removes no file (${members ? 'their' : 'its'} recorded outputs are gone, or no longer ${members ? 'theirs' : 'its own'})`,
      );
  }
  return lines;
}
