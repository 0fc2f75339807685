//! The writer's side of a log's rows: stages a group's entries and tree hashes, then commits
//! them in one transaction fenced by the writer lease.

use super::db_error;
use super::store::{PgStore, lease_lost};
use crate::log_store::{CommitError, LogAppender};
use sealog_core::leaf;
use sealog_core::merkle::{CompactTree, Hash};
use sealog_core::tiles::TILE_HEIGHT;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Advances the log's size from the size the group starts at, only in this node's epoch and
/// while its lease runs: the fence of every group. It also locks the log's row until the
/// transaction ends, so a takeover waits for a group in flight and then sees it.
const ADVANCE: &str = "UPDATE sealog_logs SET size = $3 WHERE id = $1 AND lease_epoch = $2 \
     AND lease_holder = $5 AND size = $4 AND lease_expires > clock_timestamp()";

/// The group's entries, one statement.
const INSERT_ENTRIES: &str = "INSERT INTO sealog_entries (log_id, idx, leaf, leaf_hash) \
     SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[])";

/// The group's hashes of the upper tile levels, one statement.
const INSERT_HASHES: &str = "INSERT INTO sealog_tree_hashes (log_id, level, idx, hash) \
     SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])";

/// Appends to one log; owned by its writer thread. After an error the staged tree may be
/// ahead of the rows: the writer stops using it (reopening recovers from the rows).
pub(crate) struct PgAppender {
    store: Arc<PgStore>,
    tree: CompactTree,
    /// Entries committed.
    committed: u64,
    group: Group,
}

/// The rows one group (or one batch of an import) stages: its entries and the upper tile
/// hashes they complete.
#[derive(Default)]
pub(super) struct Group {
    indices: Vec<i64>,
    leaves: Vec<Vec<u8>>,
    leaf_hashes: Vec<Vec<u8>>,
    hash_levels: Vec<i16>,
    hash_indices: Vec<i64>,
    hashes: Vec<Vec<u8>>,
}

impl Group {
    /// Appends `leaf_bytes` to `tree` as its next leaf and stages its row and the hashes of
    /// the tile levels it completes; returns its leaf hash.
    pub(super) fn push(&mut self, tree: &mut CompactTree, leaf_bytes: &[u8]) -> Hash {
        let hash = leaf::hash(leaf_bytes);
        self.indices.push(tree.size() as i64);
        self.leaves.push(leaf_bytes.to_vec());
        self.leaf_hashes.push(hash.to_vec());
        for (node, h) in tree.append(hash) {
            // Level 0 is the leaf hash, stored with its entry; the levels between tile levels
            // are recomputed inside a tile.
            if node.level > 0 && node.level % TILE_HEIGHT == 0 {
                self.hash_levels.push(i16::from(node.level / TILE_HEIGHT));
                self.hash_indices.push(node.index as i64);
                self.hashes.push(h.to_vec());
            }
        }
        hash
    }

    /// Entries staged.
    pub(super) fn len(&self) -> usize {
        self.indices.len()
    }

    /// Inserts the staged rows of log `id` in `tx`: one statement for the entries, one for
    /// the hashes.
    pub(super) async fn insert(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        id: i64,
    ) -> Result<(), tokio_postgres::Error> {
        let entries = tx.prepare_cached(INSERT_ENTRIES).await?;
        tx.execute(
            &entries,
            &[&id, &self.indices, &self.leaves, &self.leaf_hashes],
        )
        .await?;
        if !self.hashes.is_empty() {
            let hashes = tx.prepare_cached(INSERT_HASHES).await?;
            tx.execute(
                &hashes,
                &[&id, &self.hash_levels, &self.hash_indices, &self.hashes],
            )
            .await?;
        }
        Ok(())
    }
}

impl PgAppender {
    /// Appends after `tree`, the recovered tree of every committed entry.
    pub(super) fn new(store: Arc<PgStore>, tree: CompactTree) -> Self {
        PgAppender {
            store,
            committed: tree.size(),
            tree,
            group: Group::default(),
        }
    }
}

impl LogAppender for PgAppender {
    fn size(&self) -> u64 {
        self.tree.size()
    }

    fn root(&self) -> Hash {
        self.tree.root()
    }

    fn begin_group(&mut self) -> io::Result<()> {
        self.group = Group::default();
        self.store.check_lease()
    }

    fn push(&mut self, leaf_bytes: &[u8]) -> Hash {
        self.group.push(&mut self.tree, leaf_bytes)
    }

    /// One transaction: the fence, the entries, the hashes, committed with
    /// `synchronous_commit` on. A failure before the commit is sent rolls the whole group
    /// back; a failure of the commit itself leaves it unknown.
    fn commit(&mut self) -> Result<Duration, CommitError> {
        self.store.check_lease().map_err(|error| CommitError {
            error,
            rolled_back: true,
        })?;
        let group = std::mem::take(&mut self.group);
        let started = Instant::now();
        let fence = Fence {
            id: self.store.log_id(),
            epoch: self.store.lease.epoch,
            holder: self.store.lease.holder.clone(),
            from: self.committed as i64,
            to: self.tree.size() as i64,
        };
        let pool = self.store.db.pool();
        let outcome = self
            .store
            .db
            .run(async move { Ok(write_group(pool, fence, group).await) });
        match outcome {
            Ok(Ok(())) => {
                self.committed = self.tree.size();
                Ok(started.elapsed())
            }
            Ok(Err(Outcome::Fenced)) => {
                self.store.lease.lose();
                Err(CommitError {
                    error: lease_lost(&self.store.name),
                    rolled_back: true,
                })
            }
            Ok(Err(Outcome::RolledBack(error))) => Err(CommitError {
                error,
                rolled_back: true,
            }),
            Ok(Err(Outcome::Unknown(error))) | Err(error) => Err(CommitError {
                error,
                rolled_back: false,
            }),
        }
    }
}

/// How a group's transaction failed.
enum Outcome {
    /// Another node leads in a later epoch (or the lease ran out): nothing was written.
    Fenced,
    /// Failed before the commit: nothing was written.
    RolledBack(io::Error),
    /// The commit was sent but its answer lost: the group may or may not be stored.
    Unknown(io::Error),
}

/// Which log a group goes to, under which lease, from which size to which.
struct Fence {
    id: i64,
    epoch: i64,
    holder: String,
    from: i64,
    to: i64,
}

/// The group's transaction.
async fn write_group(pool: deadpool_postgres::Pool, f: Fence, g: Group) -> Result<(), Outcome> {
    let rolled_back = |e| Outcome::RolledBack(db_error(e));
    let mut client = pool
        .get()
        .await
        .map_err(|e| Outcome::RolledBack(db_error(e)))?;
    let tx = client.transaction().await.map_err(rolled_back)?;
    let advance = tx.prepare_cached(ADVANCE).await.map_err(rolled_back)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&f.id, &f.epoch, &f.to, &f.from, &f.holder];
    if tx.execute(&advance, &params).await.map_err(rolled_back)? == 0 {
        return Err(Outcome::Fenced);
    }
    g.insert(&tx, f.id).await.map_err(rolled_back)?;
    tx.commit().await.map_err(|e| Outcome::Unknown(db_error(e)))
}
