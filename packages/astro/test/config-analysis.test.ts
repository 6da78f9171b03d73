import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readAnalysisConfig } from '../src/config/index.js';
import { parseTime } from '../src/config/quantity.js';
import { reductionConfigFromConfig } from '../src/makers/index.js';

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
      hint: 'add a unit: deg, degree, degrees, arcmin, arcsec, rad, radian, mas',
    });
  });

  it('reads ISO times as MJD in TT', () => {
    const t = parseTime('2004-12-04T22:00:00');
    expect(t.ok && t.value).toBeCloseTo(53343.916666667 + 64.184 / 86400, 8);
    expect(parseTime('yesterday').ok).toBe(false);
  });
});
