import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { unusedSettings } from '../src/config/analysis-config.js';
import { readAnalysisConfig } from '../src/config/index.js';
import { angleText, parseAngle, parseEnergy, parseTime } from '../src/config/quantity.js';
import { logEnergyAxis } from '../src/geom/energy-axis.js';
import { reductionConfigFromConfig } from '../src/makers/index.js';

const CRAB_GEOM = { wcs: { skydir: { frame: 'icrs', lon: '83.633 deg', lat: '22.014 deg' } } };
const crabConfig = fileURLToPath(new URL('../../../pipelines/excess_map/crab.yaml', import.meta.url));

describe('gammapy analysis config', () => {
  it('accepts the design-document config unchanged and normalises units', () => {
    const { config, issues } = readAnalysisConfig(parse(readFileSync(crabConfig, 'utf8')));
    expect(issues).toEqual([]);
    expect(config.datasets.geom.wcs.binsize).toBeCloseTo(0.02, 15);
    expect(config.datasets.geom.axes.energy_true).toEqual({ min: 0.5, max: 20, nbins: 20 });
    expect(config.excess_map.correlation_radius).toBe(0.1);
    expect(config.observations.obs_cone).toEqual({ frame: 'icrs', lon: 83.633, lat: 22.014, radius: 5 });
    // gammapy defaults for what the config leaves out
    expect(config.datasets.safe_mask.methods).toEqual(['aeff-default']);
    expect(config.observations.obs_ids).toEqual([]);
  });

  // Found by a gammapy cross-check: gammapy stops with an AttributeError in its SafeMaskMaker; pipe built silently.
  it('refuses edisp-bias without an edisp map and bkg-peak without a background map, at the method', () => {
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    crab.datasets.map_selection = ['counts', 'exposure'];
    crab.datasets.background = { method: null };
    crab.datasets.safe_mask = { methods: ['aeff-default', 'edisp-bias', 'bkg-peak'] };
    const { issues } = readAnalysisConfig(crab);
    expect(issues.map((i) => [i.path.join('.'), i.hint])).toEqual([
      ['datasets.safe_mask.methods.1', "add 'edisp' to datasets.map_selection, or drop 'edisp-bias'"],
      ['datasets.safe_mask.methods.2', "add 'background' to datasets.map_selection, or drop 'bkg-peak'"],
    ]);
    expect(issues[0]!.message).toBe(
      "safe-mask method 'edisp-bias' reads the run's edisp map, but datasets.map_selection does not make one (gammapy stops there with an AttributeError)",
    );
    crab.datasets.map_selection = ['counts', 'exposure', 'edisp', 'background'];
    expect(readAnalysisConfig(crab).issues).toEqual([]);
  });

  // Found by a gammapy cross-check (crab.yaml's layout on run 23523 with map_selection [exposure, background, psf,
  // edisp]): gammapy 1.0's MapDatasetMaker leaves the counts at zero, so its FoV norm fails and every map is NaN;
  // pipe binned the events without a word.
  it('warns that pipe makes the counts when map_selection leaves them out', () => {
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    crab.datasets.map_selection = ['exposure', 'background', 'psf', 'edisp'];
    expect(readAnalysisConfig(crab).issues).toEqual([]);
    const warnings = unusedSettings(crab);
    expect(warnings.map((w) => [w.path.join('.'), w.severity])).toEqual([
      ['datasets.map_selection', 'warning'],
    ]);
    expect(warnings[0]!.message).toBe(
      "pipe bins the events all the same: gammapy's counts are then all zero (its excess is minus the background, and a FoV norm fails in every run, masking it), pipe's are the events",
    );
  });

  it('refuses a quantity that reads as infinite (1.0e400 deg) at its key', () => {
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    crab.excess_map.correlation_radius = '1.0e400 deg';
    crab.datasets.geom.wcs.width = { width: '-1.0e999 deg', height: '2 deg' };
    const { issues } = readAnalysisConfig(crab);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['datasets.geom.wcs.width.width', 'angle "-1.0e999 deg" is not a finite number'],
      ['excess_map.correlation_radius', 'angle "1.0e400 deg" is not a finite number'],
    ]);
    // Finite but far beyond any kernel: refused at the setting, not in the excess-map task.
    const wide = parse(readFileSync(crabConfig, 'utf8'));
    wide.excess_map.correlation_radius = '1.0e308 deg';
    expect(readAnalysisConfig(wide).issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'excess_map.correlation_radius',
        'correlation_radius 1e+308 deg is more than 2000 pixels of 0.02 deg, the most a correlation kernel may span',
      ],
    ]);
    wide.excess_map.correlation_radius = '40 deg';
    expect(readAnalysisConfig(wide).issues).toEqual([]);
  });

  // Found by fuzzing: binsize_irf 0.0001 deg passed the check (it looked at binsize only) and each run failed after
  // 90 s with "Invalid typed array length: 8000000000", naming no setting; 10⁸ energy bins were blamed on binsize.
  it('refuses a map cube too large to hold at the setting that makes it so: binsize, binsize_irf or an nbins', () => {
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    const issuesWith = (wcs: Record<string, unknown>, axes: Record<string, unknown> = {}) =>
      readAnalysisConfig({
        ...crab,
        datasets: {
          ...crab.datasets,
          geom: {
            ...crab.datasets.geom,
            wcs: { ...crab.datasets.geom.wcs, ...wcs },
            axes: { ...crab.datasets.geom.axes, ...axes },
          },
        },
      }).issues;
    expect(issuesWith({ binsize_irf: '0.0001 deg' })).toEqual([
      {
        path: ['datasets', 'geom', 'wcs', 'binsize_irf'],
        message:
          'a 20000 × 20000 pixel PSF map (binsize_irf) with 20 energy_true bins × 66 rad bins has 5.28e+11 cells per cube (2112.0 GB in float32): more than pipe holds (2.7e+8)',
        hint: 'a larger binsize_irf or a smaller width',
      },
    ]);
    expect(issuesWith({ binsize: '0.0001 deg' })).toMatchObject([
      { path: ['datasets', 'geom', 'wcs', 'binsize'], hint: 'a larger binsize or a smaller width' },
    ]);
    expect(issuesWith({}, { energy: { min: '1 TeV', max: '10 TeV', nbins: 100_000_000 } })).toEqual([
      {
        path: ['datasets', 'geom', 'axes', 'energy', 'nbins'],
        message:
          'a 100 × 100 pixel map with 100000000 energy bins has 1.00e+12 cells per cube (4000.0 GB in float32): more than pipe holds (2.7e+8)',
        hint: 'fewer energy bins',
      },
    ]);
    // The EDISP kernel crosses both energy axes on the IRF grid.
    expect(
      issuesWith(
        {},
        {
          energy: { min: '1 TeV', max: '10 TeV', nbins: 5000 },
          energy_true: { min: '0.5 TeV', max: '20 TeV', nbins: 2000 },
        },
      ),
    ).toMatchObject([{ path: ['datasets', 'geom', 'axes', 'energy', 'nbins'], hint: 'fewer energy bins' }]);
    expect(issuesWith({})).toEqual([]);
  });

  // Found by fuzzing: excess_map.energy_edges with nbins 2e9 grew to 16 GB over minutes (its edges an array, built
  // when the params were checked and again by the estimator); a dataset axis on a tiny map likewise.
  it('refuses an energy axis of more bins than pipe handles, at its nbins', () => {
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    const { issues } = readAnalysisConfig({
      ...crab,
      datasets: {
        ...crab.datasets,
        geom: {
          ...crab.datasets.geom,
          wcs: { ...crab.datasets.geom.wcs, width: { width: '0.02 deg', height: '0.02 deg' } },
          axes: {
            ...crab.datasets.geom.axes,
            energy_true: { min: '0.5 TeV', max: '20 TeV', nbins: 200_000 },
          },
        },
      },
      excess_map: {
        correlation_radius: '0.1 deg',
        energy_edges: { min: '1 TeV', max: '10 TeV', nbins: 2e9 },
      },
    });
    expect(issues).toEqual([
      {
        path: ['datasets', 'geom', 'axes', 'energy_true', 'nbins'],
        message: 'nbins 200000 is more energy bins than pipe handles (100000)',
        hint: 'gammapy analyses use tens of energy bins',
      },
      {
        path: ['excess_map', 'energy_edges', 'nbins'],
        message: 'nbins 2000000000 is more energy bins than pipe handles (100000)',
        hint: 'gammapy analyses use tens of energy bins',
      },
    ]);
    // Whoever builds an axis gets the refusal, not the allocation.
    expect(logEnergyAxis('reco', 1, 10, 2e9)).toEqual({
      reason: 'energy-axis-invalid',
      message: 'nbins 2000000000 is more energy bins than pipe handles (100000)',
    });
  });

  it("ignores obs_cone without lon and obs_time without start, with a warning, as gammapy's Analysis does", () => {
    // gammapy 1.0 _make_obs_table_selection applies the cone only `if obs_cone.lon is not None`, get_observations
    // the time only `if obs_time.start is not None`: both configs select every run there. pipe refused them.
    const crab = parse(readFileSync(crabConfig, 'utf8'));
    const withObs = (extra: Record<string, unknown>) => {
      const { obs_cone: _, ...observations } = crab.observations;
      return { ...crab, observations: { ...observations, ...extra } };
    };
    for (const [extra, path, text] of [
      [{ obs_cone: { lat: '22 deg', radius: '3 deg' } }, 'obs_cone', 'without lon, gammapy ignores obs_cone'],
      [{ obs_time: { stop: '2005-01-01' } }, 'obs_time', 'without start, gammapy ignores obs_time'],
    ] as const) {
      expect(readAnalysisConfig(withObs(extra)).issues).toEqual([]);
      const warnings = unusedSettings(withObs(extra));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ path: ['observations', path], severity: 'warning' });
      expect(warnings[0]!.message).toContain(text);
    }
    // With lon, gammapy needs lat and radius (a TypeError there); with start, a stop (its select_time fails).
    expect(
      readAnalysisConfig(withObs({ obs_cone: { lon: '83 deg', radius: '3 deg' } })).issues,
    ).toMatchObject([{ path: ['observations', 'obs_cone'] }]);
    expect(readAnalysisConfig(withObs({ obs_time: { start: '2004-01-01' } })).issues).toMatchObject([
      { path: ['observations', 'obs_time', 'stop'], message: 'obs_time needs both start and stop' },
    ]);
  });

  it("reads booleans as gammapy does (pydantic; PyYAML's yes/no/on/off) and refuses a fractional integer", () => {
    // gammapy 1.0 (PyYAML + pydantic 1.10): `stack: yes`, `stack: On`, `stack: "t"`, `stack: 1` are True,
    // `stack: no`/`off`/`0` False; pipe's YAML 1.2 parser leaves yes/on as strings, and pipe refused them.
    const stack = (v: unknown) => {
      const r = readAnalysisConfig({ datasets: { type: '3d', stack: v, geom: CRAB_GEOM } });
      return r.issues.length > 0 ? r.issues.map((i) => i.message).join('; ') : r.config.datasets.stack;
    };
    for (const v of ['yes', 'On', 'TRUE', 't', 'y', '1', 1, true]) expect(stack(v)).toBe(true);
    for (const v of ['no', 'off', 'False', 'f', 'N', '0', 0, false]) expect(stack(v)).toBe(false);
    for (const v of ['maybe', 2, 'yes please']) expect(stack(v)).toMatch(/^expected true or false, got /);
    const nbins = (v: unknown) =>
      readAnalysisConfig({
        datasets: {
          type: '3d',
          geom: { ...CRAB_GEOM, axes: { energy: { min: '1 TeV', max: '10 TeV', nbins: v } } },
        },
      });
    expect(nbins(5.0).config.datasets.geom.axes.energy.nbins).toBe(5);
    expect(nbins('5').config.datasets.geom.axes.energy.nbins).toBe(5);
    expect(nbins(5.7).issues.map((i) => i.message)).toEqual([
      'expected an integer, got number 5.7 (gammapy would truncate it to 5)',
    ]);
  });

  // gammapy 1.0 refuses null ("none is not an allowed value") wherever its model's default is not None: `stack:`
  // written without a value, `parameters: null`, a section `excess_map:` left empty. pipe took the default.
  it('refuses null where gammapy refuses it, and takes it where gammapy defaults to None', () => {
    const refused = (config: Record<string, unknown>) =>
      readAnalysisConfig(config).issues.map((i) => [i.path.join('.'), i.message, i.hint]);
    const datasets = (extra: Record<string, unknown>) => ({
      datasets: { type: '3d', geom: CRAB_GEOM, ...extra },
    });
    const NULL =
      'null (a key without a value) is not allowed here (gammapy 1.0 refuses it: "none is not an allowed value")';
    expect(refused(datasets({ stack: null }))).toEqual([
      ['datasets.stack', NULL, "leave the key out to take gammapy's default (true), or give a value"],
    ]);
    expect(refused({ ...datasets({}), excess_map: { correlation_radius: null, parameters: null } })).toEqual([
      [
        'excess_map.correlation_radius',
        NULL,
        "leave the key out to take gammapy's default (0.1 deg), or give a value",
      ],
      ['excess_map.parameters', NULL, "leave the key out to take gammapy's default, or give a value"],
    ]);
    expect(refused({ ...datasets({}), excess_map: null }).map((i) => i[0])).toEqual(['excess_map']);
    expect(refused({ ...datasets({}), observations: { obs_ids: [23523, null] } })).toEqual([
      ['observations.obs_ids.1', NULL, 'remove the empty item from the list'],
    ]);
    expect(
      refused(
        datasets({ map_selection: null, geom: { ...CRAB_GEOM, wcs: { ...CRAB_GEOM.wcs, binsize: null } } }),
      ).map((i) => i[0]),
    ).toEqual(['datasets.geom.wcs.binsize', 'datasets.map_selection']);
    // gammapy's None defaults: null is the key left out.
    const { config, issues } = readAnalysisConfig({
      ...datasets({ background: { method: null, exclusion: null } }),
      observations: { obs_file: null, obs_cone: { frame: null, lon: null }, obs_time: { start: null } },
      excess_map: { energy_edges: { min: null, max: null, nbins: null } },
    });
    expect(issues).toEqual([]);
    expect(config.datasets.background.method).toBeNull();
    expect(config.excess_map.energy_edges).toEqual({ min: null, max: null, nbins: null });
  });

  // gammapy's `axes.energy` and `axes.energy_true` default to whole axes, but an axis the config writes has None for
  // what it leaves out. A reco axis without nbins fails gammapy's Analysis; a true axis without min, max or
  // nbins >= 1 is replaced by the reco axis (MapDataset.create). pipe filled in the default axis's values: a true
  // axis of 16 bins over 0.5-20 TeV where gammapy's was the reco axis (every exposure, flux and norm map differed).
  it('reads a partly written energy axis as gammapy does: the reco axis refused, the true axis the reco one', () => {
    const axes = (a: Record<string, unknown>) =>
      readAnalysisConfig({ datasets: { type: '3d', geom: { ...CRAB_GEOM, axes: a } } });
    const reco = { min: '1 TeV', max: '10 TeV', nbins: 4 };
    for (const energyTrue of [
      { min: '0.5 TeV', max: '20 TeV' },
      { nbins: 20 },
      {},
      { min: '0.5 TeV', max: '20 TeV', nbins: 0 },
      { min: '0.5 TeV', max: null, nbins: 20 },
    ]) {
      const { config, issues } = axes({ energy: reco, energy_true: energyTrue });
      expect(issues, JSON.stringify(energyTrue)).toEqual([]);
      expect(config.datasets.geom.axes.energy_true).toEqual({ min: 1, max: 10, nbins: 4 });
      const warned = unusedSettings({
        datasets: { geom: { axes: { energy: reco, energy_true: energyTrue } } },
      });
      expect(warned.map((i) => [i.path.join('.'), i.severity])).toEqual([
        ['datasets.geom.axes.energy_true', 'warning'],
      ]);
    }
    expect(unusedSettings({ datasets: { geom: { axes: { energy_true: {} } } } })[0]?.message).toBe(
      'without min and max and nbins, gammapy makes no true energy axis and takes the reco energy axis (datasets.geom.axes.energy) as the true one; so does pipe',
    );
    // Left out whole, each axis is gammapy's default one.
    expect(axes({}).config.datasets.geom.axes).toEqual({
      energy: { min: 1, max: 10, nbins: 5 },
      energy_true: { min: 0.5, max: 20, nbins: 16 },
    });
    expect(axes({ energy: reco }).config.datasets.geom.axes.energy_true).toEqual({
      min: 0.5,
      max: 20,
      nbins: 16,
    });
    expect(unusedSettings({ datasets: { geom: { axes: { energy: reco } } } })).toEqual([]);
    expect(
      axes({ energy: { min: '1 TeV', max: '10 TeV' } }).issues.map((i) => [i.path.join('.'), i.message]),
    ).toEqual([
      [
        'datasets.geom.axes.energy',
        `the reco energy axis needs min, max and nbins; without nbins gammapy 1.0 makes no axis and fails ("'NoneType' object has no attribute 'name'")`,
      ],
    ]);
    expect(axes({ energy: { nbins: 3 } }).issues.map((i) => i.message)).toEqual([
      expect.stringContaining('without min and max gammapy 1.0 makes no axis'),
    ]);
  });

  // pydantic v1 takes a number or a boolean for a str setting (outdir: 2024 is '2024'); pipe refused them. gammapy's
  // Analysis then sets logging.basicConfig(level=level.upper()): a level Python does not name stops it ("Unknown
  // level: 'VERBOSE'", and '20' written as a number), which pipe took.
  it("takes numbers for gammapy's text settings, and refuses a log level Python does not name", () => {
    const general = (g: Record<string, unknown>) =>
      readAnalysisConfig({ general: g, datasets: { type: '3d', geom: CRAB_GEOM } });
    const { config, issues } = general({ outdir: 2024, log: { level: 'Warn', format: 1.5 } });
    expect(issues).toEqual([]);
    expect(config.general.outdir).toBe('2024');
    expect(general({ outdir: true }).config.general.outdir).toBe('True');
    for (const level of ['info', 'DEBUG', 'notset', 'fatal', 'Error'])
      expect(general({ log: { level } }).issues).toEqual([]);
    for (const level of ['verbose', 20, 'trace'])
      expect(general({ log: { level } }).issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        [
          'general.log.level',
          `log level '${level}' is not one of Python's (gammapy's Analysis stops: "Unknown level")`,
        ],
      ]);
  });

  it('converts other units', () => {
    const { config, issues } = readAnalysisConfig({
      datasets: {
        type: '3d',
        geom: {
          wcs: { skydir: { frame: 'galactic', lon: '0 deg', lat: '0 deg' }, binsize: '6 arcmin' },
          axes: { energy: { min: '300 GeV', max: '0.1 PeV', nbins: 3 } },
        },
      },
    });
    expect(issues).toEqual([]);
    expect(config.datasets.geom.wcs.binsize).toBeCloseTo(0.1, 12);
    expect(config.datasets.geom.axes.energy.min).toBeCloseTo(0.3, 12);
    expect(config.datasets.geom.axes.energy.max).toBeCloseTo(100, 9);
    // As astropy's Quantity(s).to_value('TeV'), to the last bit (1 / 1.602176634 was one ulp below for erg).
    for (const [text, tev] of [
      ['1 erg', 0.6241509074460764],
      ['1.6e-7 erg', 9.986414519137223e-8],
      ['1 J', 6241509.0744607635],
      ['2.5e-13 J', 1.5603772686151908e-6],
    ] as const)
      expect(parseEnergy(text)).toEqual({ ok: true, value: tev });
  });

  // gammapy's EnergyType is astropy's Quantity(s), Angle(s) its AngleType: any SI prefix on eV, and on deg, arcmin,
  // arcsec and rad (pipe refused '1 EeV': "did you mean 'eV'?"). Values: astropy 5.2's to_value('TeV') and .deg.
  it("reads every SI prefix astropy reads on eV and on angles, to the last bit of astropy's conversion", () => {
    const read = (parse: typeof parseEnergy, text: string) => {
      const r = parse(text);
      return r.ok ? r.value : r.message;
    };
    expect(
      ['2.5 EeV', '0.3 ZeV', '1 YeV', '1 QeV', '1 daeV', '3 neV', '1 deV', '7 \u00b5eV', '7 \u03bceV'].map(
        (t) => read(parseEnergy, t),
      ),
    ).toEqual([
      2.5e6, 3e8, 1e12, 1000000000000000100, 1.0000000000000001e-11, 3.0000000000000003e-21,
      1.0000000000000002e-13, 7e-18, 7e-18,
    ]);
    expect(
      ['1.5 karcsec', '3 nrad', '0.7 daarcmin', '2 h', '4.2 kdeg', '1 carcsec'].map((t) =>
        read(parseAngle, t),
      ),
    ).toEqual([
      0.41666666666666663, 1.7188733853924697e-7, 0.11666666666666665, 29.999999999999996, 4200.000000000001,
      2.777777777777778e-6,
    ]);
    // What astropy refuses stays refused: its Angle takes no 'µ', no 'cycle', no prefix on hours.
    expect(['1 \u00b5as', '1 cycle', '1 khr'].map((t) => read(parseAngle, t))).toEqual([
      "invalid unit for angle: '\u00b5as'",
      "invalid unit for angle: 'cycle'",
      "invalid unit for angle: 'khr'",
    ]);
    // The hint still names the common units, not every prefixed one.
    expect(parseEnergy('1 XeV')).toMatchObject({
      hint: "did you mean 'eV'? use one of eV, keV, MeV, GeV, TeV, PeV, erg, J",
    });
  });

  // The tags are looked up in a plain object: a name it inherits ('toString') is no model (gammapy's Model.create
  // fails on it), and must not reach the reduction as one.
  it("takes the FoV background's norm models by tag or class name, and refuses other names", () => {
    const model = (name: string) => {
      const crab = parse(readFileSync(crabConfig, 'utf8'));
      crab.datasets.background = {
        method: 'fov_background',
        parameters: { method: 'fit', spectral_model: name },
      };
      const { config, issues } = readAnalysisConfig(crab);
      expect(issues).toEqual([]);
      const r = reductionConfigFromConfig(config.datasets);
      if ('reason' in r) return r.reason;
      return r.background.method === 'fov_background' ? r.background.spectrum?.model : r.background.method;
    };
    expect(['pl-norm', 'lp-norm', 'LogParabolaNormSpectralModel', 'ecpl-norm'].map(model)).toEqual([
      undefined,
      'lp-norm',
      'lp-norm',
      'ecpl-norm',
    ]);
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'lpnorm'])
      expect(model(name), name).toBe('config-unsupported');
  });

  it("refuses as units the names a unit table inherits ('constructor'), which read as NaN", () => {
    for (const text of ['2 constructor', '1 toString', '1 valueOf']) {
      expect(parseEnergy(text), text).toMatchObject({ ok: false });
      expect(parseAngle(text), text).toMatchObject({ ok: false });
    }
  });

  it("suggests the unit a one-letter typo or a wrong case meant ('degg', 'Tev'), and none for a unit of another kind", () => {
    const { issues } = readAnalysisConfig({
      datasets: {
        type: '3d',
        geom: { wcs: { binsize: '0.02 degg' }, axes: { energy: { min: '1 Tev', max: '10 parsec' } } },
      },
    });
    const hintAt = (key: string) => issues.find((i) => i.path.join('.') === key)?.hint;
    expect(hintAt('datasets.geom.wcs.binsize')).toMatch(/^did you mean 'deg'\? use one of deg, /);
    expect(hintAt('datasets.geom.axes.energy.min')).toMatch(/^did you mean 'TeV'\? use one of eV, /);
    expect(hintAt('datasets.geom.axes.energy.max')).toMatch(/^use one of eV, /);
  });

  // astropy: Quantity('1e12 meV').to('TeV') is 0.001 TeV; gammapy would bin from 1e-13 TeV for `min: 100 meV`.
  it('refuses meV as MeV mistyped, saying what astropy reads', () => {
    expect(parseEnergy('100 meV')).toEqual({
      ok: false,
      message: "'meV' is the milli-electronvolt (1e-15 TeV) for astropy and gammapy, surely not meant here",
      hint: "did you mean 'MeV' (1e-6 TeV)? pipe refuses meV as a likely typo",
    });
  });

  it("suggests no unit for a one-letter one that is not one of them but for its case ('1 T' is not 'J')", () => {
    const { issues } = readAnalysisConfig({
      datasets: { type: '3d', geom: { axes: { energy: { min: '1 T', max: '10 j' } } } },
    });
    const hintAt = (key: string) => issues.find((i) => i.path.join('.') === key)?.hint;
    expect(hintAt('datasets.geom.axes.energy.min')).toMatch(/^use one of eV, /);
    expect(hintAt('datasets.geom.axes.energy.max')).toMatch(/^did you mean 'J'\? use one of eV, /);
  });

  it('reports a wrong unit, an unknown key and a bad enum at their paths', () => {
    const { issues } = readAnalysisConfig({
      datasets: {
        type: '3d',
        geom: {
          wcs: { skydir: { frame: 'icrs', lon: '1 deg', lat: '2 deg' } },
          axes: { energy: { min: '1 deg' } },
        },
      },
      observations: { obs_con: {} },
      excess_map: { correlation_radius: '0.1 TeV' },
    });
    expect(issues).toContainEqual({
      path: ['datasets', 'geom', 'axes', 'energy', 'min'],
      message: "invalid unit for energy: 'deg'",
      hint: 'use one of eV, keV, MeV, GeV, TeV, PeV, erg, J',
    });
    expect(issues).toContainEqual({
      path: ['observations', 'obs_con'],
      message: "unknown key 'obs_con'",
      hint: "did you mean 'obs_cone'?",
    });
    expect(issues.find((i) => i.path.join('.') === 'excess_map.correlation_radius')?.message).toBe(
      "invalid unit for angle: 'TeV'",
    );
  });

  it('refuses an angle without a unit, as astropy Angle does (gammapy fails on it)', () => {
    const { config, issues } = readAnalysisConfig({
      excess_map: { correlation_radius: 0.1 },
      datasets: { safe_mask: { methods: ['offset-max'], parameters: { offset_max: '2.5' } } },
    });
    expect(issues).toContainEqual({
      path: ['excess_map', 'correlation_radius'],
      message: 'angle needs a unit',
      hint: 'write e.g. "0.1 deg"',
    });
    expect(reductionConfigFromConfig(config.datasets)).toEqual({
      reason: 'config-invalid',
      path: ['datasets', 'safe_mask', 'parameters', 'offset_max'],
      message: 'angle "2.5" has no unit',
      hint: 'add a unit: deg, degree, degrees, arcmin, arcsec, rad, hour, hr, mas, uas, mdeg, mrad, urad',
    });
  });

  it('suggests the unit an energy is meant in (TeV), not the first of the table (eV: 10¹² off)', () => {
    const { issues } = readAnalysisConfig({
      datasets: { geom: { axes: { energy: { min: '1 TeV', max: 30, nbins: 5 } } } },
    });
    expect(issues).toContainEqual({
      path: ['datasets', 'geom', 'axes', 'energy', 'max'],
      message: 'energy needs a unit',
      hint: 'write e.g. "30 TeV"',
    });
  });

  it('reads ISO times as MJD in TT', () => {
    const t = parseTime('2004-12-04T22:00:00');
    expect(t.ok && t.value).toBeCloseTo(53343.916666667 + 64.184 / 86400, 8);
    expect(parseTime('yesterday').ok).toBe(false);
  });

  /** A time string as MJD (TT), or the message that refuses it. */
  const mjd = (s: string) => {
    const t = parseTime(s);
    return t.ok ? t.value : t.message;
  };

  it("reads astropy's other time strings: day of year and Julian epochs (values from astropy's Time(s).tt.mjd)", () => {
    expect(mjd('2004:339:22:00:00')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004:339:22:00')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004:339')).toBeCloseTo(53343.00074287037, 9);
    expect(mjd('2016:366:12:00:00.5')).toBeCloseTo(57753.5007949537, 9);
    expect(mjd('J2010.5')).toBeCloseTo(55379.625, 9);
    expect(mjd('2005:366:00:00:00')).toBe('invalid day-of-year time "2005:366:00:00:00"');
    expect(mjd('2004-12-04T24:00:00')).toBe('invalid date "2004-12-04T24:00:00"');
  });

  // gammapy took these (astropy's byear_str and fits formats; epochs in either case, with blanks), pipe refused them.
  it("reads Besselian epochs and fits strings with their time scale (values from astropy's Time(s).tt.mjd)", () => {
    expect(mjd('B2004.9')).toBeCloseTo(53333.72017212694, 9);
    expect(mjd('B1950.0')).toBeCloseTo(33281.92345905, 9);
    expect(mjd('b2004.9')).toBeCloseTo(53333.72017212694, 9);
    expect(mjd('B 2004.9')).toBeCloseTo(53333.72017212694, 9);
    expect(mjd('j2010.5')).toBeCloseTo(55379.625, 9);
    expect(mjd('2004-12-04T22:00:00(TT)')).toBeCloseTo(53343.916666666664, 9);
    expect(mjd('2004-12-04T22:00:00(TAI)')).toBeCloseTo(53343.91703916667, 9);
    expect(mjd('2004-12-04T22:00:00(UTC)')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004-12-04T22:00:00(TDB)')).toBeCloseTo(53343.91666667584, 9);
    expect(mjd('2004-12-04T22:00:00(TT(BIPM))')).toBeCloseTo(53343.916666666664, 9);
    expect(mjd('2004-12-04(TT)')).toBeCloseTo(53343.0, 9);
    // Refused by astropy too: the fits form wants two-digit fields, a T and the seconds.
    for (const s of ['2004-12-04T22:00(TT)', '2004-12-4T22:00:00(TT)', '2004-12-04 22:00:00(TT)', 'B2004.9x'])
      expect(typeof mjd(s), s).toBe('string');
    expect(mjd('2004-12-04T22:00:00(TCG)')).toBe(
      'time scale "TCG" in "2004-12-04T22:00:00(TCG)": pipe reads times in UTC, TT, TAI or TDB',
    );
  });

  it("takes the ISO strings astropy takes and refuses the ones it refuses (gammapy's TimeType is Time(s))", () => {
    const mjd = (s: string) => {
      const t = parseTime(s);
      return t.ok ? t.value : undefined;
    };
    // Accepted by astropy 5.2 (Time(s).tt.mjd): one-digit fields, a trailing Z, the iso form with a blank.
    expect(mjd('2004-12-4T22:00:00')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004-1-4T2:3:4')).toBeCloseTo(53008.08620583334, 9);
    expect(mjd('2004-12-04 22:00:00Z')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004-12-04T22:00:00.5Z')).toBeCloseTo(53343.917415324075, 9);
    expect(mjd('2004-12-04Z')).toBeCloseTo(53343.00074287037, 9);
    expect(mjd('2004:339:22:00:00Z')).toBeCloseTo(53343.91740953704, 9);
    expect(mjd('2004-02-29')).toBeCloseTo(53064.00074287037, 9);
    // Refused by astropy (gammapy fails on them): pipe read Feb 30 as 1 March, took "UTC", blanks and an MJD prefix.
    for (const s of [
      '2005-02-29',
      '2004-02-30T00:00:00',
      '2004-12-00',
      '2004-12-04 22:00:00 UTC',
      '2004-12-04T22:00:00UTC',
      ' 2004-12-04T22:00:00 ',
      'MJD 53343.9',
      '2004-12-04T22',
    ])
      expect(mjd(s), s).toBeUndefined();
    // A lower-case t: text astropy refuses, but unquoted in a config a datetime for PyYAML, which gammapy reads. The
    // config's text check (pyyaml-text.ts) refuses the text forms; the reading is the capital T's.
    expect(mjd('2004-12-04t22:00:00')).toBe(mjd('2004-12-04T22:00:00'));
  });

  it("reads a UTC offset as gammapy's YAML reader does an unquoted timestamp (a time in that zone)", () => {
    const utc = mjd('2006-07-30T00:40:00');
    expect(mjd('2006-07-30T04:40:00+04:00')).toBe(utc);
    expect(mjd('2006-07-29T23:10:00-0130')).toBe(utc);
    expect(mjd('2006-07-30T04:40:00+25:00')).toBe('invalid UTC offset in "2006-07-30T04:40:00+25:00"');
    // PyYAML's timestamp takes hours alone and blanks before the offset: datetimes gammapy reads (pipe refused them).
    expect(mjd('2006-07-30T04:40:00 +4')).toBe(utc);
    expect(mjd('2006-07-30 04:40:00.5 -01:30')).toBeCloseTo(53946.257704675925, 9);
  });

  it("reads astropy's sexagesimal angles and hours (values from astropy's Angle(s).deg)", () => {
    const deg = (s: string) => {
      const a = parseAngle(s);
      return a.ok ? a.value : a.message;
    };
    expect(deg('5h34m31.92s')).toBeCloseTo(83.633, 12);
    expect(deg('5h 34m 31.92s')).toBeCloseTo(83.633, 12);
    expect(deg('5h34.5m')).toBeCloseTo(83.625, 12);
    expect(deg('22d00m50.4s')).toBeCloseTo(22.014, 12);
    expect(deg(`22°00'50.4"`)).toBeCloseTo(22.014, 12);
    expect(deg('-30°13′32″')).toBeCloseTo(-30.225555555555555, 12);
    expect(deg('-0d30m')).toBeCloseTo(-0.5, 12);
    expect(deg('1.5h')).toBeCloseTo(22.5, 12);
    expect(deg('1.5 hour')).toBeCloseTo(22.5, 12);
    expect(deg('22d')).toBe(22);
    expect(deg('22d61m')).toBe('cannot read "22d61m" as an angle: minutes and seconds must be below 60');
    // A number with a minute or second mark alone is arcmin or arcsec for astropy (gammapy took `correlation_radius:
    // 6'`, pipe refused it: 'cannot read "6'" as an angle'). astropy's Angle(s).deg, to the last bit:
    expect([`6'`, `1.2'`, `30"`, '1.5′', `-6'`, `1.2e1'`, '4.5″', `7 '`].map(deg)).toEqual([
      0.1, 0.02, 0.008333333333333333, 0.025, -0.1, 0.2, 0.00125, 0.11666666666666667,
    ]);
    // ... and two marks in a row, or minutes and seconds without degrees, not at all ("Syntax error parsing angle").
    for (const s of [`10''`, `1'30"`]) expect(typeof deg(s)).toBe('string');
    // astropy refuses a sexagesimal string without a unit.
    expect(typeof deg('5:34:31.92')).toBe('string');
    // astropy's Angle: an exponent needs a decimal point before it, and 'radian' is no unit it reads ("Invalid
    // character"), so gammapy fails on both; pipe accepted them.
    expect(deg('2.0e-2 deg')).toBeCloseTo(0.02, 15);
    expect(deg('2e-2 deg')).toBe(
      `cannot read "2e-2 deg" as an angle: astropy's Angle takes an exponent only after a decimal point`,
    );
    expect(parseAngle('2e-2 deg')).toMatchObject({ hint: 'write e.g. "2.0e-2 deg"' });
    expect(deg('2 radian')).toBe("invalid unit for angle: 'radian'");
    expect(deg('0.5 rad')).toBeCloseTo(28.64788975654116, 12);
    // To the last bit (astropy converts hours through its hourangle unit, 14.999999999999998 deg): a map centre
    // written in hours was an ulp off gammapy's CRVAL.
    expect(['5h34m31.94s', '5h34m', '5 hour', '2 mas'].map(deg)).toEqual([
      83.63308333333332, 83.49999999999999, 74.99999999999999, 5.555555555555556e-7,
    ]);
    // SI-prefixed angles, as astropy's Angle(s).deg gives them (gammapy took them, pipe refused them; helper-132).
    expect(['100 mrad', '3.7 urad', '250 uas', '12.5 mdeg', '0.3 mrad'].map(deg)).toEqual([
      5.729577951308232, 0.00021199438419840458, 6.944444444444444e-8, 0.0125, 0.017188733853924696,
    ]);
    // What pipe writes back for a key (the safe-mask offset_max) reads back exactly, exponent or not.
    for (const v of [2.5, 1e-7, -3e-9, 1.5e-7, 1e21]) expect(deg(angleText(v))).toBe(v);
  });
});

describe('datasets.type left out', () => {
  // Found by helper-150: a config without `type` was told "got '1d'", as if it had written it.
  it("says the '1d' is gammapy's default, not the config's", () => {
    const left = readAnalysisConfig(parse('observations: {obs_ids: [23523]}\n'));
    const issue = left.issues.find((i) => i.path.join('.') === 'datasets.type');
    expect(issue?.message).toBe(
      "pipe's excess_map pipeline reduces 3D datasets; got '1d' (gammapy's default: the config leaves 'datasets.type' out)",
    );
    const written = readAnalysisConfig(parse('datasets: {type: 1d}\n'));
    expect(written.issues.find((i) => i.path.join('.') === 'datasets.type')?.message).toBe(
      "pipe's excess_map pipeline reduces 3D datasets; got '1d'",
    );
  });
});
