//! `manifest.json` and its signature: what the exporter vouches for.

use super::PackError;
use crate::note::{self, Note, Signer, Verifier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first pack format: entries and proofs each one file (see [`super::layout`]). Still read.
pub const FORMAT: &str = "sealog-evidence/v1";

/// The pack format the exporter writes: entries and proofs in chunks, each with its digest
/// (see [`super::layout`]).
pub const CHUNKED_FORMAT: &str = "sealog-evidence/v2";

/// The manifest: one line of JSON, signed as a note by the log key.
///
/// A single line can never parse as a checkpoint (which needs three), so the log key signing
/// manifests cannot be abused to forge checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`] or [`CHUNKED_FORMAT`].
    pub format: String,
    /// The log's origin.
    pub origin: String,
    /// Size of the checkpoint the entries are proven against.
    pub checkpoint_size: u64,
    /// Number of entries in `entries.jsonl`.
    pub entries: u64,
    /// The filters the pack was exported with (empty: the whole log).
    pub filters: BTreeMap<String, String>,
    /// Set when retention had pruned the log's entries below this index before the export:
    /// the pack cannot hold them (their tree hashes were kept, so the rest still verifies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_below: Option<u64>,
    /// When the pack was exported (RFC 3339).
    pub exported_at: String,
    /// The program and version that exported it.
    pub tool: String,
    /// Lowercase hex SHA-256 of every other file, by name.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// Whether the pack's entries and proofs are in chunks ([`CHUNKED_FORMAT`]).
    pub fn is_chunked(&self) -> bool {
        self.format == CHUNKED_FORMAT
    }

    /// The manifest's bytes (one line) and the signature lines that go into `manifest.sig`.
    pub fn sign(&self, log: &Signer) -> (Vec<u8>, Vec<u8>) {
        let mut text = serde_json::to_string(self).expect("a manifest always serializes");
        text.push('\n');
        let signed = note::sign(&text, &[log]).expect("one line of JSON is a valid note text");
        let sig = signed[text.len()..].to_vec();
        (text.into_bytes(), sig)
    }
}

/// Verifies the manifest's signature with the pinned key and parses it.
pub(super) fn open(text: &[u8], sig: &[u8], log: &Verifier) -> Result<Manifest, PackError> {
    let bad = |m: String| PackError::Manifest(m);
    if text.iter().filter(|&&b| b == b'\n').count() != 1 || !text.ends_with(b"\n") {
        return Err(bad(
            "must be exactly one line of JSON ending in a newline".into()
        ));
    }
    let mut signed = text.to_vec();
    signed.extend_from_slice(sig);
    let parsed = Note::parse(&signed).map_err(|e| bad(format!("signature: {e}")))?;
    parsed.verified_by(log).map_err(|e| {
        bad(format!(
            "not signed by the pinned log key {} ({e}); the pack was altered or re-signed by someone else",
            log.name()
        ))
    })?;
    let manifest: Manifest =
        serde_json::from_slice(text).map_err(|e| bad(format!("not a manifest: {e}")))?;
    if manifest.format != FORMAT && manifest.format != CHUNKED_FORMAT {
        return Err(bad(format!(
            "format {:?} is neither {FORMAT:?} nor {CHUNKED_FORMAT:?}; this verifier is too old or the file is not a Sealog pack",
            manifest.format
        )));
    }
    if manifest.origin != log.name() {
        return Err(bad(format!(
            "is for the log {:?}, but the pinned key is for {:?}",
            manifest.origin,
            log.name()
        )));
    }
    Ok(manifest)
}
