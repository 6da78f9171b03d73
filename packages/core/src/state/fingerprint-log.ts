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

interface Entry {
  key: string;
  fp: FingerprintRecord;
}

export class FingerprintLog {
  private entries: Map<string, Entry> | undefined;
  private lines = 0;
  /** The file exists but is not ours (another version): the next save rewrites it. */
  private foreign = false;
  private readonly added = new Map<string, Entry>();

  constructor(readonly file: string) {}

  /** The record of task `id`'s last build, if it was made under `key` (read from disk on first use). */
  get(id: string, key: string): FingerprintRecord | undefined {
    const e = this.added.get(id) ?? this.load().get(id);
    return e && e.key === key ? e.fp : undefined;
  }

  /** Remember a task's record (written by `save`). */
  set(id: string, key: string, fp: FingerprintRecord): void {
    this.added.set(id, { key, fp });
  }

  /** Whether `set` was called since the last save. */
  get dirty(): boolean {
    return this.added.size > 0;
  }

  /** Append what was set since the last save (or rewrite the file when it has grown stale). */
  async save(): Promise<void> {
    if (this.added.size === 0) return;
    const fresh = [...this.added].map(([id, e]) => JSON.stringify({ id, key: e.key, fp: e.fp }));
    const all = this.load();
    for (const [id, e] of this.added) all.set(id, e);
    this.added.clear();
    this.lines += fresh.length;
    if (this.foreign || !existsSync(this.file) || this.lines > 2 * all.size + 100) {
      const body = [...all].map(([id, e]) => JSON.stringify({ id, key: e.key, fp: e.fp }));
      await writeFileAtomic(this.file, `${HEADER}\n${body.join('\n')}\n`);
      this.lines = all.size;
      this.foreign = false;
      return;
    }
    // Appending is safe without a temp file: a torn line is skipped on reading.
    appendFileSync(this.file, `${fresh.join('\n')}\n`);
  }

  private load(): Map<string, Entry> {
    if (this.entries) return this.entries;
    const entries = new Map<string, Entry>();
    this.entries = entries;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return entries;
    }
    const lines = text.split('\n');
    if (lines[0] !== HEADER) {
      this.foreign = true;
      return entries;
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line) continue;
      try {
        const e = JSON.parse(line) as { id?: unknown; key?: unknown; fp?: unknown };
        if (typeof e.id === 'string' && typeof e.key === 'string' && e.fp && typeof e.fp === 'object') {
          entries.set(e.id, { key: e.key, fp: e.fp as FingerprintRecord });
          this.lines++;
        }
      } catch {
        // a torn line: skipped
      }
    }
    return entries;
  }
}
