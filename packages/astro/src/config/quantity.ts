/**
 * Quantities as gammapy configs write them: "83.633 deg", "1.0 TeV", "2004-12-04T22:00:00".
 * Parsed into fixed units (degrees, TeV, MJD in TT) so that keys and steps never see unit spellings.
 */
import { mjdInTt, utcToTt } from '../dl3/time-scales.js';
import { editDistance } from '../fits/errors.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

/** One hour angle in degrees as astropy converts it (its hourangle unit is 15 deg through radians). */
const HOURANGLE_DEG = 14.999999999999998;

const ANGLE_UNITS: Record<string, number> = {
  deg: 1,
  degree: 1,
  degrees: 1,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
  // astropy's Angle reads 'rad' but not 'radian' ("Invalid character"): gammapy fails on it, so pipe does too.
  rad: 180 / Math.PI,
  // astropy's u.hourangle.to(u.deg) and u.mas.to(u.deg), not 15 and 1 / 3.6e6: "5 hour" is 74.99999999999999 deg
  // in gammapy, and a map centre an ulp off is another CRVAL.
  hour: HOURANGLE_DEG,
  hr: HOURANGLE_DEG,
  mas: 2.777777777777778e-7,
  // SI-prefixed units astropy's Angle reads too, with its factors to the last bit (u.mrad.to(u.deg), …).
  uas: 2.7777777777777777e-10,
  mdeg: 0.001,
  mrad: 0.057295779513082325,
  urad: 5.729577951308232e-5,
};

const ENERGY_UNITS: Record<string, number> = {
  eV: 1e-12,
  keV: 1e-9,
  MeV: 1e-6,
  GeV: 1e-3,
  TeV: 1,
  PeV: 1e3,
  // astropy's u.erg.to(u.TeV) (1 / 1.602176634 is one ulp below it) and u.J.to(u.TeV), to the last bit.
  erg: 0.6241509074460764,
  J: 6241509.0744607635,
};

/** astropy's si_prefixes, as their symbols and factors. */
const SI_PREFIXES: ReadonlyArray<readonly [string, number]> = [
  ['Q', 1e30],
  ['R', 1e27],
  ['Y', 1e24],
  ['Z', 1e21],
  ['E', 1e18],
  ['P', 1e15],
  ['T', 1e12],
  ['G', 1e9],
  ['M', 1e6],
  ['k', 1e3],
  ['h', 1e2],
  ['da', 1e1],
  ['d', 1e-1],
  ['c', 1e-2],
  ['m', 1e-3],
  ['u', 1e-6],
  ['n', 1e-9],
  ['p', 1e-12],
  ['f', 1e-15],
  ['a', 1e-18],
  ['z', 1e-21],
  ['y', 1e-24],
  ['r', 1e-27],
  ['q', 1e-30],
];

/**
 * Every SI prefix on `bases` ({unit: its size in astropy's base unit}) as astropy's `.to(target)` gives it, to the
 * last bit: (prefix × base) / target, as astropy divides decomposed scales (checked against astropy 5.2 for all).
 */
function prefixed(bases: Record<string, number>, target: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [unit, scale] of Object.entries(bases))
    for (const [p, factor] of SI_PREFIXES) out[`${p}${unit}`] = (factor * scale) / target;
  return out;
}

/** One electronvolt in joules (astropy's eV). */
const EV_J = 1.602176634e-19;

/**
 * What gammapy's EnergyType (astropy's Quantity) takes beyond the table: any SI prefix on eV (EeV, ZeV, …), 'µ' for
 * micro (the micro sign or the Greek letter) too. The table stays what hints suggest.
 */
const ENERGY_READ: Record<string, number> = {
  ...prefixed({ eV: EV_J }, 1e12 * EV_J),
  '\u00b5eV': (1e-6 * EV_J) / (1e12 * EV_J),
  '\u03bceV': (1e-6 * EV_J) / (1e12 * EV_J),
  ...ENERGY_UNITS,
};

/**
 * What astropy's Angle reads beyond the table: any SI prefix on deg, arcmin, arcsec and rad (its lexer takes every
 * prefixed unit equivalent to the radian: 'karcsec', 'nrad', …; not 'µ'), and 'h' for hours.
 */
const DEG_RAD = Math.PI / 180;
const ANGLE_READ: Record<string, number> = {
  ...prefixed({ deg: DEG_RAD, arcmin: (1 / 60) * DEG_RAD, arcsec: (1 / 3600) * DEG_RAD, rad: 1 }, DEG_RAD),
  h: HOURANGLE_DEG,
  ...ANGLE_UNITS,
};

