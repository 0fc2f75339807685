//! One log's rows: the `LogStore` of the PostgreSQL store.

use super::append::PgAppender;
use super::lease::Lease;
use super::{Database, db_error};
use crate::log_store::{Anchor, LogAppender, LogStore};
use crate::{EngineError, SignedCheckpoint, checkpoint_file};
use sealog_core::leaf;
use sealog_core::merkle::{CompactTree, HashSource, tree_root};
use sealog_core::note::{Signer, Verifier};
use sealog_core::tiles::{Tile, TileHashSource, TileReader};
use std::io;
use std::sync::Arc;

/// The leaf hashes of a range of entries (tile level 0).
const LEAF_HASHES: &str = "SELECT leaf_hash FROM sealog_entries \
     WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";

/// A range of stored hashes of one upper tile level.
const TREE_HASHES: &str = "SELECT hash FROM sealog_tree_hashes \
     WHERE log_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx";

/// Makes a new checkpoint the log's latest, if this node still leads in its epoch and the
/// checkpoint does not go back: the compare and swap that keeps two nodes from both signing.
const STORE_CHECKPOINT: &str = "UPDATE sealog_logs SET checkpoint_size = $3, \
     checkpoint_note = $4, checkpoint_micros = $5 WHERE id = $1 AND lease_epoch = $2 \
     AND lease_holder = $6 AND lease_expires > clock_timestamp() \
     AND checkpoint_size <= $3 AND size >= $3";

/// Adds a checkpoint to the history under the same fence.
const APPEND_HISTORY: &str = "INSERT INTO sealog_checkpoint_history \
     (log_id, size, note, signed_micros) SELECT $1, $3, $4, $5 FROM sealog_logs \
     WHERE id = $1 AND lease_epoch = $2 AND lease_holder = $6 \
     AND lease_expires > clock_timestamp()";

/// Entries read per query while recovering.
const RECOVER_BATCH: u64 = 10_000;

/// The rows of one log, written only while this node holds its lease.
pub(crate) struct PgStore {
    pub(super) db: Arc<Database>,
    pub(super) name: String,
    pub(super) lease: Arc<Lease>,
}

impl PgStore {
    /// Opens log `name` for writing: takes its lease, or refuses (busy) while another node
    /// holds it.
    pub(crate) fn open(db: &Arc<Database>, name: &str) -> Result<PgStore, EngineError> {
        let lease = Lease::acquire(db, name)?;
        Ok(PgStore {
            db: db.clone(),
            name: name.to_owned(),
            lease,
        })
    }

    /// The log's row id.
    pub(super) fn log_id(&self) -> i64 {
        self.lease.log_id
    }

    /// Refuses once the lease may have been lost.
    pub(super) fn check_lease(&self) -> io::Result<()> {
        if self.lease.held() {
            return Ok(());
        }
        Err(lease_lost(&self.name))
    }

    /// Runs one statement fenced by the lease, with the parameters `$3`… given; `$1` is the
    /// log, `$2` the epoch and `$6` the holder. Refuses (and gives the lease up) when it
    /// changed no row.
    fn fenced(&self, sql: &'static str, size: i64, note: Vec<u8>, micros: i64) -> io::Result<()> {
        self.check_lease()?;
        let (pool, id, epoch) = (self.db.pool(), self.log_id(), self.lease.epoch);
        let holder = self.lease.holder.clone();
        let changed = self.db.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let statement = client.prepare_cached(sql).await.map_err(db_error)?;
            client
                .execute(&statement, &[&id, &epoch, &size, &note, &micros, &holder])
                .await
                .map_err(db_error)
        })?;
        if changed == 0 {
            self.lease.lose();
            return Err(lease_lost(&self.name));
        }
        Ok(())
    }

    /// The stored size and the end of the stored entries, which must agree.
    fn stored_size(&self) -> io::Result<u64> {
        let (pool, id) = (self.db.pool(), self.log_id());
        let (size, end): (i64, i64) = self.db.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let row = client
                .query_one(
                    "SELECT size, (SELECT coalesce(max(idx) + 1, 0) FROM sealog_entries \
                     WHERE log_id = $1) FROM sealog_logs WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(db_error)?;
            Ok((row.get(0), row.get(1)))
        })?;
        if size != end {
            return Err(io::Error::other(format!(
                "the log's row says {size} entries but entries up to {end} are stored"
            )));
        }
        Ok(size as u64)
    }

    /// The tree of the stored log: its border from the stored hashes, checked against the
    /// anchor, and every entry past the anchor re-hashed to the same root.
    fn recover_tree(&self, anchor: Anchor) -> Result<CompactTree, String> {
        let size = self.stored_size().map_err(|e| e.to_string())?;
        if size < anchor.size {
            return Err(format!(
                "the log holds {size} entries but its last signed checkpoint covers {}",
                anchor.size
            ));
        }
        let source = TileHashSource::new(self, size);
        let stored = |n: u64| -> Result<CompactTree, String> {
            let border = source
                .node_hashes(&CompactTree::border(n))
                .map_err(|e| format!("reading the stored tree at size {n}: {e}"))?;
            CompactTree::from_border(n, border).map_err(|e| e.to_string())
        };
        let root = tree_root(&source, anchor.size).map_err(|e| e.to_string())?;
        if root != anchor.root {
            return Err(format!(
                "the root of the first {} entries does not match the last signed checkpoint: \
                 an entry or a stored tree hash was changed",
                anchor.size
            ));
        }
        let mut tree = stored(anchor.size)?;
        while tree.size() < size {
            let end = size.min(tree.size() + RECOVER_BATCH);
            let leaves = self
                .read_entries(tree.size(), end)
                .map_err(|e| e.to_string())?;
            leaves.iter().for_each(|l| {
                tree.append(leaf::hash(l));
            });
        }
        if tree.root() != stored(size)?.root() {
            return Err(format!(
                "the entries past the last checkpoint (size {}) do not hash to the stored tree \
                 of size {size}: an entry or a stored tree hash was changed",
                anchor.size
            ));
        }
        Ok(tree)
    }
}

