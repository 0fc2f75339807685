//! Earlier signed checkpoints of a log, kept so that evidence packs can prove the log only
//! grew since them (consistency proofs from each to the pack's checkpoint).
//!
//! `logs/<name>/checkpoints` is an append-only file of records in the entry-segment format
//! (`len ‖ crc ‖ data`), each holding the signing time (µs since the epoch, i64 LE) followed
//! by the signed note. The integrator keeps one checkpoint per [`SPACING_MICROS`], so the file
//! grows with time, not with the number of events: about 6 MB a year for a log that never
//! stops growing. A torn tail (a crash during an append) is cut when the log opens.

use crate::SignedCheckpoint;
use crate::faults::Faults;
use crate::store::record::{self, Scan};
use sealog_core::checkpoint;
use sealog_core::note::Verifier;
use std::fs::{File, OpenOptions};
use std::path::Path;

/// The file name in a log's directory.
const NAME: &str = "checkpoints";

/// The history keeps at most one checkpoint per minute.
pub(crate) const SPACING_MICROS: i64 = 60_000_000;

/// Appends `cp` to the history in `dir` and makes it durable.
pub(crate) fn append(dir: &Path, cp: &SignedCheckpoint, faults: &Faults) -> std::io::Result<()> {
    let file = faults.sync(|| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(NAME))
    })?;
    let mut data = cp.signed_unix_micros.to_le_bytes().to_vec();
    data.extend_from_slice(&cp.note);
    let mut bytes = Vec::with_capacity(record::HEADER + data.len());
    record::encode(&mut bytes, &data);
    faults.write(&file, &bytes)?;
    faults.sync_file(&file)
}

/// Reads and verifies the history in `dir` with the log's key, oldest first. With `repair`, a
/// torn tail is cut so that the next append lands after the last good record.
pub(crate) fn load(
    dir: &Path,
    verifier: &Verifier,
    repair: bool,
) -> Result<Vec<SignedCheckpoint>, String> {
    let path = dir.join(NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut scan = Scan::new(&bytes);
    let mut history = Vec::new();
    for (at, data) in scan.by_ref() {
        let bad = |why: &str| {
            format!(
                "{} holds a record at byte {at} that {why}; move the file aside to start a new \
                 history (earlier checkpoints are then missing from evidence packs)",
                path.display()
            )
        };
        let (time, note) = data
            .split_first_chunk::<8>()
            .ok_or_else(|| bad("is too short"))?;
        let (cp, _) = checkpoint::open(note, verifier)
            .map_err(|e| bad(&format!("is not a checkpoint signed by the log key ({e})")))?;
        if history
            .last()
            .is_some_and(|last: &SignedCheckpoint| last.size > cp.size)
        {
            return Err(bad("is smaller than the checkpoint before it"));
        }
        history.push(SignedCheckpoint {
            size: cp.size,
            root: cp.root,
            note: note.to_vec(),
            signed_unix_micros: i64::from_le_bytes(*time),
        });
    }
    if repair && scan.end() < bytes.len() {
        let cut = File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(scan.end() as u64).and_then(|()| f.sync_all()));
        cut.map_err(|e| format!("cannot cut the torn tail of {}: {e}", path.display()))?;
    }
    Ok(history)
}

/// At most `max` of `history`'s checkpoints smaller than `size`, spread evenly from the oldest
/// to the newest of them (both always included).
pub(crate) fn spread(
    history: Vec<SignedCheckpoint>,
    size: u64,
    max: usize,
) -> Vec<SignedCheckpoint> {
    let older: Vec<_> = history
        .into_iter()
        .filter(|cp| cp.size > 0 && cp.size < size)
        .collect();
    if older.len() <= max || max < 2 {
        return older.into_iter().take(max).collect();
    }
    let last = older.len() - 1;
    let mut picked: Vec<usize> = (0..max).map(|i| i * last / (max - 1)).collect();
    picked.dedup();
    picked.into_iter().map(|i| older[i].clone()).collect()
}
