/**
 * From a multi-dimensional FITS cell to an array in gammapy's axis order. A cell with TDIM (a, b, c) holds a in
 * the fastest position; numpy reads it as [c][b][a], and gammapy transposes it for most classes.
 */
import { FitsError, type FitsLocation } from '../fits/index.js';

/**
 * How a cell maps onto the IRF axes:
 * - 'transpose' (AEFF, EDISP, PSF_TABLE, parametric PSFs with TDIM): TDIM lists the axes in gammapy order, the
 *   first axis fastest: value(i0, i1, i2) = flat[i0 + n0·i1 + n0·n1·i2].
 * - 'background' (BKG_2D/3D): gammapy transposes, and transposes back when the shape does not then match
 *   the axes; so either TDIM = axes shape (as above) or TDIM = reversed axes shape (flat already in C order).
 * - 'reshape' (parametric PSF without TDIM): the flat cell reshaped in C order over the axes.
 */
export type CellLayout = 'transpose' | 'background' | 'reshape';

const eq = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The cell's values as a C-order array over `shape` (gammapy's axis order, last axis fastest), each multiplied
 * by `factor`.
 */
export function cellToAxisOrder(
  flat: ArrayLike<number>,
  tdim: readonly number[] | undefined,
  shape: readonly number[],
  layout: CellLayout,
  factor: number,
  where: FitsLocation,
): Float64Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== size) {
    throw new FitsError(
      'bad-value',
      where,
      `cell has ${flat.length} values but the axes (${shape.join('×')}) need ${size}`,
    );
  }
  // A background table is written in either axis order (H.E.S.S. and CTA files: energy slowest; GADF: energy fastest),
  // and only TDIM tells them apart: without it, a guess would read one order as the other, silently (gammapy 1.0 refuses
  // such a cell: "data shape (50000,) does not match axes shape"). Axes whose shape reads the same reversed (2×2×2, or
  // as many energy bins as offsets) have one TDIM for both orders, which reads energy fastest, as gammapy reads it.
  if (tdim === undefined && layout === 'background' && shape.length > 1) {
    const [slowest, fastest] = [[...shape].reverse().join(','), shape.join(',')];
    throw new FitsError(
      'bad-value',
      where,
      slowest === fastest
        ? `no TDIM: its ${size} values may lie in either axis order a background table is written in, and with these axes (${shape.join('×')}) no TDIM tells them apart; add TDIM = '(${fastest})' to a table written with energy varying fastest, as gammapy 1.0 then reads it (one written energy slowest must be written again)`
        : `no TDIM: its ${size} values may lie in either axis order a background table is written in; add TDIM = '(${slowest})' if energy varies slowest, as H.E.S.S. and CTA write it, or '(${fastest})' if it varies fastest`,
    );
  }
  // AEFF, EDISP, PSF_TABLE: likewise only TDIM tells the order (a writer's flat numpy array holds energy slowest,
  // the FITS order energy fastest); gammapy 1.0 refuses such a cell ("data shape (320,) does not match axes shape").
  if (tdim === undefined && layout === 'transpose' && shape.length > 1) {
    throw new FitsError(
      'bad-value',
      where,
      `no TDIM: its ${size} values cannot be placed on the axes (${shape.join('×')} in gammapy order) without it, as gammapy 1.0 cannot either; add TDIM = '(${shape.join(',')})' if the first axis varies fastest (the FITS order), or write the cell again with it`,
    );
  }
  const dims = tdim ?? (layout === 'reshape' ? [...shape].reverse() : [...shape]);
  let fitsOrderMatchesAxes: boolean;
  if (eq(dims, shape)) fitsOrderMatchesAxes = true;
  else if (layout !== 'transpose' && eq([...dims].reverse(), shape)) fitsOrderMatchesAxes = false;
  else {
    throw new FitsError(
      'bad-value',
      where,
      `TDIM (${dims.join(',')}) does not match the axes (${shape.join(', ')} in gammapy order)`,
    );
  }
  const out = new Float64Array(size);
  if (!fitsOrderMatchesAxes) {
    for (let i = 0; i < size; i++) out[i] = (flat[i] as number) * factor;
    return out;
  }
  // out is C order over shape; flat is "first index fastest" over the same shape.
  if (shape.length === 3) {
    // the IRF tables' case, as plain nested loops (the general odometer below is ~10× slower)
    const [n0, n1, n2] = shape as [number, number, number];
    let o = 0;
    for (let i0 = 0; i0 < n0; i0++) {
      for (let i1 = 0; i1 < n1; i1++) {
        for (let i2 = 0, f = i0 + n0 * i1; i2 < n2; i2++, f += n0 * n1)
          out[o++] = (flat[f] as number) * factor;
      }
    }
    return out;
  }
  const n = shape.length;
  const strides = new Array<number>(n);
  let s = 1;
  for (let k = 0; k < n; k++) {
    strides[k] = s;
    s *= shape[k] as number;
  }
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < size; o++) {
    let f = 0;
    for (let k = 0; k < n; k++) f += (idx[k] as number) * (strides[k] as number);
    out[o] = (flat[f] as number) * factor;
    for (let k = n - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      if ((idx[k] as number) < (shape[k] as number)) break;
      idx[k] = 0;
    }
  }
  return out;
}