const QUANTITY = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z\u00b5\u03bc]*)\s*$/;

function parseQuantity(
  raw: unknown,
  units: Record<string, number>,
  /** The units hints name: the common ones of `units`. */
  shown: Record<string, number>,
  kind: string,
  defaultUnit: string | undefined,
  /** The unit a hint suggests: the one the analysis works in (TeV, deg), not the table's first. */
  exampleUnit: string,
): Parsed<number> {
  if (typeof raw === 'number') {
    if (defaultUnit === undefined) {
      return {
        ok: false,
        message: `${kind} needs a unit`,
        hint: `write e.g. "${raw} ${exampleUnit}"`,
      };
    }
    return Number.isFinite(raw)
      ? { ok: true, value: raw * units[defaultUnit]! }
      : { ok: false, message: `${kind} is not finite` };
  }
  if (typeof raw !== 'string')
    return {
      ok: false,
      message: `expected ${article(kind)} ${kind} like "1.0 ${exampleUnit}", got ${typeName(raw)}`,
    };
  const m = QUANTITY.exec(raw);
  if (!m)
    return {
      ok: false,
      message: `cannot read ${JSON.stringify(raw)} as ${article(kind)} ${kind}`,
      hint: `write a number and a unit, e.g. "1.0 ${exampleUnit}"`,
    };
  const value = Number(m[1]);
  // 1.0e400 reads as Infinity: no setting means that (and a task's key cannot hold it).
  if (!Number.isFinite(value))
    return { ok: false, message: `${kind} ${JSON.stringify(raw)} is not a finite number` };
  const unit = m[2] ?? '';
  if (unit === '') {
    if (defaultUnit === undefined)
      return {
        ok: false,
        message: `${kind} ${JSON.stringify(raw)} has no unit`,
        hint: `add a unit: ${Object.keys(shown).join(', ')}`,
      };
    return { ok: true, value: value * units[defaultUnit]! };
  }
  // Own keys only: 'constructor' and the like are the table's, and would read as NaN.
  const factor = Object.hasOwn(units, unit) ? units[unit] : undefined;
  // astropy reads meV as milli-electronvolts (1e-15 TeV), and gammapy would bin from there: in a gamma-ray analysis
  // that is MeV mistyped, refused here with both readings said.
  if (unit === 'meV' && kind === 'energy')
    return {
      ok: false,
      message: `'meV' is the milli-electronvolt (1e-15 TeV) for astropy and gammapy, surely not meant here`,
      hint: `did you mean 'MeV' (1e-6 TeV)? pipe refuses meV as a likely typo`,
    };
  if (factor === undefined) {
    return {
      ok: false,
      message: `invalid unit for ${kind}: '${unit}'`,
      hint: unitHint(unit, Object.keys(shown)),
    };
  }
  return { ok: true, value: value * factor };
}

/**
 * An angle in degrees. A unit is required, as astropy's Angle (and so gammapy) requires one: a bare 0.1 could
 * mean degrees or radians, and a config pipe accepted must also run in gammapy.
 */
