//! fdlibm's e_log.c, the algorithm V8 uses for Math.log (checked bit for bit in
//! test/backends-math.test.ts), so kernels that take logarithms match the TypeScript reference exactly.
//! Rust's f64::ln (the system libm) and the libm crate differ from V8 in the last bit now and then.

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const TWO54: f64 = 1.80143985094819840000e16;
const LG1: f64 = 6.666666666666735130e-01;
const LG2: f64 = 3.999999999940941908e-01;
const LG3: f64 = 2.857142874366239149e-01;
const LG4: f64 = 2.222219843214978396e-01;
const LG5: f64 = 1.818357216161805012e-01;
const LG6: f64 = 1.531383769920937332e-01;
const LG7: f64 = 1.479819860511658591e-01;

#[inline(always)]
fn hi(x: f64) -> i32 {
  (x.to_bits() >> 32) as i32
}

#[inline(always)]
fn with_hi(x: f64, h: i32) -> f64 {
  f64::from_bits(((h as u32 as u64) << 32) | (x.to_bits() & 0xffff_ffff))
}

/// Natural logarithm, bit-identical to V8's Math.log.
#[inline]
pub fn log(mut x: f64) -> f64 {
  let mut hx = hi(x);
  let lx = x.to_bits() as u32;
  let mut k: i32 = 0;
  if hx < 0x0010_0000 {
    if ((hx & 0x7fff_ffff) as u32 | lx) == 0 {
      return f64::NEG_INFINITY;
    }
    if hx < 0 {
      return f64::NAN;
    }
    k -= 54;
    x *= TWO54;
    hx = hi(x);
  }
  if hx >= 0x7ff0_0000 {
    return x + x;
  }
  k += (hx >> 20) - 1023;
  hx &= 0x000f_ffff;
  let mut i = (hx + 0x95f64) & 0x0010_0000;
  x = with_hi(x, hx | (i ^ 0x3ff0_0000));
  k += i >> 20;
  let f = x - 1.0;
  if (0x000f_ffff & (2 + hx)) < 3 {
    if f == 0.0 {
      if k == 0 {
        return 0.0;
      }
      let dk = k as f64;
      return dk * LN2_HI + dk * LN2_LO;
    }
    let r = f * f * (0.5 - 0.33333333333333333 * f);
    if k == 0 {
      return f - r;
    }
    let dk = k as f64;
    return dk * LN2_HI - ((r - dk * LN2_LO) - f);
  }
  let s = f / (2.0 + f);
  let dk = k as f64;
  let z = s * s;
  i = hx - 0x6147a;
  let w = z * z;
  let j = 0x6b851 - hx;
  let t1 = w * (LG2 + w * (LG4 + w * LG6));
  let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  let r = t2 + t1;
  if i > 0 {
    let hfsq = 0.5 * f * f;
    if k == 0 {
      return f - (hfsq - s * (hfsq + r));
    }
    return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
  }
  if k == 0 {
    return f - s * (f - r);
  }
  dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f)
}

/// Test hook: out[i] = log(x[i]) (compared with V8's Math.log by the test suite).
#[napi_derive::napi(js_name = "mathProbeLog", catch_unwind)]
pub fn math_probe_log(x: &[f64], mut out: napi::bindgen_prelude::Float64Array) {
  let out = unsafe { out.as_mut() };
  for (o, &v) in out.iter_mut().zip(x) {
    *o = log(v);
  }
}
