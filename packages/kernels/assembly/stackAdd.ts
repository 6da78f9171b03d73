// Port of src/reference/stack.ts `stackAdd`: the float32 product, then the addition done in float64 and
// rounded to float32 once, exactly as the reference's `dst[d] = dst[d] + v` on a Float32Array: bit-identical.
export { heapBase } from './common';

/** dst[k][y0 + y][x0 + x] += scale · src[k][y][x] where the mask is set and the product finite. */
export function stackAdd(dst: usize, dstNx: i32, dstNy: i32, src: usize, srcNx: i32, srcNy: i32, nPlanes: i32, x0: i32, y0: i32, mask: usize, maskPlanes: i32, scale: f64): void {
  const dstPlane = dstNx * dstNy;
  const srcPlane = srcNx * srcNy;
  const xa = max(0, -x0);
  const xb = min(srcNx, dstNx - x0);
  for (let k = 0; k < nPlanes; k++) {
    const maskBase = maskPlanes == 1 ? 0 : k * srcPlane;
    for (let y = 0; y < srcNy; y++) {
      const dy = y + y0;
      if (dy < 0 || dy >= dstNy) continue;
      for (let x = xa; x < xb; x++) {
        const s = y * srcNx + x;
        if (load<u8>(mask + <usize>(maskBase + s)) == 0) continue;
        const v = <f64>(<f32>(scale * <f64>load<f32>(src + (<usize>(k * srcPlane + s) << 2))));
        if (v - v != 0) continue;
        const at = dst + (<usize>(k * dstPlane + dy * dstNx + x + x0) << 2);
        store<f32>(at, <f32>(<f64>load<f32>(at) + v));
      }
    }
  }
}
