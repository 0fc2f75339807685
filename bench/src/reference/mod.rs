//! The two-pass event pipeline Sealog used before the one-pass parser: a strict parse into a
//! `serde_json::Value` (`jcs::parse_strict`), validation over the `Value`, then a second walk
//! to write the canonical bytes (`jcs::canonicalize`).
//!
//! It is kept here, verbatim apart from its imports, only as the reference that the one-pass
//! path of `sealog_core::event::parse` is compared with, byte for byte and error for error
//! (`tests/onepass_differential.rs`, the `event_differential` fuzz target), and measured
//! against (`examples/ingest_stages.rs`). Nothing in the server calls it.

mod context;
mod fields;
mod validate;

pub use validate::{parse, validate};
