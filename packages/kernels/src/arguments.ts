// Argument checks shared by every backend, made before a kernel runs: a caller's size or type mistake is an
// error naming the kernel and the argument, the same on every backend, instead of a read past an array's end
// (the native addon makes these checks in Rust too: native/src/common.rs), stale memory of an earlier call (WASM
// copies each array by its own length) or NaN sums (the reference). Also refused: what the backends would answer
// differently, and so could put one backend's answer in the cache for all of them (an even kernel width, energy
// edges that do not rise, a WCS block whose rotation is not one).
import type { Kernels } from './reference/index.js';

type ArrayType =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor;

/** A kernel called with arguments it cannot take; the message names the kernel and the argument. */
export class KernelArgumentError extends RangeError {
  override name = 'KernelArgumentError';
}

function fail(kernel: string, what: string, problem: string): never {
  throw new KernelArgumentError(`${kernel}: ${what}: ${problem}`);
}

/** A size argument: a non-negative integer. */
function count(kernel: string, what: string, v: number): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= 9e15)) fail(kernel, what, `${v} is not a non-negative integer`);
  return v;
}

/** Several size arguments, by name. */
function counts(kernel: string, sizes: Record<string, number>): void {
  for (const [what, v] of Object.entries(sizes)) count(kernel, what, v);
}

/** An array argument: of type `type`, and at least `need` long. */
function array(kernel: string, what: string, a: unknown, type: ArrayType, need: number): void {
  if (!(a instanceof type))
    fail(kernel, what, `a ${type.name} is required, not ${(a as object)?.constructor?.name ?? typeof a}`);
  if (a.length < need) fail(kernel, what, `length ${a.length} < required ${need}`);
}

/** Edges (or their logarithms) that rise strictly and are numbers (±Infinity allowed at the ends only). */
function rising(kernel: string, what: string, edges: Float64Array, n: number): void {
  for (let k = 0; k < n; k++) {
    const e = edges[k] as number;
    if (Number.isNaN(e)) fail(kernel, what, `edge ${k} is NaN`);
    if (k > 0 && !(e > (edges[k - 1] as number)))
      fail(kernel, what, `edges must rise: edge ${k} (${e}) after ${edges[k - 1]}`);
  }
}

/** The 14-value WCS block (reference/sky.ts): finite pixel sizes and reference pixel, a rotation matrix. */
function wcsBlock(kernel: string, wcs: Float64Array): void {
  for (const [i, name] of [
    [1, 'x0'],
    [2, 'y0'],
    [3, 'cdelt1'],
    [4, 'cdelt2'],
  ] as const) {
    const v = wcs[i] as number;
    if (!Number.isFinite(v) || (i >= 3 && v === 0)) fail(kernel, 'wcs', `${name} is ${v}`);
  }
  // Rows of R orthonormal (R·Rᵀ = I) to well within what any projection would notice.
  for (let i = 0; i < 3; i++)
    for (let j = i; j < 3; j++) {
      let dot = 0;
      for (let k = 0; k < 3; k++) dot += (wcs[5 + 3 * i + k] as number) * (wcs[5 + 3 * j + k] as number);
      if (!(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-9))
        fail(kernel, 'wcs', 'its rotation (values 5–13) is not a rotation matrix');
    }
}

/** binEvents' checks, also for callers that reach a backend another way (binEventsAsync's native task). */
export function checkBinEventsArguments(...args: Parameters<Kernels['binEvents']>): void {
  const [ra, dec, energy, events, wcs, nx, ny, lnEdges, nE, out] = args;
  const n = 'binEvents';
  count(n, 'count', events);
  const cells = count(n, 'nx', nx) * count(n, 'ny', ny) * count(n, 'nE', nE);
  for (const [what, a] of [
    ['ra', ra],
    ['dec', dec],
    ['energy', energy],
  ] as const)
    array(n, what, a, Float64Array, events);
  array(n, 'wcs', wcs, Float64Array, 14);
  wcsBlock(n, wcs);
  array(n, 'lnEdges', lnEdges, Float64Array, nE + 1);
  rising(n, 'lnEdges', lnEdges, nE + 1);
  array(n, 'out', out, Float32Array, cells);
}

