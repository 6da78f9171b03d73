/**
 * `pipe why <product|target>`: the provenance chain of a product back to raw inputs, from the last
 * build records of the tasks (state file), and why each task was last (re)built (its build record).
 */
import path from 'node:path';
import { readBuildRecord } from '../builds/records.js';
import { canonicalJson } from '../fingerprint/canonical.js';
import { xxh64FileSync } from '../fingerprint/file-hash.js';
import type { FingerprintRecord } from '../fingerprint/record.js';
import { closestNames } from '../graph/closest-names.js';
import type { Reason } from '../plan/reasons.js';
import { sameFileStamp, stampOf } from '../state/hash-memo.js';
import { type OutputStamp, previousRecord, type StateData } from '../state/state-file.js';
import { fromKeyPath, type KeyRoots, keyRootsOf } from '../workspace/key-paths.js';
import { relPath } from '../workspace/layout.js';
import type { MadeIn } from './record.js';

export interface WhyInput {
  input: string;
  path: string;
  hash: string;
  /** The task that produced this input, explained in turn; undefined for a raw input. */
  producer?: WhyNode;
  /**
   * The sha256 its producer's last record gives the file, when not the one this task read (`hash`): the producer was
   * rebuilt since, so this task is out of date and the chain above it is not the one it was made from.
   */
  rebuiltSince?: string;
}

export interface WhyNode {
  task: string;
  key: string;
  step: { name: string; version: string; code: string };
  params: Record<string, unknown>;
  outputs: Array<{ name: string; path: string; sha256: string }>;
  /**
   * The build that last produced or restored it, and what happened there; for a restore, where the products were
   * made (the cache entry's provenance, as that build's record kept it).
   */
  /** The build that last made its products; `metadata`: what its step said of them, when the build's record kept it. */
  lastBuild: {
    id: string;
    state?: string;
    reasons?: Reason[];
    madeIn?: MadeIn;
    metadata?: Record<string, unknown>;
  };
  inputs: WhyInput[];
  /**
   * A fan-out task's item, and the task that emitted it (`foreach: {items: T}`), explained in turn: the run list
   * and the file paths a reduction reads come from there (e.g. an observation index), not from its inputs.
   */
  item?: {
    id: string;
    emitter?: WhyNode;
    /**
     * The emitter's run this task's item came from (its key in the build that made the task), when the emitter has
     * been rebuilt under another key since and the record of that run is no longer kept: named, not explained.
     */
    emittedBy?: { task: string; key: string; build: string };
  };
}

export type WhyResult =
  | {
      ok: true;
      nodes: WhyNode[];
      /** Set when the query is a file outside the products (e.g. a `--out` copy) found by its content. */
      sameContentAs?: string[];
    }
  | { ok: false; message: string };

