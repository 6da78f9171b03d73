// Make a second DL3 data store over the files of another one: its own hdu-index and obs-index, holding only
// the given runs, whose FILE_DIR points back at the source store's files (nothing is copied).
//
//   node pipelines/excess_map/data/make_store.mjs SOURCE_STORE DEST_DIR RUN [RUN...]
//
// Used for pipelines/excess_map/data/second-store (runs 23559 and 23592 of the shipped Crab subset), which the
// multi-step example config configs/two-stores.yaml reduces next to the shipped store. Needs a built tree
// (npm ci); columns, units and header cards of the index tables are kept as they are.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { emptyPrimary, readFitsSync, writeFits } from '@pipe/astro';

const STRUCTURAL = /^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|T(TYPE|FORM|UNIT|DIM)\d+|EXTNAME|END)$/;

function filterIndex(source, dest, runs, fileDirOf) {
  const file = readFitsSync(source);
  const hdu = file.hdu(1);
  const table = hdu.table();
  const ids = Array.from(table.numeric('OBS_ID'), Number);
  const keep = ids.flatMap((id, row) => (runs.has(id) ? [row] : []));
  const columns = table.columnNames.map((name) => {
    const info = table.info(name);
    const code = info.tform.replace(/^\d+/, '');
    let data;
    if (code === 'A') {
      const values = table.strings(name).map((s) => s.trim());
      data = keep.map((r) => (name === 'FILE_DIR' ? fileDirOf(values[r]) : values[r]));
    } else {
      const all = table.numeric(name);
      data = new all.constructor(keep.length);
      keep.forEach((r, i) => {
        data[i] = all[r];
      });
    }
    return { name, data, ...(info.unit ? { unit: info.unit } : {}) };
  });
  const cards = hdu.header.cards
    .filter((c) => !STRUCTURAL.test(c.key))
    .map((c) => ({ key: c.key, value: c.value, comment: c.comment, float: c.float }));
  writeFits(dest, [emptyPrimary(), { kind: 'bintable', name: hdu.name, columns, rows: keep.length, cards }]);
  return keep.length;
}

const [sourceStore, destDir, ...runArgs] = process.argv.slice(2);
if (!sourceStore || !destDir || runArgs.length === 0) {
  process.stderr.write('usage: node make_store.mjs SOURCE_STORE DEST_DIR RUN [RUN...]\n');
  process.exit(2);
}
const runs = new Set(runArgs.map(Number));
mkdirSync(destDir, { recursive: true });
// FILE_DIR is relative to the index; point it at the source store's directory, seen from the new store.
const fileDirOf = (dir) => path.relative(destDir, path.resolve(sourceStore, dir)).split(path.sep).join('/');
for (const name of ['hdu-index.fits.gz', 'obs-index.fits.gz']) {
  const rows = filterIndex(path.join(sourceStore, name), path.join(destDir, name), runs, fileDirOf);
  process.stdout.write(`${path.join(destDir, name)}: ${rows} rows\n`);
}
