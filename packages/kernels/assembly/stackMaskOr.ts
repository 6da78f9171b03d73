// Port of src/reference/stack.ts `stackMaskOr`: byte logic only, bit-identical by construction. The overlap of
// the cutout with the destination is clipped once; each row is then a straight pass.
export { heapBase } from './common';

/** dst[k][y0 + y][x0 + x] |= src[k][y][x] (1 where the source byte is non-zero, else unchanged). */
export function stackMaskOr(dst: usize, dstNx: i32, dstNy: i32, src: usize, srcNx: i32, srcNy: i32, nPlanes: i32, x0: i32, y0: i32): void {
  const dstPlane = dstNx * dstNy;
  const srcPlane = srcNx * srcNy;
  const xa = max(0, -x0);
  const xb = min(srcNx, dstNx - x0);
  const ya = max(0, -y0);
  const yb = min(srcNy, dstNy - y0);
  if (xa >= xb || ya >= yb) return;
  for (let k = 0; k < nPlanes; k++) {
    for (let y = ya; y < yb; y++) {
      const s = src + <usize>(k * srcPlane + y * srcNx);
      const d = dst + <usize>(k * dstPlane + (y + y0) * dstNx + x0);
      for (let x = xa; x < xb; x++) {
        if (load<u8>(s + <usize>x) != 0) store<u8>(d + <usize>x, 1);
      }
    }
  }
}
