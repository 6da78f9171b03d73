/**
 * `pipe targets`: the pipeline's targets, each with its step, its fan-out and its description — what Snakemake's
 * --list and `just --list` answer: what is there to build here, before reading the YAML (or the config file that
 * made some of them).
 */
import { type ForeachSpec, relPath, type Target } from '@pipe/core';
import { type GlobalOptions, loadForCommand } from '../context.js';

/** A target's fan-out in words: one task per what. */
function fanOut(foreach: ForeachSpec | undefined): string | undefined {
  if (!foreach) return undefined;
  if (foreach.kind === 'list') return `one task per item of a list of ${foreach.items.length}`;
  if (foreach.kind === 'glob') return 'one task per file of a glob';
  return `one task per item of ${foreach.target}`;
}

/** The step as a user wrote it: a registered name, the module's file, or the command's program. */
function stepOf(target: Target, root: string): string {
  if (target.command) return `command: ${target.command[0] ?? ''}`;
  return target.stepModule && target.step === target.stepModule
    ? relPath(root, target.stepModule)
    : target.step;
}

export async function targetsCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const loaded = await loadForCommand(opts);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.message}\n`);
    return loaded.code;
  }
  const { pipeline } = loaded;
  const defaults = new Set(pipeline.defaultTargets ?? []);
  const rows = [...pipeline.targets.values()].map((t) => {
    const foreach = fanOut(t.foreach);
    return {
      name: t.name,
      step: stepOf(t, pipeline.root),
      ...(foreach ? { foreach } : {}),
      ...(t.description ? { description: t.description } : {}),
      default: defaults.has(t.name),
      outputs: Object.values(t.outputs),
    };
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ targets: rows })}\n`);
    return 0;
  }
  const width = Math.max(0, ...rows.map((r) => r.name.length + (r.default ? 2 : 0)));
  const lines: string[] = [];
  for (const r of rows) {
    const name = r.default ? `${r.name} *` : r.name;
    lines.push(`${name.padEnd(width)}  ${[r.step, r.foreach].filter(Boolean).join(', ')}`);
    if (r.description) lines.push(`${' '.repeat(width)}  ${r.description.trim().replace(/\s*\n\s*/g, ' ')}`);
  }
  if (defaults.size > 0) lines.push('', '* built by a command that names no target (default: in pipe.yaml)');
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
