//! The SQLite file: schema, connection settings, and where the files live.

use super::IndexError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Bumped whenever the schema changes; an index with another version must be rebuilt.
/// 3: the subject's term comes first, so that no event's other terms crowd it out.
pub(super) const SCHEMA_VERSION: i64 = 3;

/// The database file and the two files SQLite keeps beside it in WAL mode.
const FILES: [&str; 3] = ["index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"];

// `ids` and `names` are WITHOUT ROWID so that each is one B-tree keyed by what is looked up;
// `ids` gets the only per-event B-tree entry. `chunks` holds one row per applied batch, keyed by
// its first log index: the batch's fields packed (`codec`), after a zone map (time bounds and
// bitmaps of actions and statuses) that SQLite can test without reading the packed data.
// `postings` lists, per agent (kind 0), session (kind 1) or search term (kind 4) and batch, where
// in the batch its events are. Strings live only in `names`. Version 2 added the search terms.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ids (id BLOB PRIMARY KEY, ix INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS names (
    kind INTEGER, name TEXT, n INTEGER NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
    first INTEGER PRIMARY KEY, count INTEGER NOT NULL, min_ts INTEGER, max_ts INTEGER,
    actions INTEGER NOT NULL, statuses INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS postings (
    kind INTEGER, n INTEGER, first INTEGER, data BLOB NOT NULL,
    PRIMARY KEY (kind, n, first)) WITHOUT ROWID;
";

/// The database file inside the index directory.
pub(super) fn db_path(dir: &Path) -> PathBuf {
    dir.join(FILES[0])
}

/// Opens a connection. The writer creates the schema; other connections only read.
pub(super) fn connect(
    path: &Path,
    cache_bytes: usize,
    writer: bool,
) -> Result<Connection, IndexError> {
    let err = IndexError::store("opening the index database");
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    let cache_kib = (cache_bytes / 1024).max(64);
    // FULL: in WAL mode NORMAL does not fsync at commit, and `apply` promises a durable batch.
    let mut pragmas = format!("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -{cache_kib};");
    if writer {
        pragmas += "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                    PRAGMA journal_size_limit = 67108864;";
    } else {
        pragmas += "PRAGMA query_only = 1;";
    }
    conn.execute_batch(&pragmas)
        .map_err(IndexError::store("configuring the index database"))?;
    conn.set_prepared_statement_cache_capacity(64);
    if writer {
        create_schema(&conn)?;
    }
    Ok(conn)
}

fn create_schema(conn: &Connection) -> Result<(), IndexError> {
    let sql = format!(
        "BEGIN; {SCHEMA}
         INSERT OR IGNORE INTO meta VALUES ('schema', {SCHEMA_VERSION}), ('watermark', 0);
         COMMIT;"
    );
    conn.execute_batch(&sql)
        .map_err(IndexError::store("creating the index schema"))?;
    let found = meta(conn, "schema")?;
    if found != SCHEMA_VERSION {
        return Err(IndexError::Schema {
            found,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Reads one `meta` value (`schema` or `watermark`).
pub(super) fn meta(conn: &Connection, key: &str) -> Result<i64, IndexError> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)))
        .map_err(IndexError::store("reading the index watermark"))
}

/// Removes the index files from `dir` (not the directory, which the engine may share).
///
/// The database goes first: a WAL left without its database is deleted by `open` before SQLite
/// could replay it into a new, empty database.
pub(super) fn remove_files(dir: &Path) -> Result<(), IndexError> {
    for name in FILES {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(IndexError::Io { path, source: e });
            }
            _ => {}
        }
    }
    Ok(())
}
