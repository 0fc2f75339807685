//! `sealog fsck --store postgres://…`: every log of the shared store re-derived from its
//! entries, in bounded chunks, and compared with what the rows claim — contiguous indices,
//! each leaf hash, each stored tile hash, the latest checkpoint (signature and root) and the
//! history (each one's root at its size, so that all of them are one chain). Reported as the
//! embedded `fsck` reports a data directory.

mod hashes;

use super::{Database, PgOptions, db_error};
use crate::{EngineError, FsckReport, LogFsck, SignedCheckpoint, checkpoint_file};
use sealog_core::leaf;
use sealog_core::merkle::{CompactTree, Hash};
use sealog_core::note::Verifier;
use sealog_core::tiles::TILE_HEIGHT;
use std::iter::Peekable;

/// Entries read per query.
const CHUNK: i64 = 10_000;

/// Checks every log of the store at `options.url` (read only, besides bringing its schema up
/// to date as any node does), with the store key that opens the logs' signing keys.
pub fn fsck_store(options: PgOptions) -> Result<FsckReport, EngineError> {
    let db = Database::connect(options)?;
    let mut report = FsckReport::default();
    for (name, importing) in db.all_logs()? {
        let log = match importing {
            Some(copied) => LogFsck {
                name: name.clone(),
                entries: copied,
                problem: Some(format!(
                    "`sealog migrate` was interrupted while copying this log in ({copied} \
                     entries copied); no node serves it until `sealog migrate` is run again \
                     and finishes it"
                )),
                ..LogFsck::default()
            },
            None => db.fsck_log(&name),
        };
        report.logs.push(log);
    }
    Ok(report)
}

/// One stored entry: its index, leaf bytes and stored leaf hash.
struct StoredEntry {
    index: u64,
    leaf: Vec<u8>,
    leaf_hash: Vec<u8>,
}

/// The row of one log that its check starts from.
pub(super) struct LogRow {
    id: i64,
    size: u64,
    /// The latest checkpoint's signed note and signing time.
    pub(super) note: Vec<u8>,
    pub(super) micros: i64,
}

