/** statInto (fast-path/raw-stat.ts): node's stat binding and statSync give the same fields, or nothing. */
import { mkdirSync, mkdtempSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RawStat, statInto, useStatSync, usesBinding } from '../src/fast-path/raw-stat.js';

const fresh = (): RawStat => ({ kind: '', size: -1, ino: -1, mtimeMs: -1, ctimeMs: -1 });

function both(abs: string): Array<RawStat | false> {
  const out: Array<RawStat | false> = [];
  for (const slow of [false, true]) {
    useStatSync(slow);
    const st = fresh();
    out.push(statInto(abs, st) && st);
  }
  return out;
}

afterEach(() => useStatSync(false));

describe('statInto', () => {
  it('agrees with statSync on files, folders, other kinds and missing paths, to the sub-ms time', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipe-raw-stat-'));
    const file = path.join(dir, 'f.txt');
    writeFileSync(file, 'twelve bytes');
    // A time with sub-ms digits, as a file system with ns stamps keeps them.
    utimesSync(file, 1_700_000_000.123456, 1_700_000_000.987654);
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync('/dev/null', path.join(dir, 'dev'));
    // The node this repository runs on (20) has the binding: the comparison below is not statSync with itself.
    useStatSync(false);
    expect(usesBinding()).toBe(true);
    const [fast, slow] = both(file);
    const st = statSync(file);
    expect(fast).toEqual({ kind: 'f', size: 12, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    expect(slow).toEqual(fast);
    const [dirFast, dirSlow] = both(path.join(dir, 'sub'));
    expect(dirFast).toMatchObject({ kind: 'd' });
    expect(dirSlow).toEqual(dirFast);
    const [devFast, devSlow] = both(path.join(dir, 'dev')); // followed: a character device
    expect(devFast).toMatchObject({ kind: '' });
    expect(devSlow).toEqual(devFast);
    expect(both(path.join(dir, 'missing'))).toEqual([false, false]);
    // Below a file: thrown either way, as statSync throws.
    for (const slow of [false, true]) {
      useStatSync(slow);
      expect(() => statInto(path.join(file, 'x'), fresh())).toThrow(/ENOTDIR/);
    }
  });
});
