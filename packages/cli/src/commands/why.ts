/** `pipe why <product|target>`: provenance chain back to raw inputs, and why each step last ran. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LocalStore } from '@pipe/cache';
import {
  buildIsLive,
  expandGraph,
  explainProduct,
  hashProduct,
  listBuildIds,
  loadState,
  loadXxhash,
  notAFile,
  type Pipeline,
  readBuildRecord,
  renderReason,
  targetOfTaskId,
  type WhyNode,
} from '@pipe/core';
import { cacheDirOption, type GlobalOptions, loadForCommand, workingDir } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { reasonLines } from '../plan-text.js';
import { madeInLine, madeInText } from './made-in.js';
import { workspaceFromCli } from './workspace.js';

/** What a task's cache entry adds to its record: where it was made (a restored one), and the step's metadata. */
interface EntryFacts {
  made?: string;
  metadata?: Record<string, unknown>;
}

export { madeInLine, madeInText } from './made-in.js';

/** What is asked of an output file beside its record: whether the cache holds bytes, who wrote them unrecorded. */
interface OutputFacts {
  inCache: (sha256: string) => boolean;
  /** The build that wrote `rel` (workspace-relative) with these bytes and has not recorded it: unrecordedWriter. */
  unrecorded: (rel: string, sha256: string) => string | undefined;
  /** What a build newer than `since` that had `task` did instead of making it (laterFailure). */
  laterFailure: (task: string, since: string) => string | undefined;
}

/** `ran as Slurm job 2_17 on node7`, from a task's metadata as the Slurm executor writes it; else undefined. */
export function slurmJobText(metadata: Record<string, unknown> | undefined): string | undefined {
  const slurm = metadata?.['slurm'];
  if (typeof slurm !== 'object' || slurm === null) return undefined;
  const s = slurm as { jobId?: unknown; node?: unknown; attempts?: unknown; adoptedFrom?: unknown };
  // The element's name (`2_17`) as squeue and sacct show it, from the last attempt; else the job id.
  const attempts = Array.isArray(s.attempts) ? (s.attempts as Array<{ job?: unknown }>) : [];
  const last = attempts.at(-1)?.job;
  const job = typeof last === 'string' ? last : typeof s.jobId === 'string' ? s.jobId : undefined;
  if (job === undefined) return undefined;
  const node = typeof s.node === 'string' && s.node !== '' ? ` on ${s.node}` : '';
  const of = typeof s.adoptedFrom === 'string' ? ` of build ${s.adoptedFrom}` : '';
  return `ran as Slurm job ${job}${of}${node}`;
}