impl Database {
    /// Every log's name, and for a log being imported the entries copied so far; sorted.
    fn all_logs(&self) -> Result<Vec<(String, Option<u64>)>, EngineError> {
        let pool = self.pool();
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let rows = client
                .query(
                    "SELECT name, importing, size FROM sealog_logs ORDER BY name",
                    &[],
                )
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let importing: bool = r.get(1);
                    (r.get(0), importing.then(|| r.get::<_, i64>(2) as u64))
                })
                .collect())
        })
        .map_err(|e| EngineError::io("cannot list the logs in the store", e))
    }

    /// Checks log `name` (being imported or not) and reports its first inconsistency.
    pub(crate) fn fsck_log(&self, name: &str) -> LogFsck {
        self.fsck_log_root(name).0
    }

    /// [`Database::fsck_log`], and the root of all the log's entries if they are consistent.
    pub(crate) fn fsck_log_root(&self, name: &str) -> (LogFsck, Option<Hash>) {
        let mut out = LogFsck {
            name: name.to_owned(),
            ..LogFsck::default()
        };
        match self.check_log(name, &mut out) {
            Ok(root) => (out, Some(root)),
            Err(problem) => {
                out.problem = Some(problem);
                (out, None)
            }
        }
    }

    /// The checks of [`Database::fsck_log`]; the root of every entry, or the first
    /// inconsistency.
    fn check_log(&self, name: &str, out: &mut LogFsck) -> Result<Hash, String> {
        let verifier = self
            .signing_key(name)
            .map_err(|e| e.to_string())?
            .verifier();
        // The history before the row: each of its checkpoints was stored as the latest before
        // it joined the history, so a node appending meanwhile cannot make it look ahead.
        let id = self.log_row(name)?.id;
        let history = self.history_rows(id)?;
        let row = self.log_row(name)?;
        let cp = checkpoint_file::verified(row.note.clone(), row.micros, &verifier)
            .map_err(|why| format!("the stored checkpoint does not verify: {why}"))?;
        out.checkpoint_size = cp.size;
        let history = checked_history(history, &verifier, &cp)?;
        let mut replay = Replay {
            cp: &cp,
            earlier: history.iter().peekable(),
            tree: CompactTree::new(),
        };
        replay.check_roots()?;
        self.replay_entries(id, row.size, &mut replay, out)?;
        let size = replay.tree.size();
        if size != row.size {
            return Err(format!(
                "the log's row says {} entries but entries 0..{size} are stored",
                row.size
            ));
        }
        if size < cp.size {
            return Err(format!(
                "the log holds {size} entries but its last signed checkpoint covers {}",
                cp.size
            ));
        }
        // Rows past the size read first are another node's appends if the log grew since;
        // if not, they are extra.
        let now = self.log_row(name)?.size;
        if now == size {
            self.check_nothing_past(id, size)?;
        } else {
            out.notes.push(format!(
                "the log grew to {now} entries during the check; those past {size} were not \
                 checked"
            ));
        }
        Ok(replay.tree.root())
    }

    /// Replays the entries `0..size` of log `id` into `replay`, in chunks, checking each
    /// index, leaf hash and completed tile hash, and the checkpoints' roots as it goes.
    fn replay_entries(
        &self,
        id: i64,
        size: u64,
        replay: &mut Replay<'_>,
        out: &mut LogFsck,
    ) -> Result<(), String> {
        loop {
            let chunk = self.entries_from(id, replay.tree.size(), size)?;
            let full = chunk.len() as i64 == CHUNK;
            let mut completed = Vec::new();
            for entry in chunk {
                let index = replay.tree.size();
                if entry.index != index {
                    return Err(format!(
                        "entry {index} is missing (the next stored entry is {})",
                        entry.index
                    ));
                }
                let hash = leaf::hash(&entry.leaf);
                if entry.leaf_hash[..] != hash {
                    return Err(format!(
                        "the stored leaf hash of entry {index} is not the hash of its bytes: \
                         the entry or its hash was changed"
                    ));
                }
                completed.extend(
                    replay
                        .tree
                        .append(hash)
                        .into_iter()
                        .filter(|(node, _)| node.level > 0 && node.level % TILE_HEIGHT == 0),
                );
                out.entries = replay.tree.size();
                replay.check_roots()?;
            }
            self.check_tree_hashes(id, &completed)?;
            if !full {
                return Ok(());
            }
        }
    }

    /// The log's row.
    pub(super) fn log_row(&self, name: &str) -> Result<LogRow, String> {
        let (pool, owned) = (self.pool(), name.to_owned());
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let r = client
                .query_one(
                    "SELECT id, size, checkpoint_note, checkpoint_micros FROM sealog_logs \
                     WHERE name = $1",
                    &[&owned],
                )
                .await
                .map_err(db_error)?;
            Ok(LogRow {
                id: r.get(0),
                size: r.get::<_, i64>(1) as u64,
                note: r.get(2),
                micros: r.get(3),
            })
        })
        .map_err(|e| format!("cannot read the log's row: {e}"))
    }

    /// The checkpoint history rows of log `id`, by size: size, note, signing time.
    fn history_rows(&self, id: i64) -> Result<Vec<(i64, Vec<u8>, i64)>, String> {
        let pool = self.pool();
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let rows = client
                .query(
                    "SELECT size, note, signed_micros FROM sealog_checkpoint_history \
                     WHERE log_id = $1 ORDER BY size",
                    &[&id],
                )
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })
        .map_err(|e| format!("cannot read the checkpoint history: {e}"))
    }

    /// The checkpoint history of log `id`, each verified, none beyond the latest `cp`.
    pub(crate) fn checked_history(
        &self,
        id: i64,
        verifier: &Verifier,
        cp: &SignedCheckpoint,
    ) -> Result<Vec<SignedCheckpoint>, String> {
        checked_history(self.history_rows(id)?, verifier, cp)
    }

    /// Up to [`CHUNK`] entries of log `id` from index `from` on, before `end`, in order.
    fn entries_from(&self, id: i64, from: u64, end: u64) -> Result<Vec<StoredEntry>, String> {
        let (pool, from, end) = (self.pool(), from as i64, end as i64);
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let rows = client
                .query(
                    "SELECT idx, leaf, leaf_hash FROM sealog_entries WHERE log_id = $1 \
                     AND idx >= $2 AND idx < $4 ORDER BY idx LIMIT $3",
                    &[&id, &from, &CHUNK, &end],
                )
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|r| StoredEntry {
                    index: r.get::<_, i64>(0) as u64,
                    leaf: r.get(1),
                    leaf_hash: r.get(2),
                })
                .collect())
        })
        .map_err(|e| format!("cannot read the entries from {from}: {e}"))
    }
}

/// The history `rows` (size, note, signing time), each verified, none beyond the latest `cp`.
fn checked_history(
    rows: Vec<(i64, Vec<u8>, i64)>,
    verifier: &Verifier,
    cp: &SignedCheckpoint,
) -> Result<Vec<SignedCheckpoint>, String> {
    let mut history = Vec::with_capacity(rows.len());
    for (size, note, micros) in rows {
        let h = checkpoint_file::verified(note, micros, verifier).map_err(|why| {
            format!("the history's checkpoint of size {size} does not verify: {why}")
        })?;
        if h.size as i64 != size {
            return Err(format!(
                "the history's row of size {size} holds a checkpoint of size {}",
                h.size
            ));
        }
        if h.size > cp.size {
            return Err(format!(
                "the checkpoint history holds a checkpoint of size {} beyond the last \
                     signed checkpoint (size {}): the log's row is older than the history \
                     (restored from a backup?)",
                h.size, cp.size
            ));
        }
        history.push(h);
    }
    Ok(history)
}

/// The log's tree rebuilt from its entries, compared as it grows with its checkpoints.
struct Replay<'a> {
    /// The latest signed checkpoint.
    cp: &'a SignedCheckpoint,
    /// The earlier checkpoints not yet reached, oldest first.
    earlier: Peekable<std::slice::Iter<'a, SignedCheckpoint>>,
    tree: CompactTree,
}

impl Replay<'_> {
    /// Checks the tree's root against the checkpoints of its current size.
    fn check_roots(&mut self) -> Result<(), String> {
        crate::fsck::check_roots(&self.tree, self.cp, &mut self.earlier)
    }
}
