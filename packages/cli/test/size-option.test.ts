/**
 * `pipe cache`: a size misread would evict the whole cache, so only real sizes pass; a mistyped --cache-dir is not a
 * healthy empty cache; pinning an entry the store does not hold is refused.
 */

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { sizeOption } from '../src/main.js';

const PIPE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/pipe.js');

/** A workspace with one built target (`copy`), its pipe runner taking `env` over the test's. */
function copyWorkspace(env: Record<string, string> = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'pipe-cache-cli-'));
  mkdirSync(path.join(root, 'data'));
  writeFileSync(path.join(root, 'data/a.txt'), 'alpha\n');
  writeFileSync(
    path.join(root, 'pipe.yaml'),
    'version: 1\ntargets:\n  copy:\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    inputs: {src: data/a.txt}\n    outputs: {out: build/a.txt}\n',
  );
  const run = (args: string[]) =>
    spawnSync(process.execPath, [PIPE_BIN, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', ...env },
    });
  expect(run(['build', 'copy']).status).toBe(0);
  return { root, run };
}

/** A workspace whose one task is built and cached, its entry stored and used past gc's grace periods. */
function builtWorkspace() {
  const { root, run } = copyWorkspace();
  const cas = path.join(root, '.pipe/cache/cas');
  const old = Date.now() / 1000 - 3600;
  for (const dir of readdirSync(cas))
    for (const f of readdirSync(path.join(cas, dir))) utimesSync(path.join(cas, dir, f), old, old);
  // Its entry stored (and used) as long ago: past gc's grace for recently used entries too.
  const ac = path.join(root, '.pipe/cache/ac');
  for (const f of readdirSync(ac)) utimesSync(path.join(ac, f), old, old);
  rmSync(path.join(root, '.pipe/cache/access-v1.log'), { force: true });
  return { root, run, cas };
}

