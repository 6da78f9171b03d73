/**
 * Unit conversion for IRF and event columns: the TUNIT strings that occur in DL3 files, converted to the
 * units the library works in (TeV, deg, m², s, sr, and MeV⁻¹ s⁻¹ sr⁻¹ for background rates).
 */
import { FitsError, type FitsLocation } from '../fits/index.js';

/** The quantities the library converts. */
export type Quantity =
  | 'energy'
  | 'angle'
  | 'area'
  | 'time'
  | 'solid-angle-density'
  | 'bkg-rate'
  | 'dimensionless';

const ENERGY: Record<string, number> = {
  ev: 1e-12,
  kev: 1e-9,
  mev: 1e-6,
  gev: 1e-3,
  tev: 1,
  pev: 1e3,
  erg: 0.624150907446076,
};
const ANGLE: Record<string, number> = {
  deg: 1,
  degree: 1,
  degrees: 1,
  rad: 180 / Math.PI,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
};
const AREA: Record<string, number> = {
  m2: 1,
  'm**2': 1,
  'm^2': 1,
  cm2: 1e-4,
  'cm**2': 1e-4,
  'cm^2': 1e-4,
  km2: 1e6,
};
const TIME: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  ms: 1e-3,
  us: 1e-6,
  ks: 1e3,
  min: 60,
  h: 3600,
  d: 86400,
  day: 86400,
};
/** Solid angle in sr. */
const SOLID: Record<string, number> = {
  sr: 1,
  deg2: (Math.PI / 180) ** 2,
  'deg**2': (Math.PI / 180) ** 2,
  'deg^2': (Math.PI / 180) ** 2,
};
const DIMENSIONLESS = new Set(['', 'none', 'dimensionless', '1']);

/** Normalises a unit string: lower case, no blanks around operators, astropy's "**" kept. */
function normalise(unit: string): string {
  return unit.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** Splits "MeV-1 s-1 sr-1", "1 / (MeV s sr)", "s^-1 MeV^-1 sr^-1" into unit → power. */
function factorise(unit: string): Map<string, number> | undefined {
  let u = normalise(unit);
  const powers = new Map<string, number>();
  const add = (name: string, p: number) => powers.set(name, (powers.get(name) ?? 0) + p);
  const m = /^1\s*\/\s*\((.*)\)$/.exec(u) ?? /^1\s*\/\s*(.*)$/.exec(u);
  let sign = 1;
  if (m) {
    u = m[1] as string;
    sign = -1;
  }
  for (const tok of u.split(/[\s.*]+(?![*\d-])|\s+/).filter((t) => t !== '')) {
    const tm = /^([a-z]+\d?)(?:(?:\*\*|\^)?\(?(-?\d+)\)?)?$/.exec(tok);
    if (!tm) return undefined;
    let name = tm[1] as string;
    let p = tm[2] !== undefined ? Number(tm[2]) : 1;
    if (/^(m|cm|km|deg)2$/.test(name) && tm[2] === undefined) {
      name = name.slice(0, -1);
      p = 2;
    }
    add(name, sign * p);
  }
  return powers;
}

/** Factor that converts a value in `unit` to the library unit of `quantity`; undefined when not convertible. */
export function unitFactor(unit: string | undefined, quantity: Quantity): number | undefined {
  const u = normalise(unit ?? '');
  switch (quantity) {
    case 'dimensionless':
      return DIMENSIONLESS.has(u) ? 1 : undefined;
    case 'energy':
      return ENERGY[u];
    case 'angle':
      return ANGLE[u];
    case 'area':
      return AREA[u];
    case 'time':
      return TIME[u];
    case 'solid-angle-density': {
      // sr-1 (PSF tables); deg-2 converts to sr-1
      if (u === 'sr-1' || u === '1/sr' || u === 'sr^-1' || u === 'sr**-1' || u === '1 / sr') return 1;
      if (u === 'deg-2' || u === '1/deg2' || u === 'deg^-2' || u === 'deg**-2' || u === '1 / deg2')
        return 1 / (SOLID.deg2 as number);
      return undefined;
    }
    case 'bkg-rate':
      return bkgRateFactor(u);
  }
}

/** Background rates: energy⁻¹ time⁻¹ solid-angle⁻¹ in any order, to MeV⁻¹ s⁻¹ sr⁻¹. */
function bkgRateFactor(u: string): number | undefined {
  const powers = factorise(u);
  if (!powers) return undefined;
  let factor = 1;
  let e = 0;
  let t = 0;
  let s = 0;
  for (const [name, p] of powers) {
    if (name in ENERGY) {
      // to MeV: 1 X = ENERGY[x] TeV = ENERGY[x]·1e6 MeV
      factor *= ((ENERGY[name] as number) * 1e6) ** p;
      e += p;
    } else if (name in TIME) {
      factor *= (TIME[name] as number) ** p;
      t += p;
    } else if (name === 'sr') s += p;
    else if (name === 'deg') {
      factor *= (Math.PI / 180) ** p; // deg^p → sr^(p/2)
      s += p / 2;
    } else return undefined;
  }
  return e === -1 && t === -1 && s === -1 ? factor : undefined;
}

/** Unit names as the FITS standard spells them (case matters), among those a background rate is written in. */
const FITS_RATE_NAMES = new Set([
  'eV',
  'keV',
  'MeV',
  'GeV',
  'TeV',
  'PeV',
  'erg',
  's',
  'ms',
  'us',
  'ks',
  'min',
  'h',
  'd',
  'sr',
  'deg',
]);

/**
 * Whether a background rate's unit is written as the FITS standard writes units ('TeV-1 s-1 sr-1', 's^-1 MeV^-1
 * sr^-1', 'MeV**-1 s**-1 sr**-1', 'TeV-1.s-1.sr-1', 'TeV-1*s-1*sr-1'), the form astropy reads TUNIT in: names in
 * their FITS case, no division ('1 / (TeV s sr)', which astropy does not parse there).
 */
export function isFitsRateUnit(unit: string): boolean {
  const tokens = unit.trim().split(/\s*(?<!\*)\*(?!\*)\s*|\s+|\.(?=[A-Za-z])/);
  return tokens.every((t) => {
    const m = /^([A-Za-z]+)(?:(?:\*\*|\^)?\(?-?\d+\)?)?$/.exec(t);
    return m !== null && FITS_RATE_NAMES.has(m[1] as string);
  });
}

/** The conversion factor, or a FitsError naming the file, HDU and column. */
export function requireUnitFactor(unit: string | undefined, quantity: Quantity, where: FitsLocation): number {
  const f = unitFactor(unit, quantity);
  if (f === undefined) {
    throw new FitsError(
      'unknown-unit',
      where,
      `unit '${unit ?? ''}' cannot be converted to ${LIBRARY_UNIT[quantity]}`,
    );
  }
  return f;
}

/** The units values are returned in. */
export const LIBRARY_UNIT: Record<Quantity, string> = {
  energy: 'TeV',
  angle: 'deg',
  area: 'm2',
  time: 's',
  'solid-angle-density': 'sr-1',
  'bkg-rate': 'MeV-1 s-1 sr-1',
  dimensionless: '',
};
