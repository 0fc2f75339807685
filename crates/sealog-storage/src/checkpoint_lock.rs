//! The checkpoint lock: each log's newest signed checkpoint, kept a second time somewhere that
//! is never restored with the log's own storage (`EngineOptions::checkpoint_lock`).
//!
//! A log can check that it only grows against its own checkpoint file and history, but a
//! restore of the whole data directory from an old backup takes those back too, and the log
//! would then sign a second, inconsistent tree. The lock is the memory that survives such a
//! restore, as long as it lives elsewhere: it is advanced before every checkpoint is published,
//! and a log whose recovered tree does not extend it refuses to open.
//!
//! Where the lock lives varies, so it is a trait, [`CheckpointLock`]: a directory on another
//! disk or host ([`DirLock`]) for the embedded store, a compare-and-swap on a database row
//! for a shared store. The check on open is the same for every backend ([`check`]).
//!
//! ```text
//! <lock>/<log name>/checkpoint    as the log's own checkpoint file (module checkpoint_file)
//! ```

use crate::faults::Faults;
use crate::lock;
use crate::log_store::{LogStore, hash_source};
use crate::{EngineError, ErrorKind, SignedCheckpoint, checkpoint_file, durable};
use sealog_core::merkle::{Hash, consistency_proof, verify_consistency};
use sealog_core::note::Verifier;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Keeps each log's newest checkpoint outside the log's storage.
pub(crate) trait CheckpointLock: Send + Sync {
    /// The checkpoint locked for `log`, verified with its key; `None` if the lock holds none
    /// for it yet.
    fn load(&self, log: &str, verifier: &Verifier)
    -> Result<Option<SignedCheckpoint>, EngineError>;

    /// Makes `cp` the locked checkpoint of `log`, durably. Refuses (kind `Corrupt`) to replace
    /// a larger checkpoint by a smaller one: the lock only moves forward.
    fn advance(&self, log: &str, cp: &SignedCheckpoint) -> Result<(), EngineError>;

    /// Where the lock is, for messages.
    fn describe(&self) -> String;
}

/// The checkpoint lock in a directory of its own: one subdirectory per log.
pub(crate) struct DirLock {
    dir: PathBuf,
    faults: Faults,
    /// The size this process last locked for each log: the forward-only check without reading
    /// the file back on every checkpoint (only this process writes while it holds the data
    /// directory).
    sizes: Mutex<HashMap<String, u64>>,
}

impl DirLock {
    /// The lock in `dir`, every write going through `faults`.
    pub(crate) fn new(dir: &Path, faults: Faults) -> Self {
        DirLock {
            dir: dir.to_owned(),
            faults,
            sizes: Mutex::new(HashMap::new()),
        }
    }
}

impl CheckpointLock for DirLock {
    fn load(
        &self,
        log: &str,
        verifier: &Verifier,
    ) -> Result<Option<SignedCheckpoint>, EngineError> {
        let dir = self.dir.join(log);
        if !checkpoint_file::exists(&dir) {
            return Ok(None);
        }
        let cp = checkpoint_file::load(&dir, verifier).map_err(EngineError::corrupt)?;
        lock(&self.sizes).insert(log.to_owned(), cp.size);
        Ok(Some(cp))
    }

    fn advance(&self, log: &str, cp: &SignedCheckpoint) -> Result<(), EngineError> {
        let mut sizes = lock(&self.sizes);
        if let Some(&locked) = sizes.get(log).filter(|&&s| s > cp.size) {
            return Err(EngineError::corrupt(format!(
                "the checkpoint lock of log {log} holds size {locked}, larger than {}",
                cp.size
            )));
        }
        let dir = self.dir.join(log);
        let io = |e| EngineError::io(format_args!("writing {}", dir.display()), e);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(io)?;
            durable::sync_dir(&self.dir).map_err(io)?;
        }
        checkpoint_file::store(&dir, cp, &self.faults).map_err(io)?;
        sizes.insert(log.to_owned(), cp.size);
        Ok(())
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Checks, on open, that the recovered tree (`size` entries with `root`) extends the checkpoint
/// in the lock, and locks `current` (the log's checkpoint) when the lock has none yet.
pub(crate) fn check(
    lock: &dyn CheckpointLock,
    name: &str,
    verifier: &Verifier,
    store: &dyn LogStore,
    (size, root): (u64, Hash),
    current: &SignedCheckpoint,
) -> Result<(), EngineError> {
    let loaded = lock.load(name, verifier).map_err(|e| {
        e.context(format_args!(
            "log {name}: its checkpoint lock is unusable. If the lock {} belongs to another \
             server, give this one its own",
            lock.describe()
        ))
    })?;
    let Some(locked) = loaded else {
        // First use of this lock for this log: nothing to compare yet.
        return lock
            .advance(name, current)
            .map_err(|e| e.context(format_args!("log {name}: cannot write its checkpoint lock")));
    };
    let restored = || {
        EngineError::new(
            ErrorKind::Corrupt,
            format!(
                "log {name}: the checkpoint lock in {} holds a signed checkpoint of size {} that \
                 the data directory's tree ({size} entries) does not extend: the data directory \
                 was restored from an older backup, or lost writes. Signing from here would \
                 fork the log. Restore the newest data directory; run `sealog fsck` to \
                 investigate",
                lock.describe(),
                locked.size
            ),
        )
    };
    if locked.size > size {
        return Err(restored());
    }
    if locked.size > 0 {
        let proof =
            consistency_proof(&hash_source(store, size), locked.size, size).map_err(|e| {
                EngineError::new(
                    ErrorKind::Io,
                    format!("log {name}: checking the checkpoint lock: {e}"),
                )
            })?;
        verify_consistency(locked.size, size, &proof, &locked.root, &root)
            .map_err(|_| restored())?;
    }
    Ok(())
}
