/**
 * IRF axes from `<PREFIX>_LO`/`<PREFIX>_HI` columns, as gammapy 1.0 builds them (MapAxes.from_table,
 * format gadf-dl3): LO ≈ HI means the values are nodes; otherwise they are bin edges.
 */
import type { BinTable, FitsLocation } from '../fits/index.js';
import { FitsError } from '../fits/index.js';
import { LIBRARY_UNIT, type Quantity, requireUnitFactor } from './units.js';

/** Axis names as gammapy uses them. */
export type IrfAxisName = 'energy_true' | 'energy' | 'offset' | 'migra' | 'rad' | 'fov_lon' | 'fov_lat';

/** Interpolation scale of an axis: values are interpolated in ln(x) for 'log', in x for 'lin'. */
export type AxisInterp = 'lin' | 'log';

/** One IRF axis, values in library units (TeV, deg, or dimensionless for migra). */
export interface IrfAxis {
  name: IrfAxisName;
  /** Column prefix it was read from (ENERG, ETRUE, THETA, MIGRA, RAD, DETX, DETY). */
  column: string;
  unit: string;
  interp: AxisInterp;
  /** 'edges' when LO/HI were bin edges; 'center' when they were nodes (LO == HI). */
  nodeType: 'edges' | 'center';
  nbin: number;
  /** n + 1 bin edges. For node axes: mid-points in the axis scale, extended by half a spacing at each end. */
  edges: Float64Array;
  /** n interpolation nodes: the given nodes, or the bin centres in the axis scale (log: √(lo·hi)). */
  nodes: Float64Array;
}

/** gammapy's IRF_DL3_AXES_SPECIFICATION. */
export const AXIS_SPEC: Record<string, { name: IrfAxisName; interp: AxisInterp; quantity: Quantity }> = {
  THETA: { name: 'offset', interp: 'lin', quantity: 'angle' },
  ENERG: { name: 'energy_true', interp: 'log', quantity: 'energy' },
  ETRUE: { name: 'energy_true', interp: 'log', quantity: 'energy' },
  RAD: { name: 'rad', interp: 'lin', quantity: 'angle' },
  DETX: { name: 'fov_lon', interp: 'lin', quantity: 'angle' },
  DETY: { name: 'fov_lat', interp: 'lin', quantity: 'angle' },
  MIGRA: { name: 'migra', interp: 'lin', quantity: 'dimensionless' },
};

const scale = (interp: AxisInterp) => (interp === 'log' ? Math.log : (x: number) => x);
const inverse = (interp: AxisInterp) => (interp === 'log' ? Math.exp : (x: number) => x);

/** Edges from nodes: linear interpolation of pix → scaled value at half-integer pixels, extrapolated at the ends. */
export function edgesFromNodes(nodes: ArrayLike<number>, interp: AxisInterp): Float64Array {
  const n = nodes.length;
  const s = Array.from(nodes, scale(interp));
  const inv = inverse(interp);
  const out = new Float64Array(n + 1);
  if (n === 1) return out.fill(nodes[0] as number);
  for (let k = 0; k <= n; k++) {
    const j = Math.min(Math.max(k - 1, 0), n - 2); // segment [j, j+1] used for pixel k - 0.5
    const s0 = s[j] as number;
    const s1 = s[j + 1] as number;
    out[k] = inv(s0 + (k - 0.5 - j) * (s1 - s0));
  }
  return out;
}

/** Bin centres of edges in the axis scale (log: exp of the mean log, i.e. √(lo·hi)). */
export function centresFromEdges(edges: ArrayLike<number>, interp: AxisInterp): Float64Array {
  const f = scale(interp);
  const inv = inverse(interp);
  const out = new Float64Array(edges.length - 1);
  for (let i = 0; i < out.length; i++) {
    const lo = f(edges[i] as number);
    out[i] = inv(lo + 0.5 * (f(edges[i + 1] as number) - lo));
  }
  return out;
}

/** numpy.allclose with its default tolerances. */
function allClose(a: Float64Array, b: Float64Array): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => Math.abs(x - (b[i] as number)) <= 1e-8 + 1e-5 * Math.abs(b[i] as number))
  );
}

/**
 * An axis must be finite numbers in strictly increasing order: bins are looked up by bisection, so a reversed
 * or shuffled axis (which gammapy 1.0 accepts) silently puts values in the wrong bins.
 */
function requireIncreasing(values: Float64Array, what: string, unit: string, at: FitsLocation): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const u = unit ? ` ${unit}` : '';
    if (!Number.isFinite(v))
      throw new FitsError(
        'bad-value',
        at,
        `${what}: value ${i} (0-based) is ${String(v)}, not a finite number`,
      );
    if (i > 0 && !(v > (values[i - 1] as number)))
      throw new FitsError(
        'bad-value',
        at,
        `${what} are not strictly increasing: value ${i - 1} (0-based) is ${values[i - 1]}${u}, value ${i} is ${v}${u}`,
      );
  }
}

/** Reads the axis with this column prefix from the first row of an IRF table. */
export function readAxis(
  table: BinTable,
  prefix: string,
  where: FitsLocation,
  nameOverride?: IrfAxisName,
): IrfAxis {
  const spec = AXIS_SPEC[prefix];
  if (!spec) throw new Error(`unknown IRF axis prefix ${prefix}`);
  const read = (suffix: string) => {
    const colName = `${prefix}_${suffix}`;
    const col = table.column(colName);
    if (col.kind !== 'numeric')
      throw new FitsError(
        'bad-value',
        { ...where, column: colName },
        `axis column is ${col.kind}, not numeric`,
      );
    const factor = requireUnitFactor(col.unit, spec.quantity, { ...where, column: colName });
    const cell = table.cell(colName, 0);
    const values =
      typeof cell === 'number' ? Float64Array.of(cell) : Float64Array.from(cell as ArrayLike<number>);
    if (factor !== 1) for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * factor;
    return values;
  };
  const lo = read('LO');
  const hi = read('HI');
  const base = {
    name: nameOverride ?? spec.name,
    column: prefix,
    unit: LIBRARY_UNIT[spec.quantity],
    interp: spec.interp,
  };
  if (lo.length !== hi.length)
    throw new FitsError(
      'bad-value',
      { ...where, column: `${prefix}_HI` },
      `${prefix}_LO has ${lo.length} values but ${prefix}_HI has ${hi.length}`,
    );
  if (allClose(hi, lo)) {
    requireIncreasing(hi, `${prefix}_LO/${prefix}_HI nodes`, base.unit, { ...where, column: `${prefix}_LO` });
    return {
      ...base,
      nodeType: 'center',
      nbin: hi.length,
      nodes: hi,
      edges: edgesFromNodes(hi, spec.interp),
    };
  }
  const edges = new Float64Array(lo.length + 1);
  edges.set(lo);
  edges[lo.length] = hi[hi.length - 1] as number;
  requireIncreasing(edges, `${prefix}_LO/${prefix}_HI edges`, base.unit, {
    ...where,
    column: `${prefix}_LO`,
  });
  return { ...base, nodeType: 'edges', nbin: lo.length, edges, nodes: centresFromEdges(edges, spec.interp) };
}

/** The energy column prefix present in a table (ENERG, else ETRUE). */
export function energyPrefix(table: BinTable, where: FitsLocation): string {
  if (table.hasColumn('ENERG_LO')) return 'ENERG';
  if (table.hasColumn('ETRUE_LO')) return 'ETRUE';
  table.info('ENERG_LO'); // throws missing-column with the list of columns
  throw new FitsError('missing-column', { ...where, column: 'ENERG_LO' }, 'no energy axis');
}
