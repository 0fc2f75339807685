//! The witness's durable state: per origin, the latest checkpoint it cosigned (size, root and
//! the cosigned note), in SQLite with full synchronous commits. [`Store::check_and_set`] reads,
//! decides and writes in one immediate transaction, so two requests for one log can never
//! roll its size back (tlog-witness §add-checkpoint), even from two processes.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sealog_core::merkle::Hash;
use std::path::Path;
use std::sync::Mutex;

/// What the witness last cosigned for a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Refused requests kept per origin as evidence of misbehaviour (the newest ones).
const REFUSALS_KEPT: i64 = 100;

/// The SQLite database of a witness.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) `path`.
    pub fn open(path: &Path) -> Result<Store, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS latest (
                 origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
                 note BLOB NOT NULL, updated INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS refused (
                 id INTEGER PRIMARY KEY, origin TEXT NOT NULL, at INTEGER NOT NULL,
                 status INTEGER NOT NULL, reason TEXT NOT NULL, body BLOB NOT NULL);",
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Atomically: reads the latest cosigned state of `origin`, lets `decide` judge the
    /// request against it, and if `decide` returns a cosigned note for `next`, stores it
    /// durably before returning. `decide`'s refusal is returned unchanged and nothing is
    /// written.
    pub fn check_and_set<T, E>(
        &self,
        origin: &str,
        next: &Latest,
        now: u64,
        decide: impl FnOnce(Option<&Latest>) -> Result<(Vec<u8>, T), E>,
    ) -> Result<Result<T, E>, String> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let prev = tx
            .query_row(
                "SELECT size, root FROM latest WHERE origin = ?1",
                [origin],
                |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(|e| e.to_string())?
            .map(|(size, root)| {
                let root = Hash::try_from(root).map_err(|_| "stored root is not 32 bytes")?;
                Ok::<_, String>(Latest { size, root })
            })
            .transpose()?;
        let (note, answer) = match decide(prev.as_ref()) {
            Ok(ok) => ok,
            Err(refusal) => return Ok(Err(refusal)),
        };
        tx.execute(
            "INSERT INTO latest (origin, size, root, note, updated) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (origin) DO UPDATE SET size = ?2, root = ?3, note = ?4, updated = ?5",
            params![origin, next.size, next.root.as_slice(), note, now],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok(Ok(answer))
    }

    /// The latest cosigned note of `origin` (log signature and the witness's cosignature).
    pub fn latest_note(&self, origin: &str) -> Result<Option<Vec<u8>>, String> {
        self.conn()
            .query_row("SELECT note FROM latest WHERE origin = ?1", [origin], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| e.to_string())
    }

    /// Every origin's latest cosigned size, for the metrics.
    pub fn sizes(&self) -> Result<Vec<(String, u64)>, String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT origin, size FROM latest ORDER BY origin")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Records a refused request from an authenticated log (a proof that does not verify,
    /// another root at a cosigned size): it may be evidence that the log forked. Keeps the
    /// newest [`REFUSALS_KEPT`] per origin.
    pub fn record_refusal(
        &self,
        origin: &str,
        now: u64,
        status: u16,
        reason: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO refused (origin, at, status, reason, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![origin, now, status, reason, body],
        )
        .and_then(|_| {
            conn.execute(
                "DELETE FROM refused WHERE origin = ?1 AND id NOT IN
                 (SELECT id FROM refused WHERE origin = ?1 ORDER BY id DESC LIMIT ?2)",
                params![origin, REFUSALS_KEPT],
            )
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_writes_nothing_and_a_success_survives_reopening() {
        let dir = std::env::temp_dir().join(format!("sealog-witness-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("witness.db");
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path).unwrap();
        let next = Latest {
            size: 5,
            root: [7; 32],
        };
        let r = store.check_and_set("o", &next, 1, |prev| {
            assert!(prev.is_none());
            Err::<(Vec<u8>, ()), ()>(())
        });
        assert_eq!(r.unwrap(), Err(()));
        assert_eq!(store.latest_note("o").unwrap(), None);
        let r = store.check_and_set("o", &next, 1, |_| Ok::<_, ()>((b"note".to_vec(), ())));
        assert_eq!(r.unwrap(), Ok(()));
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.latest_note("o").unwrap(), Some(b"note".to_vec()));
        assert_eq!(store.sizes().unwrap(), vec![("o".to_owned(), 5)]);
        store
            .check_and_set("o", &next, 2, |prev| {
                assert_eq!(prev, Some(&next));
                Err::<(Vec<u8>, ()), ()>(())
            })
            .unwrap()
            .unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
