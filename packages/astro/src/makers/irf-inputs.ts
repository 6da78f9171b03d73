/**
 * IRF tables turned into the flat inputs of the kernels, once per run: interpolation nodes on the axis scale
 * (ln E for energies), axis edges as bounds, and for the background the hole-filled ln(rate) table.
 */
import { FLOAT32_TINY } from '@pipe/kernels/scalars';
import { centresFromEdges, edgesFromNodes, type IrfAxis, type IrfTable } from '../irf/index.js';

/** Why an IRF cannot be used by a maker. */
export interface IrfInputFailure {
  reason: 'irf-unsupported';
  message: string;
}

/** Nodes in interpolation scale (ln for log axes). */
function scaledNodes(axis: IrfAxis): Float64Array {
  return axis.interp === 'log' ? axis.nodes.map(Math.log) : Float64Array.from(axis.nodes);
}

function bounds(...axes: IrfAxis[]): Float64Array {
  const out = new Float64Array(2 * axes.length);
  axes.forEach((a, i) => {
    out[2 * i] = a.edges[0] as number;
    out[2 * i + 1] = a.edges[a.edges.length - 1] as number;
  });
  return out;
}

function expectAxes(irf: IrfTable, names: string[]): IrfInputFailure | undefined {
  const got = irf.axes.map((a) => a.name);
  if (got.length !== names.length || got.some((n, i) => n !== names[i])) {
    return {
      reason: 'irf-unsupported',
      message: `${irf.hduClass} in ${irf.file} [${irf.hdu}] has axes (${got.join(', ')}); expected (${names.join(', ')})`,
    };
  }
  return undefined;
}

/**
 * An offset axis of one bin (MAGIC and LST-1 point-like IRFs, made for a 1D analysis at the source's offset) has no
 * 3D reference: gammapy 1.0 fails to evaluate such an AEFF, EDISP or PSF on a map (its interpolator drops the
 * length-1 axis, then IRF.evaluate raises an IndexError, a parametric PSF a ValueError). pipe would return values
 * only inside that bin and zero beyond, a map gammapy never makes: refused. A BKG_2D is exempt (gammapy pads it).
 */
export function singleOffsetBin(irf: IrfTable): IrfInputFailure | undefined {
  const axis = irf.axes.find((a) => a.name === 'offset');
  if (axis?.nbin !== 1) return undefined;
  const range =
    axis.nodeType === 'center'
      ? `a single node at ${axis.nodes[0]} deg`
      : `one bin, ${axis.edges[0]}–${axis.edges[1]} deg`;
  return {
    reason: 'irf-unsupported',
    message: `${irf.file}[HDU '${irf.hdu}'] columns ${axis.column}_LO/${axis.column}_HI: the ${irf.hduClass.toUpperCase()} offset axis has ${range}; a 3D map needs it over a range of offsets (gammapy 1.0 fails on it too). IRFs with one offset bin serve a 1D (spectral) analysis`,
  };
}

/** AEFF_2D as the exposure kernel takes it. */
export interface AeffInputs {
  table: Float64Array;
  lnENodes: Float64Array;
  offNodes: Float64Array;
  /** [eMin, eMax, offMin, offMax] */
  bounds: Float64Array;
  /** LO_THRES / HI_THRES in TeV when present. */
  thresholds: { lo?: number; hi?: number };
}

export function aeffInputs(irf: IrfTable): AeffInputs | IrfInputFailure {
  const bad = expectAxes(irf, ['energy_true', 'offset']) ?? singleOffsetBin(irf);
  if (bad) return bad;
  const [e, o] = irf.axes as [IrfAxis, IrfAxis];
  return {
    table: irf.data,
    lnENodes: scaledNodes(e),
    offNodes: scaledNodes(o),
    bounds: bounds(e, o),
    thresholds: { ...(irf.thresholds ?? {}) },
  };
}

/**
 * BKG_3D or BKG_2D as the background kernel takes it. A BKG_2D (radially symmetric) table is a 3-D table whose
 * "lon" axis is the offset from the pointing and whose "lat" axis has a single node (dropped).
 */
