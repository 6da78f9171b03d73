#!/usr/bin/env node
// Records which commit pipe's compiled code was built from: packages/core/dist/build-info.json, {commit, modified},
// read by packages/core/src/provenance/pipe-version.ts into the pipe version of provenance and build records
// (0.1.0+g<commit>[.modified]). Run by `npm run build` after turbo (not inside a turbo task: a turbo cache hit would
// restore the file of the commit that task last ran at). Asking git here, once per build, spares every command the
// cost of asking it. Outside a git checkout (an unpacked release) the file says nothing, and the version is the
// package's alone. Rewritten only when its content changes.
//
// Usage: node scripts/build-info.mjs [repository [output]]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(process.argv[2] ?? path.join(here, '..'));
const out = path.resolve(process.argv[3] ?? path.join(repo, 'packages', 'core', 'dist', 'build-info.json'));

// GIT_OPTIONAL_LOCKS=0: `git status` otherwise refreshes the index and writes it back under index.lock, and a git
// command the user runs meanwhile (a commit in another terminal, an editor's) fails on that lock. Only read here.
function git(...args) {
  try {
    return execFileSync('git', ['-C', repo, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
  } catch {
    return undefined;
  }
}

const info = { format: 'pipe-build-info', version: 1 };
// The repository must be pipe's own: a checkout that only contains pipe (in node_modules, say) is not its history.
const top = git('rev-parse', '--show-toplevel')?.trim();
const commit = top && path.resolve(top) === repo ? git('rev-parse', '--verify', 'HEAD')?.trim() : undefined;
if (commit && /^[0-9a-f]{40,64}$/.test(commit)) {
  info.commit = commit;
  // What is compiled into the packages (tests aside): sources changed since the commit, or new ones, make the build
  // one of a modified checkout. Ignored files (dist/, node_modules/) are not asked about.
  const status = git('status', '--porcelain', '--', 'packages', ':(exclude,glob)packages/*/test/**');
  if (status === undefined || status.trim() !== '') info.modified = true;
}
const text = `${JSON.stringify(info)}\n`;
let before;
try {
  before = readFileSync(out, 'utf8');
} catch {}
if (before !== text) {
  mkdirSync(path.dirname(out), { recursive: true });
  const temp = `${out}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, out);
}
