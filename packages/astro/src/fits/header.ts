/**
 * FITS header cards: parsing of 80-character cards (FITS 4.0 §4), including '' escapes in strings, the
 * CONTINUE long-string convention, HIERARCH keywords, and a read-only keyword lookup.
 */
import { FitsError, type FitsLocation } from './errors.js';

export const BLOCK = 2880;
export const CARD = 80;

/** A header value. Integers beyond 2^53 are bigints; complex values are kept as their raw text. */
export type FitsValue = string | number | bigint | boolean | null;

/**
 * A header value as a number, as Python's float() reads it for gammapy: a number, or a string holding one ('5.0');
 * undefined when absent (undefined or null), NaN when present but not a number.
 */
export function numericValue(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** One header card. Commentary cards (COMMENT, HISTORY, blank) have `value === undefined`. */
export interface FitsCard {
  key: string;
  value: FitsValue | undefined;
  comment?: string;
  /** The number was written as a float (e.g. `0.0`), so a writer can keep it one. */
  float?: boolean;
}

/** A parsed header: cards in file order, and case-insensitive lookup of the first card of a keyword. */
export class FitsHeader {
  readonly cards: readonly FitsCard[];
  private readonly index = new Map<string, FitsCard>();

  constructor(cards: readonly FitsCard[]) {
    this.cards = cards;
    for (const c of cards) {
      if (c.value === undefined) continue;
      const k = c.key.toUpperCase();
      if (!this.index.has(k)) this.index.set(k, c);
    }
  }

  has(key: string): boolean {
    return this.index.has(key.toUpperCase());
  }

  /** The value of the first card with this keyword, or undefined. */
  get(key: string): FitsValue | undefined {
    return this.index.get(key.toUpperCase())?.value;
  }

  comment(key: string): string | undefined {
    return this.index.get(key.toUpperCase())?.comment;
  }

  /** Value as a number (bigints converted), or undefined when absent or not numeric. */
  number(key: string): number | undefined {
    const v = this.get(key);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return undefined;
  }

  /** Value as a string (trailing blanks already removed), or undefined when absent or not a string. */
  string(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** All keyword → value pairs (first occurrence wins), commentary cards excluded. */
  toRecord(): Record<string, FitsValue> {
    const out: Record<string, FitsValue> = {};
    for (const [k, c] of this.index) out[k] = c.value as FitsValue;
    return out;
  }

  /** The keywords in file order (first occurrences, commentary excluded). */
  keys(): string[] {
    return [...this.index.keys()];
  }
}

/** Result of scanning one header: its cards and the byte offset just after its last block. */
export interface ParsedHeader {
  header: FitsHeader;
  end: number;
}

const decoder = new TextDecoder('latin1');

/**
 * Parses the header starting at `offset` (a block boundary). Fails with `missing-end` if the bytes run out before
 * the END card.
 */
export function parseHeader(bytes: Uint8Array, offset: number, where: FitsLocation): ParsedHeader {
  const cards: FitsCard[] = [];
  let pos = offset;
  let pendingLong: FitsCard | undefined;
  // Its value's pieces, joined once the string ends: appending each to the whole was quadratic (a stack of 1000
  // runs' 320 kB PIPEDSET record took 0.75 s to read, 10,000 runs' over a minute).
  let pieces: string[] = [];
  const endLong = () => {
    if (pendingLong && pieces.length > 1) pendingLong.value = pieces.join('');
    pendingLong = undefined;
    pieces = [];
  };
  // A block (36 cards) is decoded at once: one decoder call per card cost more than the rest of the parse.
  let block = '';
  let blockStart = -1;
  for (;;) {
    if (pos + CARD > bytes.length) {
      throw new FitsError(
        'missing-end',
        where,
        `header has no END card (${cards.length} cards read before the file ended at byte ${bytes.length})`,
      );
    }
    const start = pos - ((pos - offset) % BLOCK);
    if (start !== blockStart) {
      blockStart = start;
      block = decoder.decode(bytes.subarray(start, Math.min(start + BLOCK, bytes.length)));
    }
    const text = block.slice(pos - blockStart, pos - blockStart + CARD);
    const key = text.slice(0, 8).trimEnd();
    if (key === 'END') {
      endLong();
      pos += CARD;
      break;
    }
    // The header ran past where its END should be: into the next HDU (an XTENSION card opening a block) or into
    // binary data (a keyword of non-text bytes). Say so, instead of reading the next header's cards as ours.
    if (cards.length > 0 && (pos - offset) % BLOCK === 0 && key === 'XTENSION') {
      throw new FitsError(
        'missing-end',
        where,
        `header has no END card: the XTENSION card of the next HDU follows at byte ${pos}`,
      );
    }
    if (!/^[\x20-\x7e]{8}$/.test(text.slice(0, 8))) {
      throw new FitsError(
        'missing-end',
        where,
        `header has no END card: non-text bytes (not a header card) follow at byte ${pos}`,
      );
    }
    pos += CARD;
    if (key === 'CONTINUE' && pendingLong !== undefined) {
      const part = parseValue(text.slice(8), where, key);
      if (typeof part.value === 'string') {
        const last = pieces.length - 1;
        pieces[last] = (pieces[last] as string).slice(0, -1);
        pieces.push(part.value);
        if (part.comment) pendingLong.comment = part.comment;
        if (!part.value.endsWith('&')) endLong();
        continue;
      }
    }
    endLong();
    const card = parseCard(text, key, where);
    cards.push(card);
    if (typeof card.value === 'string' && card.value.endsWith('&')) {
      pendingLong = card;
      pieces = [card.value];
    }
  }
  const end = Math.ceil((pos - offset) / BLOCK) * BLOCK + offset;
  return { header: new FitsHeader(cards), end };
}

function parseCard(text: string, key: string, where: FitsLocation): FitsCard {
  if (key === 'HIERARCH') {
    const eq = text.indexOf('=');
    if (eq > 0) {
      const hkey = text.slice(9, eq).trim();
      return { key: hkey, ...parseValue(text.slice(eq + 1), where, hkey) };
    }
  }
  if (text.slice(8, 10) !== '= ' || key === 'COMMENT' || key === 'HISTORY' || key === '') {
    return { key, value: undefined, comment: text.slice(8).trimEnd() };
  }
  return { key, ...parseValue(text.slice(10), where, key) };
}

/** Parses the value field (after "= ") of a card, with its optional "/ comment". */
function parseValue(
  field: string,
  where: FitsLocation,
  key: string,
): { value: FitsValue; comment?: string; float?: boolean } {
  const s = field.trimStart();
  if (s.startsWith("'")) {
    let i = 1;
    let out = '';
    for (;;) {
      if (i >= s.length) break; // unterminated string: accept what is there, as astropy does with a warning
      const ch = s[i] as string;
      if (ch === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        i++;
        break;
      }
      out += ch;
      i++;
    }
    return withComment(out.trimEnd(), s.slice(i));
  }
  const slash = s.indexOf('/');
  const raw = (slash >= 0 ? s.slice(0, slash) : s).trim();
  const comment = slash >= 0 ? s.slice(slash + 1).trim() : undefined;
  const value = parseScalar(raw, where, key);
  const out: { value: FitsValue; comment?: string; float?: boolean } = { value };
  if (comment) out.comment = comment;
  if (typeof value === 'number' && !/^[+-]?\d+$/.test(raw)) out.float = true;
  return out;
}

function withComment(value: string, rest: string): { value: FitsValue; comment?: string } {
  const slash = rest.indexOf('/');
  const comment = slash >= 0 ? rest.slice(slash + 1).trim() : '';
  return comment ? { value, comment } : { value };
}

function parseScalar(raw: string, where: FitsLocation, key: string): FitsValue {
  if (raw === '') return null;
  if (raw === 'T') return true;
  if (raw === 'F') return false;
  if (raw.startsWith('(')) return raw; // complex: kept as text, nothing in DL3 needs it
  if (/^[+-]?\d+$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : BigInt(raw);
  }
  const n = Number(raw.replace(/[dD]/, 'E'));
  if (Number.isNaN(n) && !/^[+-]?nan$/i.test(raw)) {
    throw new FitsError('bad-header', where, `keyword ${key} has an unreadable value '${raw}'`);
  }
  return n;
}