export interface BkgInputs {
  /** True for BKG_2D: evaluate at lon = the offset from the pointing, lat = 0. */
  radial: boolean;
  /** A BKG_3D whose FoV axes are aligned with alt/az (FOVALIGN = ALTAZ), not with RA/Dec. */
  altAz: boolean;
  /** ln(max(rate, float32 tiny)) after hole filling, [energy][fov_lon][fov_lat], rate in MeV⁻¹ s⁻¹ sr⁻¹. */
  lnTable: Float64Array;
  lnENodes: Float64Array;
  lonNodes: Float64Array;
  latNodes: Float64Array;
  /** [eMin, eMax, lonMin, lonMax, latMin, latMax] (TeV, deg). */
  bounds: Float64Array;
}

/**
 * Hole filling along energy (science spec §4.3 step 1): a cell 0 or non-finite with valid cells on both sides
 * in its (fov_lon, fov_lat) column becomes exp of the linear interpolation of ln(value) against the bin index
 * between the nearest valid neighbours. Leading and trailing zeros stay 0 and non-finite cells NaN, as gammapy leaves
 * them (its interpolation then gives NaN rates there, which the safe mask drops). A negative cell is no hole but a
 * valid cell of rate ~0 (gammapy's interp_missing_data masks only 0 and non-finite cells, and its log scale clips
 * the rest to float32 tiny). Works in place on [e][plane] data.
 */
export function fillBackgroundHoles(data: Float64Array, nE: number, plane: number): void {
  for (let c = 0; c < plane; c++) {
    let prev = -1;
    for (let e = 0; e < nE; e++) {
      const v = data[e * plane + c] as number;
      if (v === 0 || !Number.isFinite(v)) continue;
      if (prev >= 0 && e - prev > 1) {
        const l0 = Math.log(Math.max(data[prev * plane + c] as number, FLOAT32_TINY));
        const l1 = Math.log(Math.max(v, FLOAT32_TINY));
        for (let h = prev + 1; h < e; h++)
          data[h * plane + c] = Math.exp(l0 + ((h - prev) / (e - prev)) * (l1 - l0));
      }
      prev = e;
    }
    // What is left stays as gammapy leaves it: a non-finite cell at an end NaN (every rate interpolated from it is
    // NaN, and the safe mask drops those bins); a negative cell 0, as its log scale clips it.
    for (let e = 0; e < nE; e++) {
      const v = data[e * plane + c] as number;
      if (!Number.isFinite(v)) data[e * plane + c] = Number.NaN;
      else if (v < 0) data[e * plane + c] = 0;
    }
  }
}

export function bkgInputs(irf: IrfTable): BkgInputs | IrfInputFailure {
  const radial = irf.hduClass === 'bkg_2d';
  if (!radial && irf.hduClass !== 'bkg_3d')
    return {
      reason: 'irf-unsupported',
      message: `${irf.hduClass} (${irf.file} [${irf.hdu}]) is not a background`,
    };
  const bad = expectAxes(irf, radial ? ['energy', 'offset'] : ['energy', 'fov_lon', 'fov_lat']);
  if (bad) return bad;
  const alignment = (irf.fovAlignment ?? 'RADEC').toUpperCase();
  if (!radial && alignment !== 'RADEC' && alignment !== 'ALTAZ') {
    return {
      reason: 'irf-unsupported',
      message: `FOVALIGN=${irf.fovAlignment} (${irf.file} [${irf.hdu}]) is neither RADEC nor ALTAZ (gammapy's FoVAlignment)`,
    };
  }
  const e = irf.axes[0] as IrfAxis;
  let lon = irf.axes[1] as IrfAxis;
  const lat = radial ? undefined : (irf.axes[2] as IrfAxis);
  let data: Float64Array = Float64Array.from(irf.data);
  fillBackgroundHoles(data, e.nbin, lon.nbin * (lat?.nbin ?? 1));
  // gammapy's MapDatasetMaker pads an offset axis (BKG_2D) by one bin at each end, repeating the edge values
  // (background_pad_offset, on by default): the rate is flat inside the first bin centre instead of extrapolated,
  // and reaches half a bin beyond the table's last edge.
  if (radial) {
    data = padEdgeValues(data, e.nbin, lon.nbin);
    lon = padAxis(lon);
  }
  const lnTable = data.map((v) => Math.log(Math.max(v, FLOAT32_TINY)));
  const b = bounds(...(lat ? [e, lon, lat] : [e, lon]));
  return {
    radial,
    altAz: !radial && alignment === 'ALTAZ',
    lnTable,
    lnENodes: scaledNodes(e),
    lonNodes: scaledNodes(lon),
    latNodes: lat ? scaledNodes(lat) : Float64Array.of(0),
    bounds: lat
      ? b
      : Float64Array.of(
          b[0] as number,
          b[1] as number,
          b[2] as number,
          b[3] as number,
          Number.NEGATIVE_INFINITY,
          Number.POSITIVE_INFINITY,
        ),
  };
}

