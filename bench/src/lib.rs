//! Sealog's benchmarks. The micro-benchmarks of the core formats are in `benches/core.rs`
//! (`cargo bench -p sealog-bench`); the load generator for a running server is
//! `sealog bench`. Method and results: `BENCHMARKS.md` at the repository root.
//!
//! The library holds what the benchmarks and the differential tests share: the reference
//! two-pass event pipeline ([`reference`]) and the generated workloads ([`corpus`]).

pub mod corpus;
pub mod reference;
