/**
 * Temp workspaces for the CLI tests that run the real `pipe` binary: written from a map of relative path → text,
 * removed after each test, and dated out of pipe's racy window when a test needs its files trusted by their stamps.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const PIPE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/pipe.js');

/**
 * Temp directories named `prefix…`, removed after each test of the calling file: `dir()` an empty one,
 * `workspace(files)` one holding `files`.
 */
export function tempWorkspaces(prefix: string): {
  dir(): string;
  workspace(files: Record<string, string>): string;
} {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const dir = () => {
    const root = mkdtempSync(path.join(tmpdir(), prefix));
    roots.push(root);
    return root;
  };
  return {
    dir,
    workspace(files) {
      const root = dir();
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        writeFileSync(path.join(root, rel), text);
      }
      return root;
    },
  };
}

/** Every file and directory of the workspace (but .pipe) dated `secondsAgo` back. */
export function age(root: string, secondsAgo = 60, dir = root): void {
  const t = Date.now() / 1000 - secondsAgo;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.pipe') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) age(root, secondsAgo, p);
    utimesSync(p, t, t);
  }
  if (dir !== root) utimesSync(dir, t, t);
}
