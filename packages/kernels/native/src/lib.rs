#![deny(clippy::all)]
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi]
pub fn sum_f64(a: Float64Array) -> f64 { a.iter().sum() }