export function parseAngle(raw: unknown): Parsed<number> {
  // astropy's angle lexer reads an exponent only after a decimal point (2.0e-2 deg): "2e-2 deg" fails in gammapy.
  if (typeof raw === 'string' && /^\s*[+-]?\d+[eE]/.test(raw))
    return {
      ok: false,
      message: `cannot read ${JSON.stringify(raw)} as an angle: astropy's Angle takes an exponent only after a decimal point`,
      hint: `write e.g. "${raw.trim().replace(/^([+-]?\d+)([eE])/, '$1.0$2')}"`,
    };
  if (typeof raw === 'string') {
    const sexagesimal = parseSexagesimal(raw);
    if (sexagesimal !== undefined) return sexagesimal;
    // astropy's Angle reads a number with a minute or second mark as arcmin or arcsec: `correlation_radius: 6'`.
    const mark = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(['′"″])\s*$/.exec(raw);
    if (mark) {
      const unit = mark[2] === "'" || mark[2] === '′' ? 'arcmin' : 'arcsec';
      return { ok: true, value: Number(mark[1]) * ANGLE_UNITS[unit]! };
    }
  }
  return parseQuantity(raw, ANGLE_READ, ANGLE_UNITS, 'angle', undefined, 'deg');
}

/** An angle in degrees as text parseAngle (and astropy) reads back exactly: "2.5 deg", "1.0e-7 deg". */
export function angleText(degrees: number): string {
  return `${String(degrees).replace(/^(-?\d+)e/, '$1.0e')} deg`;
}

/**
 * astropy's sexagesimal angle strings: "5h34m31.92s" (hours), "22d00m50.4s", "-30°13′32″" (degrees), with the
 * minutes and seconds optional; the sign applies to the whole angle. Undefined when `raw` is not of that form.
 */
function parseSexagesimal(raw: string): Parsed<number> | undefined {
  const m =
    /^\s*([+-])?\s*(\d+(?:\.\d*)?)\s*([hd°])\s*(?:(\d+(?:\.\d*)?)\s*[m′']\s*)?(?:(\d+(?:\.\d*)?)\s*[s″"]\s*)?$/.exec(
      raw,
    );
  if (!m) return undefined;
  const [, sign, whole, unit, minutes, seconds] = m;
  if ((minutes !== undefined && Number(minutes) >= 60) || (seconds !== undefined && Number(seconds) >= 60))
    return {
      ok: false,
      message: `cannot read ${JSON.stringify(raw)} as an angle: minutes and seconds must be below 60`,
    };
  const value = Number(whole) + Number(minutes ?? 0) / 60 + Number(seconds ?? 0) / 3600;
  const degrees = unit === 'h' ? value * HOURANGLE_DEG : value;
  return { ok: true, value: sign === '-' ? -degrees : degrees };
}

/** An energy in TeV. A unit is required, as in gammapy ("Invalid unit for energy"). */
export function parseEnergy(raw: unknown): Parsed<number> {
  return parseQuantity(raw, ENERGY_READ, ENERGY_UNITS, 'energy', undefined, 'TeV');
}

/** astropy's FITS_DEPRECATED_SCALES: old names of time scales a FITS time string may carry. */
const FITS_DEPRECATED_SCALES: Record<string, string> = {
  TDT: 'TT',
  ET: 'TT',
  GMT: 'UTC',
  UT: 'UTC',
  IAT: 'TAI',
};

/**
 * A time as astropy's Time reads a string (Time(s), no format) → MJD (TT): ISO 8601 UTC as its isot and iso formats
 * take it ("2004-12-04T22:00:00", "2004-12-04 22:00", "2004-12-04", one- or two-digit fields, an optional trailing
 * Z), day of year UTC ("2004:339:22:00:00"), a Julian or Besselian epoch ("J2010.5", "B2004.9", TT), the fits form with
 * its scale ("2004-12-04T22:00:00(TT)"). What astropy refuses is refused too:
 * a date that does not exist (2005-02-29), surrounding blanks, "UTC" or an offset after the time, "MJD 53343.9".
 */
export function parseTime(raw: unknown): Parsed<number> {
  if (typeof raw !== 'string')
    return { ok: false, message: `expected a time like "2004-12-04T22:00:00", got ${typeName(raw)}` };
  // astropy's epoch strings (scale TT): the letter in either case, then what Python's float() reads. A Julian epoch
  // (jyear_str, erfa's epj2jd): J2000.0 is MJD 51544.5, a year 365.25 days; a Besselian one (byear_str, epb2jd).
  const epoch = /^([JjBb])(\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*)$/.exec(raw);
  if (epoch) {
    const year = Number(epoch[2]);
    const julian = epoch[1] === 'J' || epoch[1] === 'j';
    return {
      ok: true,
      value: julian ? 51544.5 + (year - 2000) * 365.25 : 15019.81352 + (year - 1900) * 365.242198781,
    };
  }
  // astropy's fits format with the (deprecated) time scale in the string: "2004-12-04T22:00:00(TT)", two-digit
  // fields, seconds required; an optional realization "(TT(BIPM))" is ignored, as astropy ignores it.
  const fits = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d(?:\.\d*)?))?\((\w+)(?:\((\w+)\))?\)$/.exec(raw);
  if (fits) {
    const [, y, mo, d, h = '0', mi = '0', sec = '0', scaleName] = fits;
    const scale = FITS_DEPRECATED_SCALES[scaleName!.toUpperCase()] ?? scaleName!.toUpperCase();
    const monthDays = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
    if (
      Number(mo) < 1 ||
      Number(mo) > 12 ||
      Number(d) < 1 ||
      Number(d) > monthDays ||
      Number(h) > 23 ||
      Number(mi) > 59
    )
      return { ok: false, message: `invalid date ${JSON.stringify(raw)}` };
    const mjd =
      (Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), 0) + Number(sec) * 1000) /
        86_400_000 +
      40587;
    const tt = mjdInTt(mjd, scale);
    if (tt === undefined)
      return {
        ok: false,
        message: `time scale ${JSON.stringify(scaleName)} in ${JSON.stringify(raw)}: pipe reads times in UTC, TT, TAI or TDB`,
      };
    return { ok: true, value: tt };
  }
  const hms = '(?:(\\d{1,2}):(\\d{1,2})(?::(\\d{1,2}(?:\\.\\d*)?))?)';
  // A UTC offset (+04:00, +4, -0130, Z, a space before it): what gammapy's YAML reader makes of an unquoted timestamp,
  // a time in that zone (the text checks of pyyaml-text.ts refuse the forms PyYAML leaves as text, astropy refusing).
  const iso = new RegExp(
    `^(\\d{4})-(\\d{1,2})-(\\d{1,2})(?:[Tt ]${hms}(?:Z|[ ]*([+-])(\\d{1,2})(?::?(\\d{2}))?)?)?Z?$`,
  ).exec(raw);
  // astropy's day-of-year form (yday): "2004:339:22:00:00.000", "2004:339:22:00", "2004:339".
  const yday = iso ? null : new RegExp(`^(\\d{4}):(\\d{1,3})(?::${hms})?Z?$`).exec(raw);
  if (!iso && !yday)
    return {
      ok: false,
      message: `cannot read ${JSON.stringify(raw)} as a time`,
      hint: 'use ISO 8601, e.g. "2004-12-04T22:00:00" (UTC), or "2004:339:22:00:00" (day of year)',
    };
  let ms: number;
  if (iso) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', sign, oh = '0', om = '0'] = iso;
    const year = Number(y);
    const month = Number(mo);
    // Days in the month (Date.UTC would carry 2005-02-29 into March; astropy refuses it).
    const monthDays = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (
      month < 1 ||
      month > 12 ||
      Number(d) < 1 ||
      Number(d) > monthDays ||
      Number(h) > 23 ||
      Number(mi) > 59
    )
      return { ok: false, message: `invalid date ${JSON.stringify(raw)}` };
    if (Number(oh) > 23 || Number(om) > 59)
      return { ok: false, message: `invalid UTC offset in ${JSON.stringify(raw)}` };
    const offsetMs = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    ms = Date.UTC(year, month - 1, Number(d), Number(h), Number(mi), 0) + Number(s) * 1000 - offsetMs;
  } else {
    const [, y, doy, h = '0', mi = '0', s = '0'] = yday!;
    const year = Number(y);
    const days = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 366 : 365;
    if (Number(doy) < 1 || Number(doy) > days || Number(h) > 23 || Number(mi) > 59)
      return { ok: false, message: `invalid day-of-year time ${JSON.stringify(raw)}` };
    ms = Date.UTC(year, 0, Number(doy), Number(h), Number(mi), 0) + Number(s) * 1000;
  }
  return { ok: true, value: utcToTt(ms / 86_400_000 + 40587) };
}

