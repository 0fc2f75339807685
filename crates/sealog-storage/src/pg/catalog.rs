//! The catalog of logs in the database: which logs exist, and each one's signing key, sealed
//! under the operator's store key (XChaCha20-Poly1305, the log's name as associated data, so
//! a sealed key moved to another log's row does not open).

use super::{Database, db_error};
use crate::content::crypto;
use crate::{EngineError, ErrorKind, SignedCheckpoint};
use sealog_core::note::Signer;

impl Database {
    /// The names of every log in the store, sorted; a log that `sealog migrate` has not
    /// finished copying in is not one yet.
    pub(crate) fn log_names(&self) -> Result<Vec<String>, EngineError> {
        let pool = self.pool();
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let rows = client
                .query(
                    "SELECT name FROM sealog_logs WHERE NOT importing ORDER BY name",
                    &[],
                )
                .await
                .map_err(db_error)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
        .map_err(|e| EngineError::io("cannot list the logs in the store", e))
    }

    /// Adds log `name` with its key (sealed) and its first checkpoint. Refuses a name taken.
    pub(crate) fn create_log(
        &self,
        name: &str,
        signer: &Signer,
        cp: &SignedCheckpoint,
    ) -> Result<(), EngineError> {
        let sealed = self.seal_key(name, signer)?;
        let (pool, owned, origin) = (self.pool(), name.to_owned(), signer.name().to_owned());
        let (note, micros, size) = (cp.note.clone(), cp.signed_unix_micros, cp.size as i64);
        let inserted = self
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                client
                    .execute(
                        "INSERT INTO sealog_logs (name, origin, sealed_key, size, \
                         checkpoint_size, checkpoint_note, checkpoint_micros) \
                         VALUES ($1, $2, $3, $4, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                        &[&owned, &origin, &sealed, &size, &note, &micros],
                    )
                    .await
                    .map_err(db_error)
            })
            .map_err(|e| EngineError::io(format_args!("cannot create log {name}"), e))?;
        if inserted == 0 {
            return Err(EngineError::new(
                ErrorKind::AlreadyExists,
                format!("a log called {name:?} already exists"),
            ));
        }
        Ok(())
    }

    /// The signing key of log `name` sealed under the store key, bound to the name.
    pub(crate) fn seal_key(&self, name: &str, signer: &Signer) -> Result<Vec<u8>, EngineError> {
        crypto::seal(
            &self.options.store_key,
            signer.skey().as_bytes(),
            &key_aad(name),
        )
        .map_err(|e| EngineError::io("cannot seal the log key", e))
    }

    /// The signing key of log `name`, unsealed with the store key. The error says when the
    /// store key is not the one it was sealed with.
    pub(crate) fn signing_key(&self, name: &str) -> Result<Signer, EngineError> {
        let (pool, owned) = (self.pool(), name.to_owned());
        let sealed: Vec<u8> = self
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let row = client
                    .query_one(
                        "SELECT sealed_key FROM sealog_logs WHERE name = $1",
                        &[&owned],
                    )
                    .await
                    .map_err(db_error)?;
                Ok(row.get(0))
            })
            .map_err(|e| EngineError::io(format_args!("cannot read the key of log {name}"), e))?;
        let skey =
            crypto::open(&self.options.store_key, &sealed, &key_aad(name)).ok_or_else(|| {
                EngineError::invalid(format!(
                    "the key of log {name} does not open with this store key: every node of a \
                 store needs the same store key (--store-key-file or SEALOG_STORE_KEY)"
                ))
            })?;
        let skey = std::str::from_utf8(&skey)
            .map_err(|_| EngineError::corrupt(format!("the key of log {name} is not text")))?;
        Signer::from_skey(skey)
            .map_err(|e| EngineError::corrupt(format!("the key of log {name}: {e}")))
    }
}

/// What a log's sealed key is bound to.
fn key_aad(name: &str) -> Vec<u8> {
    format!("sealog log key {name}").into_bytes()
}