describe('--max-size', () => {
  it('reads bytes and binary units, and refuses anything else', () => {
    expect(sizeOption('1000')).toBe(1000);
    expect(sizeOption('10G')).toBe(10 * 1024 ** 3);
    expect(sizeOption('10GB')).toBe(10 * 1024 ** 3);
    expect(sizeOption('512MiB')).toBe(512 * 1024 ** 2);
    expect(sizeOption('1.5t')).toBe(1.5 * 1024 ** 4);
    expect(sizeOption('64k')).toBe(65536);
    expect(sizeOption('7B')).toBe(7);
    for (const bad of ['abc', '', '10X', '-1G', '1e9', '10 G B', 'G'])
      expect(() => sizeOption(bad), bad).toThrow(InvalidArgumentError);
  });

  it('a bad size is a usage error that evicts nothing', () => {
    const { root, run, cas } = builtWorkspace();
    try {
      const blobs = () => readdirSync(cas).flatMap((d) => readdirSync(path.join(cas, d))).length;
      const before = blobs();
      expect(before).toBeGreaterThan(0);
      for (const bad of ['abc', '10X']) {
        const r = run(['cache', 'gc', '--max-size', bad]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain('a size in bytes, or with a unit');
      }
      expect(run(['cache', 'gc', '--max-size', '10G']).status).toBe(0);
      expect(blobs()).toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('pipe cache: what it is pointed at', () => {
  it('a mistyped --cache-dir is an error, created by nothing; pin refuses an evicted entry', () => {
    const { root, run } = builtWorkspace();
    try {
      for (const action of ['stats', 'verify', 'gc']) {
        const r = run(['cache', action, '--cache-dir', 'nowhere']);
        expect(r.status, action).toBe(2);
        expect(r.stderr).toContain(`cache folder ${path.join(root, 'nowhere')}: does not exist`);
      }
      expect(existsSync(path.join(root, 'nowhere'))).toBe(false);
      // A misspelt target: the built one it is close to.
      const misspelt = run(['cache', 'pin', 'cpy']);
      expect(misspelt.status).toBe(2);
      expect(misspelt.stderr).toContain(
        "pipe: no built task of 'cpy' in this workspace; did you mean 'copy'?",
      );
      // Evicted (gc to 0 bytes; its blobs are dated past the grace period): pin says so instead of pinning nothing.
      expect(run(['cache', 'gc', '--max-size', '0']).status).toBe(0);
      const pin = run(['cache', 'pin', 'copy']);
      expect(pin.status).toBe(1);
      expect(pin.stderr).toContain('not in the cache (evicted, or built with another cache): copy');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('pinning a target pins the targets built with it: gc keeps all it delivers', () => {
    const { root, run } = builtWorkspace();
    try {
      writeFileSync(path.join(root, 'data/b.txt'), 'beta\n');
      writeFileSync(
        path.join(root, 'pipe.yaml'),
        'version: 1\ntargets:\n  copy:\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    inputs: {src: data/a.txt}\n    outputs: {out: build/a.txt}\n    with: [side]\n  side:\n    command: [cp, "{inputs.src}", "{outputs.out}"]\n    inputs: {src: data/b.txt}\n    outputs: {out: build/b.txt}\n',
      );
      expect(run(['build', 'copy']).status).toBe(0);
      const pin = run(['cache', 'pin', 'copy', '--json']);
      expect(pin.status, pin.stderr).toBe(0);
      expect(
        JSON.parse(pin.stdout)
          .map((k: { id: string }) => k.id)
          .sort(),
      ).toEqual(['copy', 'side']);
      expect(run(['cache', 'gc', '--max-size', '0']).status).toBe(0);
      rmSync(path.join(root, 'build'), { recursive: true });
      const rebuilt = run(['build', 'copy']);
      expect(rebuilt.status, rebuilt.stderr).toBe(0);
      expect(rebuilt.stderr).toMatch(/restored\s+copy/);
      expect(rebuilt.stderr).toMatch(/restored\s+side/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('pipe cache pin in workspaces that share a cache', () => {
  it("keeps one workspace's pin when another unpins the same target name, and unpins the keys of earlier builds", () => {
    const shared = mkdtempSync(path.join(tmpdir(), 'pipe-shared-cache-'));
    const workspace = () => copyWorkspace({ PIPE_CACHE_DIR: shared });
    const w1 = workspace();
    const w2 = workspace();
    try {
      expect(w1.run(['cache', 'pin', 'copy']).status).toBe(0);
      expect(w2.run(['cache', 'pin', 'copy']).status).toBe(0);
      expect(w2.run(['cache', 'unpin', 'copy']).status).toBe(0);
      expect(w1.run(['cache', 'stats']).stdout).toMatch(/\b1 pinned\b/);
      // W1's input changes (a new key); unpinning the target frees the old key too.
      writeFileSync(path.join(w1.root, 'data/a.txt'), 'alpha 2\n');
      expect(w1.run(['build', 'copy']).status).toBe(0);
      expect(w1.run(['cache', 'unpin', 'copy']).status).toBe(0);
      expect(w1.run(['cache', 'stats']).stdout).toMatch(/\b0 pinned\b/);
    } finally {
      for (const d of [shared, w1.root, w2.root]) rmSync(d, { recursive: true, force: true });
    }
  });

  it('says so when there was nothing pinned to unpin, rather than "unpinned 1 entry"', () => {
    const w = copyWorkspace();
    try {
      const none = w.run(['cache', 'unpin', 'copy']);
      expect(none.status).toBe(0);
      expect(none.stdout.trim()).toBe('nothing of copy was pinned (by this workspace)');
      expect(w.run(['cache', 'pin', 'copy']).stdout.trim()).toBe('pinned 1 entry of copy');
      expect(w.run(['cache', 'unpin', 'copy']).stdout.trim()).toBe('unpinned 1 entry of copy');
      expect(w.run(['cache', 'unpin', 'copy']).stdout.trim()).toBe(
        'nothing of copy was pinned (by this workspace)',
      );
    } finally {
      rmSync(w.root, { recursive: true, force: true });
    }
  });

  it("--json lists the entries it unpinned: none when nothing was pinned, an earlier build's key too", () => {
    const w = copyWorkspace();
    try {
      const ids = (r: { status: number | null; stdout: string; stderr: string }) => {
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as Array<{ id?: string; key: string }>;
      };
      expect(ids(w.run(['cache', 'unpin', 'copy', '--json']))).toEqual([]);
      const [first] = ids(w.run(['cache', 'pin', 'copy', '--json']));
      expect(first?.id).toBe('copy');
      // A new input: a new key, pinned too; the unpin frees both.
      writeFileSync(path.join(w.root, 'data/a.txt'), 'alpha 2\n');
      expect(w.run(['build', 'copy']).status).toBe(0);
      const [second] = ids(w.run(['cache', 'pin', 'copy', '--json']));
      expect(second?.key).not.toBe(first?.key);
      const unpinned = ids(w.run(['cache', 'unpin', 'copy', '--json']));
      expect(unpinned.map((e) => e.key).sort()).toEqual([first?.key, second?.key].sort());
      expect(unpinned.map((e) => e.id)).toEqual(['copy', 'copy']);
      expect(ids(w.run(['cache', 'unpin', 'copy', '--json']))).toEqual([]);
    } finally {
      rmSync(w.root, { recursive: true, force: true });
    }
  });

  it('unpins what the workspace pinned before it was moved (the old path holds no workspace any more)', () => {
    const { root } = copyWorkspace();
    const moved = `${root}-moved`;
    const runIn = (cwd: string, args: string[]) =>
      spawnSync(process.execPath, [PIPE_BIN, ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
    try {
      expect(runIn(root, ['cache', 'pin', 'copy']).status).toBe(0);
      renameSync(root, moved);
      expect(runIn(moved, ['cache', 'stats']).stdout).toMatch(/\b1 pinned\b/);
      expect(runIn(moved, ['cache', 'unpin', 'copy']).status).toBe(0);
      expect(runIn(moved, ['cache', 'stats']).stdout).toMatch(/\b0 pinned\b/);
      // A label of a path not seen from here that this workspace did not make (another machine's, another user's
      // private folder) stays.
      const foreign = '/net/elsewhere/ws#copy';
      const pins = path.join(moved, '.pipe/cache/pins-v1.json');
      expect(runIn(moved, ['cache', 'pin', 'copy']).status).toBe(0);
      const pinned = JSON.parse(readFileSync(pins, 'utf8'));
      for (const labels of Object.values(pinned.pins) as string[][]) labels.push(foreign);
      writeFileSync(pins, JSON.stringify(pinned));
      expect(runIn(moved, ['cache', 'unpin', 'copy']).status).toBe(0);
      expect(Object.values(JSON.parse(readFileSync(pins, 'utf8')).pins)).toEqual([[foreign]]);
    } finally {
      for (const d of [root, moved]) rmSync(d, { recursive: true, force: true });
    }
  });
});
