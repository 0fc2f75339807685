//! The latest signed checkpoint of a log, persisted atomically before anyone can see it.
//!
//! `logs/<name>/checkpoint` holds the signing time (µs since the epoch, decimal) on the first
//! line, then the signed note byte for byte.

use crate::SignedCheckpoint;
use crate::durable;
use crate::faults::Faults;
use sealog_core::checkpoint;
use sealog_core::note::Verifier;
use std::path::Path;

/// The file name in a log's directory.
const NAME: &str = "checkpoint";

/// Whether `dir` holds a checkpoint file (valid or not).
pub(crate) fn exists(dir: &Path) -> bool {
    dir.join(NAME).exists()
}

/// Writes `cp` to `dir` atomically and durably (module `durable`).
pub(crate) fn store(dir: &Path, cp: &SignedCheckpoint, faults: &Faults) -> std::io::Result<()> {
    let mut bytes = format!("{}\n", cp.signed_unix_micros).into_bytes();
    bytes.extend_from_slice(&cp.note);
    durable::write_file_with(&dir.join(NAME), &bytes, 0o644, faults)
}

/// Reads and verifies the checkpoint in `dir` with the log's key. The error says what is
/// wrong with it.
pub(crate) fn load(dir: &Path, verifier: &Verifier) -> Result<SignedCheckpoint, String> {
    let path = dir.join(NAME);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |why: String| format!("{} is not a valid checkpoint: {why}", path.display());
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("no time line".into()))?;
    let signed_unix_micros = std::str::from_utf8(&bytes[..newline])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("the first line is not a time".into()))?;
    let note = bytes[newline + 1..].to_vec();
    verified(note, signed_unix_micros, verifier).map_err(bad)
}

/// The checkpoint of a signed `note`, verified with the log's key. The error says what is
/// wrong with it.
pub(crate) fn verified(
    note: Vec<u8>,
    signed_unix_micros: i64,
    verifier: &Verifier,
) -> Result<SignedCheckpoint, String> {
    let (cp, _) = checkpoint::open(&note, verifier).map_err(|e| e.to_string())?;
    Ok(SignedCheckpoint {
        size: cp.size,
        root: cp.root,
        note,
        signed_unix_micros,
    })
}
