/** `pipe graph [targets] --format dot|mermaid|json`: the expanded task graph. */
import { expandGraph, renderDiagnostics, toDot, toJSON, toMermaid } from '@pipe/core';
import { type GlobalOptions, loadForCommand } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';

export async function graphCommand(
  targets: string[],
  opts: GlobalOptions & { format?: string },
): Promise<number> {
  const loaded = await loadForCommand(opts);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.message}\n`);
    return loaded.code;
  }
  const wanted = targets.length > 0 ? targets : [...loaded.pipeline.targets.keys()];
  const graph = expandGraph(loaded.pipeline, { targets: wanted });
  const errors = (graph.diagnostics ?? []).filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    process.stderr.write(`${renderDiagnostics(errors)}\n`);
    return EXIT_USAGE;
  }
  const format = opts.format ?? 'dot';
  const text =
    format === 'json'
      ? JSON.stringify(toJSON(graph))
      : format === 'mermaid'
        ? toMermaid(graph)
        : toDot(graph);
  process.stdout.write(`${text}\n`);
  return 0;
}
