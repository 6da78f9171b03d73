/**
 * pipe's version (provenance/pipe-version.ts): the core package's version, with the commit `npm run build` recorded
 * (scripts/build-info.mjs) when it built in a git checkout, and whether the checkout's packages were modified.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pipeVersion, readPipeVersion, versionText } from '../src/provenance/pipe-version.js';

const script = path.resolve(__dirname, '../../../scripts/build-info.mjs');
const corePackage = path.resolve(__dirname, '..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipe-version-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const git = (...args: string[]) =>
  execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
const write = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), text);
};
const out = () => path.join(dir, 'packages/core/dist/build-info.json');
const buildInfo = () => {
  execFileSync(process.execPath, [script, dir]);
  return JSON.parse(readFileSync(out(), 'utf8')) as Record<string, unknown>;
};
const version = () => readPipeVersion(pathToFileURL(`${dir}/packages/core/`));

it('is the version of the core package, and the commit it was built from', () => {
  write('packages/core/package.json', '{"version": "2.3.4"}');
  write('packages/core/src/a.ts', 'export {};\n');
  write('.gitignore', 'dist/\n');
  expect(version()).toBe('2.3.4'); // no build info: the package's version alone
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first');
  const head = git('rev-parse', 'HEAD');
  expect(buildInfo()).toEqual({ format: 'pipe-build-info', version: 1, commit: head });
  expect(version()).toBe(`2.3.4+g${head.slice(0, 12)}`);

  // A test changed compiles into nothing; a source changed, or a new one, makes the build one of a modified checkout.
  write('packages/core/test/a.test.ts', 'x\n');
  expect(buildInfo()).not.toHaveProperty('modified');
  write('packages/core/src/b.ts', 'export {};\n');
  expect(buildInfo()).toMatchObject({ commit: head, modified: true });
  expect(version()).toBe(`2.3.4+g${head.slice(0, 12)}.modified`);
});

it('asks git without writing its index: a git command run meanwhile finds no index.lock', () => {
  write('packages/core/package.json', '{"version": "2.3.4"}');
  write('packages/core/src/a.ts', 'export {};\n');
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first');
  // A source touched, its bytes the same: the index's stat data is stale, which `git status` would write back.
  const index = path.join(dir, '.git', 'index');
  const past = new Date(Date.now() - 60_000);
  utimesSync(index, past, past);
  const later = new Date(Date.now() - 30_000);
  utimesSync(path.join(dir, 'packages/core/src/a.ts'), later, later);
  expect(buildInfo()).not.toHaveProperty('modified');
  expect(Math.abs(statSync(index).mtimeMs - past.getTime())).toBeLessThan(1);
});

it('is the package version alone outside a git checkout, and rewrites the build info only when it changes', () => {
  write('packages/core/package.json', '{"version": "2.3.4"}');
  expect(buildInfo()).toEqual({ format: 'pipe-build-info', version: 1 });
  expect(version()).toBe('2.3.4');
  const past = new Date(Date.now() - 60_000);
  utimesSync(out(), past, past);
  buildInfo();
  expect(Math.abs(statSync(out()).mtimeMs - past.getTime())).toBeLessThan(1);
});

it('takes only a commit id from the build info', () => {
  expect(versionText('1.0.0', { commit: 'a'.repeat(40) })).toBe('1.0.0+gaaaaaaaaaaaa');
  expect(versionText('1.0.0', { commit: 'HEAD; rm -rf' })).toBe('1.0.0');
  expect(versionText('1.0.0', undefined)).toBe('1.0.0');
});

it("is this pipe's package version", () => {
  const pkg = JSON.parse(readFileSync(path.join(corePackage, 'package.json'), 'utf8')) as { version: string };
  expect(pipeVersion().startsWith(pkg.version)).toBe(true);
  expect(pipeVersion()).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?(\+g[0-9a-f]{12}(\.modified)?)?$/);
});
