// Files past Node's single-call limits (readFileSync: 2 GiB; a Buffer: 4 GiB), reproduced with small limits:
// a plain event list of ~8e7 events, or a survey's stacked dataset, is over 2 GiB.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyPrimary, encodeFits, FitsError, parseFits } from '../src/fits/index.js';
import { decompressIfGzip, readFileBytesSync } from '../src/fits/source.js';

const dir = mkdtempSync(join(tmpdir(), 'fits-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function eventsFile(rows: number): Uint8Array {
  const energy = Float32Array.from({ length: rows }, (_, i) => 1 + i / rows);
  return encodeFits([
    emptyPrimary(),
    { kind: 'bintable', name: 'EVENTS', rows, columns: [{ name: 'ENERGY', data: energy, unit: 'TeV' }] },
  ]);
}

describe('files larger than one read call', () => {
  it('reads a file in several calls, every byte in place', () => {
    const bytes = eventsFile(5000);
    const path = join(dir, 'events.fits');
    writeFileSync(path, bytes);
    // 7 bytes a call: the file takes thousands of calls, the last one short.
    const read = readFileBytesSync(path, 7);
    expect(read.byteLength).toBe(bytes.byteLength);
    expect(Buffer.compare(Buffer.from(read), Buffer.from(bytes))).toBe(0);
    const energy = parseFits(read, path).hdu('EVENTS').table().scalarFloat64('ENERGY');
    expect(energy.length).toBe(5000);
    expect(energy[4999]).toBeCloseTo(1 + 4999 / 5000, 6);
  });

  it('names a gzip file whose content is over the buffer limit as too large, not corrupt', () => {
    const gz = gzipSync(eventsFile(5000));
    let error: unknown;
    try {
      decompressIfGzip(gz, 'big.fits.gz', 10_000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FitsError);
    expect((error as Error).message).toMatch(/big\.fits\.gz.*decompresses to more than 10000 bytes/);
    expect((error as Error).message).not.toMatch(/corrupt/);
  });
});
