/**
 * After a build, the requested targets' `summary` outputs (JSON) are printed compactly: the numbers a user looks
 * at first (e.g. observations, livetime, counts, excess, peak significance and position) without opening files.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '@pipe/core';

function show(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(7)).toString();
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return v.map((x) => show(x) ?? '—').join(', ');
    return `${v.length} entries`;
  }
  if (typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => {
      const s = show(x);
      if (s === undefined || s === '') return [];
      // A record inside a listed entry (an energy group's peak) in parentheses, not dropped.
      return [isRecord(x) ? `${k} (${s})` : `${k} ${s}`];
    });
    return parts.join(', ');
  }
  return undefined;
}

/** Lists of records up to this long are printed an entry per line; longer ones as their count. */
const LISTED_RECORDS = 8;
/** Lists of values up to this long are printed whole; longer ones (a survey's 1000 run ids) by their ends. */
const LISTED_VALUES = 20;

const isRecord = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Lines describing the `summary` output of each requested target's tasks (nothing when there is none). `copies`,
 * after `--out`: the files copied there, so the header names the folder the user asked for.
 */
export function summaryLines(
  root: string,
  tasks: Iterable<Pick<Task, 'id' | 'target' | 'outputs'>>,
  targets: readonly string[],
  copies?: { dir: string; files: readonly string[] },
): string[] {
  const lines: string[] = [];
  for (const task of tasks) {
    if (!targets.includes(task.target)) continue;
    const file = task.outputs['summary'];
    if (!file?.endsWith('.json')) continue;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    const inWorkspace = `${path.relative(root, path.dirname(file)) || '.'}/`;
    // --out copies the products below their common folder: <out>/<rel> is the copy of <folder>/<rel>.
    const copy = copies?.files.find((f) => file.endsWith(`${path.sep}${path.relative(copies.dir, f)}`));
    lines.push(`${task.id}: ${copy ? `${path.dirname(copy)}/ (copied from ${inWorkspace})` : inWorkspace}`);
    for (const [k, v] of Object.entries(data)) {
      const label = k.replaceAll('_', ' ');
      // A short list of records (each run's livetime and FoV norm, each energy group's peak): one line each, as
      // they are what a user compares; a long one stays in the file.
      if (Array.isArray(v) && v.length > 0 && v.length <= LISTED_RECORDS && v.some(isRecord)) {
        lines.push(`  ${label}:`);
        for (const entry of v) lines.push(`    ${show(entry) || '—'}`);
        continue;
      }
      if (Array.isArray(v) && v.length > LISTED_VALUES && !v.some(isRecord)) {
        const ends = [...v.slice(0, 3).map(show), '…', show(v.at(-1))];
        lines.push(
          `  ${label}: ${ends.map((x) => x ?? '—').join(', ')} (${v.length} values, ${path.basename(file)})`,
        );
        continue;
      }
      const s = show(v);
      if (s !== undefined && s !== '')
        lines.push(
          `  ${label}: ${s}${Array.isArray(v) && v.some(isRecord) ? ` (${path.basename(file)})` : ''}`,
        );
    }
  }
  return lines;
}

/** "up to date: 8 tasks, nothing to do (0.16 s)": the line of a build that ran nothing and recorded nothing. */
export function upToDateLine(tasks: number, ms: number): string {
  const what =
    tasks > 0 ? `up to date: ${tasks} task${tasks === 1 ? '' : 's'}, nothing to do` : 'nothing to do';
  return `${what} (${(ms / 1000).toFixed(2)} s)`;
}
