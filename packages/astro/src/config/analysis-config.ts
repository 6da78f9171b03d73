/**
 * gammapy 1.0's high-level analysis config (AnalysisConfig), accepted as is: same keys, same defaults,
 * same unit rules ("Invalid unit for energy"), unknown keys rejected (pydantic `extra = forbid`).
 * `readAnalysisConfig` validates a parsed YAML object and returns issues with their key paths (the engine maps
 * them to file:line:col) and a normalised config in fixed units (deg, TeV, MJD TT).
 */
import { MAX_ENERGY_BINS } from '../geom/energy-axis.js';
import { checkObservations } from './observations-rules.js';
import { type Parsed, parseAngle, parseEnergy, parseTime, typeName } from './quantity.js';

export interface ParamIssue {
  path: (string | number)[];
  message: string;
  hint?: string;
  /** Valid for gammapy, but without effect in pipe: a warning, not an error. */
  severity?: 'warning';
}

type Node =
  | {
      t: 'obj';
      fields: Record<string, Node>;
      /** The value gammapy's field default stands for when the key is left out (its subfields' own defaults are None). */
      whole?: Record<string, unknown>;
    }
  | {
      t: 'enum';
      values: string[];
      dflt?: string /** Instead of the closest value as a hint. */;
      hint?: string;
    }
  | { t: 'list'; of: Node; dflt: unknown[] }
  | { t: 'angle'; dflt?: string }
  | { t: 'energy'; dflt?: string }
  | { t: 'time' }
  | { t: 'int'; dflt?: number }
  | { t: 'bool'; dflt: boolean }
  | { t: 'str'; dflt?: string }
  | { t: 'path'; dflt?: string }
  | { t: 'dict' };

/** The largest map cube accepted (cells): 2^28 float32 values are 1 GB, and a run holds several cubes. */
const MAX_CUBE_CELLS = 2 ** 28;
/** More energy bins than this are what makes a cube too large (rather than the pixel size) when one is. */
const MANY_ENERGY_BINS = 1000;
/** The widest correlation radius in map pixels: its disk kernel then holds (2·2000 + 1)² = 16 M cells. */
const MAX_KERNEL_RADIUS_PIXELS = 2000;

const obj = (fields: Record<string, Node>, whole?: Record<string, unknown>): Node =>
  whole ? { t: 'obj', fields, whole } : { t: 'obj', fields };
const angle = (dflt?: string): Node => ({ t: 'angle', dflt });
const energy = (dflt?: string): Node => ({ t: 'energy', dflt });
const frame: Node = { t: 'enum', values: ['icrs', 'galactic'] };
const skyCoord = obj({ frame, lon: angle(), lat: angle() });
const circle = obj({ frame, lon: angle(), lat: angle(), radius: angle() });
// gammapy's EnergyAxisConfig has min, max and nbins None; `axes.energy` and `axes.energy_true` default to a whole axis
// (EnergyAxisConfig(min="1 TeV", max="10 TeV", nbins=5)), which an axis the config writes replaces whole: its keys
// left out are None, not the default axis's.
const energyAxis = (whole?: { min: string; max: string; nbins: number }): Node =>
  obj({ min: energy(), max: energy(), nbins: { t: 'int' } }, whole);
const timeRange = obj({ start: { t: 'time' }, stop: { t: 'time' } });
const irfs = ['aeff', 'edisp', 'psf', 'bkg'];
/** gammapy's RequiredHDUEnum: what `required_irf` may list. */
const requiredHdus = ['events', 'gti', 'aeff', 'bkg', 'edisp', 'psf', 'rad_max'];