/** `; did you mean …?` for a misspelt target, task or product path (shown as the query was given), else ''. */
function misspeltHint(
  options: { root: string; cwd: string; state: StateData; query: string },
  asPath: string,
  producerOf: Map<string, string>,
): string {
  const tasks = [...options.state.tasks.keys()];
  const targets = new Set(tasks.map((id) => id.replace(/\[.*$/, '')));
  const names = closestNames(options.query, new Set([...targets, ...tasks]));
  const shown = (p: string) => path.relative(options.cwd, path.join(options.root, p));
  const close = names.length > 0 ? names : closestNames(asPath, producerOf.keys()).map(shown);
  return close.length > 0 ? `; did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : '';
}

/**
 * The tasks whose last recorded run read `file` (workspace-relative, or a key's `$NAME/rest`), sorted. `outside`: the
 * file's absolute path when it is outside the workspace, matched against a key's `$NAME/rest` as `located` resolves
 * it for the task's build (the path `pipe why` prints for that input).
 */
function rawInputReaders(
  state: StateData,
  file: string,
  outside?: { abs: string; located: (keyed: string, buildId: string) => string },
): string[] {
  return [...state.tasks.keys()]
    .filter((id) =>
      Object.values(previousRecord(state, id)?.inputs ?? {}).some((list) =>
        list.some(
          ([p]) =>
            p === file ||
            (outside !== undefined &&
              p.startsWith('$') &&
              outside.located(p, state.tasks.get(id)!.buildId) === outside.abs),
        ),
      ),
    )
    .sort();
}

/** `a, b, c` or `a, b, c and 4 more`. */
function listed(ids: string[], shown = 3): string {
  return ids.length <= shown
    ? ids.join(', ')
    : `${ids.slice(0, shown).join(', ')} and ${ids.length - shown} more`;
}

/**
 * Explain a product (a path, absolute or relative to `cwd`) or a target (all its tasks).
 * `buildsDir` is read for the reasons of the last (re)build. Await loadXxhash() first: an emitted item's file whose
 * XXH64 the hash memo does not hold is hashed to tell whether it changed since it was read (else it is not said to).
 */
export function explainProduct(options: {
  root: string;
  cwd: string;
  state: StateData;
  buildsDir: string;
  query: string;
  /**
   * The sha256 of the queried file when it is not a product path (a copy, e.g. in `pipe build --out DIR`): the
   * tasks whose recorded outputs have that content are explained.
   */
  querySha256?: string;
}): WhyResult {
  const { state, root } = options;
  const producerOf = currentProducers(state, root);
  let roots: string[];
  let sameContentAs: string[] | undefined;
  const records = new Map<string, ReturnType<typeof readBuildRecord>>();
  const buildRecord = (id: string) => {
    let build = records.get(id);
    if (!build) records.set(id, (build = readBuildRecord(options.buildsDir, id)));
    return build;
  };
  /**
   * Where a raw input the key names `$NAME/rest` (outside the workspace: plan/decide.ts keyPath) was for the build
   * that ran the task: that build's folder for NAME, else this environment's; the key's text when neither is known.
   */
  let envRoots: KeyRoots | undefined;
  const located = (p: string, buildId: string): string => {
    if (!p.startsWith('$')) return p;
    const build = buildRecord(buildId);
    envRoots ??= Object.entries(process.env).flatMap(
      ([name, dir]): Array<[string, string]> => (dir ? [[name, path.resolve(options.cwd, dir)]] : []),
    );
    return fromKeyPath(p, build.ok ? keyRootsOf(build.record) : undefined) ?? fromKeyPath(p, envRoots) ?? p;
  };
  // A path as keys and `pipe plan` write one outside the workspace ('$GAMMAPY_DATA/hess-dl3-dr1/…') is the file it
  // names for the last build (else this environment), as its real path would be.
  const abs = path.resolve(options.cwd, located(options.query, 'last'));
  const asPath = relPath(root, abs);
  if (producerOf.has(asPath)) roots = [producerOf.get(asPath)!];
  else if (state.tasks.has(options.query)) roots = [options.query];
  else {
    roots = [...state.tasks.keys()]
      .filter((id) => id === options.query || id.startsWith(`${options.query}[`))
      .sort();
    // A raw input whose bytes a product copies is still no product: say what it is rather than explain the copy.
    // A file outside the workspace is keyed `$NAME/rest`: by its real path too (as `pipe why` prints it), not only so.
    const outside = path.isAbsolute(asPath) ? { abs, located } : undefined;
    const readers = roots.length === 0 ? rawInputReaders(state, asPath, outside) : [];
    if (readers.length > 0)
      return {
        ok: false,
        message: `'${options.query}' is a raw input, not a product: it is made by no task (read by ${listed(readers)}); pipe why explains products and targets`,
      };
    if (roots.length === 0 && options.querySha256 !== undefined) {
      const matches = [...state.tasks.entries()].flatMap(([id, rec]) =>
        Object.values(rec.outputs)
          .filter((o) => o.sha256 === options.querySha256)
          .map((o) => ({ id, path: o.path })),
      );
      // Only the records that made the files there now: an older record of the same path (a renamed target, another
      // config's build) would name a producer the file no longer comes from.
      const current = matches.filter((m) => producerOf.get(m.path) === m.id);
      roots = [...new Set(current.map((m) => m.id))].sort();
      sameContentAs = [...new Set(current.map((m) => m.path))].sort();
    }
    if (roots.length === 0)
      return {
        ok: false,
        message:
          options.querySha256 !== undefined
            ? `'${options.query}' is not a product of this workspace, and no product built here has its content (a copy from an earlier build, or edited since?)`
            : `'${options.query}' is neither a product nor a target built in this workspace${misspeltHint(options, asPath, producerOf)}`,
      };
  }
  // Which recorded task emitted an item, by its id and data as the fan-out task recorded them (one index, not a
  // scan of every task per item).
  const itemKey = (item: { id: string; data?: unknown }) =>
    `${item.id}\0${item.data === undefined ? '' : canonicalJson(item.data)}`;
  // Emitted items to the task that emits them, by id and data, and by id alone (the tasks emitting each id).
  let emitters: { byItem: Map<string, string>; byId: Map<string, Set<string>> } | undefined;
  const emitterOf = (item: { id: string; data?: unknown }, self: string): string | undefined => {
    if (!emitters) {
      emitters = { byItem: new Map(), byId: new Map() };
      for (const [id, rec] of state.tasks.entries())
        for (const emitted of rec.items ?? []) {
          const k = itemKey(emitted);
          if (!emitters.byItem.has(k)) emitters.byItem.set(k, id);
          const tasks = emitters.byId.get(emitted.id) ?? new Set<string>();
          emitters.byId.set(emitted.id, tasks.add(id));
        }
    }
    const id = emitters.byItem.get(itemKey(item));
    if (id !== undefined) return id === self ? undefined : id;
    // The emitter's latest run gave this item other data (a selection run on another store): the one task emitting
    // an item of this id, if only one does (two fan-outs over the same run ids stay unresolved). Only for an item
    // with data, which only an emitter gives (a list's or a glob's item has none).
    if (item.data === undefined) return undefined;
    const byId = [...(emitters.byId.get(item.id) ?? [])].filter((task) => task !== self);
    return byId.length === 1 ? byId[0] : undefined;
  };
  const memo = new Map<string, WhyNode>();
  const inputsOf = (
    id: string,
    fp: FingerprintRecord | undefined,
    stack: Set<string>,
    buildId: string,
  ): WhyInput[] => {
    const inputs: WhyInput[] = [];
    for (const [input, list] of Object.entries(fp?.inputs ?? {})) {
      for (const [keyed, hash] of list) {
        const p = located(keyed, buildId);
        const producer = producerOf.get(p);
        const w: WhyInput = { input, path: p, hash };
        if (producer && producer !== id && !stack.has(producer))
          w.producer = explain(producer, new Set([...stack, id]));
        const made = producer ? state.tasks.get(producer)?.outputs : undefined;
        const out = made && Object.values(made).find((o) => o.path === p);
        if (out && rebuiltSince(out, hash)) w.rebuiltSince = out.sha256;
        inputs.push(w);
      }
    }
    return inputs;
  };
  /**
   * Whether the product `out` is no longer the file a task read as `hash`. Upstream products are read by their
   * sha256; an emitted item's files (`{item}`) by their XXH64, as raw inputs are: compared with the XXH64 the hash
   * memo holds for the file at the product's stamp (neither known: not claimed; every stack over a catalog's items
   * was said to be out of date, each of its files "rebuilt since").
   */
  const rebuiltSince = (out: OutputStamp, hash: string): boolean => {
    if (hash.length === out.sha256.length) return hash !== out.sha256;
    const file = path.resolve(root, out.path);
    const memo = state.files.get(file);
    if (memo && sameFileStamp({ size: memo[0], mtimeNs: memo[1], ino: memo[2] }, out))
      return memo[3] !== hash;
    // Not memoised: the file's own XXH64 while it is the product as recorded (else the output's own line says so).
    // Stamped as products are (stampOf: ns from a plain stat's float ms, not a BigInt stat's exact ns).
    if (!sameFileStamp(stampOf(file), out)) return false;
    try {
      return xxh64FileSync(file) !== hash;
    } catch {
      return false;
    }
  };
  /**
   * Task `id` as it ran under `key` in build `buildId`, from the fingerprint log's earlier line and that build's
   * record; undefined when the log no longer holds it.
   */
  const explainEarlier = (
    id: string,
    key: string,
    buildId: string,
    stack: Set<string>,
  ): WhyNode | undefined => {
    const fp = state.fingerprints?.earlier(id, key);
    const build = buildRecord(buildId);
    const entry = build.ok ? build.record.tasks[id] : undefined;
    if (!fp || !entry) return undefined;
    const names = new Map(Object.entries(fp.outputs).map(([name, p]) => [p, name]));
    return {
      task: id,
      key,
      step: fp.step,
      params: fp.params,
      outputs: Object.entries(entry.outputs ?? {}).map(([p, sha256]) => ({
        name: names.get(p) ?? p,
        path: p,
        sha256,
      })),
      lastBuild: {
        id: buildId,
        state: entry.state,
        ...(entry.reasons ? { reasons: entry.reasons } : {}),
        ...(entry.madeIn ? { madeIn: entry.madeIn } : {}),
        ...(entry.metadata ? { metadata: entry.metadata } : {}),
      },
      inputs: inputsOf(id, fp, stack, buildId),
    };
  };
  /**
   * Whether the emitter's latest run gave task `id` its item too: the build that ran it kept the task, under the key
   * it has now (up to date, as when only the selection's config changed but it chose the same runs). Then that run
   * is as much the product's lineage as the older one, and the one the rest of the workspace shows.
   */
  const itemStillEmitted = (emitter: string, id: string, key: string): boolean => {
    const latest = buildRecord(state.tasks.get(emitter)!.buildId);
    const seen = latest.ok ? latest.record.tasks[id] : undefined;
    return (
      seen?.key === key && (seen.state === 'up-to-date' || seen.state === 'ran' || seen.state === 'restored')
    );
  };
  const explain = (id: string, stack: Set<string>): WhyNode => {
    const cached = memo.get(id);
    if (cached) return cached;
    const rec = state.tasks.get(id)!;
    const build = buildRecord(rec.buildId);
    const entry = build.ok ? build.record.tasks[id] : undefined;
    const fp = previousRecord(state, id);
    const node: WhyNode = {
      task: id,
      key: rec.key,
      step: fp?.step ?? { name: '?', version: '?', code: '' },
      params: fp?.params ?? {},
      outputs: Object.entries(rec.outputs).map(([name, o]) => ({ name, path: o.path, sha256: o.sha256 })),
      lastBuild: {
        id: rec.buildId,
        ...(entry?.state ? { state: entry.state } : {}),
        ...(entry?.reasons ? { reasons: entry.reasons } : {}),
        ...(entry?.madeIn ? { madeIn: entry.madeIn } : {}),
        ...(entry?.metadata ? { metadata: entry.metadata } : {}),
      },
      inputs: inputsOf(id, fp, stack, rec.buildId),
    };
    if (fp?.item) {
      const emitter = emitterOf(fp.item, id);
      node.item = { id: fp.item.id };
      if (emitter && !stack.has(emitter)) {
        const inner = new Set([...stack, id]);
        // The emitter's latest record may be another run (a build with another config since, which failed before
        // this task reran): the item came from the run of the build that made this task, under its key there.
        const then = build.ok ? build.record.tasks[emitter]?.key : undefined;
        if (
          then === undefined ||
          then === state.tasks.get(emitter)!.key ||
          itemStillEmitted(emitter, id, rec.key)
        )
          node.item.emitter = explain(emitter, inner);
        else {
          const earlier = explainEarlier(emitter, then, rec.buildId, inner);
          if (earlier) node.item.emitter = earlier;
          else node.item.emittedBy = { task: emitter, key: then, build: rec.buildId };
        }
      }
    }
    memo.set(id, node);
    return node;
  };
  const nodes = roots.map((id) => explain(id, new Set()));
  return sameContentAs ? { ok: true, nodes, sameContentAs } : { ok: true, nodes };
}

/**
 * The task whose record made each output path's file: several records may name one path (a target renamed and back,
 * builds with two configs writing the same products), and the one whose stamp the file still has wrote it (of
 * several, the one a build saw last); when the file was changed since, the record of the latest write.
 */
function currentProducers(state: StateData, root: string): Map<string, string> {
  const candidates = new Map<string, Array<{ id: string; out: OutputStamp; buildId: string }>>();
  for (const [id, rec] of state.tasks.entries())
    for (const out of Object.values(rec.outputs)) {
      const list = candidates.get(out.path);
      if (list) list.push({ id, out, buildId: rec.buildId });
      else candidates.set(out.path, [{ id, out, buildId: rec.buildId }]);
    }
  const producers = new Map<string, string>();
  for (const [rel, list] of candidates) {
    if (list.length === 1) {
      producers.set(rel, list[0]!.id);
      continue;
    }
    // Stamped as products are (stampOf: ns from a plain stat's float ms; a BigInt stat's exact ns never matched).
    const stamp = stampOf(path.resolve(root, rel));
    // Several with the stamp (a renamed target found up to date under its new name): the one a build saw last, the
    // task as the pipeline names it now (build ids sort by time).
    const wrote = stamp
      ? list
          .filter(({ out }) => sameFileStamp(stamp, out))
          .reduce<(typeof list)[number] | undefined>(
            (a, b) => (a && a.buildId >= b.buildId ? a : b),
            undefined,
          )
      : undefined;
    const latest = list.reduce((a, b) => {
      const [ma, mb] = [BigInt(a.out.mtimeNs), BigInt(b.out.mtimeNs)];
      return mb > ma || (mb === ma && b.buildId > a.buildId) ? b : a;
    });
    producers.set(rel, (wrote ?? latest).id);
  }
  return producers;
}
