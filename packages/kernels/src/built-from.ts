/**
 * What a build artifact was made from, by content: the clock alone cannot tell a source edited since the build from
 * one touched, checked out again or restored to the text it was built from (then `npm run build` is a turbo cache
 * hit that leaves the artifact's old time, and a check by time refuses for good). Each artifact that sources go into
 * gets a sidecar `<artifact>.sources.json` with the SHA-256 of each source's bytes; TypeScript's own build info
 * records the SHA-256 of each source's text as its `version`, which serves the compiled JavaScript the same way.
 * Only consulted when a source is newer than its artifact. Imports nothing but node builtins (the engine's main
 * thread reads it while planning).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const sidecar = (artifact: string) => `${artifact}.sources.json`;

/** Record the sources `artifact` was just built from (absolute paths), next to it. */
export function recordBuiltFrom(artifact: string, sources: readonly string[]): void {
  const dir = dirname(artifact);
  const record = {
    version: 1,
    sha256: Object.fromEntries(sources.map((f) => [relative(dir, f), sha256(readFileSync(f))])),
  };
  const temp = `${sidecar(artifact)}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(record, null, 1)}\n`);
  renameSync(temp, sidecar(artifact));
}

/** Whether `artifact`'s sidecar records `source` with the bytes it has now (false when it does not say). */
export function builtFromThisSource(artifact: string, source: string): boolean {
  try {
    const record = JSON.parse(readFileSync(sidecar(artifact), 'utf8')) as {
      sha256?: Record<string, unknown>;
    };
    const recorded = record.sha256?.[relative(dirname(artifact), source)];
    return typeof recorded === 'string' && recorded === sha256(readFileSync(source));
  } catch {
    return false;
  }
}

/**
 * The versions a build info records, by absolute source path; read once per process for each build info file and
 * its size and time (a checkout that touches many sources asks about each of them).
 */
const recorded = new Map<string, { stamp: string; versions: Map<string, string> | undefined }>();

function recordedVersions(buildInfo: string): Map<string, string> | undefined {
  let stamp: string;
  try {
    const st = statSync(buildInfo);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
  const known = recorded.get(buildInfo);
  if (known?.stamp === stamp) return known.versions;
  let versions: Map<string, string> | undefined;
  try {
    const info = JSON.parse(readFileSync(buildInfo, 'utf8')) as {
      fileNames?: unknown;
      fileInfos?: unknown;
      program?: { fileNames?: unknown; fileInfos?: unknown };
    };
    const program = info.program ?? info;
    if (Array.isArray(program.fileNames) && Array.isArray(program.fileInfos)) {
      const dir = dirname(buildInfo);
      const infos = program.fileInfos;
      versions = new Map();
      program.fileNames.forEach((name, i) => {
        const entry: unknown = infos[i];
        const version =
          typeof entry === 'string' ? entry : (entry as { version?: unknown } | undefined)?.version;
        if (typeof name === 'string' && typeof version === 'string')
          versions!.set(resolve(dir, name), version);
      });
    }
  } catch {
    versions = undefined;
  }
  recorded.set(buildInfo, { stamp, versions });
  return versions;
}

/**
 * Whether tsc's build info `buildInfo` lists `source` (absolute) with the text it has now; undefined when it does
 * not list it, or is not a build info this reads (then the clock's verdict stands).
 */
export function compiledFromThisText(buildInfo: string, source: string): boolean | undefined {
  const version = recordedVersions(buildInfo)?.get(source);
  if (version === undefined) return undefined;
  try {
    return version === sha256(readFileSync(source, 'utf8'));
  } catch {
    return undefined;
  }
}
