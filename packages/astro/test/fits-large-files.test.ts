// Files past Node's single-call limits (readFileSync: 2 GiB; a Buffer: 4 GiB), reproduced with small limits:
// a plain event list of ~8e7 events, or a survey's stacked dataset, is over 2 GiB.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeHeader } from '../src/fits/cards.js';
import { parseHeader } from '../src/fits/header.js';
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

describe('a long string over many CONTINUE cards (the record of a stack of 10,000 runs)', () => {
  it('is read in time linear in its length, every piece in place', () => {
    // 2 MB over ~31,000 cards, with '' escapes and '&' inside, as JSON of per-run values has.
    const unit = `{"obs_id":900123,"livetime_s":1581.7,"name":"it's & more"},`;
    const value = unit.repeat(Math.ceil(2e6 / unit.length));
    const bytes = encodeHeader([
      { key: 'SIMPLE', value: true },
      { key: 'PIPEDSET', value, comment: 'the record' },
      { key: 'AFTER', value: 1 },
    ]);
    const t0 = performance.now();
    const { header } = parseHeader(bytes, 0, { file: 'long.fits' });
    const ms = performance.now() - t0;
    expect(header.string('PIPEDSET')).toBe(value);
    expect(header.number('AFTER')).toBe(1);
    // Linear: ~0.1 s here. Appending each piece to the whole copied it per card: ~30 s.
    expect(ms).toBeLessThan(5000);
  });
});
