import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  catchFits,
  emptyPrimary,
  encodeFits,
  type FitsError,
  type FitsErrorReason,
  loadFileBytesWhole,
  parseFits,
  readFits,
  readFitsSync,
} from '../src/fits/index.js';
import { SHARED } from './shared-dir.js';

const RUN = `${SHARED}/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz`;
const dir = mkdtempSync(join(tmpdir(), 'fits-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(fn: () => unknown): FitsError {
  const r = catchFits(fn);
  if (r.ok) throw new Error('expected a FitsError');
  return r.error;
}

function expectError(e: FitsError, reason: FitsErrorReason, ...mentions: string[]) {
  expect(e.reason).toBe(reason);
  for (const m of mentions) expect(e.message).toContain(m);
}

describe('broken inputs give errors that name file, HDU and column', () => {
  const raw = gunzipSync(readFileSync(RUN));

  it('truncated gzip', async () => {
    const path = join(dir, 'cut.fits.gz');
    const gz = readFileSync(RUN);
    writeFileSync(path, gz.subarray(0, gz.length >> 1));
    await expect(readFits(path)).rejects.toSatisfy(
      (e: FitsError) => e.reason === 'truncated-gzip' && e.message.includes(path),
    );
    expectError(
      failure(() => readFitsSync(path)),
      'truncated-gzip',
      path,
    );
  });

  it('truncated FITS: the cut HDU reports data shorter than NAXIS, the others still read', () => {
    const path = join(dir, 'cut-data.fits');
    // cut inside the EDISP data but on a block boundary
    const f = parseFits(raw, 'x');
    const edisp = f.hdu('EDISP');
    writeFileSync(path, raw.subarray(0, edisp.dataOffset + 2880 * 10));
    const cut = readFitsSync(path);
    expect(cut.hdu('AEFF').table().rows).toBe(1);
    expectError(
      failure(() => cut.hdu('EDISP').table()),
      'data-too-short',
      path,
      "HDU 'EDISP'",
      'NAXIS1×NAXIS2',
    );
    expect(failure(() => cut.hdu('EDISP').table()).message).toContain('the file is truncated');
  });

  it('truncated FITS inside a header, and a size that is not a multiple of 2880', () => {
    const path = join(dir, 'cut-header.fits');
    writeFileSync(path, raw.subarray(0, 2880 + 1000));
    expectError(
      failure(() => readFitsSync(path)),
      'truncated-file',
      path,
      'HDU 1',
    );
    const small = join(dir, 'small.fits');
    writeFileSync(small, raw.subarray(0, 100));
    expectError(
      failure(() => readFitsSync(small)),
      'bad-block-size',
      small,
      '2880',
    );
  });

  it('missing END card', () => {
    const bytes = encodeFits([emptyPrimary([{ key: 'A', value: 1 }])]);
    const text = Buffer.from(bytes);
    const end = text.indexOf('END     ');
    text.fill(0x20, end, end + 3);
    expectError(
      failure(() => parseFits(text, 'noend.fits')),
      'missing-end',
      'noend.fits',
      'END',
    );
  });

  it('missing HDU lists the HDUs and suggests a near name', () => {
    const f = readFitsSync(RUN);
    const e = failure(() => f.hdu('EVENT'));
    expectError(
      e,
      'missing-hdu',
      RUN,
      "HDU 'EVENT'",
      "did you mean 'EVENTS'",
      '0:PRIMARY, 1:EVENTS, 2:GTI, 3:AEFF, 4:EDISP, 5:PSF, 6:BKG',
    );
    expect(e.hdu).toBe('EVENT');
  });

  it('missing column lists the columns and suggests a near name', () => {
    const t = readFitsSync(RUN).hdu('EVENTS').table();
    const e = failure(() => t.column('ENERGIE'));
    expectError(
      e,
      'missing-column',
      RUN,
      "HDU 'EVENTS'",
      "column 'ENERGIE'",
      "did you mean 'ENERGY'",
      'EVENT_ID, TIME, RA, DEC, ENERGY',
    );
    expect(e.column).toBe('ENERGIE');
  });

  it('unsupported or malformed TFORM names the column', () => {
    const bytes = Buffer.from(
      encodeFits([
        emptyPrimary(),
        { kind: 'bintable', name: 'T', columns: [{ name: 'X', data: Float32Array.from([1, 2]) }] },
      ]),
    );
    const i = bytes.indexOf("TFORM1  = 'E       '");
    bytes.write("TFORM1  = 'W       '", i, 'latin1');
    expectError(
      failure(() => parseFits(bytes, 'w.fits').hdu('T').table()),
      'unsupported-tform',
      'w.fits',
      "HDU 'T'",
      "column 'X'",
      "'W'",
    );
  });

  it('variable-length arrays of an unsupported element type name file, HDU and column', () => {
    const bytes = Buffer.from(
      encodeFits([
        emptyPrimary(),
        { kind: 'bintable', name: 'V', columns: [{ name: 'Y', data: Float64Array.from([0, 0]) }] },
      ]),
    );
    const i = bytes.indexOf("TFORM1  = 'D       '");
    bytes.write("TFORM1  = 'PX(3)   '", i, 'latin1');
    const t = parseFits(bytes, 'v.fits').hdu('V').table();
    expectError(
      failure(() => t.column('Y')),
      'unsupported-tform',
      'v.fits',
      "HDU 'V'",
      "column 'Y'",
      'PX(3)',
    );
  });

  it('a gzip stream that is not FITS', () => {
    const path = join(dir, 'text.fits.gz');
    writeFileSync(path, gzipSync(Buffer.alloc(2880, 'x')));
    expectError(
      failure(() => readFitsSync(path)),
      'bad-header',
      path,
      'not a FITS file',
    );
  });

  it('a file that does not exist', () => {
    expectError(
      failure(() => readFitsSync(join(dir, 'nope.fits'))),
      'io',
      'nope.fits',
      'no such file',
    );
  });
});

describe('loadFileBytesWhole (the stack reads run datasets with it)', () => {
  /** Descriptors this process holds open (Linux). */
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('reads a file whole, into a reused buffer when it is large enough', async () => {
    const path = join(dir, 'whole.bin');
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    writeFileSync(path, bytes);
    expect(Array.from(await loadFileBytesWhole(path))).toEqual(Array.from(bytes));
    const reuse = new Uint8Array(100_000);
    const got = await loadFileBytesWhole(path, reuse);
    expect(got.buffer).toBe(reuse.buffer);
    expect(Array.from(got)).toEqual(Array.from(bytes));
  });

  it('a missing file or a directory is an error naming it, and leaves no descriptor open', async () => {
    const before = openFds();
    for (const path of [join(dir, 'no-such-file.fits'), dir]) {
      const e = (await loadFileBytesWhole(path).then(
        () => undefined,
        (err: unknown) => err,
      )) as FitsError | undefined;
      expect(e, path).toBeDefined();
      expect(e?.message).toContain(path);
    }
    expect(openFds()).toBe(before);
  });
});
