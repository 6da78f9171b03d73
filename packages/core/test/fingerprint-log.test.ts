import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FingerprintRecord } from '../src/fingerprint/record.js';
import { FingerprintLog } from '../src/state/fingerprint-log.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function logOf(lines: string[]): FingerprintLog {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-fplog-'));
  dirs.push(dir);
  const file = path.join(dir, 'fingerprints.log');
  writeFileSync(file, `pipe-fingerprints 1\n${lines.join('\n')}\n`);
  return new FingerprintLog(file);
}

const line = (id: string, key: string, n: number) =>
  JSON.stringify({ id, key, fp: { params: { n } } as unknown as FingerprintRecord });

describe('FingerprintLog', () => {
  it('answers a few lookups by search, and many by parsing the file once (a search per task was quadratic)', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `calib[f${i}]`);
    const log = logOf(ids.map((id, i) => line(id, `k${i}`, i)));
    const searches = vi.spyOn(Buffer.prototype, 'lastIndexOf');
    for (const [i, id] of ids.entries()) expect(log.get(id, `k${i}`)).toEqual({ params: { n: i } });
    expect(searches.mock.calls.length).toBeLessThan(200);
    // A record of another key explains nothing, parsed or searched.
    expect(log.get('calib[f1]', 'other')).toBeUndefined();
  });

  it('reads the last line of a task, by search and once parsed', () => {
    const lines = [
      line('a', 'k1', 1),
      line('a', 'k2', 2),
      ...Array.from({ length: 100 }, (_, i) => line(`b${i}`, 'k', i)),
    ];
    const searched = logOf(lines);
    expect(searched.get('a', 'k2')).toEqual({ params: { n: 2 } });
    expect(searched.get('a', 'k1')).toBeUndefined();
    const parsed = logOf(lines);
    for (let i = 0; i < 100; i++) parsed.get(`b${i}`, 'k');
    expect(parsed.get('a', 'k2')).toEqual({ params: { n: 2 } });
    expect(parsed.get('a', 'k1')).toBeUndefined();
    // An earlier run's line stays readable (pipe why on a product of an earlier run).
    expect(parsed.earlier('a', 'k1')).toEqual({ params: { n: 1 } });
  });
});