async function render(
  node: WhyNode,
  depth: number,
  out: string[],
  seen: Set<string>,
  root: string,
  files: OutputFacts,
  paramsShown: Map<string, string>,
  entry: (key: string) => Promise<EntryFacts | undefined>,
): Promise<void> {
  const pad = '  '.repeat(depth);
  out.push(
    `${pad}${node.task}  [${node.step.name}${node.step.version !== '1' || node.step.name !== 'command' ? `@${node.step.version}` : ''}] key ${node.key.slice(0, 12)}`,
  );
  // By key too: a fan-out's items may come from an earlier run of their emitter than its latest record.
  const shown = `${node.task}\0${node.key}`;
  if (seen.has(shown)) {
    out.push(`${pad}  (see above)`);
    return;
  }
  seen.add(shown);
  for (const o of node.outputs)
    out.push(
      `${pad}  → ${o.path} (sha256 ${o.sha256.slice(0, 12)})${await outputNow(path.resolve(root, o.path), o.sha256, files, o.path)}`,
    );
  const b = node.lastBuild;
  // Past five changed inputs counted, as `pipe plan` does (a stack of 21 runs listed each on one line).
  const reasons = b.reasons && reasonLines(b.reasons, renderReason, 'pipe why --json lists each').join('; ');
  out.push(`${pad}  last ${b.state ?? 'built'} in build ${b.id}${reasons ? `: ${reasons}` : ''}`);
  const later = files.laterFailure(node.task, b.id);
  if (later) out.push(`${pad}  ${later}`);
  // A restored product was made elsewhere (another workspace, a CI runner, a Slurm job): the build that restored it
  // kept where (its cache entry said so then; the entry may have left the cache since); a record older than that
  // keeping has only the entry to ask.
  const facts = await entry(node.key);
  const made = b.madeIn ? madeInText(b.madeIn) : facts?.made;
  if (b.state === 'restored' && made) out.push(`${pad}  ${made}`);
  // Run on Slurm: the job and node a Slurm user looks up (sacct, the node's logs), not only inside the metadata.
  const job = b.state === 'ran' ? slurmJobText(b.metadata ?? facts?.metadata) : undefined;
  if (job) out.push(`${pad}  ${job}`);
  if (Object.keys(node.params).length > 0) {
    // A fan-out's tasks share their params: printed once, then named (one long line per run told nothing new).
    const text = JSON.stringify(node.params);
    const first = paramsShown.get(text);
    if (first === undefined) {
      paramsShown.set(text, node.task);
      out.push(`${pad}  params ${text}`);
    } else out.push(`${pad}  params as ${first}`);
  }
  // What the step said of its work (StepResult.metadata: counts, livetime, the peak; a Slurm job's node and request):
  // as the build's record kept it (the entry may have left the cache since), else as the entry holds it.
  const metadata = b.metadata ?? facts?.metadata;
  if (metadata) {
    const text = JSON.stringify(metadata);
    out.push(`${pad}  metadata ${text.length > 240 ? `${text.slice(0, 239)}…` : text}`);
  }
  if (node.item?.emitter) {
    out.push(`${pad}  ← item ${node.item.id} emitted by:`);
    await render(node.item.emitter, depth + 2, out, seen, root, files, paramsShown, entry);
  } else if (node.item?.emittedBy) {
    // Its emitter's latest record is another run: named, not passed off as this product's lineage.
    const e = node.item.emittedBy;
    out.push(
      `${pad}  ← item ${node.item.id} emitted by ${e.task} (key ${e.key.slice(0, 12)}, in build ${e.build}), whose record is no longer kept: ${e.task} has been rebuilt since under another key`,
    );
  }
  const collapsed = collapsedInputs(node);
  for (const input of node.inputs) {
    const group = collapsed.get(input);
    if (group) {
      // A gather's inputs from one fan-out past the first few: one line (2,000 chains, each hashed, said nothing new).
      if (group.first === input)
        out.push(
          `${pad}  ← ${group.rest.length} more of its '${input.input}' inputs from ${group.target} (${group.rest[0]!.path} … ${group.rest.at(-1)!.path}): pipe why FILE explains one`,
        );
      continue;
    }
    if (input.rebuiltSince !== undefined) {
      // The chain goes on with the producer's latest record, not the one this task read: say so, rather than pass it
      // off as this product's provenance.
      out.push(
        `${pad}  ← ${input.path} (read as ${input.hash.length === 64 ? 'sha256' : 'xxh64'} ${input.hash.slice(0, 12)}) — rebuilt since (now sha256 ${input.rebuiltSince.slice(0, 12)}): ${node.task} is out of date, its next build reruns it${input.producer ? '; now made by:' : ''}`,
      );
      if (input.producer) await render(input.producer, depth + 2, out, seen, root, files, paramsShown, entry);
    } else if (input.producer) {
      out.push(`${pad}  ← ${input.path} from:`);
      await render(input.producer, depth + 2, out, seen, root, files, paramsShown, entry);
    } else {
      out.push(
        `${pad}  ← ${input.path} (raw input, xxh64 ${input.hash})${await rawNow(path.resolve(root, input.path), input.hash)}`,
      );
    }
  }
}

