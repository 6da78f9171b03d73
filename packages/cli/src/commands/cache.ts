/** `pipe cache stats|gc|verify|pin|unpin`: the local store of this workspace (or --cache-dir / PIPE_CACHE_DIR). */

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeFailure, LocalStore } from '@pipe/cache';
import {
  didYouMean,
  listBuildIds,
  loadState,
  readBuildRecord,
  recordedDelivery,
  targetOfTaskId,
} from '@pipe/core';
import { cacheDirOption, type GlobalOptions } from '../context.js';
import { EXIT_BUILD_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { workspaceFromCli } from './workspace.js';

function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export async function cacheCommand(
  action: string,
  arg: string | undefined,
  opts: GlobalOptions & { maxSize?: number },
): Promise<number> {
  const ws = workspaceFromCli(opts);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  // A mistyped --cache-dir must not pass for a healthy, empty cache (nor be created by verify or gc).
  const explicit = cacheDirOption(opts);
  if (explicit !== undefined) {
    const st = statSync(ws.layout.cacheDir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) {
      process.stderr.write(
        `pipe: cache folder ${ws.layout.cacheDir}: ${st ? 'not a folder' : 'does not exist'}\n`,
      );
      return EXIT_USAGE;
    }
  }
  const store = new LocalStore({ root: ws.layout.cacheDir });
  switch (action) {
    case 'stats': {
      const s = await store.stats();
      print(
        opts.json,
        s,
        `cache ${ws.layout.cacheDir}\n  ${s.manifests} entries, ${s.blobs} blobs, ${s.bytes} bytes, ${s.pinnedKeys} pinned, ${s.quarantined} quarantined`,
      );
      return 0;
    }
    case 'gc': {
      const r = await store.gc(opts.maxSize !== undefined ? { maxBytes: opts.maxSize } : {});
      if (!r.ok) {
        process.stderr.write(`pipe: cache gc: ${describeFailure(r.failure)}\n`);
        return EXIT_BUILD_FAILED;
      }
      const g = r.value;
      print(
        opts.json,
        g,
        `evicted ${g.evicted.length} entries, removed ${g.removedBlobs} blobs; ${g.bytesBefore} → ${g.bytesAfter} bytes${g.overBudget ? ' (still over budget: what is left is pinned, or was used in the last 10 minutes, which a running build may need)' : ''}`,
      );
      return 0;
    }
    case 'verify': {
      const r = await store.verify();
      if (!r.ok) {
        process.stderr.write(`pipe: cache verify: ${describeFailure(r.failure)}\n`);
        return EXIT_BUILD_FAILED;
      }
      const v = r.value;
      const problems = [
        ...v.corruptBlobs.map((b) => `corrupt blob ${b}`),
        ...v.badManifests.map((m) => `bad manifest ${m.key}: ${describeFailure(m.failure)}`),
        ...v.missingBlobs.map((m) => `manifest ${m.key} names missing blob ${m.sha256} (${m.path})`),
        ...v.unreadable.map((u) => `cannot read ${u.path} (${u.error}): left as it is`),
      ];
      print(
        opts.json,
        v,
        `checked ${v.manifestsChecked} manifests, ${v.blobsChecked} blobs: ${v.ok ? 'no corrupt entry' : `${problems.length} problem(s)`}${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`,
      );
      return v.ok ? 0 : EXIT_BUILD_FAILED;
    }
    case 'pin':
    case 'unpin': {
      const state = loadState(ws.layout.stateFile).data;
      // The target and those built with it: pinning an analysis keeps all it delivers (excess_map's stacked maps).
      const targets = builtWith(ws.layout.buildsDir, arg!);
      const keys = [...state.tasks.keys()]
        .filter((id) => targets.includes(targetOfTaskId(id)))
        .map((id) => ({ id, key: state.tasks.keyOf(id)! }));
      if (keys.length === 0) {
        const built = new Set([...state.tasks.keys()].map(targetOfTaskId));
        const hint = didYouMean(arg!, built);
        process.stderr.write(`pipe: no built task of '${arg}' in this workspace${hint ? `; ${hint}` : ''}\n`);
        return EXIT_USAGE;
      }
      // Only what the store holds can be kept: pinning an evicted entry would protect nothing.
      const absent: string[] = [];
      if (action === 'pin')
        for (const { id, key } of keys) {
          const m = await store.getManifest(key);
          if (!m.ok || !m.value) absent.push(id);
        }
      if (absent.length > 0) {
        process.stderr.write(
          `pipe: not in the cache (evicted, or built with another cache): ${absent.join(', ')}; build with --force ${arg} to store ${absent.length === 1 ? 'it' : 'them'} again\n`,
        );
        return EXIT_BUILD_FAILED;
      }
      // The workspace names the pin: two workspaces sharing one cache (PIPE_CACHE_DIR) pin the same target name
      // apart, and one's unpin leaves the other's pin.
      const label = `${ws.layout.root}#${arg}`;
      const todo: Array<[string, string]> = keys.map(({ key }) => [key, label]);
      const madeHere = pinLabelsMade(ws.layout.dir);
      // What was pinned before an unpin: a target with nothing pinned is said to be so, not "unpinned 1 entry".
      const pinnedBefore = action === 'unpin' ? await store.pins() : undefined;
      if (pinnedBefore) {
        // Every key this workspace pinned for the target, also those of earlier builds (another --param), and the
        // plain target name older pipes pinned with.
        for (const [key, labels] of pinnedBefore) {
          if (labels.includes(label) && !keys.some((k) => k.key === key)) todo.push([key, label]);
          // Pinned by this workspace at another path, before it was moved: the labels it made, as it recorded them
          // (a label naming a path not seen from here may be another machine's or user's workspace: left alone).
          for (const l of labels)
            if (l !== label && madeHere.has(l) && l.endsWith(`#${arg}`)) todo.push([key, l]);
        }
        for (const { key } of keys) todo.push([key, arg!]);
      }
      for (const [key, l] of todo) {
        const r = action === 'pin' ? await store.pin(key, l) : await store.unpin(key, l);
        if (!r.ok) {
          process.stderr.write(`pipe: cache ${action}: ${describeFailure(r.failure)}\n`);
          return EXIT_BUILD_FAILED;
        }
      }
      if (action === 'pin') madeHere.add(label);
      else for (const [, l] of todo) madeHere.delete(l);
      savePinLabelsMade(ws.layout.dir, madeHere);
      // An unpin says the entries it took a pin from (also earlier builds' keys), not every key of the target.
      const unpinned = pinnedBefore
        ? [...new Set(todo.filter(([key, l]) => pinnedBefore.get(key)?.includes(l)).map(([key]) => key))]
        : undefined;
      const count = unpinned ? unpinned.length : keys.length;
      print(
        opts.json,
        unpinned ? await Promise.all(unpinned.map((key) => entryOf(store, keys, key))) : keys,
        pinnedBefore && count === 0
          ? `nothing of ${arg} was pinned (by this workspace)`
          : `${action === 'pin' ? 'pinned' : 'unpinned'} ${count} entr${count === 1 ? 'y' : 'ies'} of ${arg}`,
      );
      return 0;
    }
    default:
      return EXIT_USAGE;
  }
}

/** An unpinned key as `{id, key}`: its task as this workspace's state or, for an earlier build's key, its manifest has it. */
async function entryOf(
  store: LocalStore,
  keys: Array<{ id: string; key: string }>,
  key: string,
): Promise<{ id?: string; key: string }> {
  const known = keys.find((k) => k.key === key);
  if (known) return known;
  const m = await store.getManifest(key);
  return m.ok && m.value ? { id: m.value.taskId, key } : { key };
}

/**
 * `target` and the targets built `with` it (transitively), as the newest build record that built it has them: the
 * state holds no pipeline, and loading it would need the config of that build.
 */
function builtWith(buildsDir: string, target: string): string[] {
  for (const id of listBuildIds(buildsDir).slice(-50).reverse()) {
    const found = readBuildRecord(buildsDir, id);
    if (!found.ok) continue;
    if (Object.keys(found.record.tasks).some((t) => targetOfTaskId(t) === target))
      return recordedDelivery(found.record, [target]);
  }
  return [target];
}

/**
 * `.pipe/pin-labels`: the pin labels this workspace made (one per line). A label names the workspace by its path, so
 * after the workspace is moved its unpin would miss them; the list moves with it.
 */
function pinLabelsMade(pipeDir: string): Set<string> {
  try {
    return new Set(readFileSync(path.join(pipeDir, 'pin-labels'), 'utf8').split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

function savePinLabelsMade(pipeDir: string, labels: Set<string>): void {
  try {
    writeFileSync(path.join(pipeDir, 'pin-labels'), [...labels].map((l) => `${l}\n`).join(''));
  } catch {
    // Only a later move's unpin needs it.
  }
}
