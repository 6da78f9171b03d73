// Port of src/reference/stack.ts `stackIrfWeighted`: the same float64 products and sums in the same order (no
// FMA in WebAssembly): bit-identical.
export { heapBase } from './common';

/** den[t][q] += w[t][p]; num[t][a][q] += data[t][a][p] · w[t][p] over the segments p = from[s] + j → q = to[s] + j. */
export function stackIrfWeighted(num: usize, den: usize, data: usize, weight: usize, from: usize, to: usize, len: usize, nSeg: i32, ni: i32, nI: i32, nT: i32, nA: i32): void {
  for (let t = 0; t < nT; t++) {
    const wBase = t * ni;
    for (let s = 0; s < nSeg; s++) {
      const p0 = wBase + load<i32>(from + (<usize>s << 2));
      const q0 = t * nI + load<i32>(to + (<usize>s << 2));
      const n = load<i32>(len + (<usize>s << 2));
      for (let j = 0; j < n; j++) {
        const at = den + (<usize>(q0 + j) << 3);
        store<f64>(at, load<f64>(at) + <f64>load<f32>(weight + (<usize>(p0 + j) << 2)));
      }
    }
    for (let a = 0; a < nA; a++) {
      const src = (t * nA + a) * ni;
      const dst = (t * nA + a) * nI;
      for (let s = 0; s < nSeg; s++) {
        const p0 = load<i32>(from + (<usize>s << 2));
        const q0 = dst + load<i32>(to + (<usize>s << 2));
        const n = load<i32>(len + (<usize>s << 2));
        for (let j = 0; j < n; j++) {
          const at = num + (<usize>(q0 + j) << 3);
          const d = <f64>load<f32>(data + (<usize>(src + p0 + j) << 2));
          const w = <f64>load<f32>(weight + (<usize>(wBase + p0 + j) << 2));
          store<f64>(at, load<f64>(at) + d * w);
        }
      }
    }
  }
}