/** MJD (TT) → ISO 8601 UTC, to the second, as a config would write it ("2004-12-04T22:00:00"). */
export function mjdTtToIsoUtc(mjdTt: number): string {
  // TT − UTC changes slowly with the date: a few fixed-point steps find the UTC date (to the second shown).
  let mjdUtc = mjdTt;
  for (let i = 0; i < 3; i++) mjdUtc = mjdTt - (utcToTt(mjdUtc) - mjdUtc);
  return new Date(Math.round((mjdUtc - 40587) * 86400) * 1000).toISOString().slice(0, 19);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** "a" or "an" before a quantity's kind (angle, energy, …). */
function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/**
 * "did you mean 'deg'?" for a one-letter typo or a wrong case ('degg', 'Tev'), then the units this quantity takes. A
 * one-letter unit is one edit from every other one ('T' for TeV is not 'J'): only its case is corrected.
 */
function unitHint(unit: string, known: readonly string[]): string {
  const lower = unit.toLowerCase();
  const close =
    known.find((k) => k.toLowerCase() === lower) ??
    (unit.length > 1 ? known.find((k) => editDistance(lower, k.toLowerCase()) <= 1) : undefined);
  return `${close ? `did you mean '${close}'? ` : ''}use one of ${known.join(', ')}`;
}