const SCHEMA: Node = obj({
  general: obj({
    log: obj({
      level: { t: 'str', dflt: 'info' },
      filename: { t: 'path' },
      filemode: { t: 'str' },
      format: { t: 'str' },
      datefmt: { t: 'str' },
    }),
    outdir: { t: 'str', dflt: '.' },
    n_jobs: { t: 'int', dflt: 1 },
    datasets_file: { t: 'path' },
    models_file: { t: 'path' },
  }),
  observations: obj({
    datastore: { t: 'path', dflt: '$GAMMAPY_DATA/hess-dl3-dr1/' },
    obs_ids: { t: 'list', of: { t: 'int' }, dflt: [] },
    obs_file: { t: 'path' },
    obs_cone: circle,
    obs_time: timeRange,
    required_irf: { t: 'list', of: { t: 'enum', values: requiredHdus }, dflt: irfs },
  }),
  datasets: obj({
    // gammapy takes 1d too, but pipe reduces 3D datasets only: never suggest '1d' for a typo.
    type: { t: 'enum', values: ['1d', '3d'], dflt: '1d', hint: "pipe reduces 3D datasets: 'type: 3d'" },
    stack: { t: 'bool', dflt: true },
    geom: obj({
      wcs: obj({
        skydir: skyCoord,
        binsize: angle('0.02 deg'),
        width: obj({ width: angle('5 deg'), height: angle('5 deg') }),
        binsize_irf: angle('0.2 deg'),
      }),
      selection: obj({ offset_max: angle('2.5 deg') }),
      axes: obj({
        energy: energyAxis({ min: '1 TeV', max: '10 TeV', nbins: 5 }),
        energy_true: energyAxis({ min: '0.5 TeV', max: '20 TeV', nbins: 16 }),
      }),
    }),
    map_selection: {
      t: 'list',
      of: { t: 'enum', values: ['counts', 'exposure', 'background', 'psf', 'edisp'] },
      dflt: ['counts', 'exposure', 'background', 'psf', 'edisp'],
    },
    background: obj({
      method: {
        t: 'enum',
        values: ['reflected', 'fov_background', 'ring'],
        hint: "use 'fov_background' or 'ring' (pipe's 3D maps; 'reflected' is 1D)",
      },
      exclusion: { t: 'path' },
      parameters: { t: 'dict' },
    }),
    safe_mask: obj({
      methods: {
        t: 'list',
        of: { t: 'enum', values: ['aeff-default', 'aeff-max', 'edisp-bias', 'offset-max', 'bkg-peak'] },
        dflt: ['aeff-default'],
      },
      parameters: { t: 'dict' },
    }),
    on_region: circle,
    containment_correction: { t: 'bool', dflt: true },
  }),
  fit: obj({ fit_range: obj({ min: energy(), max: energy() }) }),
  flux_points: obj({ energy: energyAxis(), source: { t: 'str', dflt: 'source' }, parameters: { t: 'dict' } }),
  excess_map: obj({
    correlation_radius: angle('0.1 deg'),
    parameters: { t: 'dict' },
    energy_edges: energyAxis(),
  }),
  light_curve: obj({
    time_intervals: timeRange,
    energy_edges: energyAxis(),
    source: { t: 'str', dflt: 'source' },
    parameters: { t: 'dict' },
  }),
});

/**
 * Whether gammapy's model takes null (None) for this setting: only the fields it declares with the default None
 * (pydantic v1 makes those Optional). A section, a list, a dict, a boolean, a list's item or a setting with a default
 * value refuses it: "none is not an allowed value".
 */
function takesNull(node: Node, item: boolean): boolean {
  if (item || node.t === 'obj' || node.t === 'list' || node.t === 'dict' || node.t === 'bool') return false;
  return node.t === 'time' || node.dflt === undefined;
}

/** A default as the config would write it, for a hint. */
function defaultText(node: Node): string | undefined {
  if (node.t === 'obj' || node.t === 'dict' || node.t === 'time') return undefined;
  if (node.t === 'list') return `[${node.dflt.join(', ')}]`;
  return node.dflt === undefined ? undefined : String(node.dflt);
}

