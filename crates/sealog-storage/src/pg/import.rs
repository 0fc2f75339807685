//! The store's side of `sealog migrate`: a log copied in from a data directory, marked
//! `importing` (migration 0004) from its first row until the copy is verified, so that no
//! node lists it (`Database::log_names`) and a rerun after a crash finds it and continues.
//!
//! Entries go in batches, one transaction each, that advance the row's size from where the
//! last batch ended, the same compare and swap a group commit makes (without a lease: no
//! node writes an importing log), so two imports of one log at once cannot both write.

use super::append::Group;
use super::{Database, db_error};
use crate::{EngineError, ErrorKind, SignedCheckpoint};
use sealog_core::merkle::{CompactTree, Hash};
use sealog_core::note::Signer;

/// Advances an importing log's size from where the last batch ended.
const ADVANCE: &str = "UPDATE sealog_logs SET size = $3 WHERE id = $1 AND size = $2 \
     AND importing";

/// Where an import of a log stands in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportStart {
    /// The log was absent and now has its importing row, empty.
    Fresh,
    /// An earlier import of the same log (same signing key) stopped after this many entries.
    Resumed(u64),
    /// An earlier import of another log of the same name (another key) was removed and this
    /// one starts afresh.
    Restarted,
}

/// A log being imported: its row id and the batch being staged.
pub(crate) struct Import<'a> {
    db: &'a Database,
    name: String,
    id: i64,
    /// Entries committed in the store.
    committed: u64,
    /// Entries of the tree staged or committed: the tree the source's leaves make.
    tree: CompactTree,
    batch: Group,
}

