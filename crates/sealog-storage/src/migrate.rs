//! `sealog migrate --from DIR --to postgres://…`: copies every log of a stopped data directory
//! into a PostgreSQL store, then proves the copy.
//!
//! The directory is locked (`DIR/LOCK`) and only read. It must pass `fsck` first; then each
//! log's entries go in batches of up to [`DEFAULT_BATCH_ENTRIES`] (one transaction each, bulk
//! `unnest` inserts with the tile hashes they complete), then its latest checkpoint and its
//! history, byte for byte as signed. Until the proof passes the log is marked importing and
//! no node serves it. The proof: the store's checkpoint and history are the source's, and the
//! store's `fsck` of the log (module `pg::fsck`) re-derives every leaf and tile hash from the
//! rows and finds the signed root at the checkpoint's size.
//!
//! **Crash safety: resumable.** Each batch advances the row's size in its own transaction, so
//! a crash leaves a prefix of whole batches in an importing log; the next run finds it (the
//! same signing key), re-hashes the source's first entries up to the stored size without
//! writing them, and continues from there. Everything after the entries (the checkpoints,
//! the proof) is redone whole. An importing log of another key (another directory's log of
//! the same name) is removed and copied afresh.

use crate::engine::log_dir;
use crate::faults::Faults;
use crate::log_store::LogStore;
use crate::pg::{Database, Import, ImportStart};
use crate::store::{self, Store, record};
use crate::{EngineError, ErrorKind, LogFsck, PgOptions, SignedCheckpoint, hold_stopped_dir};
use sealog_core::merkle::Hash;
use std::fmt;
use std::path::Path;

/// Entries per transaction of a copy: a few MB of rows, tens of milliseconds of commit.
pub const DEFAULT_BATCH_ENTRIES: usize = 20_000;

/// Leaf bytes per transaction at most, whatever the entry count: bounds memory for large
/// entries.
const BATCH_BYTES: usize = 32 << 20;

/// What [`migrate`] did with every log of the directory.
#[derive(Clone, Debug, Default)]
pub struct MigrateReport {
    /// One report per log, sorted by name.
    pub logs: Vec<LogMigrated>,
    /// What became of the directory's keys, settings and holds (module `migrate_documents`).
    pub documents: Vec<String>,
}

/// What [`migrate`] did with one log.
#[derive(Clone, Debug, Default)]
pub struct LogMigrated {
    /// The log's name.
    pub name: String,
    /// The entries copied (all whole entries of the source).
    pub entries: u64,
    /// The source's latest signed checkpoint, now the store's.
    pub checkpoint_size: u64,
    /// Its root, hex.
    pub checkpoint_root: String,
    /// The earlier checkpoints copied.
    pub history: usize,
    /// The store's fsck of the log, after the copy.
    pub fsck: LogFsck,
    /// Why the copy is not proven, if it is not; the copy is then removed from the store.
    pub problem: Option<String>,
    /// What else happened: a resumed copy, a torn tail left out.
    pub notes: Vec<String>,
}

