//! Port of src/reference/stats.ts `cashStatistics` with fdlibm's log (V8's): bit-identical output.

use crate::common::need_len;
use crate::fdlibm;
use napi::bindgen_prelude::Float64Array;
use napi::Result;
use napi_derive::napi;

const CASH_TRUNCATION: f64 = 1e-25;

#[inline(always)]
fn cash(n: f64, mu: f64) -> f64 {
  let m = if mu <= CASH_TRUNCATION { CASH_TRUNCATION } else { mu };
  2.0 * (m - n * fdlibm::log(m))
}

/// The kernel over slices: excess = n − μ, TS = max(0, C(n, μ) − C(n, n)), sqrtTs = sign(excess)·√TS.
pub fn statistics(n_on: &[f64], mu_b: &[f64], excess_out: &mut [f64], ts_out: &mut [f64], sqrt_ts_out: &mut [f64]) {
  for i in 0..n_on.len() {
    let n = n_on[i];
    let mu = mu_b[i];
    let excess = n - mu;
    let mut ts = cash(n, mu) - cash(n, n);
    if ts < 0.0 {
      ts = 0.0;
    }
    let root = ts.sqrt();
    excess_out[i] = excess;
    ts_out[i] = ts;
    sqrt_ts_out[i] = if excess > 0.0 {
      root
    } else if excess < 0.0 {
      -root
    } else if excess == 0.0 {
      0.0
    } else {
      f64::NAN
    };
  }
}

/// cashStatistics(nOn, muB, outExcess, outTs, outSqrtTs), the reference's signature.
#[napi(js_name = "cashStatistics", catch_unwind)]
pub fn cash_statistics(
  n_on: &[f64],
  mu_b: &[f64],
  mut out_excess: Float64Array,
  mut out_ts: Float64Array,
  mut out_sqrt_ts: Float64Array,
) -> Result<()> {
  let len = n_on.len();
  need_len("muB", mu_b.len(), len)?;
  need_len("outExcess", out_excess.len(), len)?;
  need_len("outTs", out_ts.len(), len)?;
  need_len("outSqrtTs", out_sqrt_ts.len(), len)?;
  // SAFETY: the JS caller is blocked for the duration of this synchronous call.
  let (e, t, s) = unsafe { (out_excess.as_mut(), out_ts.as_mut(), out_sqrt_ts.as_mut()) };
  statistics(n_on, &mu_b[..len], e, t, s);
  Ok(())
}
