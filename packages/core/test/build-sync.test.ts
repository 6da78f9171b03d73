/**
 * A build that stored cache entries ends by making the store's writes durable (CacheBackend.sync), after every
 * entry is committed: the local store batches its fsyncs, and the last manifest's directory entry would otherwise
 * wait for a round that never comes. A build that stored nothing does not sync; a failed sync is a warning.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CacheBackend, LocalStore } from '@pipe/cache';
import { afterEach, expect, it } from 'vitest';
import { buildSession, openSession } from '../src/builds/session.js';
import { loadPipeline } from '../src/config/index.js';
import type { BuildEvent } from '../src/schedule/events.js';
import { createStepRegistry } from '../src/steps/registry.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** The local store, with every call logged in order; `syncFails` makes sync answer as a failing disk would. */
function loggedStore(root: string, log: string[], syncFails = false): CacheBackend {
  const store = new LocalStore({ root });
  return {
    name: store.name,
    getManifest: (key) => store.getManifest(key),
    putManifest: async (m) => {
      const r = await store.putManifest(m);
      log.push(`putManifest ${m.key.slice(0, 8)}`);
      return r;
    },
    hasBlob: (sha) => store.hasBlob(sha),
    fetchBlob: (sha, dest) => store.fetchBlob(sha, dest),
    putBlob: async (sha, src, hashed, taken) => {
      const r = await store.putBlob(sha, src, hashed, taken);
      log.push('putBlob');
      return r;
    },
    sync: async () => {
      log.push('sync');
      if (syncFails) return { ok: false, failure: { type: 'unavailable', detail: 'fsync: EIO' } };
      return store.sync();
    },
  };
}

async function build(root: string, cache: CacheBackend) {
  const registry = createStepRegistry();
  const loaded = await loadPipeline(path.join(root, 'pipe.yaml'), { registry, cwd: root });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const opened = await openSession({
    pipeline: loaded.pipeline,
    targets: ['second'],
    loadStep: (m) => registry.load(m),
    cache,
  });
  if (!opened.ok) throw new Error(JSON.stringify(opened.diagnostics));
  const events: BuildEvent[] = [];
  const result = await buildSession(opened.session, {
    jobs: 2,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
  });
  if (!result.ok) throw new Error('build did not run');
  return {
    status: result.status,
    warnings: events.flatMap((e) => (e.type === 'warning' ? [e.message] : [])),
  };
}

function workspace(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-sync-'));
  roots.push(root);
  writeFileSync(
    path.join(root, 'pipe.yaml'),
    [
      'version: 1',
      'targets:',
      '  first:',
      '    command: [cp, "{inputs.src}", "{outputs.o}"]',
      '    inputs: {src: in.txt}',
      '    outputs: {o: out/first.txt}',
      '  second:',
      '    command: [cp, "{inputs.src}", "{outputs.o}"]',
      '    inputs: {src: out/first.txt}',
      '    outputs: {o: out/second.txt}',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(root, 'in.txt'), 'text');
  return root;
}

it('syncs the store once, after the last cache entry is committed; an up-to-date build does not sync', async () => {
  const root = workspace();
  const log: string[] = [];
  const cache = loggedStore(path.join(root, '.pipe/cache'), log);
  expect((await build(root, cache)).status).toBe('succeeded');
  expect(log.filter((l) => l === 'sync')).toHaveLength(1);
  expect(log.at(-1)).toBe('sync');
  expect(log.filter((l) => l.startsWith('putManifest'))).toHaveLength(2);
  log.length = 0;
  expect((await build(root, cache)).status).toBe('succeeded');
  expect(log).toEqual([]);
});

it('a sync that fails is a warning naming the cache, and the build still succeeds', async () => {
  const root = workspace();
  const log: string[] = [];
  const outcome = await build(root, loggedStore(path.join(root, '.pipe/cache'), log, true));
  expect(outcome.status).toBe('succeeded');
  expect(outcome.warnings).toEqual(['cache: unavailable: fsync: EIO']);
});
