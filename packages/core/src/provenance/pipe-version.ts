/**
 * pipe's version, as provenance and build records, the pipeline and kernel memos and `pipe --version` give it: the
 * version of this package, and, for a build made in a git checkout, the commit it was built from and whether
 * the checkout's packages were modified (`0.1.0+g1a2b3c4d5e6f`, `0.1.0+g1a2b3c4d5e6f.modified`, semver's build
 * metadata). The commit is recorded by `npm run build` (scripts/build-info.mjs → dist/build-info.json), not asked of
 * git at each command; a build info absent or unreadable leaves the package's version alone. Read once, when first
 * asked: two small files. A no-op build the fast path answers does not read them; the full path does (`--version`
 * for commander, the pipeline cache's key).
 */
import { readFileSync } from 'node:fs';

/** What scripts/build-info.mjs records. */
export interface BuildInfo {
  commit?: string;
  modified?: boolean;
}

/** The version text of package version `version` built as `info` says. */
export function versionText(version: string, info: BuildInfo | undefined): string {
  const commit = info?.commit;
  if (typeof commit !== 'string' || !/^[0-9a-f]{12,64}$/.test(commit)) return version;
  return `${version}+g${commit.slice(0, 12)}${info?.modified === true ? '.modified' : ''}`;
}

function readJson(url: URL): unknown {
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The version of the package whose folder is `packageDir` (a URL ending in '/'): its package.json's version with
 * what its dist/build-info.json says; '0.0.0' when the package.json cannot be read (a bundle moved away from it).
 */
export function readPipeVersion(packageDir: URL): string {
  const pkg = readJson(new URL('package.json', packageDir)) as { version?: unknown } | undefined;
  const version = typeof pkg?.version === 'string' ? pkg.version : '0.0.0';
  const info = readJson(new URL('dist/build-info.json', packageDir));
  return versionText(version, typeof info === 'object' && info !== null ? (info as BuildInfo) : undefined);
}

let known: string | undefined;

/** This pipe's version (see above). From src/provenance/ and dist/provenance/ alike, the package is two folders up. */
export function pipeVersion(): string {
  known ??= readPipeVersion(new URL('../../', import.meta.url));
  return known;
}