/** rows × n values → rows × (n + 2), each row's first and last value repeated at its ends (np.pad, mode "edge"). */
function padEdgeValues(data: Float64Array, rows: number, n: number): Float64Array {
  const out = new Float64Array(rows * (n + 2));
  for (let r = 0; r < rows; r++) {
    out.set(data.subarray(r * n, (r + 1) * n), r * (n + 2) + 1);
    out[r * (n + 2)] = data[r * n] as number;
    out[r * (n + 2) + n + 1] = data[r * n + n - 1] as number;
  }
  return out;
}

/**
 * The axis one bin longer at each end, as gammapy's MapAxis.pad: its edges (or, for a node axis, its nodes)
 * extrapolated by one step in the axis scale at each end, the rest derived as the IRF reader derives it.
 */
function padAxis(axis: IrfAxis): IrfAxis {
  const log = axis.interp === 'log';
  const fwd = (v: number) => (log ? Math.log(v) : v);
  const inv = (v: number) => (log ? Math.exp(v) : v);
  const extend = (a: Float64Array): Float64Array => {
    const n = a.length;
    const lo = 2 * fwd(a[0] as number) - fwd(a[1] as number);
    const hi = 2 * fwd(a[n - 1] as number) - fwd(a[n - 2] as number);
    return Float64Array.of(inv(lo), ...a, inv(hi));
  };
  if (axis.nodeType === 'edges') {
    const edges = extend(axis.edges);
    return { ...axis, nbin: axis.nbin + 2, edges, nodes: centresFromEdges(edges, axis.interp) };
  }
  const nodes = extend(axis.nodes);
  return { ...axis, nbin: axis.nbin + 2, nodes, edges: edgesFromNodes(nodes, axis.interp) };
}

/** PSF_TABLE as the PSF kernel takes it. */
export interface PsfInputs {
  table: Float64Array;
  lnENodes: Float64Array;
  offNodes: Float64Array;
  radNodes: Float64Array;
  bounds: Float64Array;
}

export function psfInputs(irf: IrfTable): PsfInputs | IrfInputFailure {
  if (irf.hduClass !== 'psf_table')
    return {
      reason: 'irf-unsupported',
      message: `${irf.hduClass} (${irf.file} [${irf.hdu}]) is not a PSF table; parametric PSFs go through parametricPsfMap`,
    };
  const bad = expectAxes(irf, ['energy_true', 'offset', 'rad']) ?? singleOffsetBin(irf);
  if (bad) return bad;
  const [e, o, r] = irf.axes as [IrfAxis, IrfAxis, IrfAxis];
  return {
    table: irf.data,
    lnENodes: scaledNodes(e),
    offNodes: scaledNodes(o),
    radNodes: scaledNodes(r),
    bounds: bounds(e, o, r),
  };
}

/** EDISP_2D as the edisp kernel takes it. */
export interface EdispInputs {
  table: Float64Array;
  lnENodes: Float64Array;
  migraEdges: Float64Array;
  offNodes: Float64Array;
  /** [eMin, eMax, offMin, offMax] */
  bounds: Float64Array;
}

export function edispInputs(irf: IrfTable): EdispInputs | IrfInputFailure {
  const bad = expectAxes(irf, ['energy_true', 'migra', 'offset']) ?? singleOffsetBin(irf);
  if (bad) return bad;
  const [e, m, o] = irf.axes as [IrfAxis, IrfAxis, IrfAxis];
  return {
    table: irf.data,
    lnENodes: scaledNodes(e),
    migraEdges: Float64Array.from(m.edges),
    offNodes: scaledNodes(o),
    bounds: bounds(e, o),
  };
}

export function isIrfInputFailure(v: object): v is IrfInputFailure {
  return 'reason' in v && (v as IrfInputFailure).reason === 'irf-unsupported';
}