/** A kernel's argument checks: its name (for the messages), then its arguments. */
type Checks = { [K in keyof Kernels]?: (n: string, ...args: Parameters<Kernels[K]>) => void };

/** The checks of each kernel, made before the backend's kernel runs. */
const CHECKS: Checks = {
  correlateDisk(n, img, nx, ny, kernel, kn, out) {
    const cells = count(n, 'nx', nx) * count(n, 'ny', ny);
    if (count(n, 'kn', kn) % 2 === 0) fail(n, 'kn', `${kn} must be odd`);
    array(n, 'img', img, Float64Array, cells);
    array(n, 'kernel', kernel, Float64Array, kn * kn);
    array(n, 'out', out, Float64Array, cells);
  },
  cashStatistics(n, nOn, muB, outExcess, outTs, outSqrtTs) {
    array(n, 'nOn', nOn, Float64Array, 0);
    for (const [what, a] of [
      ['muB', muB],
      ['outExcess', outExcess],
      ['outTs', outTs],
      ['outSqrtTs', outSqrtTs],
    ] as const)
      array(n, what, a, Float64Array, nOn.length);
  },
  binEvents: (_n, ...args) => checkBinEventsArguments(...args),
  evalAeffMap(n, offsets, npix, table, lnENodes, nE, offNodes, nOff, bounds, energies, nT, _1, work, out) {
    counts(n, { npix, nE, nOff, nT });
    array(n, 'offsets', offsets, Float64Array, npix);
    array(n, 'table', table, Float64Array, nE * nOff);
    array(n, 'lnENodes', lnENodes, Float64Array, nE);
    array(n, 'offNodes', offNodes, Float64Array, nOff);
    array(n, 'bounds', bounds, Float64Array, 4);
    array(n, 'energies', energies, Float64Array, nT);
    array(n, 'work', work, Float64Array, 2 * nT);
    array(n, 'out', out, Float32Array, nT * npix);
  },
  evalBkgMap(
    n,
    fovLon,
    fovLat,
    npix,
    lnTable,
    lnENodes,
    nE,
    lonNodes,
    nLon,
    latNodes,
    nLat,
    bounds,
    edges,
    nK,
    solidAngle,
    _1,
    work,
    out,
  ) {
    counts(n, { npix, nE, nLon, nLat, nK });
    array(n, 'fovLon', fovLon, Float64Array, npix);
    array(n, 'fovLat', fovLat, Float64Array, npix);
    array(n, 'lnTable', lnTable, Float64Array, nE * nLon * nLat);
    array(n, 'lnENodes', lnENodes, Float64Array, nE);
    array(n, 'lonNodes', lonNodes, Float64Array, nLon);
    array(n, 'latNodes', latNodes, Float64Array, nLat);
    array(n, 'bounds', bounds, Float64Array, 6);
    array(n, 'edges', edges, Float64Array, nK + 1);
    array(n, 'solidAngle', solidAngle, Float64Array, npix);
    array(n, 'work', work, Float64Array, 3 * (nK + 1));
    array(n, 'out', out, Float32Array, nK * npix);
  },
  evalPsfMap(
    n,
    offsets,
    npix,
    table,
    lnENodes,
    nE,
    offNodes,
    nOff,
    radNodes,
    nRad,
    bounds,
    energies,
    nT,
    radEdges,
    nR,
    out,
  ) {
    counts(n, { npix, nE, nOff, nRad, nT, nR });
    array(n, 'offsets', offsets, Float64Array, npix);
    array(n, 'table', table, Float64Array, nE * nOff * nRad);
    array(n, 'lnENodes', lnENodes, Float64Array, nE);
    array(n, 'offNodes', offNodes, Float64Array, nOff);
    array(n, 'radNodes', radNodes, Float64Array, nRad);
    array(n, 'bounds', bounds, Float64Array, 6);
    array(n, 'energies', energies, Float64Array, nT);
    array(n, 'radEdges', radEdges, Float64Array, nR > 0 ? nR + 1 : 0);
    array(n, 'out', out, Float32Array, nT * nR * npix);
  },
  evalEdispKernelMap(
    n,
    offsets,
    npix,
    table,
    lnENodes,
    nE,
    nM,
    offNodes,
    nOff,
    migraEdges,
    bounds,
    energies,
    nT,
    recoEdges,
    nK,
    work,
    out,
  ) {
    counts(n, { npix, nE, nM, nOff, nT, nK });
    array(n, 'offsets', offsets, Float64Array, npix);
    array(n, 'table', table, Float64Array, nE * nM * nOff);
    array(n, 'lnENodes', lnENodes, Float64Array, nE);
    array(n, 'offNodes', offNodes, Float64Array, nOff);
    array(n, 'migraEdges', migraEdges, Float64Array, nM + 1);
    array(n, 'bounds', bounds, Float64Array, 4);
    array(n, 'energies', energies, Float64Array, nT);
    array(n, 'recoEdges', recoEdges, Float64Array, nK + 1);
    array(n, 'work', work, Float64Array, nM + 1);
    array(n, 'out', out, Float64Array, nT * nK * npix);
  },
  stackAdd(n, dst, dstNx, dstNy, src, srcNx, srcNy, nPlanes, _1, _2, mask, maskPlanes) {
    const dstPlane = count(n, 'dstNx', dstNx) * count(n, 'dstNy', dstNy);
    const srcPlane = count(n, 'srcNx', srcNx) * count(n, 'srcNy', srcNy);
    count(n, 'nPlanes', nPlanes);
    array(n, 'dst', dst, Float32Array, nPlanes * dstPlane);
    array(n, 'src', src, Float32Array, nPlanes * srcPlane);
    array(n, 'mask', mask, Uint8Array, maskPlanes === 1 ? srcPlane : nPlanes * srcPlane);
  },
  stackMaskOr(n, dst, dstNx, dstNy, src, srcNx, srcNy, nPlanes) {
    const dstPlane = count(n, 'dstNx', dstNx) * count(n, 'dstNy', dstNy);
    const srcPlane = count(n, 'srcNx', srcNx) * count(n, 'srcNy', srcNy);
    count(n, 'nPlanes', nPlanes);
    array(n, 'dst', dst, Uint8Array, nPlanes * dstPlane);
    array(n, 'src', src, Uint8Array, nPlanes * srcPlane);
  },
  stackIrfWeighted(n, num, den, data, weight, from, to, len, nSeg, ni, nI, nT, nA) {
    counts(n, { nSeg, ni, nI, nT, nA });
    array(n, 'num', num, Float64Array, nT * nA * nI);
    array(n, 'den', den, Float64Array, nT * nI);
    array(n, 'data', data, Float32Array, nT * nA * ni);
    array(n, 'weight', weight, Float32Array, nT * ni);
    for (const [what, a] of [
      ['from', from],
      ['to', to],
      ['len', len],
    ] as const)
      array(n, what, a, Int32Array, nSeg);
    for (let s = 0; s < nSeg; s++) {
      const p = from[s] as number;
      const q = to[s] as number;
      const l = len[s] as number;
      if (p < 0 || q < 0 || l < 0 || p + l > ni || q + l > nI)
        fail(n, 'segments', `segment ${s} (${p}, ${q}, ${l}) is outside the grids`);
    }
  },
};

/** `kernels` with every call's arguments checked first (see the top of this file). */
export function checkedKernels(k: Kernels): Kernels {
  const checked: Record<string, unknown> = { ...k };
  for (const [name, check] of Object.entries(CHECKS) as Array<[keyof Kernels, (...a: unknown[]) => void]>) {
    const run = k[name] as (...a: unknown[]) => unknown;
    checked[name] = (...args: unknown[]) => {
      check(name, ...args);
      return run(...args);
    };
  }
  return checked as unknown as Kernels;
}
