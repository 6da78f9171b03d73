/**
 * `.pipe/fingerprints.log`: the full fingerprint record of each task's last build, kept apart from the
 * state file because only explanations need it (`pipe plan`'s reasons for a task that must run, `pipe
 * why`): a no-op build never reads it, and a build appends only the records it changed.
 *
 *   pipe-fingerprints 1                                   first line: signature and version
 *   {"id":"<task id>","key":"<key>","fp":{...}}           one line per recorded task; the last line of an id wins
 *
 * A torn last line (a crash while appending) or an unknown version is skipped: a record that is missing,
 * or whose key is not the task's current key in the state file, explains nothing and is not used. When
 * the file holds more than twice as many lines as tasks, the next write rewrites it (atomically).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { FingerprintRecord } from '../fingerprint/record.js';
import { writeFileAtomic } from '../workspace/atomic.js';

const HEADER = 'pipe-fingerprints 1';
/**
 * Lookups by search before the whole file is parsed instead: each search scans the file from its end, so explaining
 * every task of a fan-out by search was quadratic (`pipe why` over a gather of 5,000 files: 3.4 s in the scans;
 * `pipe plan` after an edit of the script 2,000 tasks run, the same).
 */
const SEARCHES_BEFORE_PARSE = 64;

interface Entry {
  key: string;
  fp: FingerprintRecord;
}

export class FingerprintLog {
  private entries: Map<string, Entry> | undefined;
  /** The file's bytes, read by the first lookup (searched as bytes: only the lines used are decoded). */
  private text: Buffer | undefined;
  private lines = 0;
  /** The file exists but is not ours (another version): the next save rewrites it. */
  private foreign = false;
  private readonly added = new Map<string, Entry>();
  /** Lookups answered by find() so far (SEARCHES_BEFORE_PARSE). */
  private searches = 0;

  constructor(readonly file: string) {}

  /**
   * The record of task `id`'s last build, if it was made under `key` (read from disk on first use: the first few by
   * searching the bytes for its line, then by parsing every line once).
   */
  get(id: string, key: string): FingerprintRecord | undefined {
    const added = this.added.get(id);
    if (!added && !this.entries && ++this.searches > SEARCHES_BEFORE_PARSE) this.load();
    const e = added ?? (this.entries ? this.entries.get(id) : this.find(id));
    return e && e.key === key ? e.fp : undefined;
  }

  /**
   * The record of an earlier build of task `id` under `key`, while the file still holds its line (until the next
   * rewrite): `pipe why` on a product made from a run the task's last record has replaced.
   */
  earlier(id: string, key: string): FingerprintRecord | undefined {
    const added = this.added.get(id);
    return added?.key === key ? added.fp : this.find(id, key)?.fp;
  }

  /**
   * One task's last line (of `key` when given), without parsing the others: a build that changed a few tasks
   * explains just those. Lines are written by JSON.stringify({ id, ... }), so each starts with the same bytes.
   */
  private find(id: string, key?: string): Entry | undefined {
    const text = this.readText();
    const needle = Buffer.from(`\n{"id":${JSON.stringify(id)},`);
    for (let at = text.lastIndexOf(needle); at >= 0; at = at === 0 ? -1 : text.lastIndexOf(needle, at - 1)) {
      const end = text.indexOf(10, at + 1);
      const entry = parseLine(text.toString('utf8', at + 1, end < 0 ? text.length : end));
      // Else a torn line (or another key's): an earlier one may be whole.
      if (entry && (key === undefined || entry[1].key === key)) return entry[1];
    }
    return undefined;
  }

  /** Remember a task's record (written by `save`). */
  set(id: string, key: string, fp: FingerprintRecord): void {
    this.added.set(id, { key, fp });
  }

  /** Whether `set` was called since the last save. */
  get dirty(): boolean {
    return this.added.size > 0;
  }

  /**
   * Append what was set since the last save; when the file holds more than twice as many lines as `live`
   * (the state's task records), rewrite it with just the records of those keys instead.
   */
  async save(live: { readonly size: number; keyOf(id: string): string | undefined }): Promise<void> {
    if (this.added.size === 0) return;
    const fresh = [...this.added].map(([id, e]) => JSON.stringify({ id, key: e.key, fp: e.fp }));
    const liveCount = live.size;
    if (this.foreign || !existsSync(this.file) || this.lineCount() + fresh.length > 2 * liveCount + 100) {
      const all = this.load();
      for (const [id, e] of this.added) all.set(id, e);
      for (const [id, e] of all) if (live.keyOf(id) !== e.key) all.delete(id);
      const body = [...all].map(([id, e]) => `${JSON.stringify({ id, key: e.key, fp: e.fp })}\n`);
      await writeFileAtomic(this.file, `${HEADER}\n${body.join('')}`);
      this.lines = all.size;
      this.foreign = false;
    } else {
      // Appending is safe without a temp file: a torn line is skipped on reading (and the leading newline
      // ends one left by a crash, so it cannot swallow the first new line).
      appendFileSync(this.file, `\n${fresh.join('\n')}\n`);
      this.lines = this.lineCount() + fresh.length;
      if (this.entries) for (const [id, e] of this.added) this.entries.set(id, e);
    }
    this.text = undefined;
    this.added.clear();
  }

  /** Record lines in the file (counted once from its text when it was not parsed). */
  private lineCount(): number {
    if (this.entries || this.lines > 0) return this.lines;
    const text = this.readText();
    let n = 0;
    for (let at = text.indexOf(10); at >= 0; at = text.indexOf(10, at + 1)) n++;
    this.lines = Math.max(0, n - 1);
    return this.lines;
  }

  private readText(): Buffer {
    if (this.text === undefined) {
      try {
        this.text = readFileSync(this.file);
      } catch {
        this.text = Buffer.alloc(0);
      }
      if (this.text.length > 0 && this.text.toString('latin1', 0, HEADER.length + 1) !== `${HEADER}\n`) {
        this.foreign = true;
        this.text = Buffer.alloc(0);
      }
    }
    return this.text;
  }

  private load(): Map<string, Entry> {
    if (this.entries) return this.entries;
    const entries = new Map<string, Entry>();
    this.entries = entries;
    const lines = this.readText().toString('utf8').split('\n');
    this.text = undefined;
    this.lines = 0;
    for (let i = 1; i < lines.length; i++) {
      const entry = lines[i] ? parseLine(lines[i]!) : undefined;
      if (!entry) continue; // empty, or a torn line
      entries.set(entry[0], entry[1]);
      this.lines++;
    }
    return entries;
  }
}

function parseLine(line: string): [string, Entry] | undefined {
  try {
    const e = JSON.parse(line) as { id?: unknown; key?: unknown; fp?: unknown };
    if (typeof e.id === 'string' && typeof e.key === 'string' && e.fp && typeof e.fp === 'object')
      return [e.id, { key: e.key, fp: e.fp as FingerprintRecord }];
  } catch {
    // torn
  }
  return undefined;
}
