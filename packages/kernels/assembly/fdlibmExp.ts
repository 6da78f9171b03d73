// fdlibm's e_exp.c, the algorithm V8 uses for Math.exp (checked bit for bit on 1e6 arguments in
// test/backends-bkg-map.test.ts), so kernels that exponentiate match the TypeScript reference exactly.
// AssemblyScript's own Math.exp (musl) differs from V8 in the last bit now and then.

const O_THRESHOLD: f64 = 7.09782712893383973096e+02;
const U_THRESHOLD: f64 = -7.45133219101941108420e+02;
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INVLN2: f64 = 1.44269504088896338700e+00;
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;
const E: f64 = 2.718281828459045;
const HUGE: f64 = 1.0e+300;
const TWOM1000: f64 = 9.33263618503218878990e-302;
const TWO1023: f64 = 8.988465674311579539e307;

@inline function fromHi(h: i32): f64 {
  return reinterpret<f64>(<u64>(<u32>h) << 32);
}

/** e^x, bit-identical to V8's Math.exp. */
export function fdlibmExp(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let hx = <u32>(bits >> 32);
  const xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | <u32>bits) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      if (x == 1) return E;
      hi = xsb == 0 ? x - LN2_HI : x + LN2_HI;
      lo = xsb == 0 ? LN2_LO : -LN2_LO;
      k = 1 - <i32>xsb - <i32>xsb;
    } else {
      k = <i32>(INVLN2 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = <f64>k;
      hi = x - t * LN2_HI;
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (HUGE + x > 1) return 1 + x;
  }
  const t = x * x;
  const twopk = k >= -1021 ? fromHi(0x3ff00000 + (k << 20)) : fromHi(0x3ff00000 + ((k + 1000) << 20));
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * TWO1023;
    return y * twopk;
  }
  return y * twopk * TWOM1000;
}
