//! Fault injection at the storage layer, for tests of crash safety (the Sunlight method).
//!
//! Every write and fsync of the steady-state write path — entry records, offsets, tree
//! hashes, segment creation, checkpoint files — asks a [`FaultInjector`] first (if the engine
//! was opened with one, see [`Engine::open_with_faults`](crate::Engine::open_with_faults)),
//! which may make it fail without effect, fail after writing only part, or fail after taking
//! full effect. The engine must then either go on correctly or stop safely; reopening must
//! always yield a consistent log.

use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;

/// A storage operation that may be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Appending bytes to a file.
    Write,
    /// An fsync (of a file or a directory), a file creation or a rename.
    Sync,
}

/// What an injected failure leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The operation did nothing.
    NotPersisted,
    /// A write wrote the first half of its bytes (for other operations: nothing).
    Torn,
    /// The operation took full effect, yet reports failure.
    Persisted,
}

/// An injected failure: its effect and the error the operation returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What the operation leaves behind.
    pub effect: Effect,
    /// The error kind returned, e.g. `StorageFull` to simulate a full disk.
    pub kind: io::ErrorKind,
}

/// Decides, operation by operation, whether to inject a failure.
pub trait FaultInjector: Send + Sync {
    /// `None` lets `op` run normally.
    fn decide(&self, op: Op) -> Option<Fault>;

    /// Called after an fsync of the file with inode number `inode` took effect, with the
    /// file's length then: what a power cut would keep. Lets a test simulate one.
    fn synced(&self, _inode: u64, _len: u64) {}
}

/// The engine's handle on an optional injector.
#[derive(Clone, Default)]
pub(crate) struct Faults(Option<Arc<dyn FaultInjector>>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Faults(injecting)"
        } else {
            "Faults(none)"
        })
    }
}

impl Faults {
    /// Consults `injector` on every operation.
    pub(crate) fn new(injector: Arc<dyn FaultInjector>) -> Self {
        Faults(Some(injector))
    }

    /// Appends `buf` to `file`, unless a fault says otherwise.
    pub(crate) fn write(&self, mut file: &File, buf: &[u8]) -> io::Result<()> {
        match self.decide(Op::Write) {
            None => file.write_all(buf),
            Some(fault) => {
                match fault.effect {
                    Effect::NotPersisted => {}
                    Effect::Torn => file.write_all(&buf[..buf.len() / 2])?,
                    Effect::Persisted => file.write_all(buf)?,
                }
                Err(injected(fault))
            }
        }
    }

    /// Runs an fsync, creation or rename, unless a fault says otherwise.
    pub(crate) fn sync<T>(&self, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        match self.decide(Op::Sync) {
            None => op(),
            Some(fault) => {
                if fault.effect == Effect::Persisted {
                    op()?;
                }
                Err(injected(fault))
            }
        }
    }

    /// Fsyncs `file` (its data only), unless a fault says otherwise, and tells the injector
    /// what became durable.
    pub(crate) fn sync_file(&self, file: &File) -> io::Result<()> {
        self.sync(|| file.sync_data())?;
        if let Some(injector) = &self.0 {
            use std::os::unix::fs::MetadataExt;
            let meta = file.metadata()?;
            injector.synced(meta.ino(), meta.len());
        }
        Ok(())
    }

    fn decide(&self, op: Op) -> Option<Fault> {
        self.0.as_ref().and_then(|i| i.decide(op))
    }
}

/// The error of an injected fault.
fn injected(fault: Fault) -> io::Error {
    io::Error::new(fault.kind, format!("injected fault ({:?})", fault.effect))
}