impl LogStore for PgStore {
    fn signing_key(&self) -> Result<Signer, EngineError> {
        self.db.signing_key(&self.name)
    }

    fn checkpoint(&self, verifier: &Verifier) -> Result<SignedCheckpoint, EngineError> {
        let (pool, id) = (self.db.pool(), self.log_id());
        let (note, micros): (Vec<u8>, i64) = self
            .db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let row = client
                    .query_one(
                        "SELECT checkpoint_note, checkpoint_micros FROM sealog_logs \
                         WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(db_error)?;
                Ok((row.get(0), row.get(1)))
            })
            .map_err(|e| EngineError::io("cannot read the checkpoint", e))?;
        checkpoint_file::verified(note, micros, verifier)
            .map_err(|why| EngineError::corrupt(format!("the stored checkpoint: {why}")))
    }

    fn store_checkpoint(&self, cp: &SignedCheckpoint) -> io::Result<()> {
        let size = cp.size as i64;
        self.fenced(
            STORE_CHECKPOINT,
            size,
            cp.note.clone(),
            cp.signed_unix_micros,
        )
    }

    fn history(
        &self,
        verifier: &Verifier,
        _repair: bool,
    ) -> Result<Vec<SignedCheckpoint>, EngineError> {
        // Nothing is ever half-written: each checkpoint is one row, inserted whole.
        let (pool, id) = (self.db.pool(), self.log_id());
        let rows: Vec<(Vec<u8>, i64)> = self
            .db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let rows = client
                    .query(
                        "SELECT note, signed_micros FROM sealog_checkpoint_history \
                         WHERE log_id = $1 ORDER BY size",
                        &[&id],
                    )
                    .await
                    .map_err(db_error)?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .map_err(|e| EngineError::io("cannot read the checkpoint history", e))?;
        rows.into_iter()
            .map(|(note, micros)| {
                checkpoint_file::verified(note, micros, verifier)
                    .map_err(|why| EngineError::corrupt(format!("the checkpoint history: {why}")))
            })
            .collect()
    }

    fn append_history(&self, cp: &SignedCheckpoint) -> io::Result<()> {
        let size = cp.size as i64;
        self.fenced(APPEND_HISTORY, size, cp.note.clone(), cp.signed_unix_micros)
    }

    fn recover(self: Arc<Self>, anchor: Anchor) -> Result<Box<dyn LogAppender>, EngineError> {
        let tree = self.recover_tree(anchor).map_err(EngineError::corrupt)?;
        Ok(Box::new(PgAppender::new(self, tree)))
    }

    fn read_entries(&self, start: u64, end: u64) -> io::Result<Vec<Vec<u8>>> {
        let (pool, id) = (self.db.pool(), self.log_id());
        let (from, to) = (start as i64, end as i64);
        let leaves: Vec<Vec<u8>> = self.db.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let statement = client
                .prepare_cached(
                    "SELECT leaf FROM sealog_entries WHERE log_id = $1 AND idx >= $2 \
                     AND idx < $3 ORDER BY idx",
                )
                .await
                .map_err(db_error)?;
            let rows = client
                .query(&statement, &[&id, &from, &to])
                .await
                .map_err(db_error)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })?;
        if leaves.len() as u64 != end - start {
            return Err(io::Error::other(format!(
                "entries {start}..{end} of log {}: only {} are stored",
                self.name,
                leaves.len()
            )));
        }
        Ok(leaves)
    }

    fn sync_derived(&self) -> io::Result<()> {
        // Tree hashes are committed with their group.
        Ok(())
    }

    fn check_writer(&self) -> io::Result<()> {
        self.check_lease()
    }

    fn release(&self) {
        self.lease.release(&self.db);
    }
}

impl TileReader for PgStore {
    type Error = io::Error;

    fn read_tiles(&self, tiles: &[Tile]) -> io::Result<Vec<Vec<u8>>> {
        let (pool, id) = (self.db.pool(), self.log_id());
        let wanted: Vec<(u8, i64, i64)> = tiles
            .iter()
            .map(|t| (t.level, (t.index * 256) as i64, i64::from(t.width)))
            .collect();
        self.db.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let leaf_hashes = client.prepare_cached(LEAF_HASHES).await.map_err(db_error)?;
            let tree_hashes = client.prepare_cached(TREE_HASHES).await.map_err(db_error)?;
            let mut out = Vec::with_capacity(wanted.len());
            for (level, from, width) in wanted {
                let to = from + width;
                let rows = if level == 0 {
                    client.query(&leaf_hashes, &[&id, &from, &to]).await
                } else {
                    let level = i16::from(level);
                    client.query(&tree_hashes, &[&id, &level, &from, &to]).await
                }
                .map_err(db_error)?;
                if rows.len() as i64 != width {
                    return Err(io::Error::other(format!(
                        "tile level {level} from node {from}: {} of {width} hashes are stored",
                        rows.len()
                    )));
                }
                let mut bytes = Vec::with_capacity(rows.len() * 32);
                rows.iter()
                    .for_each(|r| bytes.extend_from_slice(r.get::<_, &[u8]>(0)));
                out.push(bytes);
            }
            Ok(out)
        })
    }
}

/// The refusal of a write after the lease was lost.
pub(super) fn lease_lost(name: &str) -> io::Error {
    io::Error::other(format!(
        "this node no longer holds the writer lease of log {name} (another node may lead it \
         now): it stops appending and signing"
    ))
}