/** Validate and normalise one node; push issues with their paths. Missing values get gammapy's defaults. */
function check(
  node: Node,
  raw: unknown,
  path: (string | number)[],
  issues: ParamIssue[],
  /** A list's item (pydantic refuses None in a List[...] whatever the item's type). */
  item = false,
): unknown {
  const fail = (message: string, hint?: string): undefined => {
    issues.push({ path, message, ...(hint ? { hint } : {}) });
    return undefined;
  };
  const quantity = (p: Parsed<number>): number | undefined => (p.ok ? p.value : fail(p.message, p.hint));
  // A key written without a value (`stack:`, `parameters:`) or as null/~: gammapy refuses it unless its default is
  // None; taking the default instead would build what gammapy refuses. (The whole file empty is told elsewhere.)
  if (raw === null && path.length > 0 && !takesNull(node, item)) {
    const dflt = item ? undefined : defaultText(node);
    return fail(
      `null (a key without a value) is not allowed here (gammapy 1.0 refuses it: "none is not an allowed value")`,
      item
        ? 'remove the empty item from the list'
        : `leave the key out to take gammapy's default${dflt === undefined ? '' : ` (${dflt})`}, or give a value`,
    );
  }
  switch (node.t) {
    case 'obj': {
      if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
        return fail(`expected a mapping, got ${typeName(raw)}`);
      }
      const src = (raw ?? (raw === undefined ? node.whole : undefined) ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(src)) {
        if (!(key in node.fields)) {
          const hint = suggest(key, Object.keys(node.fields));
          issues.push({ path: [...path, key], message: `unknown key '${key}'`, ...(hint ? { hint } : {}) });
        }
      }
      for (const [key, child] of Object.entries(node.fields))
        out[key] = check(child, src[key], [...path, key], issues);
      return out;
    }
    case 'enum': {
      if (raw === undefined || raw === null) return node.dflt ?? null;
      if (typeof raw !== 'string' || !node.values.includes(raw)) {
        const hint = node.hint ?? (typeof raw === 'string' ? suggest(raw, node.values) : undefined);
        return fail(`value ${JSON.stringify(raw)} is not one of: ${node.values.join(', ')}`, hint);
      }
      return raw;
    }
    case 'list': {
      if (raw === undefined || raw === null) return node.dflt;
      if (!Array.isArray(raw)) return fail(`expected a list, got ${typeName(raw)}`);
      return raw.map((v, i) => check(node.of, v, [...path, i], issues, true));
    }
    case 'angle':
      if (raw === undefined || raw === null)
        return node.dflt === undefined ? null : quantity(parseAngle(node.dflt));
      return quantity(parseAngle(raw));
    case 'energy':
      if (raw === undefined || raw === null)
        return node.dflt === undefined ? null : quantity(parseEnergy(node.dflt));
      return quantity(parseEnergy(raw));
    case 'time':
      if (raw === undefined || raw === null) return null;
      // astropy's Time(v) takes a list too: gammapy's obs_time then holds several intervals.
      if (Array.isArray(raw))
        return raw.map((v, i) => {
          const p = parseTime(v);
          if (p.ok) return p.value;
          issues.push({ path: [...path, i], message: p.message, ...(p.hint ? { hint: p.hint } : {}) });
          return undefined;
        });
      return quantity(parseTime(raw));
    case 'int':
      if (raw === undefined || raw === null) return node.dflt ?? null;
      // pydantic (gammapy's config model) takes integer strings too, as Python's int() reads them: obs_ids: ["23523"],
      // and with underscores between digits, 23_523, which PyYAML reads unquoted as the integer (YAML 1.2: a string).
      if (typeof raw === 'string' && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(raw))
        return Number(raw.replace(/_/g, ''));
      if (typeof raw === 'number' && Number.isFinite(raw) && !Number.isInteger(raw))
        return fail(
          `expected an integer, got number ${raw} (gammapy would truncate it to ${Math.trunc(raw)})`,
        );
      return Number.isInteger(raw) ? raw : fail(`expected an integer, got ${typeName(raw)}`);
    case 'bool': {
      if (raw === undefined || raw === null) return node.dflt;
      if (typeof raw === 'boolean') return raw;
      // pydantic v1 (gammapy's config model) reads these as booleans; PyYAML reads yes/no/on/off unquoted as
      // booleans too (YAML 1.1), which the YAML 1.2 parser here leaves as strings.
      const text = typeof raw === 'string' ? raw.toLowerCase() : raw;
      if (PYDANTIC_TRUE.includes(text as string | number)) return true;
      if (PYDANTIC_FALSE.includes(text as string | number)) return false;
      return fail(`expected true or false, got ${typeName(raw)}`);
    }
    case 'str':
      if (raw === undefined || raw === null) return node.dflt ?? null;
      // pydantic v1's str takes a number or a boolean as Python's str() writes it (outdir: 2024, source: 3).
      if (typeof raw === 'boolean') return raw ? 'True' : 'False';
      if (typeof raw === 'number') return String(raw);
      return typeof raw === 'string' ? raw : fail(`expected a string, got ${typeName(raw)}`);
    case 'path':
      if (raw === undefined || raw === null) return node.dflt ?? null;
      return typeof raw === 'string' ? raw : fail(`expected a string, got ${typeName(raw)}`);
    case 'dict':
      if (raw === undefined || raw === null) return {};
      return typeof raw === 'object' && !Array.isArray(raw)
        ? raw
        : fail(`expected a mapping, got ${typeName(raw)}`);
  }
}

/** Closest candidate by edit distance, as a "did you mean" hint. */
export function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best === undefined ? undefined : `did you mean '${best}'?`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export type AnalysisConfig = ReturnType<typeof normalisedShape>;
// The normalised config is plain JSON; this type documents the parts the steps read.
function normalisedShape() {
  return {} as {
    general: { log: { level: string }; outdir: string; n_jobs: number };
    observations: {
      datastore: string;
      obs_ids: number[];
      obs_file: string | null;
      obs_cone: {
        frame: 'icrs' | 'galactic' | null;
        lon: number | null;
        lat: number | null;
        radius: number | null;
      };
      /** One interval, or several (lists of equal length), as MJD (TT). */
      obs_time: { start: number | number[] | null; stop: number | number[] | null };
      required_irf: string[];
    };
    datasets: {
      type: '1d' | '3d';
      stack: boolean;
      geom: {
        wcs: {
          skydir: { frame: 'icrs' | 'galactic' | null; lon: number | null; lat: number | null };
          binsize: number;
          width: { width: number; height: number };
          binsize_irf: number;
        };
        selection: { offset_max: number };
        axes: {
          energy: { min: number; max: number; nbins: number };
          energy_true: { min: number; max: number; nbins: number };
        };
      };
      map_selection: string[];
      background: { method: string | null; exclusion: string | null; parameters: Record<string, unknown> };
      safe_mask: { methods: string[]; parameters: Record<string, unknown> };
      containment_correction: boolean;
    };
    excess_map: {
      correlation_radius: number;
      parameters: Record<string, unknown>;
      energy_edges: { min: number | null; max: number | null; nbins: number | null };
    };
  };
}

