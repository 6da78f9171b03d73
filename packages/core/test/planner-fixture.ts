/**
 * An in-memory workspace for planner tests: a virtual file system with a clock (no disk), a fake
 * cache of manifests, and a small pipeline builder. Only the I/O seam (PlanIO) is faked.
 */
import type { Manifest } from '@pipe/cache';
import { sha256Hex } from '../src/fingerprint/canonical.js';
import type { StepIdentity } from '../src/fingerprint/record.js';
import { COMMAND_IDENTITY } from '../src/fingerprint/steps.js';
import type { Pipeline, Target, Task, TaskGraph } from '../src/model/types.js';
import type { PlanIO } from '../src/plan/decide.js';
import { emptyState, type StateData } from '../src/state/state-file.js';

export const ROOT = '/ws';

export class VirtualWorkspace implements PlanIO {
  readonly files = new Map<string, { content: string; mtimeNs: bigint; ino: number }>();
  readonly manifests = new Map<string, Manifest>();
  readonly envVars: Record<string, string> = {};
  private clock = 1_000_000_000n;
  private nextIno = 1;
  /** Files hashed by content (to assert what was read). */
  readonly hashedProducts: string[] = [];

  write(rel: string, content: string): void {
    this.clock += 1_000_000_000n;
    this.files.set(`${ROOT}/${rel}`, { content, mtimeNs: this.clock, ino: this.nextIno++ });
  }
  touch(rel: string): void {
    const f = this.files.get(`${ROOT}/${rel}`)!;
    this.clock += 1_000_000_000n;
    f.mtimeNs = this.clock;
  }
  remove(rel: string): void {
    this.files.delete(`${ROOT}/${rel}`);
  }
  inputHash(abs: string): string | undefined {
    const f = this.files.get(abs);
    return f ? sha256Hex(f.content).slice(0, 16) : undefined;
  }
  stamp(abs: string) {
    const f = this.files.get(abs);
    return f ? { size: f.content.length, mtimeNs: f.mtimeNs.toString(), ino: f.ino } : undefined;
  }
  async productSha256(abs: string) {
    this.hashedProducts.push(abs);
    const f = this.files.get(abs);
    return f ? sha256Hex(f.content) : undefined;
  }
  async manifest(key: string) {
    return this.manifests.get(key);
  }
  env(name: string) {
    return this.envVars[name];
  }
}

export function commandTarget(name: string, extra: Partial<Target> = {}): Target {
  return {
    name,
    step: 'command',
    command: ['node', name],
    inputs: {},
    params: {},
    outputs: {},
    needs: [],
    with: [],
    env: [],
    resources: {},
    ...extra,
  };
}

export function pipelineOf(targets: Target[]): Pipeline {
  return {
    file: `${ROOT}/pipe.yaml`,
    root: ROOT,
    targets: new Map(targets.map((t) => [t.name, t])),
    sourceFiles: [],
    defaults: { resources: {} },
  };
}

/** A task reading raw files and/or upstream outputs. */
export function task(
  id: string,
  target: string,
  o: {
    files?: string[];
    from?: Array<[string, string]>;
    outputs?: Record<string, string>;
    params?: Record<string, unknown>;
    /** The task's foreach item (its files workspace-relative). */
    item?: { id: string; files?: string[] };
  } = {},
): Task {
  const inputs: Task['inputs'] = {};
  if (o.files?.length) inputs.src = o.files.map((f) => ({ path: `${ROOT}/${f}` }));
  if (o.from?.length) inputs.up = o.from.map(([producer, f]) => ({ path: `${ROOT}/${f}`, producer }));
  const outputs: Record<string, string> = {};
  for (const [n, p] of Object.entries(o.outputs ?? {})) outputs[n] = `${ROOT}/${p}`;
  return {
    id,
    target,
    deps: [...new Set((o.from ?? []).map(([p]) => p))],
    inputs,
    outputs,
    params: o.params ?? {},
    ...(o.item ? { item: { id: o.item.id, files: (o.item.files ?? []).map((f) => `${ROOT}/${f}`) } } : {}),
  };
}

export function graphOf(tasks: Task[], pending: string[] = []): TaskGraph {
  return { tasks: new Map(tasks.map((t) => [t.id, t])), pending };
}

export function stepsFor(
  pipeline: Pipeline,
  overrides: Record<string, StepIdentity> = {},
): Map<string, StepIdentity> {
  return new Map([...pipeline.targets.keys()].map((n) => [n, overrides[n] ?? COMMAND_IDENTITY]));
}

export { emptyState, type StateData };

import { decideTask, type KnownOutput } from '../src/plan/decide.js';
import { topoOrder } from '../src/plan/planner.js';

/**
 * Carry out a build in the virtual workspace (the fake runner): tasks that run write outputs whose
 * content `produce` derives from the task; the state gets each task's record, as the scheduler does.
 * Returns the ids of the tasks that ran.
 */
export async function fakeBuild(
  ws: VirtualWorkspace,
  pipeline: Pipeline,
  graph: TaskGraph,
  state: StateData,
  produce: (task: Task, inputs: string[]) => string,
  steps = stepsFor(pipeline),
): Promise<string[]> {
  const ran: string[] = [];
  const known = new Map<string, Record<string, KnownOutput>>();
  for (const id of topoOrder(graph.tasks)) {
    const t = graph.tasks.get(id)!;
    const d = await decideTask(t, {
      root: ROOT,
      io: ws,
      previous: state.tasks.get(id),
      upstream: known,
      step: steps.get(t.target)!,
      target: pipeline.targets.get(t.target)!,
      forced: false,
    });
    if (d.action === 'blocked' || d.action === 'missing-input') throw new Error(`${id}: ${d.action}`);
    if (d.action === 'up-to-date') {
      known.set(id, d.outputs);
      continue;
    }
    const outputs: Record<string, KnownOutput> = {};
    const stamps: StateData['tasks'][string]['outputs'] = {};
    const inputs = Object.values(t.inputs)
      .flat()
      .map((f) => ws.files.get(f.path)!.content);
    for (const [name, abs] of Object.entries(t.outputs)) {
      const rel = abs.slice(ROOT.length + 1);
      if (d.action === 'run') ws.write(rel, produce(t, inputs));
      else
        ws.write(
          rel,
          d.manifest.outputs.find((o) => o.name === name)!.path === rel
            ? restoredContent.get(d.manifest.outputs.find((o) => o.name === name)!.sha256)!
            : '',
        );
      const content = ws.files.get(abs)!.content;
      const st = ws.stamp(abs)!;
      outputs[name] = { path: rel, sha256: sha256Hex(content), size: content.length };
      stamps[name] = {
        path: rel,
        sha256: sha256Hex(content),
        size: content.length,
        mtimeNs: st.mtimeNs,
        ino: st.ino,
      };
      restoredContent.set(sha256Hex(content), content);
    }
    if (d.action === 'run') {
      ran.push(id);
      ws.manifests.set(d.key, {
        version: 1,
        key: d.key,
        taskId: id,
        outputs: Object.entries(outputs).map(([name, o]) => ({
          name,
          path: o.path,
          sha256: o.sha256,
          size: o.size,
          mode: 0o644,
        })),
        provenance: {},
        createdAt: '',
      });
    }
    state.tasks.set(id, { key: d.key, fp: d.record, outputs: stamps, buildId: 'b' });
    known.set(id, outputs);
  }
  return ran;
}

/** Blob contents of the fake cache, by SHA-256. */
const restoredContent = new Map<string, string>();
