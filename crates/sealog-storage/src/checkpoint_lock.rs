//! The checkpoint lock: each log's newest signed checkpoint, kept a second time in a
//! directory outside the data directory (`EngineOptions::checkpoint_lock`).
//!
//! A log can check that it only grows against its own checkpoint file and history, but a
//! restore of the whole data directory from an old backup takes those back too, and the log
//! would then sign a second, inconsistent tree. The lock is the memory that survives such a
//! restore, as long as it lives elsewhere (another disk or host, never restored with the data):
//! it is written before every checkpoint is published, and a log whose recovered tree does not
//! extend it refuses to open.
//!
//! ```text
//! <lock>/<log name>/checkpoint    as the log's own checkpoint file (module checkpoint_file)
//! ```

use crate::SignedCheckpoint;
use crate::checkpoint_file;
use crate::faults::Faults;
use crate::log_store::{LogStore, hash_source};
use crate::store::sync_dir;
use sealog_core::merkle::{Hash, consistency_proof, verify_consistency};
use sealog_core::note::Verifier;
use std::path::{Path, PathBuf};

/// The lock directory of log `name`.
pub(crate) fn dir(lock: &Path, name: &str) -> PathBuf {
    lock.join(name)
}

/// Checks, on open, that the recovered tree (`size` entries with `root`) extends the checkpoint
/// in the lock, and records `current` (the log's checkpoint) when the lock has none yet.
pub(crate) fn check(
    lock: &Path,
    name: &str,
    verifier: &Verifier,
    store: &dyn LogStore,
    (size, root): (u64, Hash),
    current: &SignedCheckpoint,
    faults: &Faults,
) -> Result<(), String> {
    let dir = dir(lock, name);
    if !checkpoint_file::exists(&dir) {
        // First use of this lock for this log: nothing to compare yet.
        return store_checkpoint(lock, name, current, faults).map_err(|e| {
            format!(
                "log {name}: cannot write its checkpoint lock in {}: {e}",
                dir.display()
            )
        });
    }
    let locked = checkpoint_file::load(&dir, verifier).map_err(|e| {
        format!(
            "log {name}: its checkpoint lock is unusable: {e}. If the lock directory {} belongs \
             to another server, give this one its own",
            lock.display()
        )
    })?;
    let restored = || {
        format!(
            "log {name}: the checkpoint lock in {} holds a signed checkpoint of size {} that the \
             data directory's tree ({size} entries) does not extend: the data directory was \
             restored from an older backup, or lost writes. Signing from here would fork the \
             log. Restore the newest data directory; run `sealog fsck` to investigate",
            dir.display(),
            locked.size
        )
    };
    if locked.size > size {
        return Err(restored());
    }
    if locked.size > 0 {
        let proof = consistency_proof(&hash_source(store, size), locked.size, size)
            .map_err(|e| format!("log {name}: checking the checkpoint lock: {e}"))?;
        verify_consistency(locked.size, size, &proof, &locked.root, &root)
            .map_err(|_| restored())?;
    }
    Ok(())
}

/// Writes `cp` into the lock of log `name`, atomically, creating its directory if needed.
pub(crate) fn store_checkpoint(
    lock: &Path,
    name: &str,
    cp: &SignedCheckpoint,
    faults: &Faults,
) -> std::io::Result<()> {
    let dir = dir(lock, name);
    if !dir.exists() {
        std::fs::create_dir_all(&dir)?;
        sync_dir(lock)?;
    }
    checkpoint_file::store(&dir, cp, faults)
}