/** Keys, types and units only (no cross-field rules): for sections that other parts of a config complete. */
export function checkAnalysisKeys(raw: unknown): ParamIssue[] {
  const issues: ParamIssue[] = [];
  check(SCHEMA, raw, [], issues);
  return issues;
}

/** Python's logging level names (logging._nameToLevel), which gammapy's Analysis sets in upper case. */
const LOG_LEVELS = ['CRITICAL', 'FATAL', 'ERROR', 'WARN', 'WARNING', 'INFO', 'DEBUG', 'NOTSET'];

/** pydantic v1's bool parsing (gammapy 1.0's config model): these values are true or false, any case. */
const PYDANTIC_TRUE: ReadonlyArray<string | number> = [1, '1', 'on', 't', 'true', 'y', 'yes'];
const PYDANTIC_FALSE: ReadonlyArray<string | number> = [0, '0', 'off', 'f', 'false', 'n', 'no'];

/**
 * Warnings for settings gammapy acts on and pipe does not: where products go and how many processes run are the
 * command line's business (`--out`, `-j`), pipe writes no Python log, and it makes the exposure whatever
 * map_selection says. Silently ignoring them would leave a user looking for products in `outdir`.
 */
export function unusedSettings(raw: unknown): ParamIssue[] {
  // A config without `general` still gets the other sections' warnings (the map_selection one used to need it).
  const general = isPlainMap(raw) && isPlainMap(raw['general']) ? raw['general'] : {};
  const issues: ParamIssue[] = [];
  const outdir = general['outdir'];
  if (outdir !== undefined && outdir !== null && outdir !== '.' && outdir !== './')
    issues.push({
      path: ['general', 'outdir'],
      severity: 'warning',
      message: 'not used by pipe: products are written to the workspace (products/…)',
      hint: 'pipe build excess_map --out DIR copies the products to DIR',
    });
  const nJobs = general['n_jobs'];
  if (nJobs !== undefined && nJobs !== null && nJobs !== 1)
    issues.push({
      path: ['general', 'n_jobs'],
      severity: 'warning',
      message: 'not used by pipe: the command line sets the parallelism',
      hint: 'pipe build -j N runs N tasks at once (default: the number of cores)',
    });
  const log = isPlainMap(general['log']) ? general['log'] : undefined;
  if (log && log['filename'] !== undefined && log['filename'] !== null)
    issues.push({
      path: ['general', 'log', 'filename'],
      severity: 'warning',
      message: 'not used by pipe: each task has its own log under .pipe/',
      hint: 'pipe why <product> names the task; a failed task prints its log',
    });
  // gammapy's Analysis._make_energy_axis gives the estimator no energy_edges unless min, max and nbins ≥ 1 are all
  // set: one group over the whole axis, whatever the rest says.
  const excess = isPlainMap(raw) && isPlainMap(raw['excess_map']) ? raw['excess_map'] : undefined;
  const edges = isPlainMap(excess?.['energy_edges']) ? excess['energy_edges'] : undefined;
  if (edges) {
    const given = (k: string) => edges[k] !== undefined && edges[k] !== null;
    const nbins = edges['nbins'];
    const some = ['min', 'max', 'nbins'].some(given);
    const complete = ['min', 'max', 'nbins'].every(given);
    if (some && (!complete || (typeof nbins === 'number' && nbins < 1)))
      issues.push({
        path: ['excess_map', 'energy_edges'],
        severity: 'warning',
        message: complete
          ? `nbins ${String(nbins)}: gammapy then ignores energy_edges, and so does pipe: the excess map has one energy group over the whole axis`
          : `without ${['min', 'max', 'nbins'].filter((k) => !given(k)).join(' and ')}, gammapy ignores energy_edges, and so does pipe: the excess map has one energy group over the whole axis`,
        hint: 'set min, max and nbins (≥ 1) for energy groups, or remove energy_edges',
      });
  }
  // An energy_true axis without min, max or nbins ≥ 1 is no axis for gammapy's Analysis: MapDataset.create then takes
  // the reco axis as the true one. readAnalysisConfig does the same; said, since the true axis is then not what the
  // config seems to ask (`energy_true: {min: 0.5 TeV, max: 20 TeV}` without nbins is not the default 16 bins).
  const datasetsRaw = isPlainMap(raw) && isPlainMap(raw['datasets']) ? raw['datasets'] : undefined;
  const geomRaw = isPlainMap(datasetsRaw?.['geom']) ? datasetsRaw['geom'] : undefined;
  const axesRaw = isPlainMap(geomRaw?.['axes']) ? geomRaw['axes'] : undefined;
  const trueRaw = isPlainMap(axesRaw?.['energy_true']) ? axesRaw['energy_true'] : undefined;
  if (trueRaw) {
    const missing = ['min', 'max', 'nbins'].filter((k) => trueRaw[k] === undefined || trueRaw[k] === null);
    const nbins = trueRaw['nbins'];
    if (missing.length > 0 || (typeof nbins === 'number' && nbins < 1))
      issues.push({
        path: ['datasets', 'geom', 'axes', 'energy_true'],
        severity: 'warning',
        message:
          missing.length > 0
            ? `without ${missing.join(' and ')}, gammapy makes no true energy axis and takes the reco energy axis (datasets.geom.axes.energy) as the true one; so does pipe`
            : `nbins ${String(nbins)}: gammapy makes no true energy axis and takes the reco energy axis (datasets.geom.axes.energy) as the true one; so does pipe`,
        hint: "set min, max and nbins (≥ 1) for a true energy axis of its own, or leave out 'energy_true' for gammapy's default (0.5 to 20 TeV in 16 bins)",
      });
  }
  // gammapy's Analysis applies obs_cone only when lon is set, and obs_time only when start is: else it selects as
  // if they were not there (no error).
  const observations = isPlainMap(raw) && isPlainMap(raw['observations']) ? raw['observations'] : undefined;
  const set = (m: unknown, k: string) => isPlainMap(m) && m[k] !== undefined && m[k] !== null;
  const cone = observations?.['obs_cone'];
  if (isPlainMap(cone) && !set(cone, 'lon') && ['lat', 'radius', 'frame'].some((k) => set(cone, k)))
    issues.push({
      path: ['observations', 'obs_cone'],
      severity: 'warning',
      message: 'without lon, gammapy ignores obs_cone, and so does pipe: no run is left out by it',
      hint: 'set frame, lon, lat and radius for a cone selection, or remove obs_cone',
    });
  const time = observations?.['obs_time'];
  if (isPlainMap(time) && !set(time, 'start') && set(time, 'stop'))
    issues.push({
      path: ['observations', 'obs_time'],
      severity: 'warning',
      message: 'without start, gammapy ignores obs_time, and so does pipe: no run is left out or cut by it',
      hint: 'set start and stop for a time selection, or remove obs_time',
    });
  const datasets = isPlainMap(raw) && isPlainMap(raw['datasets']) ? raw['datasets'] : undefined;
  const selection = datasets?.['map_selection'];
  if (Array.isArray(selection) && !selection.includes('counts'))
    issues.push({
      path: ['datasets', 'map_selection'],
      severity: 'warning',
      message:
        "pipe bins the events all the same: gammapy's counts are then all zero (its excess is minus the background, and a FoV norm fails in every run, masking it), pipe's are the events",
      hint: "add 'counts' to the list to say so",
    });
  if (Array.isArray(selection) && !selection.includes('exposure'))
    issues.push({
      path: ['datasets', 'map_selection'],
      severity: 'warning',
      message:
        "pipe makes the exposure all the same (stacking weighs by it): gammapy leaves it empty, and its norm and flux maps are then infinite, pipe's finite",
      hint: "add 'exposure' to the list to say so",
    });
  return issues;
}

