//! fdlibm's e_exp.c, the algorithm V8 uses for Math.exp (checked bit for bit on 1e6 arguments in
//! test/backends-bkg-map.test.ts), so kernels that exponentiate match the TypeScript reference exactly.

const O_THRESHOLD: f64 = 7.09782712893383973096e+02;
const U_THRESHOLD: f64 = -7.45133219101941108420e+02;
const LN2_HI: [f64; 2] = [6.93147180369123816490e-01, -6.93147180369123816490e-01];
const LN2_LO: [f64; 2] = [1.90821492927058770002e-10, -1.90821492927058770002e-10];
const HALF: [f64; 2] = [0.5, -0.5];
const INVLN2: f64 = std::f64::consts::LOG2_E; // 1.44269504088896338700e+00
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;
const E: f64 = std::f64::consts::E;
const HUGE: f64 = 1.0e+300;
const TWOM1000: f64 = 9.33263618503218878990e-302;
const TWO1023: f64 = 8.988465674311579539e307;

#[inline(always)]
fn from_hi(h: i32) -> f64 {
  f64::from_bits((h as u32 as u64) << 32)
}

/// e^x, bit-identical to V8's Math.exp. Always inlined: the background kernel calls it twice per bin and pixel.
#[inline(always)]
pub fn exp(mut x: f64) -> f64 {
  let bits = x.to_bits();
  let mut hx = (bits >> 32) as u32;
  let xsb = ((hx >> 31) & 1) as usize;
  hx &= 0x7fff_ffff;
  let (mut hi, mut lo, mut k) = (0.0f64, 0.0f64, 0i32);
  if hx >= 0x4086_2E42 {
    if hx >= 0x7ff0_0000 {
      if ((hx & 0xfffff) | (bits as u32)) != 0 {
        return x + x;
      }
      return if xsb == 0 { x } else { 0.0 };
    }
    if x > O_THRESHOLD {
      return f64::INFINITY;
    }
    if x < U_THRESHOLD {
      return 0.0;
    }
  }
  if hx > 0x3fd6_2e42 {
    if hx < 0x3FF0_A2B2 {
      if x == 1.0 {
        return E;
      }
      hi = x - LN2_HI[xsb];
      lo = LN2_LO[xsb];
      k = 1 - xsb as i32 - xsb as i32;
    } else {
      k = (INVLN2 * x + HALF[xsb]) as i32;
      let t = k as f64;
      hi = x - t * LN2_HI[0];
      lo = t * LN2_LO[0];
    }
    x = hi - lo;
  } else if hx < 0x3e30_0000 && HUGE + x > 1.0 {
    return 1.0 + x;
  }
  let t = x * x;
  let twopk = if k >= -1021 {
    from_hi(0x3ff0_0000i32.wrapping_add(k << 20))
  } else {
    from_hi(0x3ff0_0000i32.wrapping_add((k + 1000) << 20))
  };
  let c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if k == 0 {
    return 1.0 - ((x * c) / (c - 2.0) - x);
  }
  let y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if k >= -1021 {
    if k == 1024 {
      return y * 2.0 * TWO1023;
    }
    return y * twopk;
  }
  y * twopk * TWOM1000
}

/// Test hook: out[i] = exp(x[i]) (compared with V8's Math.exp by the test suite).
#[napi_derive::napi(js_name = "mathProbeExp", catch_unwind)]
pub fn math_probe_exp(x: &[f64], mut out: napi::bindgen_prelude::Float64Array) {
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let out = unsafe { out.as_mut() };
  for (o, &v) in out.iter_mut().zip(x) {
    *o = exp(v);
  }
}
