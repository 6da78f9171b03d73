/**
 * One end-to-end suite run against each real server (nginx as a Bazel HTTP cache, and
 * turborepo-remote-cache): two workspaces share the Crab pipeline's products through the remote,
 * a tampered blob is detected and not used, a manifest with `../` paths is refused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeManifest, type Manifest } from '@pipe/cache';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CacheServersEnv } from '../packages/cache/test/servers.js';
import {
  buildWith,
  CRAB,
  crabWorkspace,
  filesContaining,
  namespace,
  productFiles,
  type RemoteNamespace,
  type ServerKind,
  servers,
  stateTasks,
} from './remote-cache-rig.js';
import type { Workspace } from './rig.js';
import { WatchProcess } from './watch-rig.js';

export function sharingSuite(kind: ServerKind): void {
  let env: CacheServersEnv | undefined;
  let skip: string | undefined;
  let ns: RemoteNamespace;
  let first: Workspace;
  /** Every task of the Crab build (one `datasets[...]` per selected run). */
  let ALL_TASKS: string[];
  let RUNS: string[];

  beforeAll(async () => {
    ({ env, skip } = await servers());
    if (!env) return;
    ns = namespace(kind, env);
    // The first workspace computes everything and uploads it.
    first = crabWorkspace();
    const built = await buildWith(first, CRAB, ns.env);
    expect(built.run.code, built.run.stderr).toBe(0);
    ALL_TASKS = built.ended.ran ?? [];
    RUNS = ALL_TASKS.filter((id) => id.startsWith('datasets[')).map((id) => id.slice(9, -1));
    expect(RUNS.length).toBeGreaterThan(1);
    expect(ALL_TASKS).toEqual([
      ...RUNS.map((r) => `datasets[${r}]`),
      'excess_map',
      'observations',
      'stacked',
      'stacked_maps',
    ]);
    expect(built.warnings).toEqual([]);
  }, 300_000);

  describe(`remote cache through ${kind === 'bazel' ? 'nginx (Bazel HTTP)' : 'turborepo-remote-cache'}`, () => {
    it('a second workspace restores every product from the remote, byte-identical, running no task', async (t) => {
      if (!env) return t.skip(skip);
      const second = crabWorkspace();
      const built = await buildWith(second, CRAB, ns.env);
      expect(built.run.code, built.run.stderr).toBe(0);
      expect(built.ended).toEqual({ restored: ALL_TASKS });
      expect(built.warnings).toEqual([]);
      const files = productFiles(first);
      expect(files.length).toBeGreaterThan(20);
      expect(productFiles(second)).toEqual(files);
      for (const f of files)
        expect(readFileSync(second.path(f)).equals(readFileSync(first.path(f))), f).toBe(true);

      // Fan-out items: stored workspace-relative, resolved into the restoring workspace.
      const tasks = stateTasks(second);
      const items = tasks.observations!.items!;
      expect(items.map((i) => i.id)).toEqual(RUNS);
      for (const i of items)
        for (const f of i.files) expect(f.startsWith(`${second.root}/pipelines/`), f).toBe(true);
      const stored = await ns.client.getManifest(tasks.observations!.key);
      expect(stored.ok && stored.value).toBeTruthy();
      const storedFiles = ((stored.ok && stored.value?.items) || []).flatMap(
        (i) => (i as { files: string[] }).files,
      );
      expect(storedFiles).toEqual(
        RUNS.map(
          (r) =>
            `pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_${r.padStart(6, '0')}.fits.gz`,
        ),
      );
      // A third build of the second workspace is a no-op (the restored items give the same keys).
      const again = await buildWith(second, CRAB, ns.env);
      expect(again.ended).toEqual({ 'up-to-date': ALL_TASKS });
      // pipe why of a restored product says where it was made: the first workspace's build, from the entry's provenance.
      const why = await second.run(['why', 'products/excess_map/sqrt_ts.fits.gz']);
      const made = /^ {2}made in build (\S+) \(local on \S+, kernels \w+, ended \S+\)$/m.exec(why.stdout);
      expect(made, why.stdout).toBeTruthy();
      expect(existsSync(first.path(`.pipe/builds/${made![1]}.json`))).toBe(true);

      // The token is never printed nor stored (workspace state, records, local cache, the server's entries).
      expect(built.run.stdout + built.run.stderr).not.toContain(ns.token);
      expect(filesContaining(second.path('.pipe'), ns.token)).toEqual([]);
      expect(ns.files().filter((f) => readFileSync(f).includes(ns.token))).toEqual([]);
    }, 300_000);

    it('pipe watch restores from the remote as pipe build does: its first build runs no task', async (t) => {
      if (!env) return t.skip(skip);
      const ws = crabWorkspace();
      const w = WatchProcess.start(ws, CRAB, {
        PIPE_REMOTE_CACHE: '',
        PIPE_REMOTE_CACHE_TOKEN: '',
        ...ns.env,
      });
      try {
        const end = await w.next((e) => e.event === 'build-end', 'the first build', 240_000);
        expect(end.status, w.stderr).toBe('succeeded');
        const ended = w.events.filter((e) => e.event === 'task-end');
        expect(ended.filter((e) => e.state === 'ran').map((e) => e.id)).toEqual([]);
        expect(ended.filter((e) => e.state === 'restored')).toHaveLength(ALL_TASKS.length);
      } finally {
        w.child.kill('SIGINT');
        await w.exited;
      }
      ws.remove('.');
    }, 300_000);

    it('pipe plan reads manifests from the remote but leaves no local entry without its bytes', async (t) => {
      if (!env) return t.skip(skip);
      const ws = crabWorkspace();
      const remoteEnv = { PIPE_REMOTE_CACHE: '', PIPE_REMOTE_CACHE_TOKEN: '', ...ns.env };
      const plan = await ws.run(['plan', ...CRAB], remoteEnv);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/to restore/);
      const verify = await ws.run(['cache', 'verify']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      // With the remote gone, the build computes locally: one warning about the remote, none per task.
      const offline = await buildWith(ws, CRAB, { ...ns.env, PIPE_REMOTE_CACHE: 'http://127.0.0.1:9/none' });
      expect(offline.run.code, offline.run.stderr).toBe(0);
      expect(offline.warnings.filter((w) => /unusable|corrupt/.test(w))).toEqual([]);
      ws.remove('.');
    }, 300_000);

    it('a tampered blob on the server is detected, not used, and the task recomputed', async (t) => {
      if (!env) return t.skip(skip);
      const summary = stateTasks(first).excess_map!.outputs.summary!;
      const blob = ns.blobFile(summary.sha256);
      const good = readFileSync(blob);
      writeFileSync(blob, Buffer.concat([Buffer.from('{"tampered":1}'), good.subarray(14)]));
      const third = crabWorkspace();
      const built = await buildWith(third, CRAB, ns.env);
      expect(built.run.code, built.run.stderr).toBe(0);
      expect(built.ended.ran).toEqual(['excess_map']);
      expect(built.warnings.join('\n')).toMatch(/corrupt|hash/i);
      expect(readFileSync(third.path(summary.path)).equals(readFileSync(first.path(summary.path)))).toBe(
        true,
      );
      expect(readFileSync(third.path(summary.path), 'utf8')).not.toContain('tampered');
      // The recomputed output replaced the tampered copy on the server, for every later client.
      expect(readFileSync(blob).equals(good)).toBe(true);
    }, 300_000);

    it('a manifest whose paths leave the workspace is refused, and nothing is written outside', async (t) => {
      if (!env) return t.skip(skip);
      const tasks = stateTasks(first);
      const plant = async (key: string, edit: (m: Manifest) => void) => {
        const got = await ns.client.getManifest(key);
        if (!got.ok || !got.value) throw new Error(`no manifest ${key} on the server`);
        edit(got.value);
        writeFileSync(ns.manifestFile(key), encodeManifest(got.value)); // valid checksum, unsafe content
      };
      await plant(tasks.stacked!.key, (m) => {
        m.outputs[0]!.path = '../../escaped.fits.gz';
      });
      await plant(tasks.observations!.key, (m) => {
        (m.items![0] as { files: string[] }).files = ['../../../etc/passwd'];
      });
      const fourth = crabWorkspace();
      const built = await buildWith(fourth, CRAB, ns.env);
      expect(built.run.code, built.run.stderr).toBe(0);
      // Both refused manifests are recomputed; their dependants then restore from the remote again.
      expect(built.ended.ran).toEqual(['observations', 'stacked']);
      expect(built.ended.restored).toEqual([
        ...RUNS.map((r) => `datasets[${r}]`),
        'excess_map',
        'stacked_maps',
      ]);
      expect(`${built.run.stderr}`).toMatch(/\.\./);
      for (const up of ['escaped.fits.gz', '../escaped.fits.gz', '../../escaped.fits.gz']) {
        expect(existsSync(path.resolve(fourth.root, up)), up).toBe(false);
      }
      expect(stateTasks(fourth).observations!.items![0]!.files[0]).toBe(
        path.join(
          fourth.root,
          `pipelines/excess_map/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_${RUNS[0]!.padStart(6, '0')}.fits.gz`,
        ),
      );
    }, 300_000);
  });
}
