/**
 * `pipe compare <ref> <new>`: per product identical / within tolerance / different, the largest
 * absolute and relative differences, difference images of maps, and reports for CI.
 * Exit codes: 0 no regression, 1 regression, 2 the comparison could not run.
 */

import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CacheBackend } from '@pipe/cache';
import type { FileComparator, ProductEntry, ToleranceConfig } from '@pipe/core';
import { cacheDirOption, findPipelineFile, type GlobalOptions, workingDir } from '../context.js';
import { EXIT_BUILD_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { writablePathProblem } from '../writable-path.js';
import { asOutFolder, type ProductSource, resolveSource } from './compare-sources.js';
import { type RemoteCliOptions, remoteSetup, resolveRemote } from './remote.js';

export interface CompareCliOptions extends Omit<GlobalOptions, 'json'>, Omit<RemoteCliOptions, 'json'> {
  tolerances?: string;
  json?: boolean | string;
  markdown?: string;
  diffDir?: string;
  target?: string[];
}

async function domainComparators(): Promise<FileComparator[]> {
  try {
    const astro = (await import('@pipe/astro')) as {
      fitsComparator?: () => FileComparator;
      pngComparator?: () => FileComparator;
    };
    // FITS maps by HDU and value; PNG quick-looks by their pixels (a re-encoded image is the same image).
    return [astro.fitsComparator?.(), astro.pngComparator?.()].filter(
      (c): c is FileComparator => c !== undefined,
    );
  } catch {
    return []; // without the domain package FITS files are compared as bytes
  }
}

export async function compareCommand(
  refArg: string,
  newArg: string,
  opts: CompareCliOptions,
): Promise<number> {
  const core = await import('@pipe/core');
  const fail = (message: string) => {
    process.stderr.write(`${message}\n`);
    return EXIT_USAGE;
  };
  // Where the reports go, checked before the work: a bad path is a usage error (2), not a stack trace or a
  // product blamed for it.
  for (const [flag, target, folder] of [
    ['--markdown', opts.markdown, false],
    ['--json', typeof opts.json === 'string' ? opts.json : undefined, false],
    ['--diff-dir', opts.diffDir, true],
  ] as const) {
    if (target === undefined) continue;
    const problem = writablePathProblem(path.resolve(target), folder ? 'folder' : 'file');
    if (problem) return fail(`pipe compare: ${flag} ${target}: ${problem}`);
    // Into a folder being compared: the report would replace a product (a reference's summary.json), or be read as one.
    const here = path.resolve(opts.cwd ?? process.cwd());
    // A path with its existing part's symbolic links resolved (what is not there yet is taken as written).
    const realPath = (p: string) => {
      const existing = core.nearestExisting(p);
      return path.join(realpathSync(existing), path.relative(existing, p));
    };
    for (const [side, arg] of [
      ['ref', refArg],
      ['new', newArg],
    ] as const) {
      const dir = path.resolve(here, arg);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
      const rel = path.relative(realPath(dir), realPath(path.resolve(here, target)));
      if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
        return fail(
          `pipe compare: ${flag} ${target}: inside ${side}'s folder ${arg}, which is being compared: write it elsewhere`,
        );
    }
  }
  let tolerances: ToleranceConfig | undefined;
  if (opts.tolerances) {
    const loaded = await core.loadTolerances(path.resolve(opts.tolerances));
    if (!loaded.ok) return fail(core.renderDiagnostics(loaded.diagnostics));
    tolerances = loaded.config;
  }
  const globals: GlobalOptions & RemoteCliOptions = { ...opts, json: opts.json !== undefined };
  // Compare only reads: the remote (if configured) is used read-only, whatever the mode says.
  const resolved = resolveRemote({ ...globals, remoteCache: 'read' });
  if (!resolved.ok) return fail(resolved.message);
  const cwd = workingDir(globals);
  const file = findPipelineFile(cwd, opts.file);
  const workspaceRoot = file ? path.dirname(file) : undefined;
  const scratch = await mkdtemp(path.join(tmpdir(), 'pipe-compare-'));
  try {
    const caches = new Map<string, CacheBackend>();
    const cacheFor = (recordDir: string | undefined): CacheBackend => {
      // A record's cache folder that is gone (the workspace was moved or copied, its .pipe/cache with it): this
      // workspace's. Compare only reads: it never makes a store where there was none.
      const given = recordDir && existsSync(recordDir) ? recordDir : undefined;
      const dir = cacheDirOption(globals) ?? given ?? core.workspaceLayout(workspaceRoot ?? cwd).cacheDir;
      let cache = caches.get(dir);
      if (!cache) {
        const remote = remoteSetup(resolved, dir, (line) => process.stderr.write(`${line}\n`));
        // The store as it is: compare reads only products, and a fan-out's items may name files through a
        // variable this command does not know (`$GAMMAPY_DATA/…`), which resolving them would refuse.
        cache = remote ? remote.cache : lazyStore(dir);
        caches.set(dir, cache);
      }
      return cache;
    };
    const ctx = { workspaceRoot, targets: opts.target ?? [], cacheFor, scratch };
    const ref = await resolveSource(refArg, 'ref', ctx);
    if (!ref.ok) return fail(ref.message);
    const neu = await resolveSource(newArg, 'new', ctx);
    if (!neu.ok) return fail(neu.message);
    // A --target that names nothing, or a reference with no product, compares nothing: a CI check would pass
    // without having looked (a typo, a reference that failed to restore).
    const wanted = opts.target ?? [];
    if (wanted.length > 0) {
      const builds = [ref.source.build, neu.source.build].filter((b) => b !== undefined);
      if (builds.length === 0)
        return fail(
          'pipe compare: --target selects the products of a build; neither side is a build or a workspace',
        );
      const built = new Set(
        builds.flatMap((b) => [...b.taskOf.values()].map((id) => core.targetOfTaskId(id))),
      );
      const unknown = wanted.filter((t) => !built.has(t));
      const delivered = [...new Set(builds.flatMap((b) => b.targets))].sort();
      if (unknown.length > 0)
        return fail(
          `pipe compare: --target ${unknown.join(', ')}: no product of ${unknown.length === 1 ? 'that target' : 'those targets'} on either side (${delivered.length > 0 ? `their builds delivered ${delivered.join(', ')}` : 'their builds delivered nothing'})`,
        );
    }
    // A reference from a build that did not succeed has products missing: everything would "pass".
    const refBuild = ref.source.build;
    if (refBuild && refBuild.status !== 'succeeded')
      return fail(
        `pipe compare: ref: build ${refBuild.id} ${refBuild.status}, so its products are incomplete; compare with a build that succeeded`,
      );
    if (ref.source.entries.length === 0)
      return fail(`pipe compare: ref: ${ref.source.label} has no products to compare with`);
    // A build against a folder written by --out: lay the build's products out as --out does, unless they
    // already pair by path.
    const pairs = (a: ProductSource, b: ProductSource) => {
      const paths = new Set(a.entries.map((e) => e.relPath));
      return b.entries.some((e) => paths.has(e.relPath));
    };
    if (!pairs(ref.source, neu.source) && !ref.source.build !== !neu.source.build) {
      if (ref.source.build) ref.source = asOutFolder(ref.source);
      else neu.source = asOutFolder(neu.source);
    }
    const problem = await materialiseDiffering(ref.source, neu.source);
    if (problem) return fail(problem);

    const diffDir = opts.diffDir ? path.resolve(opts.diffDir) : undefined;
    const report = await core.compareProductSets(ref.source.entries, neu.source.entries, {
      ...(tolerances ? { tolerances } : {}),
      ...(diffDir ? { diffDir } : {}),
      comparators: await domainComparators(),
      labels: { ref: ref.source.label, new: neu.source.label },
    });
    // A tolerance file that skips every product leaves nothing compared: no verdict to give (as an empty reference).
    if (report.summary.total === 0 && (report.summary.skipped ?? 0) > 0)
      return fail(
        `pipe compare: the tolerance file skips every product (${report.summary.skipped}): nothing was compared`,
      );
    // Reports name the diff directory as the user gave it (relative links in Markdown).
    if (opts.diffDir && report.diffDir) report.diffDir = opts.diffDir;
    const json = core.renderCompareJson(report);
    try {
      if (opts.markdown) {
        const linkPrefix = opts.diffDir
          ? path.relative(path.dirname(path.resolve(opts.markdown)), path.resolve(opts.diffDir))
          : '';
        await core.writeFileAtomic(
          path.resolve(opts.markdown),
          core.renderCompareMarkdown(report, { diffLinkPrefix: linkPrefix.split(path.sep).join('/') }),
        );
      }
      if (typeof opts.json === 'string') await core.writeFileAtomic(path.resolve(opts.json), json);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return fail(
        `pipe compare: could not write the report: ${e.code ?? e.message}${e.path ? ` (${e.path})` : ''}`,
      );
    }
    if (opts.json === true) process.stdout.write(json);
    else process.stdout.write(core.renderCompareText(report));
    return report.regression ? EXIT_BUILD_FAILED : EXIT_OK;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function lazyStore(root: string): CacheBackend {
  let store: Promise<CacheBackend> | undefined;
  const get = () => {
    store ??= import('@pipe/cache').then(({ LocalStore }) => new LocalStore({ root }));
    return store;
  };
  return {
    name: `local:${root}`,
    getManifest: async (key) => (await get()).getManifest(key),
    putManifest: async (m) => (await get()).putManifest(m),
    hasBlob: async (sha) => (await get()).hasBlob(sha),
    fetchBlob: async (sha, dest) => (await get()).fetchBlob(sha, dest),
    putBlob: async (sha, src) => (await get()).putBlob(sha, src),
  };
}

/**
 * Fetch the cached products whose bytes the comparison will read: those without a counterpart of the
 * same SHA-256 on the other side. Identical products (known hashes, equal) are never fetched.
 */
async function materialiseDiffering(ref: ProductSource, neu: ProductSource): Promise<string | undefined> {
  const core = await import('@pipe/core');
  const shaOf = async (e: ProductEntry, source: ProductSource) => {
    if (e.sha256) return e.sha256;
    if ((await source.materialise(e)) !== undefined) return undefined;
    try {
      e.sha256 = (await core.hashProduct(e.absPath)).sha256;
    } catch {
      return undefined; // unreadable: the comparison reports it on this product
    }
    return e.sha256;
  };
  const byPath = new Map(neu.entries.map((e) => [e.relPath, e]));
  for (const r of ref.entries) {
    const n = byPath.get(r.relPath);
    if (!n) continue;
    const [a, b] = [await shaOf(r, ref), await shaOf(n, neu)];
    if (a !== undefined && a === b) continue;
    for (const [entry, source] of [
      [r, ref],
      [n, neu],
    ] as const) {
      const failed = await source.materialise(entry);
      if (failed) return `pipe compare: cannot fetch ${entry.relPath} of ${source.label}: ${failed}`;
    }
  }
  return undefined;
}
