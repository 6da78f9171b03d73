/**
 * A table of JSON values by string key whose values are parsed on first use: the state file's task records and
 * hash memo (state/state-file.ts). A build that changed a few tasks of 10,000 reads every line of the state, but
 * parses only the records it looks at (the no-op snapshot vouches for the others); a build that looks at every
 * record parses each once, as one JSON.parse of the whole file did.
 *
 * It remembers what was set or deleted since the last `markSaved`: what a save appends to the journal (values
 * are replaced, never changed in place). An unparsed value is written back as the text it was read as.
 *
 * Self-healing: a value that does not parse, or is not of its table's shape (`valid`), is dropped as if never
 * recorded, and its name kept in `damaged` (the state file says so in a note); its task is then planned afresh.
 */

/**
 * A value not parsed yet: its JSON text, and for a task record its key and which of its optional properties it
 * has (`marks`, as RecordTable's `marked` names them): what a build asks of every record, answered unparsed.
 */
class Unparsed {
  constructor(
    readonly text: string,
    readonly key: string | undefined,
    readonly marks: string,
  ) {}
}

/** Whether a value read from disk has the table's shape; `key`: the key its line names (task records). */
export type ValueCheck = (value: unknown, key: string | undefined) => boolean;

export class RecordTable<V> {
  private readonly values = new Map<string, V | Unparsed>();
  /** Keys set or deleted since the last markSaved. */
  private changed = new Set<string>();
  /** Names of values read from disk that were damaged, and dropped (in the order found). */
  readonly damaged: string[] = [];

  /**
   * `marked`: optional properties whose presence mayHave tells without parsing (see marksOf). `valid`: the shape
   * a value read from disk must have (anything parsed is accepted without it).
   */
  constructor(
    private readonly marked: readonly string[] = [],
    private readonly valid: ValueCheck = () => true,
  ) {}

  /** A table holding `entries` (as in an object's own enumerable properties), none of them changed. */
  static of<V>(
    entries: Record<string, V> = {},
    marked: readonly string[] = [],
    valid?: ValueCheck,
  ): RecordTable<V> {
    const t = new RecordTable<V>(marked, valid);
    for (const k in entries) t.restore(k, entries[k]!);
    return t;
  }

  /** Drop a damaged value read from disk (not a change: the state file is rewritten without it, see state-file.ts). */
  drop(k: string): void {
    this.values.delete(k);
    this.damaged.push(k);
  }

  /** Add a value as read from disk (parsed when first used); not a change. */
  addText(k: string, text: string, key?: string, marks = ''): void {
    this.values.set(k, new Unparsed(text, key, marks));
  }

  /** Set or delete (null) a value as read from disk (a journal's batch); not a change. A damaged value is dropped. */
  restore(k: string, value: V | null): void {
    if (value === null) this.values.delete(k);
    else if (this.valid(value, undefined)) this.values.set(k, value);
    else this.drop(k);
  }

  get(k: string): V | undefined {
    const v = this.values.get(k);
    if (!(v instanceof Unparsed)) return v;
    let parsed: V;
    try {
      parsed = JSON.parse(v.text) as V;
    } catch {
      // Damaged on disk: as if never recorded.
      this.drop(k);
      return undefined;
    }
    if (!this.valid(parsed, v.key)) {
      this.drop(k);
      return undefined;
    }
    this.values.set(k, parsed); // same key: its place in the order is kept
    return parsed;
  }

  /** Parse and check every value not parsed yet, dropping the damaged ones (a state file that fails its digest). */
  verifyAll(): void {
    for (const [k, v] of [...this.values]) if (v instanceof Unparsed) this.get(k);
  }

  /** Whether the value of `k` was parsed (or set) already (tests: what a build reads stays unparsed). */
  isParsed(k: string): boolean {
    return this.values.has(k) && !(this.values.get(k) instanceof Unparsed);
  }

  has(k: string): boolean {
    return this.values.has(k);
  }

  /**
   * Whether the value of `k` has the property `name` (one of `marked`), without parsing it: a record without
   * warnings or items, the common case, is then not parsed to find that out.
   */
  mayHave(k: string, name: string): boolean {
    const v = this.values.get(k);
    if (v === undefined) return false;
    if (v instanceof Unparsed) return v.marks !== '' && v.marks.split(',').includes(name);
    return (v as Record<string, unknown>)[name] !== undefined;
  }

  /** Which of the `marked` properties the value of `k` has, as a line of the state file keeps them. */
  marksOf(k: string): string {
    const v = this.values.get(k);
    if (v === undefined) return '';
    if (v instanceof Unparsed) return v.marks;
    return this.marked.filter((name) => (v as Record<string, unknown>)[name] !== undefined).join(',');
  }

  /** A task record's key without parsing the record (undefined: no such record). */
  keyOf(this: RecordTable<{ key: string }>, k: string): string | undefined {
    const v = this.values.get(k);
    if (v instanceof Unparsed) return v.key ?? this.get(k)?.key;
    return v?.key;
  }

  set(k: string, value: V): void {
    this.values.set(k, value);
    this.changed.add(k);
  }

  delete(k: string): boolean {
    this.changed.add(k);
    return this.values.delete(k);
  }

  get size(): number {
    return this.values.size;
  }

  keys(): IterableIterator<string> {
    return this.values.keys();
  }

  /** Every entry, parsing what was not yet. */
  *entries(): IterableIterator<[string, V]> {
    for (const k of this.values.keys()) yield [k, this.get(k)!];
  }

  /** The entries as an object (parses every value: for tests and tools, not for a build's hot path). */
  toObject(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const [k, v] of this.entries()) out[k] = v;
    return out;
  }

  /** An entry's JSON text: as read when it was not parsed since, else serialised now. */
  textOf(k: string): string | undefined {
    const v = this.values.get(k);
    if (v === undefined) return undefined;
    return v instanceof Unparsed ? v.text : JSON.stringify(v);
  }

  /** Whether anything was set or deleted since markSaved. */
  get dirty(): boolean {
    return this.changed.size > 0;
  }

  /** Keys set or deleted since markSaved. */
  changedKeys(): ReadonlySet<string> {
    return this.changed;
  }

  /** What was set (its value) or deleted (null) since markSaved; undefined when nothing was. */
  changes(): Record<string, V | null> | undefined {
    if (this.changed.size === 0) return undefined;
    const out: Record<string, V | null> = {};
    for (const k of this.changed) out[k] = this.values.has(k) ? (this.get(k) ?? null) : null;
    return out;
  }

  /** Forget what was changed (it is on disk now). */
  markSaved(): void {
    this.changed = new Set();
  }
}
