//! pipe's compiled kernels as a Node addon. One module per kernel (its identity hashes that file and
//! common.rs); each borrows the caller's typed arrays and writes into caller-owned outputs.
#![deny(clippy::all)]

mod common;
mod correlate_disk;
mod cash_statistics;
mod fdlibm;
mod bin_events;
mod eval_aeff_map;
mod interp;
mod stack_add;
