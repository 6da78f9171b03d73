/** `pipe plan` / `pipe build --dry-run`: one line per task that would do something, and why. */
import { type Plan, renderReason } from '@pipe/core/lean';

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
  };
}

/** Upstream task ids for a plan line: a gather over thousands of items names five and counts the rest. */
function upstreamList(ids: readonly string[]): string {
  return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`;
}

export function planToText(plan: Plan, all: boolean): string {
  const lines: string[] = [];
  const counts: Record<string, number> = {};
  for (const id of plan.order) {
    const d = plan.tasks.get(id)!.decision;
    if (d.action === 'blocked' && d.reasons) {
      // Its own inputs, parameters or code changed: it runs, after its upstream.
      counts.run = (counts.run ?? 0) + 1;
      lines.push(`run         ${id}`);
      for (const r of d.reasons) lines.push(`              ${renderReason(r)}`);
      lines.push(
        `              after its upstream (${upstreamList(d.upstream)}), unless the cache then holds its result`,
      );
      continue;
    }
    counts[d.action] = (counts[d.action] ?? 0) + 1;
    switch (d.action) {
      case 'up-to-date':
        if (all) lines.push(`up-to-date  ${id}`);
        break;
      case 'run':
      case 'restore':
        lines.push(`${d.action.padEnd(10)}  ${id}`);
        for (const r of d.reasons) lines.push(`              ${renderReason(r)}`);
        if (d.action === 'restore') lines.push('              key in cache: restore without running');
        else if (d.reasons.some((r) => r.type === 'output-missing' || r.type === 'output-modified'))
          lines.push('              not in cache: recompute');
        break;
      case 'blocked':
        lines.push(`maybe       ${id}`);
        lines.push(`              runs if its upstream outputs change (${upstreamList(d.upstream)})`);
        break;
      case 'missing-input':
        lines.push(`cannot run  ${id}`);
        lines.push(`              input missing: ${d.path} (${d.input})${d.why ? `: ${d.why}` : ''}`);
        break;
    }
  }
  for (const p of plan.pending) lines.push(`pending     ${p.target}: expands once '${p.after}' has run`);
  const summary = [
    `${counts.run ?? 0} to run`,
    `${counts.restore ?? 0} to restore`,
    `${counts.blocked ?? 0} maybe`,
    `${counts['up-to-date'] ?? 0} up to date`,
    ...(counts['missing-input'] ? [`${counts['missing-input']} missing inputs`] : []),
  ].join(', ');
  lines.push(`plan: ${summary}`);
  return `${lines.join('\n')}\n`;
}
