/**
 * Formatting of header cards for writing (FITS 4.0 §4.2 fixed format, as astropy writes them): right-justified
 * numbers and logicals, quoted strings with '' escapes, CONTINUE for long strings, HIERARCH for long keywords.
 */
import { BLOCK, CARD, type FitsValue } from './header.js';

/** A card to write. `float` forces a float notation for integer-valued numbers (`0.0` rather than `0`). */
export interface CardInput {
  key: string;
  /** undefined for commentary cards (COMMENT, HISTORY, blank keyword). */
  value?: FitsValue;
  comment?: string;
  float?: boolean;
}

/** Keywords whose values are floats by convention (WCS), written as such even when integral. */
const FLOAT_KEYS =
  /^(CRPIX\d|CRVAL\d|CDELT\d|CROTA\d|LONPOLE|LATPOLE|EQUINOX|MJDREF|MJDREFF|PC\d_\d|CD\d_\d|PV\d_\d+)$/;

/**
 * Formats a number as astropy does (Python's repr, upper-case exponent of at least two digits): integers plain,
 * floats with a '.' or an exponent, at most 20 characters.
 */
export function formatNumber(v: number, asFloat: boolean): string {
  if (Number.isNaN(v) || !Number.isFinite(v)) throw new Error(`FITS headers cannot hold ${v}`);
  if (Number.isInteger(v) && !asFloat && Math.abs(v) < 1e21) return String(v);
  const abs = Math.abs(v);
  let s: string;
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    s = `${mantissa}E${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
  } else {
    s = String(v);
    if (!s.includes('.')) s += '.0';
  }
  if (s.length > 20) {
    const e = s.indexOf('E');
    s = e < 0 ? s.slice(0, 20) : s.slice(0, 20 - (s.length - e)) + s.slice(e);
  }
  return s;
}

function formatValue(card: CardInput): string {
  const v = card.value;
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return (v ? 'T' : 'F').padStart(20);
  if (typeof v === 'bigint') return v.toString().padStart(20);
  if (typeof v === 'number')
    return formatNumber(v, card.float ?? FLOAT_KEYS.test(card.key.toUpperCase())).padStart(20);
  return quote(v);
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
}

function withComment(head: string, comment: string | undefined): string {
  if (!comment) return head.padEnd(CARD).slice(0, CARD);
  const full = `${head} / ${comment}`;
  return (full.length <= CARD ? full : full.slice(0, CARD)).padEnd(CARD);
}

/** The 80-character card(s) of one header entry (several when a long string needs CONTINUE). */
export function formatCard(card: CardInput): string[] {
  const key = card.key.toUpperCase();
  if (card.value === undefined) return [`${key.padEnd(8)}${(card.comment ?? '').slice(0, 72)}`.padEnd(CARD)];
  const prefix = key.length > 8 || /[^A-Z0-9_-]/.test(key) ? `HIERARCH ${card.key} = ` : `${key.padEnd(8)}= `;
  if (typeof card.value === 'string' && prefix.length + quote(card.value).trimEnd().length > CARD) {
    return formatLongString(prefix, card.value, card.comment);
  }
  return [withComment(prefix + formatValue(card), card.comment)];
}

/** Splits a string over CONTINUE cards, never splitting a '' escape. */
function formatLongString(prefix: string, value: string, comment: string | undefined): string[] {
  const room = (head: string) => CARD - head.length - 3; // quotes and '&'
  const pieces: string[] = [];
  let rest = value;
  let head = prefix;
  while (rest.length > 0) {
    let n = 0;
    let used = 0;
    while (n < rest.length) {
      const w = rest[n] === "'" ? 2 : 1;
      if (used + w > room(head)) break;
      used += w;
      n++;
    }
    pieces.push(rest.slice(0, n));
    rest = rest.slice(n);
    head = 'CONTINUE  ';
  }
  return pieces.map((p, i) => {
    const last = i === pieces.length - 1;
    const body = `'${p.replace(/'/g, "''")}${last ? '' : '&'}'`;
    return withComment((i === 0 ? prefix : 'CONTINUE  ') + body, last ? comment : undefined);
  });
}

/** A whole header (cards then END) as bytes, padded with blanks to a multiple of 2880. */
export function encodeHeader(cards: readonly CardInput[]): Uint8Array {
  const lines = cards.flatMap(formatCard);
  lines.push('END'.padEnd(CARD));
  // FITS headers are printable ASCII only: any other UTF-16 unit becomes '?'. Then the text is one byte per unit,
  // encoded natively (a per-character loop cost ~1 ms a header in a fresh worker, a dozen headers per product step).
  const text = lines.join('').replace(NOT_PRINTABLE, '?');
  const size = Math.ceil(text.length / BLOCK) * BLOCK;
  const out = new Uint8Array(size).fill(0x20);
  ASCII.encodeInto(text, out);
  return out;
}

const NOT_PRINTABLE = /[^\x20-\x7e]/g;
const ASCII = new TextEncoder();
