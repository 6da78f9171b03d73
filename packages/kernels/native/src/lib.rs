//! pipe's compiled kernels as a Node addon. One module per kernel (its identity hashes that file and
//! common.rs); each borrows the caller's typed arrays and writes into caller-owned outputs.
#![deny(clippy::all)]
// Ports keep the reference's exact constants and NaN-aware comparisons (`!(v > 0)`, `v - v != 0`),
// and the kernels index parallel slices as the reference does.
#![allow(
  clippy::excessive_precision,
  clippy::eq_op,
  clippy::neg_cmp_op_on_partial_ord,
  clippy::manual_range_contains,
  clippy::redundant_guards,
  clippy::needless_range_loop
)]

mod bin_events;
mod cash_statistics;
mod common;
mod correlate_disk;
mod correlate_fft;
mod eval_aeff_map;
mod eval_bkg_map;
mod eval_edisp_kernel_map;
mod eval_psf_map;
mod fdlibm;
mod fdlibm_exp;
mod interp;
mod stack_add;
mod stack_irf_weighted;
mod stack_mask_or;
