//! Sealog evidence packs, around the formats in [`sealog_core::evidence`]: building a pack
//! from what a log serves ([`build`]), storing it as a deterministic ZIP ([`archive`]), its
//! human report ([`render`]), and verifying packs and receipts offline on every core
//! ([`verify`]). The `sealog export` and `sealog verify` commands and the server's export
//! endpoint are thin layers over this crate.
//!
//! ```no_run
//! use sealog_core::evidence::Trust;
//! use sealog_core::note::Verifier;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let trust = Trust {
//!     log: Verifier::from_vkey("sealog.example/agents+1a2b3c4d+AbC…")?,
//!     witnesses: Vec::new(),
//!     policy: None,
//! };
//! let zip = std::fs::read("pack.zip")?;
//! let report = sealog_evidence::verify::verify_zip(&zip, Default::default(), &trust, 2)?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod archive;
pub mod assurance;
pub mod build;
mod chunks;
pub mod command;
pub mod content;
mod digest;
pub mod erasures;
mod lifecycle;
pub mod render;
pub mod timestamps;
pub mod tsp;
pub mod verify;
mod verify_chunks;