/** A config that sets something but not `datasets.type` (one that sets nothing is said so where it is read). */
function typeLeftOut(raw: unknown): boolean {
  if (!isPlainMap(raw) || Object.keys(raw).length === 0) return false;
  return !isPlainMap(raw['datasets']) || raw['datasets']['type'] === undefined;
}

/** A YAML mapping (not a list, not null). */
export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validate a parsed gammapy analysis config. Cross-field rules for a 3D excess map are checked too: each rule whose
 * values passed the key/type/unit checks (a value that failed those is reported once, by them), so one run reports
 * every problem of a config.
 */
export function readAnalysisConfig(raw: unknown): { config: AnalysisConfig; issues: ParamIssue[] } {
  const issues: ParamIssue[] = [];
  const config = check(SCHEMA, raw, [], issues) as AnalysisConfig;
  const typeIssues = issues.length;
  // A value that failed its own check is undefined in `config` (a missing one is null or gammapy's default).
  const reported = (...prefix: string[]) =>
    issues
      .slice(0, typeIssues)
      .some((i) => prefix.every((k, j) => i.path[j] === k) && i.path.length >= prefix.length);
  const isNum = (v: unknown): v is number => typeof v === 'number';
  // gammapy's Analysis starts with logging.basicConfig(level=level.upper()), which refuses another name ("Unknown
  // level"), a number written as text too.
  const level = config?.general?.log?.level;
  if (typeof level === 'string' && !LOG_LEVELS.includes(level.toUpperCase()))
    issues.push({
      path: ['general', 'log', 'level'],
      message: `log level '${level}' is not one of Python's (gammapy's Analysis stops: "Unknown level")`,
      hint: 'use debug, info, warning, error or critical',
    });
  const ds = config?.datasets as Partial<AnalysisConfig['datasets']> | undefined;
  if (ds) {
    if (ds.type !== undefined && ds.type !== '3d') {
      issues.push({
        path: ['datasets', 'type'],
        message: `pipe's excess_map pipeline reduces 3D datasets; got '${ds.type}'${typeLeftOut(raw) ? " (gammapy's default: the config leaves 'datasets.type' out)" : ''}`,
        hint: "set 'type: 3d'",
      });
    }
    const wcs = ds.geom?.wcs;
    const sky = wcs?.skydir;
    if (sky && (sky.lon === null || sky.lat === null || sky.frame === null)) {
      issues.push({
        path: ['datasets', 'geom', 'wcs', 'skydir'],
        message: 'the map centre needs frame, lon and lat',
      });
    }
    // astropy's Latitude refuses |lat| > 90°, so gammapy fails later, at SkyCoord; say so here, at the key.
    if (sky && isNum(sky.lat) && !(Math.abs(sky.lat) <= 90))
      issues.push({
        path: ['datasets', 'geom', 'wcs', 'skydir', 'lat'],
        message: `lat must be within -90 deg and 90 deg, got ${sky.lat} deg`,
      });
    const axes = ds.geom?.axes;
    // gammapy's Analysis makes an energy axis only from min, max and nbins ≥ 1 (_make_energy_axis, else None). The
    // reco axis is then missing: WcsGeom.create fails ("'NoneType' object has no attribute 'name'"). A true axis
    // missing so is the reco axis (MapDataset.create copies it): the true axis is that axis, as in gammapy.
    const reco = axes?.energy;
    const unset = (a: { min: unknown; max: unknown; nbins: unknown }) =>
      (['min', 'max', 'nbins'] as const).filter((k) => a[k] === null);
    if (reco && unset(reco).length > 0)
      issues.push({
        path: ['datasets', 'geom', 'axes', 'energy'],
        message: `the reco energy axis needs min, max and nbins; without ${unset(reco).join(' and ')} gammapy 1.0 makes no axis and fails ("'NoneType' object has no attribute 'name'")`,
        hint: `set ${unset(reco).join(' and ')} (leaving out the whole 'energy' key takes gammapy's default axis, 1 to 10 TeV in 5 bins)`,
      });
    const trueAxis = axes?.energy_true;
    const trueFromReco =
      trueAxis &&
      reco &&
      (unset(trueAxis).length > 0 || (isNum(trueAxis.nbins) && trueAxis.nbins < 1)) &&
      isNum(reco.min) &&
      isNum(reco.max) &&
      isNum(reco.nbins);
    if (trueFromReco && axes) axes.energy_true = { ...reco };
    for (const axis of trueFromReco ? (['energy'] as const) : (['energy', 'energy_true'] as const)) {
      const a = ds.geom?.axes?.[axis];
      if (!a) continue;
      if (isNum(a.min) && isNum(a.max) && !(a.min > 0 && a.max > a.min))
        issues.push({
          path: ['datasets', 'geom', 'axes', axis],
          message: `need 0 < min < max, got min=${a.min} TeV, max=${a.max} TeV`,
        });
      if (isNum(a.nbins) && !(a.nbins >= 1))
        issues.push({ path: ['datasets', 'geom', 'axes', axis, 'nbins'], message: 'nbins must be ≥ 1' });
    }
    for (const key of ['binsize', 'binsize_irf'] as const) {
      if (isNum(wcs?.[key]) && !(wcs[key] > 0))
        issues.push({ path: ['datasets', 'geom', 'wcs', key], message: `${key} must be > 0` });
    }
    // Checked here, at the value, rather than left to the map geometry (which can only name geom.wcs).
    for (const key of ['width', 'height'] as const) {
      const v = wcs?.width?.[key];
      if (isNum(v) && !(v > 0))
        issues.push({ path: ['datasets', 'geom', 'wcs', 'width', key], message: `${key} must be > 0` });
    }
    // A map cube is held in memory (float32): refuse at the value what would fail later as a bare allocation error
    // ("Invalid typed array length", after minutes). The cubes: the map's [energy][pixel] (reco and true), and on
    // the coarser binsize_irf grid over the same field the PSF map's [energy_true][rad][pixel] and the EDISP
    // kernel's [energy_true][energy][pixel].
    const w = wcs?.width?.width;
    const h = wcs?.width?.height;
    const nbins = (a: 'energy' | 'energy_true'): number => {
      const n = ds.geom?.axes?.[a]?.nbins;
      return isNum(n) && n >= 1 ? n : 1;
    };
    const grid = (bin: unknown) =>
      isNum(w) && isNum(h) && isNum(bin) && w > 0 && h > 0 && bin > 0
        ? { nx: Math.max(1, Math.round(w / bin)), ny: Math.max(1, Math.round(h / bin)) }
        : undefined;
    const map = grid(wcs?.binsize);
    const irf = grid(wcs?.binsize_irf);
    const cubes: Array<{
      what: string;
      key: 'binsize' | 'binsize_irf';
      px: { nx: number; ny: number };
      axes: Array<[string, number]>;
    }> = [];
    // The map's cubes: one on each energy axis, the larger one counted (as the message says: energy bins).
    const mapAxis = nbins('energy_true') > nbins('energy') ? 'energy_true' : 'energy';
    if (map) cubes.push({ what: 'map', key: 'binsize', px: map, axes: [[mapAxis, nbins(mapAxis)]] });
    if (irf)
      cubes.push(
        {
          what: 'PSF map',
          key: 'binsize_irf',
          px: irf,
          axes: [
            ['energy_true', nbins('energy_true')],
            ['rad', 66],
          ],
        },
        {
          what: 'EDISP map',
          key: 'binsize_irf',
          px: irf,
          axes: [
            ['energy_true', nbins('energy_true')],
            ['energy', nbins('energy')],
          ],
        },
      );
    const blamed = new Set<string>();
    for (const { what, key, px, axes } of cubes) {
      const cells = px.nx * px.ny * axes.reduce((p, [, n]) => p * n, 1);
      if (!(cells > MAX_CUBE_CELLS)) continue;
      // Blame the energy axis when its bins are what is unusual (gammapy's analyses use tens), else the pixel size.
      const [axis, n] = axes.filter(([a]) => a !== 'rad').sort((a, b) => b[1] - a[1])[0]!;
      const path =
        n > MANY_ENERGY_BINS ? ['datasets', 'geom', 'axes', axis, 'nbins'] : ['datasets', 'geom', 'wcs', key];
      if (blamed.has(path.join('.'))) continue;
      blamed.add(path.join('.'));
      const shape = what === 'map' ? `${n} energy bins` : axes.map(([a, k]) => `${k} ${a} bins`).join(' × ');
      const named = what === 'map' ? 'map' : `${what} (${key})`;
      issues.push({
        path,
        message: `a ${px.nx} × ${px.ny} pixel ${named} with ${shape} has ${cells.toExponential(2)} cells per cube (${((cells * 4) / 1e9).toFixed(1)} GB in float32): more than pipe holds (${MAX_CUBE_CELLS.toExponential(1)})`,
        hint: n > MANY_ENERGY_BINS ? `fewer ${axis} bins` : `a larger ${key} or a smaller width`,
      });
    }
    const offsetMax = ds.geom?.selection?.offset_max;
    if (isNum(offsetMax) && !(offsetMax > 0))
      issues.push({
        path: ['datasets', 'geom', 'selection', 'offset_max'],
        message: 'offset_max must be > 0',
      });
    const method = ds.background?.method;
    if (typeof method === 'string' && method !== 'fov_background' && method !== 'ring') {
      issues.push({
        path: ['datasets', 'background', 'method'],
        // 'reflected' is 1D only (gammapy's spectrum extraction).
        message: `background method '${method}' is not supported for 3D maps`,
        hint: "use 'fov_background' or 'ring'",
      });
    }
    // gammapy 1.0's Analysis refuses the ring on more than one reco energy bin: "You need to define a single-bin
    // energy geometry for your dataset." (a ValueError in get_datasets).
    const recoBins = ds.geom?.axes?.energy?.nbins;
    if (method === 'ring' && isNum(recoBins) && recoBins !== 1)
      issues.push({
        path: ['datasets', 'geom', 'axes', 'energy', 'nbins'],
        message: `the ring background is made on one reco energy bin (gammapy 1.0 refuses ${recoBins}: "You need to define a single-bin energy geometry for your dataset")`,
        hint: 'nbins: 1',
      });
    // Both methods start from the background template: without one the FoV fit fails in every run and the ring has
    // no acceptance anywhere; the products are empty (gammapy stops with an AttributeError for the FoV).
    const selection = ds.map_selection;
    if (
      (method === 'fov_background' || method === 'ring') &&
      Array.isArray(selection) &&
      !selection.includes('background')
    )
      issues.push({
        path: ['datasets', 'background', 'method'],
        message: `${method === 'ring' ? 'the ring background weighs its OFF counts by' : 'fov_background scales'} the background map, but datasets.map_selection does not make one`,
        hint: "add 'background' to datasets.map_selection, or set background.method to null",
      });
  }
  // gammapy's SafeMaskMaker reads the run's EDISP for edisp-bias and its background for bkg-peak from the dataset the
  // map_selection made: without them it stops with an AttributeError ('NoneType' object has no attribute
  // 'get_edisp_kernel' / 'get_spectrum'). Said here, at the method.
  const methods = ds?.safe_mask?.methods;
  const made = ds?.map_selection;
  if (Array.isArray(methods) && Array.isArray(made))
    methods.forEach((m, i) => {
      const needs = m === 'edisp-bias' ? 'edisp' : m === 'bkg-peak' ? 'background' : undefined;
      if (needs && !made.includes(needs))
        issues.push({
          path: ['datasets', 'safe_mask', 'methods', i],
          message: `safe-mask method '${m}' reads the run's ${needs} map, but datasets.map_selection does not make one (gammapy stops there with an AttributeError)`,
          hint: `add '${needs}' to datasets.map_selection, or drop '${m}'`,
        });
    });
  // The observation rules read the whole section (and datasets.stack): only when all of it is readable.
  if (config?.observations && !reported('observations') && !reported('datasets', 'stack') && ds) {
    checkObservations(config, issues);
    const cone = config.observations.obs_cone;
    // gammapy reads a cone without a frame as ICRS (SkyCoord's default); with lon, it needs lat and radius too.
    // Without lon it ignores the cone (unusedSettings warns).
    const coneKeys = [cone.lon, cone.lat, cone.radius].filter((v) => v !== null).length;
    if (cone.lon !== null && coneKeys < 3)
      issues.push({
        path: ['observations', 'obs_cone'],
        message: 'obs_cone needs lon, lat and radius (and a frame, icrs by default)',
      });
    else if (cone.radius !== null && !(cone.radius > 0))
      issues.push({ path: ['observations', 'obs_cone', 'radius'], message: 'the cone radius must be > 0' });
    if (isNum(cone.lat) && !(Math.abs(cone.lat) <= 90))
      issues.push({
        path: ['observations', 'obs_cone', 'lat'],
        message: `lat must be within -90 deg and 90 deg, got ${cone.lat} deg`,
      });
  }
  const radius = config?.excess_map?.correlation_radius;
  const binsize = ds?.geom?.wcs?.binsize;
  if (isNum(radius) && !(radius > 0))
    issues.push({
      path: ['excess_map', 'correlation_radius'],
      message: `correlation_radius must be > 0: the maps sum the counts over a disk of that radius (gammapy 1.0 ${radius === 0 ? 'takes 0 deg and gives NaN everywhere' : 'fails on a negative one'})`,
    });
  else if (
    isNum(radius) &&
    isNum(binsize) &&
    binsize > 0 &&
    radius / binsize > MAX_KERNEL_RADIUS_PIXELS &&
    // A binsize refused already (a map too large) is the setting to fix: the radius is not blamed as well.
    !issues.some((i) => i.path.join('.') === 'datasets.geom.wcs.binsize')
  )
    // The disk kernel is (2r + 1)² pixels: 1e308 deg failed in the excess-map task, naming no setting.
    issues.push({
      path: ['excess_map', 'correlation_radius'],
      message: `correlation_radius ${radius} deg is more than ${MAX_KERNEL_RADIUS_PIXELS} pixels of ${binsize} deg, the most a correlation kernel may span`,
      hint: 'gammapy analyses correlate over a few PSF widths (0.1 to 0.5 deg)',
    });
  // Every energy axis is an array of its edges: 2e9 energy_edges bins took 16 GB and minutes before failing (the
  // map-size check above bounds the dataset axes only together with the pixels: a 1-pixel map could have 1e8 bins).
  for (const [path, n] of [
    [['datasets', 'geom', 'axes', 'energy', 'nbins'], ds?.geom?.axes?.energy?.nbins],
    [['datasets', 'geom', 'axes', 'energy_true', 'nbins'], ds?.geom?.axes?.energy_true?.nbins],
    [['excess_map', 'energy_edges', 'nbins'], config?.excess_map?.energy_edges?.nbins],
  ] as const)
    if (isNum(n) && n > MAX_ENERGY_BINS && !issues.some((i) => i.path.join('.') === path.join('.')))
      issues.push({
        path: [...path],
        message: `nbins ${n} is more energy bins than pipe handles (${MAX_ENERGY_BINS})`,
        hint: 'gammapy analyses use tens of energy bins',
      });
  return { config, issues };
}