/**
 * The nodes for --json with each task (by its key) given in full once: a later mention is `{task, key, repeated:
 * true}`. The producers a chain shares were copied at each mention: 20 nights' stacks each read the catalog of
 * 2,000 calibrated files, 40,000 nodes and 31 MB for 2,000 tasks.
 */
export function onceEach(nodes: WhyNode[]): unknown[] {
  const given = new Set<string>();
  const copy = (node: WhyNode): unknown => {
    const id = `${node.task}\0${node.key}`;
    if (given.has(id)) return { task: node.task, key: node.key, repeated: true };
    given.add(id);
    return {
      ...node,
      ...(node.item
        ? { item: { ...node.item, ...(node.item.emitter ? { emitter: copy(node.item.emitter) } : {}) } }
        : {}),
      inputs: node.inputs.map((input) =>
        input.producer ? { ...input, producer: copy(input.producer) } : input,
      ),
    };
  };
  return nodes.map(copy);
}

/** Inputs of one name from one fan-out target shown in full before the rest are one line. */
const SHOWN_PER_GATHER = 3;

/**
 * The inputs of a gather past the first SHOWN_PER_GATHER of one input name made by tasks of one target, when more
 * than two more would follow; each mapped to its group (the first of the rest, the rest, the target). An input
 * rebuilt since it was read is never left out: it is why the product is out of date.
 */
function collapsedInputs(
  node: WhyNode,
): Map<
  WhyNode['inputs'][number],
  { first: WhyNode['inputs'][number]; rest: WhyNode['inputs']; target: string }
