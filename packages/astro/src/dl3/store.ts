/**
 * A DL3 data store (GADF 0.2): a directory with an HDU index and an observation index, as gammapy's
 * DataStore.from_dir opens it.
 */
import { existsSync } from 'node:fs';
import { FitsError, readFits } from '../fits/index.js';
import { type HduIndexRow, type ObsIndex, readHduIndex, readObsIndex } from './index-tables.js';
import { locationsOf, Observation } from './observation.js';
import { expandVars, joinPath, type PathContext, resolveIndexPath } from './paths.js';
import { type ObsSelection, requireHdus, type SelectionResult, selectObservations } from './select.js';

export interface OpenDataStoreOptions {
  /** HDU index file, relative to the store directory or absolute (default hdu-index.fits.gz, then .fits). */
  hduIndex?: string;
  /** Observation index file (default obs-index.fits.gz, then .fits). */
  obsIndex?: string;
  /** Variables for `$VAR` expansion (default process.env). Pass the declared environment of a step. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory the fallback paths are relative to (default process.cwd()). */
  cwd?: string;
  /**
   * Both tables are in one file (`hduIndex` = `obsIndex`), gammapy's DataStore.from_file: found by their EXTNAME
   * (HDU_INDEX, OBS_INDEX) only, never by position.
   */
  singleFile?: boolean;
}

/** The index files of a store, for content hashing. */
export interface DataStoreFiles {
  hduIndex: string;
  obsIndex: string;
}

/** An opened data store. */
export class DataStore {
  private readonly byObs = new Map<number, HduIndexRow[]>();

  constructor(
    /** The store directory as given, with `$VAR`s expanded. */
    readonly baseDir: string,
    readonly hduIndex: readonly HduIndexRow[],
    readonly obsIndex: ObsIndex,
    readonly indexFiles: DataStoreFiles,
    private readonly ctx: PathContext,
  ) {
    for (const row of hduIndex) {
      const rows = this.byObs.get(row.obsId) ?? [];
      this.byObs.set(row.obsId, rows);
      rows.push(row);
    }
  }

  /** OBS_IDs of the observation index, in file order. */
  get obsIds(): number[] {
    return this.obsIndex.obsIds;
  }

  /**
   * Selects runs by the criteria (AND, in order), then drops the runs lacking any of `required` HDU types
   * (default events and gti; add 'aeff', 'edisp', 'psf', 'bkg' for a 3D analysis). Warnings are values.
   */
  select(
    criteria: readonly ObsSelection[],
    required: readonly string[] = ['events', 'gti'],
  ): SelectionResult {
    const picked = selectObservations(this.obsIndex, criteria);
    const complete = requireHdus(this.hduIndex, picked.obsIds, required);
    return { obsIds: complete.obsIds, warnings: [...picked.warnings, ...complete.warnings] };
  }

  /**
   * HDU types that have several rows for a run in the HDU index: the first is the one used (observation), as
   * gammapy does, which warns "Found multiple HDU matching".
   */
  duplicatedHduTypes(obsId: number): string[] {
    const types = (this.byObs.get(obsId) ?? []).map((r) => r.hduType);
    return [...new Set(types.filter((t, i) => types.indexOf(t) !== i))];
  }

  /** Whether the HDU index has rows for a run. */
  listsRun(obsId: number): boolean {
    return this.byObs.has(obsId);
  }

  /** A run (its HDUs are resolved now, read on use). Throws `missing-hdu` for a run the HDU index lacks. */
  observation(obsId: number): Observation {
    const rows = this.byObs.get(obsId);
    if (!rows) {
      throw new FitsError(
        'missing-hdu',
        { file: this.indexFiles.hduIndex, hdu: 'HDU_INDEX' },
        `OBS_ID ${obsId} is not in the HDU index`,
      );
    }
    const r = this.obsIndex.obsIds.indexOf(obsId);
    const locations = locationsOf(rows, (row) =>
      resolveIndexPath(this.baseDir, row.fileDir, row.fileName, this.ctx),
    );
    return new Observation(obsId, locations, r >= 0 ? (this.obsIndex.rows[r] ?? {}) : {});
  }
}

function findIndex(baseDir: string, given: string | undefined, defaults: string[], ctx: PathContext): string {
  const candidates = given
    ? [joinPath(baseDir, expandVars(given, ctx.env)), expandVars(given, ctx.env)]
    : defaults.map((d) => joinPath(baseDir, d));
  const abs = candidates.map((c) => joinPath(ctx.cwd, c));
  const found = abs.find((c) => existsSync(c));
  if (found) return found;
  throw new FitsError(
    'io',
    { file: abs[0] as string },
    `data store index not found (tried ${abs.join(', ')})`,
  );
}

/** Opens a data store directory (reads both index files). */
export async function openDataStore(dir: string, options: OpenDataStoreOptions = {}): Promise<DataStore> {
  const ctx: PathContext = { env: options.env ?? process.env, cwd: options.cwd ?? process.cwd() };
  const baseDir = expandVars(dir, ctx.env);
  const hduPath = findIndex(baseDir, options.hduIndex, ['hdu-index.fits.gz', 'hdu-index.fits'], ctx);
  const obsPath = findIndex(baseDir, options.obsIndex, ['obs-index.fits.gz', 'obs-index.fits'], ctx);
  const [hduFile, obsFile] = await Promise.all([readFits(hduPath), readFits(obsPath)]);
  if (options.singleFile) {
    for (const name of ['HDU_INDEX', 'OBS_INDEX'])
      if (!hduFile.find(name))
        throw new FitsError(
          'missing-hdu',
          { file: hduPath, hdu: name },
          `a data store given as one file needs both index tables, HDU_INDEX and OBS_INDEX (gammapy's DataStore.from_file); the file has ${hduFile.hdus.map((h) => h.name).join(', ')}`,
        );
  }
  return new DataStore(
    baseDir,
    readHduIndex(hduFile),
    readObsIndex(obsFile),
    { hduIndex: hduPath, obsIndex: obsPath },
    ctx,
  );
}
