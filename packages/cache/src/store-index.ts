import { appendFile, readFile } from 'node:fs/promises';
import { isMissing, writeFileAtomic } from './atomic-file.js';

/**
 * The two small persisted indexes of the local store, both versioned:
 * - the access log (`access-v1.log`): one `<epoch ms> <key>` line appended per manifest hit, with
 *   O_APPEND (atomic for short lines, so concurrent processes need no lock). We record access times
 *   ourselves because the file system may be mounted relatime/noatime. gc compacts it under the store lock;
 *   an access appended by another process during a compaction may be lost, which only makes that entry look
 *   older than it is.
 * - the pins (`pins-v1.json`): key → labels; changed only under the store lock, written atomically.
 * A file with an unknown header or version is ignored (treated as empty) and rewritten, never a crash.
 */
const ACCESS_HEADER = 'pipe-cache-access v1';

export async function recordAccess(logPath: string, key: string, now: number): Promise<void> {
  try {
    await appendFile(logPath, `${now} ${key}\n`);
  } catch {
    // Losing an access record only ages the entry for LRU; it must never fail a cache hit.
  }
}

/** Latest access time per key. */
export async function readAccessLog(logPath: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  let text: string;
  try {
    text = await readFile(logPath, 'utf8');
  } catch (e) {
    if (isMissing(e)) return times;
    throw e;
  }
  const lines = text.split('\n');
  // Lines appended before the header was ever written (fresh file) are fine; another header is not.
  if (lines[0]?.startsWith('pipe-cache-access') && lines[0] !== ACCESS_HEADER) return times;
  for (const line of lines) {
    const m = /^(\d+) (\S+)$/.exec(line);
    if (!m) continue;
    const t = Number(m[1]);
    const key = m[2] as string;
    if (t > (times.get(key) ?? 0)) times.set(key, t);
  }
  return times;
}

/** Rewrite the log with one line per surviving key (call under the store lock). */
/** Rewrite the log as one line per entry (its last use); returns the bytes written. */
export async function compactAccessLog(
  logPath: string,
  times: Map<string, number>,
  mode: number,
): Promise<number> {
  const body = [...times].map(([k, t]) => `${t} ${k}\n`).join('');
  // The size it was compacted to, on a line readers skip: a build compacts again only once it has doubled.
  const head = `${ACCESS_HEADER}\n# compacted ${ACCESS_HEADER.length + 1 + body.length}\n`;
  const bytes = Buffer.from(`${head}${body}`);
  await writeFileAtomic(logPath, bytes, mode);
  return bytes.length;
}

/** The size the log was last compacted to (its second line), 0 when unknown. */
export function compactedSize(firstBytes: string): number {
  const m = /^[^\n]*\n# compacted (\d+)\n/.exec(firstBytes);
  return m ? Number(m[1]) : 0;
}

const PINS_FORMAT = 'pipe-cache-pins';

export type Pins = Map<string, Set<string>>;

export async function readPins(pinsPath: string): Promise<Pins> {
  const pins: Pins = new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(pinsPath, 'utf8'));
  } catch (e) {
    if (isMissing(e) || e instanceof SyntaxError) return pins;
    throw e;
  }
  const doc = parsed as { format?: unknown; version?: unknown; pins?: unknown };
  if (doc.format !== PINS_FORMAT || doc.version !== 1 || typeof doc.pins !== 'object' || doc.pins === null)
    return pins;
  for (const [key, labels] of Object.entries(doc.pins as Record<string, unknown>)) {
    if (Array.isArray(labels))
      pins.set(key, new Set(labels.filter((l): l is string => typeof l === 'string')));
  }
  return pins;
}

export async function writePins(pinsPath: string, pins: Pins, mode: number): Promise<void> {
  const sorted = Object.fromEntries(
    [...pins]
      .filter(([, labels]) => labels.size > 0)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, l]) => [k, [...l].sort()]),
  );
  await writeFileAtomic(
    pinsPath,
    Buffer.from(`${JSON.stringify({ format: PINS_FORMAT, version: 1, pins: sorted }, null, 1)}\n`),
    mode,
  );
}