> {
  const groups = new Map<string, WhyNode['inputs']>();
  for (const input of node.inputs) {
    if (!input.producer || input.rebuiltSince !== undefined || !input.producer.task.includes('[')) continue;
    const target = input.producer.task.replace(/\[.*$/, '');
    const key = `${input.input}\0${target}`;
    const list = groups.get(key);
    if (list) list.push(input);
    else groups.set(key, [input]);
  }
  const collapsed = new Map<
    WhyNode['inputs'][number],
    { first: WhyNode['inputs'][number]; rest: WhyNode['inputs']; target: string }
  >();
  for (const [key, list] of groups) {
    if (list.length <= SHOWN_PER_GATHER + 2) continue;
    const rest = list.slice(SHOWN_PER_GATHER);
    const group = { first: rest[0]!, rest, target: key.split('\0')[1]! };
    for (const input of rest) collapsed.set(input, group);
  }
  return collapsed;
}

/**
 * The record says what was built; the workspace may have moved on since. What differs now, as a suffix (empty when
 * the file is as recorded): the reader should not take a stale chain for the current one. Files are hashed as the
 * engine hashes them (streamed: products can be large).
 */
async function outputNow(file: string, sha256: string, facts: OutputFacts, rel: string): Promise<string> {
  const { inCache } = facts;
  // Restored only while the local cache holds its bytes (gc may have evicted them; a remote cache may still), and
  // only by a build that has the task: one no longer in the pipeline is left as it is (builds/retire.ts).
  const next = inCache(sha256)
    ? 'a build that needs it restores it'
    : 'its bytes are no longer in the local cache: a build that needs it recomputes it (or restores it from a remote cache)';
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return ` — now missing: ${next}`;
  // A folder, a FIFO, a device: no product's bytes (hashing a FIFO would wait for ever, /dev/zero never end).
  if (!st.isFile()) return ` — now not a regular file (${notAFile(st)}): ${next}`;
  const now = (await hashProduct(file)).sha256;
  if (now === sha256) return '';
  // Not edited: a build that has not recorded it yet (running, or killed) wrote it.
  const writer = facts.unrecorded(rel, now);
  return writer
    ? ` — now differs (sha256 ${now.slice(0, 12)}): ${writer}`
    : ` — now differs (sha256 ${now.slice(0, 12)}): edited or replaced since; ${next}`;
}

async function rawNow(file: string, xxh64: string): Promise<string> {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return ' — now missing';
  if (!st.isFile()) return ` — now not a regular file (${notAFile(st)}): the next build reruns from here`;
  const now = (await hashProduct(file)).xxh64;
  return now === xxh64 ? '' : ` — changed since (now xxh64 ${now}): the next build reruns from here`;
}

export async function whyCommand(query: string, opts: GlobalOptions): Promise<number> {
  const ws = workspaceFromCli(opts);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  // A parameter file or override names the configuration asked about: it must load (else exit 2, as plan does).
  let pipeline: Pipeline | undefined;
  if (opts.config !== undefined || (opts.param?.length ?? 0) > 0) {
    const loaded = await loadForCommand(opts);
    if (!loaded.ok) {
      process.stderr.write(`${loaded.message}\n`);
      return loaded.code;
    }
    pipeline = loaded.pipeline;
  }
  const state = loadState(ws.layout.stateFile).data;
  // An emitted item's files were read by their XXH64: explainProduct hashes them to tell whether they changed since.
  await loadXxhash();
  const explain = (querySha256?: string) =>
    explainProduct({
      root: ws.layout.root,
      cwd: workingDir(opts),
      state,
      buildsDir: ws.layout.buildsDir,
      query,
      ...(querySha256 !== undefined ? { querySha256 } : {}),
    });
  let result = explain();
  // A file that is no product path (a `pipe build --out DIR` copy, most often) is found by its content.
  const file = path.resolve(workingDir(opts), query);
  if (!result.ok && existsSync(file) && statSync(file).isFile())
    result = explain((await hashProduct(file)).sha256);
  if (!result.ok) {
    // Not built successfully: the last build that had the task says what happened to it. A path is found through
    // the pipeline, whose task declares it (a build record names tasks, not their outputs): expanded only when the
    // records do not name the query itself.
    const asPath = path.relative(ws.layout.root, file);
    let last = lastAttempt(ws.layout.buildsDir, query, asPath);
    if (!last) {
      const declared = await declaredOwner(pipeline, opts, file);
      const owner = declared.owner;
      pipeline ??= declared.pipeline;
      if (owner) last = lastAttempt(ws.layout.buildsDir, query, asPath, owner);
      if (owner && !last && existsSync(file) && statSync(file).isFile()) {
        const writer = unrecordedWriter(
          ws.layout.buildsDir,
          ws.layout.lockFile,
          path.relative(ws.layout.root, file),
          (await hashProduct(file)).sha256,
        );
        if (writer) last = `'${query}' is an output of ${owner}, ${writer}`;
      }
      // Declared, and no build has had it: not built here yet (a first look after writing pipe.yaml). One a build
      // made whose record went since (its task left the pipeline, and is back) was built.
      if (owner && !last) {
        const made = lastBuildWith(ws.layout.buildsDir, (t) => t === owner);
        last = made
          ? `'${query}' is an output of ${owner}, which build ${made} made; no record of it is kept now (a task that leaves the pipeline loses its record): pipe build ${targetOfTaskId(owner)} makes it again`
          : `'${query}' is an output of ${owner}, not built in this workspace yet (pipe build ${targetOfTaskId(owner)} makes it)`;
      }
      if (
        !owner &&
        !last &&
        pipeline?.targets.has(query) &&
        !lastBuildWith(ws.layout.buildsDir, (t) => targetOfTaskId(t) === query)
      )
        last = `target '${query}' has not been built in this workspace yet (pipe build ${query})`;
    }
    if (last) {
      process.stderr.write(`pipe: ${last}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`pipe: ${result.message}\n`);
    return EXIT_USAGE;
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(onceEach(result.nodes))}\n`);
    return 0;
  }
  const out: string[] = [];
  if (result.sameContentAs)
    out.push(`${query}: a copy of ${result.sameContentAs.join(', ')} (same content), made by:`);
  const seen = new Set<string>();
  const paramsShown = new Map<string, string>();
  // The cache the builds used: --cache-dir / PIPE_CACHE_DIR when given, else the last build's (its --cache-dir).
  const store = new LocalStore({ root: buildsCacheDir(opts, ws.layout) });
  const inCache = (sha256: string) => existsSync(store.blobPath(sha256));
  const files: OutputFacts = {
    inCache,
    unrecorded: (rel, sha256) => unrecordedWriter(ws.layout.buildsDir, ws.layout.lockFile, rel, sha256),
    laterFailure: laterFailures(ws.layout.buildsDir),
  };
  const entry = async (key: string): Promise<EntryFacts | undefined> => {
    const got = await store.getManifest(key);
    if (!got.ok || !got.value) return undefined;
    const provenance = got.value.provenance;
    const metadata = provenance['metadata'];
    const made = madeInLine(provenance);
    return {
      ...(made ? { made } : {}),
      ...(metadata && typeof metadata === 'object' && Object.keys(metadata).length > 0
        ? { metadata: metadata as Record<string, unknown> }
        : {}),
    };
  };
  for (const node of result.nodes)
    await render(node, 0, out, seen, ws.layout.root, files, paramsShown, entry);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/**
 * A product's task that a newer build did not make again (its step threw after an edit, an upstream task failed):
 * the files are the older build's (found by helper-155: after a failed rebuild in a watch, `pipe why` told only of
 * the earlier one, as if the files were what the step makes now). The newest recorded build that had the task
 * decides: one that ran or restored it since says nothing.
 */
function laterFailures(buildsDir: string): (task: string, since: string) => string | undefined {
  let newest: string[] | undefined;
  const records = new Map<string, ReturnType<typeof readBuildRecord>>();
  return (task, since) => {
    newest ??= listBuildIds(buildsDir).reverse();
    for (const id of newest) {
      if (id <= since) return undefined;
      let got = records.get(id);
      if (!got) {
        got = readBuildRecord(buildsDir, id);
        records.set(id, got);
      }
      if (!got.ok) continue;
      const r = got.record.tasks[task];
      if (!r) continue;
      if (r.state === 'ran' || r.state === 'restored' || r.state === 'up-to-date') return undefined;
      const what =
        r.state === 'failed' ? 'failed' : `was ${r.state === 'not-started' ? 'not started' : r.state}`;
      // A build that found everything up to date keeps no record: an edit undone since is not seen here, so this
      // says what happened, and where to ask whether the outputs are current.
      // A cancelled task's error is the word itself.
      const error = r.error && r.error !== r.state ? `: ${r.error}` : '';
      return `a newer build did not make it: in build ${id} it ${what}${error}${r.log && existsSync(r.log) ? ` (log ${r.log})` : ''}; these outputs are from build ${since} (pipe plan ${targetOfTaskId(task)}: whether they are what the pipeline makes now)`;
    }
    return undefined;
  };
}

/**
 * For a target, task or product that has no successful build: what the newest build that had it did with it
 * ("'bad' has no product: in build X it failed: exited with status 3 (log …)"). Undefined when no build had it.
 */
function lastAttempt(buildsDir: string, query: string, asPath: string, owner?: string): string | undefined {
  for (const id of listBuildIds(buildsDir).reverse()) {
    const got = readBuildRecord(buildsDir, id);
    if (!got.ok) continue;
    const tasks = Object.entries(got.record.tasks).filter(
      ([t]) => t === query || t.startsWith(`${query}[`) || (asPath !== '' && t === asPath) || t === owner,
    );
    const failing = tasks.filter(
      ([, r]) => r.state !== 'ran' && r.state !== 'restored' && r.state !== 'up-to-date',
    );
    if (tasks.length === 0) continue;
    if (failing.length === 0) return undefined;
    const [task, r] = failing[0]!;
    const more = failing.length > 1 ? ` (and ${failing.length - 1} more of its tasks)` : '';
    return `'${query}' has no product: in build ${id}, ${task} ${r.state}${r.error ? `: ${r.error}` : ''}${r.log ? ` (log ${r.log})` : ''}${more}`;
  }
  return undefined;
}

/**
 * The newest recorded build that had a task `has` accepts, or undefined: a target whose tasks all left since, or a
 * task whose record went when it left, was built.
 */
function lastBuildWith(buildsDir: string, has: (taskId: string) => boolean): string | undefined {
  return listBuildIds(buildsDir)
    .reverse()
    .find((id) => {
      const got = readBuildRecord(buildsDir, id);
      return got.ok && Object.keys(got.record.tasks).some(has);
    });
}

/** How many of the newest builds are looked through for one that wrote a file without recording it. */
const UNRECORDED_LOOKBACK = 20;

/**
 * Which build wrote `rel` (workspace-relative) as `sha256` and did not record it in the workspace state, and how it
 * stands ("written by build B, which is still running: …"); undefined when none did. A build records what it made when it ends: one
 * still running, or killed (its record 'running' with no driver, or marked interrupted by the build that took its
 * lock over), has the task's report only in its journal, folded into its record. Found by the bytes it wrote, not by
 * which build is newest: after a takeover the newest is the one running now, which did not write it.
 */
function unrecordedWriter(
  buildsDir: string,
  lockFile: string,
  rel: string,
  sha256: string,
): string | undefined {
  for (const id of listBuildIds(buildsDir).slice(-UNRECORDED_LOOKBACK).reverse()) {
    const got = readBuildRecord(buildsDir, id);
    if (!got.ok) continue;
    const r = got.record;
    const wrote = Object.values(r.tasks).find((t) => t.outputs?.[rel] !== undefined)?.outputs?.[rel];
    if (wrote === undefined) continue;
    // The newest build that wrote it wrote other bytes: these were put there since (an edit, an old copy back).
    if (wrote !== sha256) return undefined;
    if (r.status === 'running' && buildIsLive(lockFile, id))
      return `written by build ${id}, which is still running: it records it when it ends, and pipe why explains it then`;
    // Recorded by a build that ended (its state saved), unless killed: its record still 'running', or marked
    // interrupted by the build that took its lock over.
    if (r.status !== 'running' && r.status !== 'interrupted') return undefined;
    return `written by build ${id}, which was ${r.status === 'running' ? 'killed' : 'interrupted'} before recording it: the next pipe build records it, and pipe why explains it then`;
  }
  return undefined;
}

/**
 * The task whose declared outputs include `file` (absolute), as the pipeline (`loaded`, else loaded now) expands
 * (none if none or it does not load), and that pipeline.
 */
async function declaredOwner(
  loaded: Pipeline | undefined,
  opts: GlobalOptions,
  file: string,
): Promise<{ owner?: string; pipeline?: Pipeline }> {
  let pipeline = loaded;
  if (!pipeline) {
    const got = await loadForCommand(opts);
    if (!got.ok) return {};
    pipeline = got.pipeline;
  }
  const graph = expandGraph(pipeline, { targets: [...pipeline.targets.keys()] });
  for (const task of graph.tasks.values())
    if (Object.values(task.outputs).includes(file)) return { owner: task.id, pipeline };
  return { pipeline };
}

/** The cache to look in: the one given on the command line or in the environment, else the last build's. */
function buildsCacheDir(opts: GlobalOptions, layout: { buildsDir: string; cacheDir: string }): string {
  if (cacheDirOption(opts) !== undefined) return layout.cacheDir;
  const last = readBuildRecord(layout.buildsDir, 'last');
  const used = last.ok ? last.record.cacheDir : undefined;
  return used && existsSync(used) ? used : layout.cacheDir;
}
