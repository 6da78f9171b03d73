// The WASM backend: the reference kernel set with every kernel that has an AssemblyScript module
// replaced by a wrapper that runs it. Each wrapper keeps the reference's signature.
import type { Kernels } from '../reference/index.js';
import { compiledKernelNames } from '../registry.js';
import { binEventsWasm } from './bin-events.js';
import { wasmModulePath } from './compile.js';

export { wasmMissing } from './compile.js';

import { instantiateKernelModule, type WasmKernelModule } from './module.js';

type AnyKernel = (...args: never[]) => unknown;

/** Builds the wrapper of one kernel from its instantiated module. */
const ADAPTERS: Record<string, (m: WasmKernelModule, reference: Kernels) => AnyKernel> = {
  correlateDisk: (m) =>
    ((
      img: Float64Array,
      nx: number,
      ny: number,
      kernel: Float64Array,
      kn: number,
      out: Float64Array,
    ): void => {
      m.call(
        'correlateDisk',
        ['in', null, null, 'in', null, 'out'],
        [img.subarray(0, nx * ny), nx, ny, kernel.subarray(0, kn * kn), kn, out.subarray(0, nx * ny)],
      );
    }) as AnyKernel,
  cashStatistics: (m) =>
    ((
      nOn: Float64Array,
      muB: Float64Array,
      outExcess: Float64Array,
      outTs: Float64Array,
      outSqrtTs: Float64Array,
    ): void => {
      const len = nOn.length;
      m.call(
        'cashStatistics',
        ['in', 'in', null, 'out', 'out', 'out'],
        [
          nOn,
          muB.subarray(0, len),
          len,
          outExcess.subarray(0, len),
          outTs.subarray(0, len),
          outSqrtTs.subarray(0, len),
        ],
      );
    }) as AnyKernel,
  evalAeffMap: (m) =>
    ((
      offsets: Float64Array,
      npix: number,
      table: Float64Array,
      lnENodes: Float64Array,
      nE: number,
      offNodes: Float64Array,
      nOff: number,
      bounds: Float64Array,
      energies: Float64Array,
      nT: number,
      scale: number,
      work: Float64Array,
      out: Float32Array,
    ): void => {
      m.call(
        'evalAeffMap',
        ['in', null, 'in', 'in', null, 'in', null, 'in', 'in', null, null, 'out', 'out'],
        [
          offsets.subarray(0, npix),
          npix,
          table.subarray(0, nE * nOff),
          lnENodes.subarray(0, nE),
          nE,
          offNodes.subarray(0, nOff),
          nOff,
          bounds.subarray(0, 4),
          energies.subarray(0, nT),
          nT,
          scale,
          work.subarray(0, 2 * nT),
          out.subarray(0, nT * npix),
        ],
      );
    }) as AnyKernel,
  stackAdd: (m) =>
    ((
      dst: Float32Array,
      dstNx: number,
      dstNy: number,
      src: Float32Array,
      srcNx: number,
      srcNy: number,
      nPlanes: number,
      x0: number,
      y0: number,
      mask: Uint8Array,
      maskPlanes: number,
      scale: number,
    ): void => {
      const srcPlane = srcNx * srcNy;
      m.call(
        'stackAdd',
        ['inout', null, null, 'in', null, null, null, null, null, 'in', null, null],
        [
          dst.subarray(0, nPlanes * dstNx * dstNy),
          dstNx,
          dstNy,
          src.subarray(0, nPlanes * srcPlane),
          srcNx,
          srcNy,
          nPlanes,
          x0,
          y0,
          mask.subarray(0, (maskPlanes === 1 ? 1 : nPlanes) * srcPlane),
          maskPlanes,
          scale,
        ],
      );
    }) as AnyKernel,
  stackIrfWeighted: (m) =>
    ((
      num: Float64Array,
      den: Float64Array,
      data: Float32Array,
      weight: Float32Array,
      from: Int32Array,
      to: Int32Array,
      len: Int32Array,
      nSeg: number,
      ni: number,
      nI: number,
      nT: number,
      nA: number,
    ): void => {
      m.call(
        'stackIrfWeighted',
        ['inout', 'inout', 'in', 'in', 'in', 'in', 'in', null, null, null, null, null],
        [
          num.subarray(0, nT * nA * nI),
          den.subarray(0, nT * nI),
          data.subarray(0, nT * nA * ni),
          weight.subarray(0, nT * ni),
          from.subarray(0, nSeg),
          to.subarray(0, nSeg),
          len.subarray(0, nSeg),
          nSeg,
          ni,
          nI,
          nT,
          nA,
        ],
      );
    }) as AnyKernel,
  stackMaskOr: (m) =>
    ((
      dst: Uint8Array,
      dstNx: number,
      dstNy: number,
      src: Uint8Array,
      srcNx: number,
      srcNy: number,
      nPlanes: number,
      x0: number,
      y0: number,
    ): void => {
      m.call(
        'stackMaskOr',
        ['inout', null, null, 'in', null, null, null, null, null],
        [
          dst.subarray(0, nPlanes * dstNx * dstNy),
          dstNx,
          dstNy,
          src.subarray(0, nPlanes * srcNx * srcNy),
          srcNx,
          srcNy,
          nPlanes,
          x0,
          y0,
        ],
      );
    }) as AnyKernel,
  evalPsfMap: (m) =>
    ((
      offsets: Float64Array,
      npix: number,
      table: Float64Array,
      lnENodes: Float64Array,
      nE: number,
      offNodes: Float64Array,
      nOff: number,
      radNodes: Float64Array,
      nRad: number,
      bounds: Float64Array,
      energies: Float64Array,
      nT: number,
      radEdges: Float64Array,
      nR: number,
      out: Float32Array,
    ): void => {
      m.call(
        'evalPsfMap',
        ['in', null, 'in', 'in', null, 'in', null, 'in', null, 'in', 'in', null, 'in', null, 'out'],
        [
          offsets.subarray(0, npix),
          npix,
          table.subarray(0, nE * nOff * nRad),
          lnENodes.subarray(0, nE),
          nE,
          offNodes.subarray(0, nOff),
          nOff,
          radNodes.subarray(0, nRad),
          nRad,
          bounds.subarray(0, 6),
          energies.subarray(0, nT),
          nT,
          radEdges.subarray(0, nR > 0 ? nR + 1 : 0),
          nR,
          out.subarray(0, nT * nR * npix),
        ],
      );
    }) as AnyKernel,
  evalEdispKernelMap: (m) =>
    ((
      offsets: Float64Array,
      npix: number,
      table: Float64Array,
      lnENodes: Float64Array,
      nE: number,
      nM: number,
      offNodes: Float64Array,
      nOff: number,
      migraEdges: Float64Array,
      bounds: Float64Array,
      energies: Float64Array,
      nT: number,
      recoEdges: Float64Array,
      nK: number,
      work: Float64Array,
      out: Float64Array,
    ): void => {
      m.call(
        'evalEdispKernelMap',
        ['in', null, 'in', 'in', null, null, 'in', null, 'in', 'in', 'in', null, 'in', null, 'out', 'out'],
        [
          offsets.subarray(0, npix),
          npix,
          table.subarray(0, nE * nM * nOff),
          lnENodes.subarray(0, nE),
          nE,
          nM,
          offNodes.subarray(0, nOff),
          nOff,
          migraEdges.subarray(0, nM + 1),
          bounds.subarray(0, 4),
          energies.subarray(0, nT),
          nT,
          recoEdges.subarray(0, nK + 1),
          nK,
          work.subarray(0, nM + 1),
          out.subarray(0, nT * nK * npix),
        ],
      );
    }) as AnyKernel,
  evalBkgMap: (m) =>
    ((
      fovLon: Float64Array,
      fovLat: Float64Array,
      npix: number,
      lnTable: Float64Array,
      lnENodes: Float64Array,
      nE: number,
      lonNodes: Float64Array,
      nLon: number,
      latNodes: Float64Array,
      nLat: number,
      bounds: Float64Array,
      edges: Float64Array,
      nK: number,
      solidAngle: Float64Array,
      scale: number,
      work: Float64Array,
      out: Float32Array,
    ): void => {
      m.call(
        'evalBkgMap',
        [
          'in',
          'in',
          null,
          'in',
          'in',
          null,
          'in',
          null,
          'in',
          null,
          'in',
          'in',
          null,
          'in',
          null,
          'out',
          'out',
        ],
        [
          fovLon.subarray(0, npix),
          fovLat.subarray(0, npix),
          npix,
          lnTable.subarray(0, nE * nLon * nLat),
          lnENodes.subarray(0, nE),
          nE,
          lonNodes.subarray(0, nLon),
          nLon,
          latNodes.subarray(0, nLat),
          nLat,
          bounds.subarray(0, 6),
          edges.subarray(0, nK + 1),
          nK,
          solidAngle.subarray(0, npix),
          scale,
          work.subarray(0, 3 * (nK + 1)),
          out.subarray(0, nK * npix),
        ],
      );
    }) as AnyKernel,
  binEvents: (m, reference) => binEventsWasm(m, reference) as AnyKernel,
};

/**
 * The kernel set with WASM where a module exists. Modules are read fresh on every call, so a
 * `rebuildWasm` during watch mode is picked up by the next `loadKernels('wasm')`.
 */
export async function loadWasmKernels(reference: Kernels): Promise<Kernels> {
  const kernels: Record<string, unknown> = { ...reference };
  for (const name of compiledKernelNames()) {
    const adapter = ADAPTERS[name];
    if (!adapter || !(name in reference)) continue;
    kernels[name] = adapter(await instantiateKernelModule(wasmModulePath(name)), reference);
  }
  return kernels as unknown as Kernels;
}
