//! Small JSON documents in the shared store (table `sealog_documents`): what the server keeps
//! beside the logs (API keys, log settings, legal holds) and every node must see alike. Each document is
//! rewritten whole on a change, in a transaction that holds its row locked from the read to
//! the write, so that two nodes changing it at once apply one change after the other, never
//! one over the other; and its version grows by one, so that a node caching it learns with one
//! cheap query whether its copy is current.

use super::{Database, db_error};
use crate::EngineError;
use deadpool_postgres::Object;
use std::sync::Arc;

/// The shared store's documents; cheap to clone. Made by [`crate::Engine::shared_documents`].
#[derive(Clone)]
pub struct SharedDocuments {
    db: Arc<Database>,
}

/// One version of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Grows by one on every change; 0 for a document never written.
    pub version: i64,
    /// Its JSON text; `None` for a document never written.
    pub body: Option<String>,
}

/// Makes the row to lock if it is missing: two nodes writing a new document at once wait on
/// each other here instead of one failing on the primary key.
const ENSURE: &str = "INSERT INTO sealog_documents (name, version, body) VALUES ($1, 0, 'null') \
                      ON CONFLICT (name) DO NOTHING";
const LOCK: &str = "SELECT version, body::text FROM sealog_documents WHERE name = $1 FOR UPDATE";
const WRITE: &str = "UPDATE sealog_documents SET version = version + 1, body = $2::text::jsonb \
                     WHERE name = $1 RETURNING version";
const READ: &str = "SELECT version, body::text FROM sealog_documents WHERE name = $1";
const VERSION: &str = "SELECT version FROM sealog_documents WHERE name = $1";

impl SharedDocuments {
    pub(crate) fn new(db: Arc<Database>) -> SharedDocuments {
        SharedDocuments { db }
    }

    /// The version of document `name` (0 if it was never written).
    pub fn version(&self, name: &str) -> Result<i64, EngineError> {
        let (pool, owned) = (self.db.pool(), name.to_owned());
        self.db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let row = client.query_opt(VERSION, &[&owned]).await;
                Ok(row.map_err(db_error)?.map_or(0, |r| r.get(0)))
            })
            .map_err(|e| EngineError::io(format_args!("cannot read document {name}"), e))
    }

    /// Document `name` as stored now.
    pub fn read(&self, name: &str) -> Result<Document, EngineError> {
        let (pool, owned) = (self.db.pool(), name.to_owned());
        self.db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let row = client.query_opt(READ, &[&owned]).await.map_err(db_error)?;
                Ok(row.map_or_else(unwritten, |r| document(r.get(0), r.get(1))))
            })
            .map_err(|e| EngineError::io(format_args!("cannot read document {name}"), e))
    }

    /// Changes document `name` with `change`, which gets its text (`None` if never written)
    /// and gives back a result and the new text (`None`: leave it as it is). The document
    /// stays locked on every node from the read to the write, so `change` may also act on what
    /// the document guards. Returns the result and the document as stored afterwards, or
    /// `change`'s own error (inside) or the store's (outside); nothing changes if `change` or
    /// the write fails.
    pub fn update<T, E>(
        &self,
        name: &str,
        change: impl FnOnce(Option<&str>) -> Result<(T, Option<String>), E>,
    ) -> Result<Result<(T, Document), E>, EngineError> {
        let fail = |e| EngineError::io(format_args!("cannot change document {name}"), e);
        let (pool, owned) = (self.db.pool(), name.to_owned());
        let (tx, current) = self
            .db
            .run(async move {
                let tx = OpenTransaction(Some(pool.get().await.map_err(db_error)?));
                let client = tx.client();
                client.batch_execute("BEGIN").await.map_err(db_error)?;
                client.execute(ENSURE, &[&owned]).await.map_err(db_error)?;
                let row = client.query_one(LOCK, &[&owned]).await.map_err(db_error)?;
                Ok((tx, document(row.get(0), row.get(1))))
            })
            .map_err(fail)?;
        let (out, new) = match change(current.body.as_deref()) {
            Ok(changed) => changed,
            Err(e) => return Ok(Err(e)),
        };
        let Some(new) = new else {
            self.db
                .run(async move { tx.finish("ROLLBACK").await })
                .map_err(fail)?;
            return Ok(Ok((out, current)));
        };
        let owned = name.to_owned();
        let stored = self
            .db
            .run(async move {
                let row = tx.client().query_one(WRITE, &[&owned, &new]).await;
                let version: i64 = row.map_err(db_error)?.get(0);
                tx.finish("COMMIT").await?;
                Ok(Document {
                    version,
                    body: Some(new),
                })
            })
            .map_err(fail)?;
        Ok(Ok((out, stored)))
    }
}

fn unwritten() -> Document {
    Document {
        version: 0,
        body: None,
    }
}

fn document(version: i64, body: String) -> Document {
    if version == 0 {
        return unwritten();
    }
    Document {
        version,
        body: Some(body),
    }
}

/// A pooled connection inside `BEGIN`: unless it commits, it is taken out of the pool and
/// closed when dropped, which rolls the transaction back, so that no later user of the pool
/// inherits an open transaction or its locks.
struct OpenTransaction(Option<Object>);

impl OpenTransaction {
    fn client(&self) -> &Object {
        self.0.as_ref().expect("open until finished")
    }

    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`); the connection goes back to
    /// the pool only if that worked.
    async fn finish(mut self, sql: &str) -> std::io::Result<()> {
        let client = self.0.take().expect("open until finished");
        match client.batch_execute(sql).await {
            Ok(()) => Ok(()),
            Err(e) => {
                drop(Object::take(client));
                Err(db_error(e))
            }
        }
    }
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}