impl MigrateReport {
    /// Whether every log was copied and proven.
    pub fn is_clean(&self) -> bool {
        self.logs.iter().all(|l| l.problem.is_none())
    }
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for log in &self.logs {
            let verdict = if log.problem.is_some() {
                "NOT PROVEN"
            } else {
                "migrated and proven"
            };
            let earlier = if log.history == 1 {
                "checkpoint"
            } else {
                "checkpoints"
            };
            writeln!(
                f,
                "log {}: {verdict} ({} entries; checkpoint at size {} with root {} and {} \
                 earlier {earlier}, the source's; store fsck: {})",
                log.name,
                log.entries,
                log.checkpoint_size,
                log.checkpoint_root,
                log.history,
                if log.fsck.problem.is_some() {
                    "INCONSISTENT"
                } else {
                    "ok"
                }
            )?;
            if let Some(problem) = &log.problem {
                writeln!(f, "  problem: {problem}")?;
            }
            for note in &log.notes {
                writeln!(f, "  note: {note}")?;
            }
        }
        if self.logs.is_empty() {
            writeln!(f, "no logs")?;
        }
        for line in &self.documents {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Copies every log of the stopped data directory `from` into the store `to`, which must not
/// have any of them yet (an interrupted copy of one excepted), `batch_entries` entries per
/// transaction; and proves each copy. An error stops the migration (a rerun continues it); a
/// copy that does not prove out is reported in its log's entry and removed, never served.
pub fn migrate(
    from: &Path,
    to: PgOptions,
    batch_entries: usize,
) -> Result<MigrateReport, EngineError> {
    if batch_entries == 0 {
        return Err(EngineError::invalid(
            "a batch takes at least 1 entry (--batch-entries)",
        ));
    }
    if !from.join("logs").is_dir() {
        return Err(EngineError::invalid(format!(
            "{} is not a Sealog data directory (it has no logs/): give --from the --data \
             directory of the server to migrate",
            from.display()
        )));
    }
    let _held = hold_stopped_dir(from)?;
    let source = crate::fsck(from)?;
    if !source.is_clean() {
        return Err(EngineError::new(
            ErrorKind::Corrupt,
            format!(
                "the data directory {} is inconsistent, so it is not migrated; `sealog fsck \
                 --data {}` says:\n{source}",
                from.display(),
                from.display()
            ),
        ));
    }
    let db = Database::connect(to)?;
    let mut taken = Vec::new();
    for log in &source.logs {
        if db.has_complete_log(&log.name)? {
            taken.push(log.name.as_str());
        }
    }
    if !taken.is_empty() {
        return Err(EngineError::new(
            ErrorKind::AlreadyExists,
            format!(
                "the store already has logs called {}: `sealog migrate` copies only into a \
                 store without the directory's logs (use an empty database); nothing was copied",
                taken.join(", ")
            ),
        ));
    }
    let names: Vec<&str> = source.logs.iter().map(|l| l.name.as_str()).collect();
    let mut report = MigrateReport {
        documents: crate::migrate_documents::copy(&db, from, &names)?,
        ..MigrateReport::default()
    };
    for log in &source.logs {
        let copied = migrate_log(&db, &log_dir(from, &log.name), log, batch_entries)?;
        report.logs.push(copied);
    }
    Ok(report)
}

/// Copies one log, which the source's fsck found clean with `checked.entries` whole entries,
/// and proves the copy.
fn migrate_log(
    db: &Database,
    dir: &Path,
    checked: &LogFsck,
    batch_entries: usize,
) -> Result<LogMigrated, EngineError> {
    let name = &checked.name;
    let failed = |e: EngineError| e.context(format_args!("migrating log {name}"));
    let source =
        Store::open(dir, Faults::default()).map_err(|e| EngineError::io("opening the log", e))?;
    let signer = source.signing_key()?;
    let verifier = signer.verifier();
    let cp = source.checkpoint(&verifier)?;
    let (history, repeated) = distinct_sizes(source.history(&verifier, false)?);
    let (mut import, start) = db.begin_import(name, &signer).map_err(failed)?;
    let mut out = LogMigrated {
        name: name.clone(),
        entries: checked.entries,
        checkpoint_size: cp.size,
        checkpoint_root: sealog_core::hex::encode(&cp.root),
        history: history.len(),
        notes: checked.notes.clone(),
        ..LogMigrated::default()
    };
    match start {
        ImportStart::Fresh => {}
        ImportStart::Resumed(at) => out.notes.push(format!(
            "an interrupted copy was found in the store and continued from entry {at}"
        )),
        ImportStart::Restarted => out.notes.push(
            "an interrupted copy of another log of this name was removed from the store".into(),
        ),
    }
    if repeated > 0 {
        out.notes.push(format!(
            "{repeated} checkpoints of the history repeat an earlier one's size and root and \
             were left out"
        ));
    }
    copy_entries(dir, checked.entries, &mut import, batch_entries).map_err(failed)?;
    import.store_checkpoints(&cp, &history).map_err(failed)?;
    let (fsck, root) = db.fsck_log_root(name);
    out.fsck = fsck;
    out.problem = prove(&import, &cp, &history, &out, root);
    if out.problem.is_some() {
        import.abandon().map_err(failed)?;
        out.notes.push(
            "the copy was removed from the store; run `sealog migrate` again to copy it afresh"
                .into(),
        );
        return Ok(out);
    }
    // Here is where the directory's per-log settings (server.json) will be copied, while the
    // log is still unserved.
    import.finish().map_err(failed)?;
    Ok(out)
}

/// Why the copy described by `out` is not the source's, if it is not; `root` is the store's
/// root of all its entries (from its fsck), which must be the root of the source's entries,
/// past the checkpoint too (a resumed copy's first batches came from an earlier run).
fn prove(
    import: &Import<'_>,
    cp: &SignedCheckpoint,
    history: &[SignedCheckpoint],
    out: &LogMigrated,
    root: Option<Hash>,
) -> Option<String> {
    if let Err(why) = import.check_checkpoints(cp, history) {
        return Some(why);
    }
    if let Some(problem) = &out.fsck.problem {
        return Some(format!("the store's fsck of the copy: {problem}"));
    }
    if out.fsck.entries != out.entries {
        return Some(format!(
            "the store holds {} entries, the source {}",
            out.fsck.entries, out.entries
        ));
    }
    if root != Some(import.root()) {
        return Some(format!(
            "the store's entries do not hash to the root of the source's {} entries",
            out.entries
        ));
    }
    None
}

/// The history with each size once (the first checkpoint of a size: the source's fsck found
/// every one of them at the root the entries give), and how many were left out.
fn distinct_sizes(history: Vec<SignedCheckpoint>) -> (Vec<SignedCheckpoint>, usize) {
    let all = history.len();
    let mut kept: Vec<SignedCheckpoint> = Vec::with_capacity(all);
    for cp in history {
        if kept.last().is_none_or(|last| last.size < cp.size) {
            kept.push(cp);
        }
    }
    let left_out = all - kept.len();
    (kept, left_out)
}

/// Streams the first `total` entries of the log in `dir`, one segment file in memory at a
/// time, into `import`, committing a batch every `batch_entries` entries (or
/// [`BATCH_BYTES`]).
fn copy_entries(
    dir: &Path,
    total: u64,
    import: &mut Import<'_>,
    batch_entries: usize,
) -> Result<(), EngineError> {
    let read = |e| EngineError::io(format_args!("reading {}", dir.display()), e);
    let mut staged_bytes = 0;
    for first in store::segment_firsts(dir).map_err(read)? {
        if import.size() >= total {
            break;
        }
        let bytes = std::fs::read(store::segment_path(dir, first)).map_err(read)?;
        for (_, leaf) in record::Scan::new(&bytes) {
            if import.size() == total {
                break;
            }
            if import.push(leaf) {
                staged_bytes += leaf.len();
            }
            if import.staged() >= batch_entries || staged_bytes >= BATCH_BYTES {
                import.commit()?;
                staged_bytes = 0;
            }
        }
    }
    import.commit()?;
    if import.size() != total {
        return Err(EngineError::corrupt(format!(
            "{} holds {} whole entries, though fsck counted {total}: did it change?",
            dir.display(),
            import.size()
        )));
    }
    Ok(())
}
