/** `pipe graph [targets] --format dot|mermaid|json`: the expanded task graph. */
import {
  byTarget,
  expandGraph,
  openSession,
  planSession,
  renderDiagnostics,
  type TaskGraph,
  targetsToJSON,
  toDot,
  toJSON,
  toMermaid,
} from '@pipe/core';
import { cacheDirOption, type GlobalOptions, loadForCommand } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';

/** Above this many tasks, a drawing of each is noted as unreadable. */
const MANY_TASKS = 200;

export async function graphCommand(
  targets: string[],
  opts: GlobalOptions & { format?: string; byTarget?: boolean },
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
  // Fan-outs over items a step emits are known once that step has run: plan as a build would, so that the
  // graph shows them (and their edges) as far as the workspace knows them for this configuration.
  let shown: TaskGraph = graph;
  if (graph.pending.length > 0) {
    // The pipeline and graph at hand, the local cache only (a graph reads no remote).
    const cacheDir = cacheDirOption(opts);
    const opened = await openSession({
      pipeline: loaded.pipeline,
      targets: wanted,
      loadStep: (m) => loaded.registry.load(m),
      graph,
      ...(cacheDir ? { cacheDir } : {}),
    });
    if (opened.ok) {
      const plan = await planSession(opened.session);
      shown = {
        tasks: new Map(plan.order.map((id) => [id, plan.tasks.get(id)!.task])),
        pending: plan.pending.map((p) => p.target),
        ...(graph.pendingFrom ? { pendingFrom: graph.pendingFrom } : {}),
      };
    }
  }
  const format = opts.format ?? 'dot';
  let text: string;
  if (opts.byTarget) {
    const { graph: targetsGraph, labels } = byTarget(shown);
    text =
      format === 'json'
        ? JSON.stringify(targetsToJSON(shown))
        : format === 'mermaid'
          ? toMermaid(targetsGraph, labels)
          : toDot(targetsGraph, labels);
  } else {
    text =
      format === 'json'
        ? JSON.stringify(toJSON(shown))
        : format === 'mermaid'
          ? toMermaid(shown)
          : toDot(shown);
    // Thousands of boxes draw nothing one can read: say how to draw the targets instead.
    if (format !== 'json' && shown.tasks.size > MANY_TASKS)
      process.stderr.write(
        `note: ${shown.tasks.size} tasks; pipe graph --by-target draws one node per target, with its tasks' count\n`,
      );
  }
  process.stdout.write(`${text}\n`);
  return 0;
}
