/**
 * The fallbacks for products no other comparator handles: text files get a line diff (the changed
 * block between the common head and tail, which is what a regression usually is), other files a byte
 * comparison (sizes and the first differing offset).
 */
import { open, readFile } from 'node:fs/promises';
import {
  type ComparatorOutcome,
  type CompareContext,
  type FileComparator,
  limitChanges,
} from './comparator.js';
import type { DiffDetail, ValueChange } from './report.js';

const SNIFF_BYTES = 8192;
const CHUNK = 1 << 20;

/** True when the first bytes of the file look like UTF-8 text (no NUL, valid encoding). */
export async function looksLikeText(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    const head = buf.subarray(0, bytesRead);
    if (head.includes(0)) return false;
    // A multi-byte character may be cut at the end of the sniffed block: decode in streaming mode.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/** Line diff of text files (handles every path; the engine uses it only for files that look like text). */
export function textComparator(): FileComparator {
  return {
    name: 'text',
    handles: () => true,
    async compare(refPath, newPath, ctx): Promise<ComparatorOutcome> {
      let a: string;
      let b: string;
      try {
        [a, b] = await Promise.all([readFile(refPath, 'utf8'), readFile(newPath, 'utf8')]);
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
      return { ok: true, details: [diffLines(a, b, ctx)] };
    },
  };
}

/** The lines that differ between the common head and the common tail of two texts. */
export function diffLines(a: string, b: string, ctx: Pick<CompareContext, 'maxChanges'>): DiffDetail {
  const la = a.split('\n');
  const lb = b.split('\n');
  let head = 0;
  while (head < la.length && head < lb.length && la[head] === lb[head]) head++;
  let tail = 0;
  while (
    tail < la.length - head &&
    tail < lb.length - head &&
    la[la.length - 1 - tail] === lb[lb.length - 1 - tail]
  )
    tail++;
  const removed = la.slice(head, la.length - tail);
  const added = lb.slice(head, lb.length - tail);
  const changes: ValueChange[] = [];
  for (let i = 0; i < Math.max(removed.length, added.length); i++) {
    const c: ValueChange = { item: `line ${head + i + 1}` };
    if (i < removed.length) c.ref = clip(removed[i] as string);
    if (i < added.length) c.new = clip(added[i] as string);
    changes.push(c);
  }
  const detail: DiffDetail = {
    item: 'text',
    kind: 'text',
    status: changes.length === 0 ? 'identical' : 'different',
    elements: Math.max(la.length, lb.length),
    differing: changes.length,
  };
  if (changes.length > 0) {
    detail.where = `line ${head + 1}`;
    detail.message = `${removed.length} line(s) of the reference replaced by ${added.length} (lines ${head + 1}..${head + Math.max(removed.length, added.length)})`;
    Object.assign(detail, limitChanges(changes, ctx.maxChanges));
  }
  return detail;
}

function clip(line: string): string {
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** Byte comparison: the last resort for binary files nothing else understands. */
export function bytesComparator(): FileComparator {
  return {
    name: 'bytes',
    handles: () => true,
    async compare(refPath, newPath): Promise<ComparatorOutcome> {
      try {
        const { sizes, firstDifference } = await firstDifferingByte(refPath, newPath);
        const detail: DiffDetail = {
          item: 'bytes',
          kind: 'bytes',
          status: firstDifference < 0 ? 'identical' : 'different',
          elements: Math.max(sizes[0], sizes[1]),
        };
        if (firstDifference >= 0) {
          detail.where = `byte ${firstDifference}`;
          detail.message =
            sizes[0] === sizes[1]
              ? `binary files differ (first at byte ${firstDifference})`
              : `binary files differ: ${sizes[0]} bytes in the reference, ${sizes[1]} in the new product`;
        }
        return { ok: true, details: [detail] };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
  };
}

async function firstDifferingByte(
  a: string,
  b: string,
): Promise<{ sizes: [number, number]; firstDifference: number }> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const sizes: [number, number] = [(await fa.stat()).size, (await fb.stat()).size];
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    for (let pos = 0; ; pos += CHUNK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, pos), fb.read(bb, 0, CHUNK, pos)]);
      const n = Math.min(ra.bytesRead, rb.bytesRead);
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return { sizes, firstDifference: pos + i };
      if (ra.bytesRead !== rb.bytesRead) return { sizes, firstDifference: pos + n };
      if (n === 0) return { sizes, firstDifference: -1 };
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
