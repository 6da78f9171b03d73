// Broken-input fuzzing of `pipe build excess_map`: mutated copies of a built Crab workspace (the shipped data store,
// the exclusion mask, crab.yaml as --config, pipe.yaml and the pipeline file), one `pipe build` each, classified:
//   clean   failed, naming the mutated file (a FITS error names its HDU and column; YAML, its line:col)
//   ok      succeeded (for FITS: products-same or products-differ, to review by hand)
//   vague   failed without naming the mutated file;  stack / raw-js: a stack trace or a bare JS error
//   hang / oom-or-signal: past the timeout, or killed
// After a failed FITS case the file is put back and the build rerun: it must make the base products again (no
// corrupt cache entry, nothing lost). Cases that are not clean or ok keep their workspace under <out>/cases.
// usage: node scripts/fuzz/inputs.mjs [n=100] [seed=1] [kinds=fits,config,pipe]   (FUZZ_MUT=cell,card: FITS mutators;
//        FUZZ_OUT=dir, default a temp folder). Found the faults fixed with the tests named in their commits.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pipeJs = path.join(REPO, 'packages/cli/bin/pipe.js');
const [nStr = '100', seedStr = '1', kindsArg] = process.argv.slice(2);
const outDir = process.env.FUZZ_OUT ?? mkdtempSync(path.join(tmpdir(), 'pipe-fuzz-'));
// The base: the repository's pipeline and shipped data, built once.
const base = path.join(outDir, 'base');
if (!existsSync(path.join(base, 'products'))) {
  mkdirSync(base, { recursive: true });
  cpSync(path.join(REPO, 'pipe.yaml'), path.join(base, 'pipe.yaml'));
  cpSync(path.join(REPO, 'pipelines'), path.join(base, 'pipelines'), { recursive: true });
  const built = spawnSync(process.execPath, [pipeJs, 'build', 'excess_map'], { cwd: base, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the base workspace did not build:\n${built.stderr}`);
}
const N = Number(nStr);
let seed = Number(seedStr) >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 2 ** 32;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

const DATA = 'pipelines/excess_map/data';
const STORE = `${DATA}/hess-dl3-dr1`;
const RUNS = readdirSync(path.join(base, STORE, 'data')).map((f) => `${STORE}/data/${f}`);
const FITS_FILES = [
  ...RUNS,
  `${STORE}/hdu-index.fits.gz`,
  `${STORE}/obs-index.fits.gz`,
  `${DATA}/joint-crab/exclusion/exclusion_mask_crab.fits.gz`,
];

// ---- FITS structure ----
function hdus(b) {
  const out = [];
  let p = 0;
  while (p + 2880 <= b.length) {
    const cards = [];
    let end = -1;
    for (let q = p; q + 80 <= b.length; q += 80) {
      const c = b.subarray(q, q + 80).toString('latin1');
      cards.push({ at: q, key: c.slice(0, 8).trim(), text: c });
      if (c.startsWith('END     ') || c === 'END'.padEnd(80)) {
        end = q;
        break;
      }
    }
    if (end < 0) break;
    const hdrEnd = Math.ceil((end + 80) / 2880) * 2880;
    const val = (k) => {
      const c = cards.find((x) => x.key === k);
      return c ? Number(c.text.slice(10, 30).trim()) : undefined;
    };
    const bitpix = Math.abs(val('BITPIX') ?? 8);
    const naxis = val('NAXIS') ?? 0;
    let sz = naxis ? 1 : 0;
    for (let i = 1; i <= naxis; i++) sz *= val(`NAXIS${i}`) ?? 0;
    sz = ((bitpix / 8) * (val('GCOUNT') ?? 1) * (sz + (val('PCOUNT') ?? 0))) | 0;
    out.push({ start: p, cards, dataStart: hdrEnd, dataLen: sz, end: hdrEnd + Math.ceil(sz / 2880) * 2880 });
    p = hdrEnd + Math.ceil(sz / 2880) * 2880;
  }
  return out;
}
function setCard(b, card, value) {
  const key = card.text.slice(0, 8);
  const v =
    typeof value === 'string' && !/^[-+0-9.]/.test(value) && value !== 'T' && value !== 'F'
      ? `'${value.padEnd(8)}'`
      : String(value);
  const t = `${key}= ${v.padStart(20)}`.padEnd(80).slice(0, 80);
  b.write(t, card.at, 'latin1');
}

const GARBAGE_INT = [-1, 0, 1, 2.5, '1e10', 99999999999, 2147483648, 'abc', '', 7, 3, -8, 33, 1e300];
const GARBAGE_TFORM = [
  '1Q',
  'D',
  '0E',
  'X',
  '3',
  'ZZ',
  '1PE(0)',
  '2147483647E',
  '-1E',
  '10A',
  '1PD(99999999)',
  'E',
  '1K',
  '1J',
  '1B',
  '1L',
  '2E',
];

const FITS_MUTATORS = {
  'gz-truncate': (buf) => {
    const k = int(10, buf.length - 1);
    return { out: buf.subarray(0, k), d: `gzip cut at ${k}/${buf.length}` };
  },
  'gz-bitflip': (buf) => {
    const b = Buffer.from(buf);
    const k = int(10, b.length - 9);
    b[k] ^= 1 << int(0, 7);
    return { out: b, d: `gzip byte ${k} flipped` };
  },
  'raw-truncate': (_buf, raw) => {
    const k = int(1, raw.length - 1);
    return { out: gzipSync(raw.subarray(0, k)), d: `raw cut at ${k}/${raw.length}` };
  },
  'raw-truncate-hdr': (_buf, raw, H) => {
    const h = pick(H);
    const k = int(h.start + 1, h.dataStart - 1);
    return { out: gzipSync(raw.subarray(0, k)), d: `raw cut inside header of HDU ${H.indexOf(h)} at ${k}` };
  },
  'plain-truncate': (_buf, raw) => {
    const k = int(1, raw.length - 1);
    return { out: raw.subarray(0, k), d: `plain (ungzipped) cut at ${k}` };
  },
  card: (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hi = int(0, H.length - 1);
    const h = H[hi];
    const cands = h.cards.filter((c) =>
      /^(BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|THEAP|TFORM\d+|TDIM\d+|TUNIT\d+|TTYPE\d+|TZERO\d+|TSCAL\d+|TNULL\d+|EXTNAME|HDUCLAS\d|HDUDOC|HDUVERS|CTYPE\d|CRVAL\d|CDELT\d|CRPIX\d|CUNIT\d|TSTART|TSTOP|LIVETIME|ONTIME|DEADC|RA_PNT|DEC_PNT|MJDREFI|MJDREFF|TIMESYS|TIMEUNIT|OBS_ID|BSCALE|BZERO|BLANK|EQUINOX|RADESYS)$/.test(
        c.key,
      ),
    );
    if (!cands.length) return null;
    const c = pick(cands);
    let v;
    if (/^TFORM/.test(c.key)) v = pick(GARBAGE_TFORM);
    else if (/^TDIM/.test(c.key))
      v = pick(['(1,2,3)', '(0)', '(-1,5)', '(abc)', '()', '(1000000,1000000)', '(5']);
    else if (/^(TUNIT|CUNIT|TTYPE|EXTNAME|HDUCLAS|HDUDOC|CTYPE|TIMESYS|TIMEUNIT|RADESYS)/.test(c.key))
      v = pick([
        '',
        'xx',
        'deg',
        'TeV',
        'm',
        's',
        'RA---TAN',
        'GLON-CAR',
        'ENERGY',
        'EVENTS',
        'm2',
        'MeV',
        'rad',
        'sr-1',
        'UTC',
        'LOCAL',
        "O'Brien",
      ]);
    else v = pick(GARBAGE_INT);
    setCard(b, c, v);
    return {
      out: gzipSync(b),
      d: `HDU ${hi} ${c.key} = ${JSON.stringify(v)} (was ${c.text.slice(10, 31).trim()})`,
    };
  },
  'drop-card': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hi = int(0, H.length - 1);
    const h = H[hi];
    const cands = h.cards.filter(
      (c) => c.key && c.key !== 'END' && c.key !== 'SIMPLE' && c.key !== 'XTENSION',
    );
    if (!cands.length) return null;
    const c = pick(cands);
    b.write(' '.repeat(80), c.at, 'latin1');
    return { out: gzipSync(b), d: `HDU ${hi} card ${c.key} blanked` };
  },
  'drop-end': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hi = int(0, H.length - 1);
    const c = H[hi].cards.at(-1);
    b.write(' '.repeat(80), c.at, 'latin1');
    return { out: gzipSync(b), d: `HDU ${hi} END blanked` };
  },
  'data-garble': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hs = H.filter((h) => h.dataLen > 0);
    if (!hs.length) return null;
    const h = pick(hs);
    const n = int(1, 16);
    const k0 = int(h.dataStart, h.dataStart + h.dataLen - 1);
    const mode = pick(['nan', 'inf', 'ninf', 'rand', 'zero', 'ff']);
    for (let k = k0; k < Math.min(k0 + n * 4, h.dataStart + h.dataLen); k += 4) {
      if (mode === 'nan') b.writeUInt32BE(0x7fc00000, k - ((k - h.dataStart) % 4));
      else if (mode === 'inf') b.writeUInt32BE(0x7f800000, k - ((k - h.dataStart) % 4));
      else if (mode === 'ninf') b.writeUInt32BE(0xff800000, k - ((k - h.dataStart) % 4));
      else if (mode === 'zero') b.writeUInt32BE(0, k - ((k - h.dataStart) % 4));
      else if (mode === 'ff') b.writeUInt32BE(0xffffffff, k - ((k - h.dataStart) % 4));
      else b.writeUInt32BE(int(0, 2 ** 32 - 1), k - ((k - h.dataStart) % 4));
    }
    return { out: gzipSync(b), d: `HDU ${H.indexOf(h)} data ${mode} x${n} at ${k0 - h.dataStart}` };
  },
  'zero-rows': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hs = H.filter((h) => h.cards.some((c) => c.key === 'XTENSION' && /BINTABLE/.test(c.text)));
    if (!hs.length) return null;
    const h = pick(hs);
    const c = h.cards.find((x) => x.key === 'NAXIS2');
    setCard(b, c, 0);
    // keep the file consistent: drop the HDU's data
    const nb = Buffer.concat([b.subarray(0, h.dataStart), b.subarray(h.end)]);
    const pc = h.cards.find((x) => x.key === 'PCOUNT');
    return { out: gzipSync(nb), d: `HDU ${H.indexOf(h)} NAXIS2 = 0 (data removed)${pc ? '' : ''}` };
  },
  'fewer-rows': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hs = H.filter((h) => h.cards.some((c) => c.key === 'XTENSION' && /BINTABLE/.test(c.text)));
    if (!hs.length) return null;
    const h = pick(hs);
    const c = h.cards.find((x) => x.key === 'NAXIS2');
    const n = Number(c.text.slice(10, 30));
    if (n < 2) return null;
    const m = int(1, n - 1);
    setCard(b, c, m);
    return { out: gzipSync(b), d: `HDU ${H.indexOf(h)} NAXIS2 ${n} -> ${m} (data padded)` };
  },
  'swap-hdu': (_buf, raw, H) => {
    if (H.length < 3) return null;
    const i = int(1, H.length - 2);
    const a = H[i],
      c = H[i + 1];
    const nb = Buffer.concat([
      raw.subarray(0, a.start),
      raw.subarray(c.start, c.end),
      raw.subarray(a.start, a.end),
      raw.subarray(c.end),
    ]);
    return { out: gzipSync(nb), d: `HDUs ${i} and ${i + 1} swapped` };
  },
  'drop-hdu': (_buf, raw, H) => {
    if (H.length < 2) return null;
    const i = int(1, H.length - 1);
    const a = H[i];
    return {
      out: gzipSync(Buffer.concat([raw.subarray(0, a.start), raw.subarray(a.end)])),
      d: `HDU ${i} removed`,
    };
  },
  cell: (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hs = H.filter(
      (h) => h.cards.some((c) => c.key === 'XTENSION' && /BINTABLE/.test(c.text)) && h.dataLen > 0,
    );
    if (!hs.length) return null;
    const h = pick(hs);
    const card = (k) =>
      h.cards
        .find((c) => c.key === k)
        ?.text.slice(10, 80)
        .split('/')[0]
        .trim()
        .replace(/^'|'\s*$/g, '')
        .trim();
    const nf = Number(card('TFIELDS'));
    const rowLen = Number(card('NAXIS1'));
    const nrows = Number(card('NAXIS2'));
    const SIZES = { L: 1, B: 1, I: 2, J: 4, K: 8, E: 4, D: 8, A: 1, X: 0.125, P: 8, Q: 16 };
    const cols = [];
    let off = 0;
    for (let i = 1; i <= nf; i++) {
      const tf = card(`TFORM${i}`);
      const m = /^(\d*)([A-Z])/.exec(tf);
      const rep = m[1] === '' ? 1 : Number(m[1]);
      const w = m[2] === 'X' ? Math.ceil(rep / 8) : rep * SIZES[m[2]];
      cols.push({ name: card(`TTYPE${i}`), type: m[2], rep, off, w });
      off += w;
    }
    const c = pick(cols.filter((x) => x.rep > 0 && 'EDJKIA'.includes(x.type)));
    if (!c) return null;
    const row = int(0, nrows - 1);
    const el = c.type === 'A' ? 0 : int(0, c.rep - 1);
    const at = h.dataStart + row * rowLen + c.off + el * SIZES[c.type];
    let v;
    if (c.type === 'E' || c.type === 'D') {
      v = pick([NaN, Infinity, -Infinity, 0, -1, 1e30, -1e30, 1e-30, 5e9]);
      if (c.type === 'E') b.writeFloatBE(v, at);
      else b.writeDoubleBE(v, at);
    } else if (c.type === 'A') {
      v = pick([
        '',
        'xx',
        '../../etc/passwd',
        'data/hess_dl3_dr1_obs_id_023523.fits.gz',
        'events',
        'aeff',
        'bkg',
        'EVENTS',
        'AEFF',
        'GTI',
        'full-enclosure',
        'bkg_2d',
        'bkg_3d',
        'psf_king',
        '.',
        '/',
      ]);
      b.write(v.padEnd(c.w, ' ').slice(0, c.w), at, 'latin1');
    } else {
      const maxv = { I: 32767, J: 2147483647 }[c.type];
      v = pick([0, -1, 23523, 23526, 1, maxv ?? 2 ** 53, -(maxv ?? 2 ** 53)]);
      if (c.type === 'I') b.writeInt16BE(Math.max(-32768, Math.min(32767, v)), at);
      else if (c.type === 'J') b.writeInt32BE(Math.max(-2147483648, Math.min(2147483647, v)), at);
      else b.writeBigInt64BE(BigInt(v), at);
    }
    return {
      out: gzipSync(b),
      d: `HDU ${H.indexOf(h)} ${c.name}[row ${row}${c.rep > 1 ? `, el ${el}` : ''}] = ${JSON.stringify(String(v))}`,
    };
  },
  'copy-row': (_buf, raw, H) => {
    const b = Buffer.from(raw);
    const hs = H.filter(
      (h) => h.cards.some((c) => c.key === 'XTENSION' && /BINTABLE/.test(c.text)) && h.dataLen > 0,
    );
    const h = pick(hs);
    if (!h) return null;
    const rl = Number(h.cards.find((c) => c.key === 'NAXIS1').text.slice(10, 30));
    const n = Number(h.cards.find((c) => c.key === 'NAXIS2').text.slice(10, 30));
    if (n < 2) return null;
    const a = int(0, n - 1),
      z = int(0, n - 1);
    b.set(raw.subarray(h.dataStart + a * rl, h.dataStart + (a + 1) * rl), h.dataStart + z * rl);
    return { out: gzipSync(b), d: `HDU ${H.indexOf(h)} row ${a} copied over row ${z}` };
  },
  'empty-file': () => ({ out: Buffer.alloc(0), d: 'empty file' }),
  'not-fits': () => ({ out: gzipSync(Buffer.from('hello world\n'.repeat(500))), d: 'gzip of text' }),
  delete: () => ({ out: null, d: 'file deleted' }),
};

// ---- YAML mutations ----
const YAML_VALUES = [
  '-1 deg',
  'abc',
  '1e400 TeV',
  'null',
  '[]',
  '{}',
  '0',
  'NaN deg',
  '.inf',
  '1 TeVV',
  '"',
  "'",
  '~',
  'true',
  '-0.0 deg',
  '1e308 deg',
  '99999999999999999999',
  '5 m',
  '1 TeV',
  '0 deg',
  '[1, 2]',
  '{a: 1}',
  '*x',
  '&x 1',
  '!!binary aGVsbG8=',
  '!!int "3"',
  '0x10',
  '1_000',
  '"1 deg"',
  '1.0e300 deg',
  '1.0e-300 deg',
  '1.0e300 TeV',
  '1.0e-300 TeV',
  '2000000000',
  '-2000000000',
  '1.0e15 deg',
  '360.0000001 deg',
  '-90.5 deg',
  '0.0 TeV',
  'inf deg',
  '-inf TeV',
  '3.5',
  '1 deg deg',
  '2 sr',
  'J2000',
  '2004-13-45',
  '-',
  '|\n  multi',
  '>-',
  '@',
  '`x`',
  '%',
  '? x',
];
function yamlMutate(text) {
  const lines = text.split('\n');
  const kinds = [
    'value',
    'value',
    'value',
    'delete-line',
    'dup-line',
    'indent',
    'tab',
    'truncate',
    'empty',
    'bytes',
    'anchor',
    'multi-doc',
    'key-rename',
    'bom',
    'laughs',
  ];
  const k = pick(kinds);
  const li = () => {
    let i;
    do {
      i = int(0, lines.length - 1);
    } while (!lines[i].trim() || lines[i].trim().startsWith('#'));
    return i;
  };
  switch (k) {
    case 'value': {
      const i = li();
      const m = [...lines[i].matchAll(/(:\s*)([^,{}[\]\n#]+)/g)];
      if (!m.length) return null;
      const mm = pick(m);
      const v = pick(YAML_VALUES);
      const s = lines[i];
      const at = mm.index + mm[1].length;
      lines[i] = s.slice(0, at) + v + s.slice(at + mm[2].length);
      return {
        text: lines.join('\n'),
        d: `line ${i + 1}: ${JSON.stringify(mm[2].trim())} -> ${JSON.stringify(v)}`,
      };
    }
    case 'delete-line': {
      const i = li();
      const d = lines[i];
      lines.splice(i, 1);
      return { text: lines.join('\n'), d: `deleted line ${i + 1}: ${d.trim()}` };
    }
    case 'dup-line': {
      const i = li();
      lines.splice(i, 0, lines[i]);
      return { text: lines.join('\n'), d: `duplicated line ${i + 1}` };
    }
    case 'indent': {
      const i = li();
      lines[i] = ' '.repeat(int(1, 3)) + lines[i];
      return { text: lines.join('\n'), d: `indented line ${i + 1}` };
    }
    case 'tab': {
      const i = li();
      lines[i] = '\t' + lines[i];
      return { text: lines.join('\n'), d: `tab at line ${i + 1}` };
    }
    case 'truncate': {
      const t = lines.join('\n');
      const c = int(1, t.length - 1);
      return { text: t.slice(0, c), d: `cut at char ${c}` };
    }
    case 'empty':
      return {
        text: pick(['', '\n', '# only a comment\n', '---\n', 'null\n', '[]\n', '42\n', '"str"\n']),
        d: 'empty-ish document',
      };
    case 'bytes': {
      const t = Buffer.from(lines.join('\n'));
      const c = int(0, t.length - 1);
      const bad = Buffer.from([pick([0xff, 0xfe, 0xc3, 0x80, 0x00, 0xed])]);
      return {
        bytes: Buffer.concat([t.subarray(0, c), bad, t.subarray(c)]),
        d: `byte ${bad[0].toString(16)} at ${c}`,
      };
    }
    case 'anchor': {
      const i = li();
      const m = lines[i].match(/^(\s*)(\w+):/);
      if (!m) return null;
      lines[i] = lines[i].replace(/:/, ': &a');
      lines.push(`extra_ref: *a`);
      return { text: lines.join('\n'), d: `anchor on line ${i + 1}, alias at end` };
    }
    case 'multi-doc':
      return { text: lines.join('\n') + '\n---\ngeneral: {}\n', d: 'second document' };
    case 'key-rename': {
      const i = li();
      const m = lines[i].match(/^(\s*)(\w+):/);
      if (!m) return null;
      const nk = pick([
        m[2] + 'x',
        m[2].toUpperCase(),
        m[2].slice(0, -1),
        '"' + m[2] + '"',
        '<<',
        m[2] + ' ',
        '1',
      ]);
      lines[i] = lines[i].replace(m[2] + ':', nk + ':');
      return { text: lines.join('\n'), d: `line ${i + 1}: key ${m[2]} -> ${nk}` };
    }
    case 'bom':
      return {
        bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\n'))]),
        d: 'UTF-8 BOM',
      };
    case 'laughs':
      return {
        text:
          'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n' +
          lines.join('\n'),
        d: 'billion laughs prefix',
      };
  }
  return null;
}

// ---- running and classifying ----
function hashDir(d) {
  const out = {};
  if (!existsSync(d)) return out;
  for (const f of readdirSync(d, { recursive: true })) {
    const p = path.join(d, f);
    if (statSync(p).isFile()) out[f] = createHash('sha1').update(readFileSync(p)).digest('hex');
  }
  return out;
}
const baseProducts = hashDir(path.join(base, 'products/excess_map'));

function run(ws, args) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [pipeJs, ...args], {
    cwd: ws,
    encoding: 'utf8',
    timeout: 120_000,
    killSignal: 'SIGKILL',
    env: {
      ...process.env,
      NODE_OPTIONS: '--max-old-space-size=1536',
      PIPE_KERNELS: process.env.PIPE_KERNELS ?? '',
    },
  });
  return { ...r, ms: Date.now() - t0 };
}

function classify(r, names) {
  const err = `${r.stderr ?? ''}`;
  if (r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGKILL' && r.ms > 110_000)) return 'hang';
  if (
    /heap out of memory|Allocation failed|Invalid array length|Array buffer allocation failed/.test(err) ||
    r.signal
  )
    return 'oom-or-signal';
  if (/\n\s+at [^\n]*[:(]\d+:\d+|^\s+at /m.test(err)) return 'stack';
  if (
    /\b(TypeError|RangeError|ReferenceError|SyntaxError|AssertionError)\b|Cannot read propert|is not a function|is not iterable|undefined|\bNaN\b|\[object Object\]/.test(
      err,
    )
  )
    return 'raw-js';
  if (r.status === 0) return 'ok';
  if (!names.some((n) => err.includes(n))) return 'vague';
  return 'clean';
}

const log = path.join(outDir, 'cases.jsonl');
const kinds = kindsArg ? kindsArg.split(',') : ['fits', 'config', 'pipe'];
console.log(`fuzzing into ${outDir}`);
const casesRoot = path.join(outDir, 'cases');
mkdirSync(casesRoot, { recursive: true });

for (let i = 0; i < N; i++) {
  const caseSeed = seed;
  const ws = path.join(casesRoot, `c${caseSeed}`);
  rmSync(ws, { recursive: true, force: true });
  cpSync(base, ws, { recursive: true });
  const kind = pick(kinds);
  let desc,
    names,
    file,
    configArgs = [];
  if (kind === 'fits') {
    file = pick(FITS_FILES);
    const buf = readFileSync(path.join(ws, file));
    const raw = gunzipSync(buf);
    const H = hdus(raw);
    const mname = pick(process.env.FUZZ_MUT ? process.env.FUZZ_MUT.split(',') : Object.keys(FITS_MUTATORS));
    const m = FITS_MUTATORS[mname](buf, raw, H);
    if (!m) {
      rmSync(ws, { recursive: true, force: true });
      i--;
      continue;
    }
    if (m.out === null) rmSync(path.join(ws, file));
    else writeFileSync(path.join(ws, file), m.out);
    desc = `${mname}: ${m.d}`;
    names = [path.basename(file)];
  } else if (kind === 'config' || kind === 'pipe') {
    file =
      kind === 'config'
        ? 'pipelines/excess_map/crab.yaml'
        : pick(['pipe.yaml', 'pipelines/excess_map/pipe.yaml']);
    const m = yamlMutate(readFileSync(path.join(ws, file), 'utf8'));
    if (!m) {
      rmSync(ws, { recursive: true, force: true });
      i--;
      continue;
    }
    if (kind === 'config') {
      file = 'mut.yaml';
      configArgs = ['--config', 'mut.yaml'];
    }
    writeFileSync(path.join(ws, file), m.bytes ?? m.text);
    desc = `${m.d}`;
    names = [path.basename(file)];
  }
  const r = run(ws, ['build', 'excess_map', ...configArgs, '--out', 'out']);
  const cls = classify(r, names);
  const after = hashDir(path.join(ws, 'products/excess_map'));
  const notes = [];
  if (r.status !== 0 && JSON.stringify(after) !== JSON.stringify(baseProducts) && kind === 'fits')
    notes.push('products-changed-on-failure');
  const stray = readdirSync(ws, { recursive: true }).filter(
    (f) => !f.startsWith('.pipe') && /\.tmp|\.partial|~$/.test(f),
  );
  if (stray.length) notes.push(`stray:${stray.slice(0, 3).join(',')}`);
  if (r.status === 0 && kind === 'fits')
    notes.push(JSON.stringify(after) === JSON.stringify(baseProducts) ? 'products-same' : 'products-differ');
  // recovery: put the inputs back and rebuild; must reproduce the base products
  if (kind === 'fits' && r.status !== 0) {
    cpSync(path.join(base, file), path.join(ws, file));
    const r2 = run(ws, ['build', 'excess_map']);
    const again = hashDir(path.join(ws, 'products/excess_map'));
    if (r2.status !== 0) notes.push(`recovery-failed:${(r2.stderr || '').slice(0, 300)}`);
    else if (JSON.stringify(again) !== JSON.stringify(baseProducts)) notes.push('recovery-products-differ');
  }
  const rec = {
    seed: caseSeed,
    kind,
    file,
    desc,
    cls,
    code: r.status,
    signal: r.signal,
    ms: r.ms,
    notes,
    stderr: (r.stderr || '').slice(-1500),
  };
  appendFileSync(log, `${JSON.stringify(rec)}\n`);
  console.log(`${cls.padEnd(14)} ${kind.padEnd(6)} ${r.ms}ms ${file} ${desc} ${notes.join(' ')}`);
  if (cls === 'clean' || cls === 'ok') rmSync(ws, { recursive: true, force: true });
}

const counts = {};
for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
  const { kind, cls } = JSON.parse(line);
  counts[`${kind} ${cls}`] = (counts[`${kind} ${cls}`] ?? 0) + 1;
}
console.log(counts);
