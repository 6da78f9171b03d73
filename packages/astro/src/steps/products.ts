/**
 * Writing the excess-map products under the names of science spec §11: gammapy-format FITS maps (float32 cubes with
 * the CAR WCS and an energy bands table) and quick-look PNGs. Only the outputs a target declares are written;
 * a declared output that was not computed is an error naming the setting that computes it.
 */
import type { ExcessMapName, ExcessMaps, FluxQuantity, PixelToSky } from '../estimators/index.js';
import { writeMapFitsAsync } from '../fits/index.js';
import type { MapDataset } from '../makers/index.js';
import { renderMapPngAsync } from '../quicklook/index.js';
import { wcsHeaderCards } from '../wcs/index.js';
import { DATASET_MAPS, ESTIMATOR_PRODUCTS } from './product-names.js';
import { STEP_OUTPUT } from './step-output.js';

const UNITS: Record<string, string> = {
  exposure: 'm2 s',
  flux: 'cm-2 s-1',
  flux_err: 'cm-2 s-1',
  flux_errn: 'cm-2 s-1',
  flux_errp: 'cm-2 s-1',
  flux_ul: 'cm-2 s-1',
  dnde: 'cm-2 s-1 TeV-1',
  e2dnde: 'TeV cm-2 s-1',
  eflux: 'TeV cm-2 s-1',
};

interface Image {
  data: Float32Array | Uint8Array;
  shape: number[];
  axis: { kind: 'reco' | 'true'; edges: ArrayLike<number> };
  /** gammapy's META card (JSON), when the map has metadata: the exposure's livetime, as gammapy writes it. */
  meta?: string;
}

function productImage(
  name: string,
  ds: MapDataset,
  maps: ExcessMaps | undefined,
): Image | { missing: string } {
  const ny = ds.geom.ny;
  const nx = ds.geom.nx;
  const reco = ds.energy.edges;
  const cube = (data: Float32Array | Uint8Array, kind: 'reco' | 'true', edges: ArrayLike<number>): Image => ({
    data,
    shape: [data.length / (nx * ny), ny, nx],
    axis: { kind, edges },
  });
  switch (name) {
    case 'counts':
      return cube(ds.counts, 'reco', reco);
    case 'background':
      return cube(ds.background, 'reco', reco);
    case 'exposure':
      // gammapy's stacked exposure carries the livetime (Map.read(...).meta['livetime']).
      return {
        ...cube(ds.exposure, 'true', ds.energyTrue.edges),
        meta: JSON.stringify({ livetime: `${ds.livetime} s` }),
      };
    case 'mask_safe':
      return cube(ds.maskSafe, 'reco', reco);
  }
  const mapName = (ESTIMATOR_PRODUCTS[name] ?? name) as ExcessMapName;
  if (!maps)
    return {
      missing: `'${name}' is not a map of the stacked dataset (${DATASET_MAPS.join(', ')}): astro.excess_map makes it`,
    };
  const data = maps.maps[mapName];
  if (!data) {
    // A pipeline that declares the optional maps fails on a config that does not ask for them: say both ways out.
    const optional = OPTIONAL_MAP.exec(mapName)?.[1];
    const hint = optional
      ? ` (excess_map.parameters.selection_optional computes it: all, or a list with '${optional === 'ul' ? 'ul' : 'errn-errp'}';` +
        " or take this output out of the target's outputs)"
      : mapName.startsWith('norm') || mapName.startsWith('flux')
        ? ' (needs exposure and an EDISP map)'
        : '';
    return { missing: `map '${mapName}' was not computed${hint}` };
  }
  const edges = [maps.bins[0]!.eMin, ...maps.bins.map((b) => b.eMax)];
  return cube(Float32Array.from(data), 'reco', edges);
}

/** A flux-like product (a FITS map or its quick-look): its quantity is group 1. */
const FLUX_PRODUCT = /^(flux|dnde|e2dnde|eflux)(?:_(?:err|errn|errp|ul))?(?:_png)?$/;

/** The flux-like quantities some declared output needs: the estimator makes only those. */
export function declaredFluxQuantities(outputs: Record<string, string>): FluxQuantity[] {
  const wanted = new Set<FluxQuantity>();
  for (const name of Object.keys(outputs)) {
    const m = FLUX_PRODUCT.exec(name);
    if (m) wanted.add(m[1] as FluxQuantity);
  }
  return [...wanted];
}

