//! Sealog's formats: the contract between the server, its SDKs and every verifier.
//!
//! This crate is pure code — no I/O, no clock, no randomness, no async — so that the same
//! logic runs in the server, in the `sealog` CLI, in fuzzers and in a browser (it builds for
//! `wasm32-unknown-unknown`). Everything that other programs must agree with byte for byte
//! lives here:
//!
//! - [`jcs`]: RFC 8785 canonical JSON, with a strict parser (no duplicate keys, no lone
//!   surrogates, no NaN/Infinity).
//! - [`event`]: the event an agent records (docs/DESIGN.md §2.1), strictly validated with errors that
//!   name the field and the reason.
//! - [`commitment`]: keyed HMAC-SHA-256 commitments to payloads.
//! - [`leaf`]: the leaf the server builds around an accepted event, and its hash.
//! - [`merkle`]: RFC 6962/9162 tree hashing, proofs from stored hashes, strict verifiers, and
//!   an incremental tree; [`tiles`]: C2SP tlog-tiles index math and paths.
//! - [`note`], [`checkpoint`], [`cosignature`], [`tlog_proof`], [`policy`]: the C2SP
//!   signed-note family; [`receipt`]: a Sealog receipt (one tlog-proof that proves one event).
//! - [`evidence`]: evidence packs, and their offline verification; [`hex`]: the one hex
//!   encoding.
#![forbid(unsafe_code)]

pub mod approval;
pub mod checkpoint;
pub mod commitment;
pub mod cosignature;
pub mod event;
pub mod evidence;
pub mod hex;
pub mod jcs;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod receipt;
pub mod tiles;
pub mod tlog_proof;
