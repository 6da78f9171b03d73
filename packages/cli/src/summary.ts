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
      const s = typeof x === 'object' && x !== null && !Array.isArray(x) ? undefined : show(x);
      return s === undefined ? [] : [`${k} ${s}`];
    });
    return parts.join(', ');
  }
  return undefined;
}

/** Lines describing the `summary` output of each requested target's tasks (nothing when there is none). */
export function summaryLines(
  root: string,
  tasks: Iterable<Pick<Task, 'id' | 'target' | 'outputs'>>,
  targets: readonly string[],
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
    lines.push(`${task.id}: ${path.relative(root, path.dirname(file)) || '.'}/`);
    for (const [k, v] of Object.entries(data)) {
      const s = show(v);
      if (s !== undefined && s !== '') lines.push(`  ${k.replaceAll('_', ' ')}: ${s}`);
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