impl Database {
    /// Whether log `name` exists in the store and is whole (not being imported).
    pub(crate) fn has_complete_log(&self, name: &str) -> Result<bool, EngineError> {
        let (pool, owned) = (self.pool(), name.to_owned());
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let row = client
                .query_opt(
                    "SELECT 1 FROM sealog_logs WHERE name = $1 AND NOT importing",
                    &[&owned],
                )
                .await
                .map_err(db_error)?;
            Ok(row.is_some())
        })
        .map_err(|e| EngineError::io(format_args!("cannot look log {name} up in the store"), e))
    }

    /// Starts (or continues) importing log `name`, signed by `signer`: creates its importing
    /// row, or finds the one an interrupted import of the same key left. Refuses a log the
    /// store already has whole.
    pub(crate) fn begin_import(
        &self,
        name: &str,
        signer: &Signer,
    ) -> Result<(Import<'_>, ImportStart), EngineError> {
        let found = self.import_row(name)?;
        let start = match found {
            Some((_, false, _)) => {
                return Err(EngineError::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "the store already has a log called {name:?}: `sealog migrate` only \
                         copies into a store without the directory's logs"
                    ),
                ));
            }
            Some((id, true, size)) => {
                if self.signing_key(name)?.skey() == signer.skey() {
                    ImportStart::Resumed(size)
                } else {
                    self.remove_import(id)?;
                    ImportStart::Restarted
                }
            }
            None => ImportStart::Fresh,
        };
        if !matches!(start, ImportStart::Resumed(_)) {
            self.insert_import_row(name, signer)?;
        }
        let (id, _, committed) = self
            .import_row(name)?
            .ok_or_else(|| EngineError::corrupt(format!("the row of log {name} vanished")))?;
        let import = Import {
            db: self,
            name: name.to_owned(),
            id,
            committed,
            tree: CompactTree::new(),
            batch: Group::default(),
        };
        Ok((import, start))
    }

    /// Log `name`'s row id, whether it is being imported, and its size.
    fn import_row(&self, name: &str) -> Result<Option<(i64, bool, u64)>, EngineError> {
        let (pool, owned) = (self.pool(), name.to_owned());
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let row = client
                .query_opt(
                    "SELECT id, importing, size FROM sealog_logs WHERE name = $1",
                    &[&owned],
                )
                .await
                .map_err(db_error)?;
            Ok(row.map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64)))
        })
        .map_err(|e| EngineError::io(format_args!("cannot look log {name} up in the store"), e))
    }

    /// The importing row of log `name`: its sealed key, no entries, no checkpoint yet.
    fn insert_import_row(&self, name: &str, signer: &Signer) -> Result<(), EngineError> {
        let sealed = self.seal_key(name, signer)?;
        let (pool, owned, origin) = (self.pool(), name.to_owned(), signer.name().to_owned());
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            client
                .execute(
                    "INSERT INTO sealog_logs (name, origin, sealed_key, checkpoint_size, \
                     checkpoint_note, checkpoint_micros, importing) \
                     VALUES ($1, $2, $3, 0, '', 0, true)",
                    &[&owned, &origin, &sealed],
                )
                .await
                .map_err(db_error)
        })
        .map(drop)
        .map_err(|e| EngineError::io(format_args!("cannot create log {name} in the store"), e))
    }

    /// Removes every row of the importing log `id`, in one transaction.
    fn remove_import(&self, id: i64) -> Result<(), EngineError> {
        let pool = self.pool();
        self.run(async move {
            let mut client = pool.get().await.map_err(db_error)?;
            let tx = client.transaction().await.map_err(db_error)?;
            for table in [
                "sealog_entries",
                "sealog_tree_hashes",
                "sealog_checkpoint_history",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE log_id = $1"), &[&id])
                    .await
                    .map_err(db_error)?;
            }
            tx.execute(
                "DELETE FROM sealog_logs WHERE id = $1 AND importing",
                &[&id],
            )
            .await
            .map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
        .map_err(|e| EngineError::io("cannot remove an interrupted import", e))
    }
}

impl Import<'_> {
    /// Entries staged in the current batch.
    pub(crate) fn staged(&self) -> usize {
        self.batch.len()
    }

    /// Adds the source's next entry: staged for the next batch, or only hashed if an earlier
    /// run committed it already (its tile hashes went with it). Returns whether it was
    /// staged.
    pub(crate) fn push(&mut self, leaf_bytes: &[u8]) -> bool {
        if self.tree.size() < self.committed {
            self.tree.append(sealog_core::leaf::hash(leaf_bytes));
            return false;
        }
        self.batch.push(&mut self.tree, leaf_bytes);
        true
    }

    /// Commits the staged batch in one transaction.
    pub(crate) fn commit(&mut self) -> Result<(), EngineError> {
        if self.batch.len() == 0 {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let (pool, id) = (self.db.pool(), self.id);
        let (from, to) = (self.committed as i64, self.tree.size() as i64);
        let advanced = self
            .db
            .run(async move {
                let mut client = pool.get().await.map_err(db_error)?;
                let tx = client.transaction().await.map_err(db_error)?;
                let advance = tx.prepare_cached(ADVANCE).await.map_err(db_error)?;
                if tx
                    .execute(&advance, &[&id, &from, &to])
                    .await
                    .map_err(db_error)?
                    == 0
                {
                    return Ok(false);
                }
                batch.insert(&tx, id).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(true)
            })
            .map_err(|e| {
                EngineError::io(
                    format_args!("cannot copy entries {from}..{to} of log {}", self.name),
                    e,
                )
            })?;
        if !advanced {
            return Err(EngineError::new(
                ErrorKind::Busy,
                format!(
                    "log {} changed in the store while it was being copied: is another `sealog \
                     migrate` copying it?",
                    self.name
                ),
            ));
        }
        self.committed = self.tree.size();
        Ok(())
    }

    /// Entries pushed so far.
    pub(crate) fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the entries pushed so far (the source's leaves).
    pub(crate) fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Stores the log's latest checkpoint and its history (replacing whatever an interrupted
    /// run stored), in one transaction. The log stays importing.
    pub(crate) fn store_checkpoints(
        &self,
        cp: &SignedCheckpoint,
        history: &[SignedCheckpoint],
    ) -> Result<(), EngineError> {
        let (pool, id) = (self.db.pool(), self.id);
        let (size, note, micros) = (cp.size as i64, cp.note.clone(), cp.signed_unix_micros);
        let sizes: Vec<i64> = history.iter().map(|h| h.size as i64).collect();
        let notes: Vec<Vec<u8>> = history.iter().map(|h| h.note.clone()).collect();
        let times: Vec<i64> = history.iter().map(|h| h.signed_unix_micros).collect();
        let stored = self
            .db
            .run(async move {
                let mut client = pool.get().await.map_err(db_error)?;
                let tx = client.transaction().await.map_err(db_error)?;
                tx.execute(
                    "DELETE FROM sealog_checkpoint_history WHERE log_id = $1",
                    &[&id],
                )
                .await
                .map_err(db_error)?;
                tx.execute(
                    "INSERT INTO sealog_checkpoint_history (log_id, size, note, signed_micros) \
                     SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bigint[])",
                    &[&id, &sizes, &notes, &times],
                )
                .await
                .map_err(db_error)?;
                let changed = tx
                    .execute(
                        "UPDATE sealog_logs SET checkpoint_size = $2, checkpoint_note = $3, \
                         checkpoint_micros = $4 WHERE id = $1 AND importing AND size >= $2",
                        &[&id, &size, &note, &micros],
                    )
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(changed == 1)
            })
            .map_err(|e| {
                EngineError::io(
                    format_args!("cannot store the checkpoints of log {}", self.name),
                    e,
                )
            })?;
        if !stored {
            return Err(EngineError::corrupt(format!(
                "log {} holds fewer entries in the store than its checkpoint covers",
                self.name
            )));
        }
        Ok(())
    }

    /// Checks that the store holds exactly `cp` as the log's latest checkpoint and exactly
    /// `history` as its history, byte for byte; the error says what differs.
    pub(crate) fn check_checkpoints(
        &self,
        cp: &SignedCheckpoint,
        history: &[SignedCheckpoint],
    ) -> Result<(), String> {
        let row = self.db.log_row(&self.name)?;
        if row.note != cp.note || row.micros != cp.signed_unix_micros {
            return Err(format!(
                "the store's checkpoint of log {} is not the source's (size {})",
                self.name, cp.size
            ));
        }
        let verifier = self
            .db
            .signing_key(&self.name)
            .map_err(|e| e.to_string())?
            .verifier();
        let stored = self.db.checked_history(self.id, &verifier, cp)?;
        let same = |a: &SignedCheckpoint, b: &SignedCheckpoint| {
            a.note == b.note && a.signed_unix_micros == b.signed_unix_micros
        };
        if stored.len() != history.len() || !stored.iter().zip(history).all(|(a, b)| same(a, b)) {
            return Err(format!(
                "the store's checkpoint history of log {} ({} checkpoints) is not the source's                  ({})",
                self.name,
                stored.len(),
                history.len()
            ));
        }
        Ok(())
    }

    /// Removes the copy (a failed proof): no run could prove it, the next one copies afresh.
    pub(crate) fn abandon(self) -> Result<(), EngineError> {
        self.db.remove_import(self.id)
    }

    /// Ends the import: the log becomes a log of the store, served by the next node that
    /// looks.
    pub(crate) fn finish(self) -> Result<(), EngineError> {
        let (pool, id) = (self.db.pool(), self.id);
        self.db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                client
                    .execute(
                        "UPDATE sealog_logs SET importing = false WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(db_error)
            })
            .map(drop)
            .map_err(|e| EngineError::io(format_args!("cannot finish log {}", self.name), e))
    }
}