/** Maps of the estimator's optional quantities (selection_optional: errn-errp, ul). */
const OPTIONAL_MAP = /_(errn|errp|ul)$/;

/**
 * The optional maps the estimator computed when the target declares none of them as outputs (so none is written):
 * asked for in the config, but a target that declares some has chosen which.
 */
export function undeclaredOptionalMaps(outputs: Record<string, string>, maps: ExcessMaps): string[] {
  const optional = Object.keys(maps.maps).filter((m) => OPTIONAL_MAP.test(m));
  return optional.some((m) => m in outputs) ? [] : optional;
}

/** The 2D image shown in a quick-look: the first energy bin (estimator maps have one unless split). */
function firstPlane(img: Image, nx: number, ny: number): Float64Array {
  return Float64Array.from(img.data.subarray(0, nx * ny));
}

/** "counts 1.00-10.0 TeV": the energy range the quick-look shows (all bins summed, or the first one). */
function quickLookTitle(name: string, img: Image, summed: boolean): string {
  const edges = img.axis.edges;
  const hi = summed ? edges[edges.length - 1]! : edges[1]!;
  return `${name} ${edges[0]!.toPrecision(3)}-${hi.toPrecision(3)} TeV`;
}

/**
 * Writes the declared products. Each file is encoded on this thread and compressed on the thread pool, so the
 * gzip and deflate of one file run while the next is encoded.
 */
export async function writeProductMaps(
  outputs: Record<string, string>,
  ds: MapDataset,
  maps: ExcessMaps | undefined,
  toSky: PixelToSky,
): Promise<void> {
  const { nx, ny } = ds.geom;
  const wcsHeader = wcsHeaderCards(ds.geom.wcs);
  const writes: Promise<unknown>[] = [];
  const declared = Object.keys(outputs).filter((output) => output !== 'summary');
  const isPng = (output: string) => output.endsWith('_png');
  const baseName = (output: string) => (isPng(output) ? output.slice(0, -'_png'.length) : output);
  const images = new Map(declared.map((output) => [output, productImage(baseName(output), ds, maps)]));
  // Named in the order declared, whatever the order of the writes.
  const problems = declared.flatMap((output) => {
    const img = images.get(output)!;
    return 'missing' in img ? [`output '${output}': ${img.missing}`] : [];
  });
  // Quick-looks first: their deflate (thread pool) runs while the FITS maps are encoded here, not after them.
  for (const output of [...declared.filter(isPng), ...declared.filter((o) => !isPng(o))]) {
    const img = images.get(output)!;
    if ('missing' in img) continue;
    const file = outputs[output] as string;
    const png = isPng(output);
    const name = baseName(output);
    if (png) {
      const isDiverging = name === 'excess' || name === 'norm' || name === 'flux';
      const summed = name === 'counts' || name === 'background';
      const data = summed ? sumPlanes(img, nx, ny) : firstPlane(img, nx, ny);
      const written = renderMapPngAsync(
        file,
        {
          data,
          nx,
          ny,
          pixelToSky: toSky,
          frame: ds.geom.wcs.frame,
          title: quickLookTitle(name, img, summed),
          unit: UNITS[name] ?? '',
          colormap: isDiverging ? 'coolwarm' : 'viridis',
        },
        STEP_OUTPUT,
      );
      writes.push(written);
    } else {
      const written = writeMapFitsAsync(
        file,
        {
          data: img.data,
          shape: img.shape,
          wcsHeader,
          axis: { ...img.axis, unit: 'TeV' },
          bunit: UNITS[name] ?? '',
          ...(img.meta ? { meta: img.meta } : {}),
        },
        STEP_OUTPUT,
      );
      writes.push(written);
    }
  }
  // Every write ends (or fails) before the step returns: no compression still running into an output path.
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

function sumPlanes(img: Image, nx: number, ny: number): Float64Array {
  const n = nx * ny;
  const out = new Float64Array(n);
  for (let i = 0; i < img.data.length; i++) out[i % n] = (out[i % n] as number) + (img.data[i] as number);
  return out;
}
