//! The derived query and dedup index of one log.
//!
//! The append-only log is the source of truth; this index is derived from it and can always be
//! rebuilt ([`IdIndex::destroy`], then [`IdIndex::apply`] from leaf 0). It answers two things:
//!
//! - **dedup at any age** ([`IdIndex::lookup_ids`]): the original log index of an event id, on
//!   the ingest path;
//! - **queries** ([`IdIndex::query`], [`IdIndex::session`]): log indices filtered by agent,
//!   session, action, status, time and search terms (module `terms`), with cursors that stay stable under concurrent ingest;
//!   and counts of the same matches over time by action ([`IdIndex::histogram`]).
//!
//! A background indexer feeds it in large batches off the acknowledgement path; the
//! [watermark](IdIndex::watermark) says how far it has caught up, and every query answer carries
//! the watermark of the snapshot it read so the API can report index lag.
//!
//! **Why this layout, and why SQLite** (the measurements are in `README.md` beside this file).
//! What limits an embedded index is the B-tree work per event, not the bytes: one SQLite row
//! per event with agent and session secondary indexes cost about 12 µs of CPU per event here,
//! more than a whole core at the 100,000 events/s target. So only the id (dedup must find any
//! id of any age) gets a B-tree entry per event; everything else is written once per applied
//! batch: a *chunk* with the batch's fields packed (module `codec`) behind a zone map (time
//! bounds, bitmaps of actions and statuses), and per agent and per session a *posting list* of
//! where its events are in the batch. Strings are interned to integers (module `names`), ids
//! are UUIDv7 so fresh ids land in the last pages of their B-tree, and an in-memory filter
//! (module `idfilter`) answers most fresh-id lookups without touching the store. No leaf bytes
//! are stored: the index takes about a fifth of the leaf bytes.
//!
//! With that layout SQLite (WAL, `synchronous = FULL`) used less CPU per event than fjall at
//! 10,000 leaves per batch, half the disk, and reopens in milliseconds instead of seconds, with
//! no compaction stalls; it also gives crash-consistent batches and snapshot reads beside the
//! writer. Per-batch costs make large batches much cheaper: the indexer should apply whatever
//! has accumulated, up to 10,000 leaves at a time.

mod apply;
mod codec;
mod entry;
mod error;
mod histogram;
mod idfilter;
mod names;
mod query;
mod store;
mod terms;
mod walk;

pub use entry::parse_ts;
pub use error::IndexError;
pub use histogram::{Histogram, MAX_BUCKETS, MAX_SERIES, Series};
pub use query::{MAX_LIMIT, Page, Query, SessionEntry, SessionPage};
pub use terms::{
    EXACT_FIELDS, MAX_QUERY_TERMS, MAX_TERMS, MAX_VALUE_BYTES, SEARCH_FIELDS, SearchError,
};

use idfilter::IdFilter;
use names::Names;
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

/// Memory and work bounds of an [`IdIndex`].
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Page cache of each SQLite connection, in bytes. The index holds one writer, one lookup
    /// connection and up to `readers` query connections, so its memory is bounded by about
    /// `cache_bytes × (2 + readers)` plus `name_cache` strings.
    pub cache_bytes: usize,
    /// Interned names of each kind (agent, session, action, status) the writer keeps in memory.
    pub name_cache: usize,
    /// Newest ids kept in the in-memory negative check in front of `lookup_ids` (10 bits
    /// each; 0 disables it). Ids older than the newest `id_filter / 2` or so are always probed.
    pub id_filter: usize,
    /// Idle query connections kept open for reuse.
    pub readers: usize,
    /// Entries one query page may examine before it returns early with a cursor, which bounds
    /// the time of a query whose filters match rarely (a million take a few tens of ms).
    pub scan_entries: u64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            cache_bytes: 16 << 20,
            name_cache: 65_536,
            id_filter: 4 << 20,
            readers: 4,
            scan_entries: 1_000_000,
        }
    }
}

/// The query and dedup index of one log, stored under a directory the engine chooses.
///
/// `Send + Sync`: the engine's writer thread calls [`lookup_ids`](Self::lookup_ids) while an
/// indexer thread calls [`apply`](Self::apply) and request handlers run queries; each uses its
/// own connection, and SQLite's WAL lets readers proceed during a write.
pub struct IdIndex {
    path: PathBuf,
    options: IndexOptions,
    writer: Mutex<Writer>,
    lookup: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    filter: RwLock<IdFilter>,
    watermark: AtomicU64,
}

struct Writer {
    conn: Connection,
    names: Names,
    /// False while a batch is in flight; if a batch failed or panicked, the interned names
    /// cached in memory may not be in the database, so they are reloaded first.
    clean: bool,
}

impl IdIndex {
    /// Opens (creating if needed) the index in `dir` with default [`IndexOptions`].
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        Self::open_with(dir, IndexOptions::default())
    }

    /// Opens (creating if needed) the index in `dir`.
    ///
    /// After a crash, the index is as of its last committed batch: resume from
    /// [`watermark`](Self::watermark).
    pub fn open_with(dir: &Path, options: IndexOptions) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = store::db_path(dir);
        if !path.exists() {
            // A WAL without its database is left from an interrupted `destroy`.
            store::remove_files(dir)?;
        }
        let conn = store::connect(&path, options.cache_bytes, true)?;
        let watermark = store::meta(&conn, "watermark")?;
        let names = Names::load(&conn, options.name_cache)?;
        let filter = IdFilter::above_max(&conn, options.id_filter)?;
        let lookup = store::connect(&path, options.cache_bytes, false)?;
        Ok(IdIndex {
            path,
            writer: Mutex::new(Writer {
                conn,
                names,
                clean: true,
            }),
            lookup: Mutex::new(lookup),
            readers: Mutex::new(Vec::new()),
            filter: RwLock::new(filter),
            watermark: AtomicU64::new(watermark as u64),
            options,
        })
    }

    /// Deletes the index files in `dir` so that the index can be rebuilt from leaf 0
    /// (`sealog reindex`). The index must not be open. Other files in `dir` are left alone.
    pub fn destroy(dir: &Path) -> Result<(), IndexError> {
        store::remove_files(dir)
    }

    /// Number of leaves (`0..watermark`) whose ids and fields are durably indexed.
    pub fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// The original log index of each id, or `None` if it is not indexed (yet).
    ///
    /// Ids below the watermark are answered exactly; the engine must itself remember the ids
    /// of leaves it has logged but the index has not yet applied.
    pub fn lookup_ids(&self, ids: &[u128]) -> Result<Vec<Option<u64>>, IndexError> {
        let mut out = vec![None; ids.len()];
        let mut probe: Vec<usize> = {
            let filter = self.filter.read().unwrap_or_else(PoisonError::into_inner);
            (0..ids.len())
                .filter(|&i| filter.may_contain(ids[i]))
                .collect()
        };
        if probe.is_empty() {
            return Ok(out);
        }
        // Probing in key order walks the B-tree left to right, so consecutive probes share
        // pages.
        probe.sort_unstable_by_key(|&i| ids[i]);
        let mut conn = lock(&self.lookup);
        let err = IndexError::store("looking up event ids");
        let tx = conn.transaction().map_err(err)?;
        let mut stmt = tx
            .prepare_cached("SELECT ix FROM ids WHERE id = ?1")
            .map_err(IndexError::store("looking up event ids"))?;
        for i in probe {
            out[i] = stmt
                .query_row([idfilter::id_key(ids[i])], |r| r.get(0))
                .optional()
                .map_err(IndexError::store("looking up event ids"))?;
        }
        Ok(out)
    }

    /// Indexes leaves `first..first + leaves.len()` in one durable batch.
    ///
    /// `first` must equal the [`watermark`](Self::watermark); otherwise nothing is written and
    /// [`IndexError::OutOfOrder`] says where to resume. A leaf that is not valid JSON or lacks a
    /// field is indexed without it: the index never refuses to advance. If an id appears twice
    /// (the engine dedups, so it should not), lookups return its first index and queries
    /// return both leaves.
    pub fn apply(&self, first: u64, leaves: &[&[u8]]) -> Result<(), IndexError> {
        let mut guard = lock(&self.writer);
        let expected = self.watermark();
        if first != expected {
            return Err(IndexError::OutOfOrder {
                expected,
                got: first,
            });
        }
        if leaves.is_empty() {
            return Ok(());
        }
        let w = &mut *guard;
        if !w.clean {
            w.names = Names::load(&w.conn, self.options.name_cache)?;
        }
        w.clean = false;
        let tx = w
            .conn
            .transaction()
            .map_err(IndexError::store("starting an index batch"))?;
        let ids = apply::write_batch(&tx, &mut w.names, first, leaves)?;
        tx.commit()
            .map_err(IndexError::store("committing an index batch"))?;
        w.clean = true;
        // The filter learns the ids before the watermark moves, so an id below a watermark
        // the engine has read is never ruled out.
        let full = {
            let mut filter = self.filter.write().unwrap_or_else(PoisonError::into_inner);
            ids.iter().for_each(|&(id, _)| filter.insert(id));
            filter.is_full()
        };
        self.watermark
            .store(first + leaves.len() as u64, Ordering::Release);
        // Rebuilt outside the filter's lock so lookups go on meanwhile; the writer lock keeps
        // other batches out, so the new filter misses nothing. If the rebuild fails, the full
        // filter stays: still correct, only less selective, and retried after the next batch.
        if full && let Ok(newer) = IdFilter::newest(&w.conn, self.options.id_filter) {
            *self.filter.write().unwrap_or_else(PoisonError::into_inner) = newer;
        }
        Ok(())
    }

    /// Runs `f` on a pooled read connection inside one read transaction (one snapshot).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => store::connect(&self.path, self.options.cache_bytes, false)?,
        };
        let result = {
            let tx = conn
                .transaction()
                .map_err(IndexError::store("starting a query"))?;
            f(&tx)
        };
        let mut pool = lock(&self.readers);
        if pool.len() < self.options.readers {
            pool.push(conn);
        }
        result
    }
}

/// Locks a mutex even if a thread panicked while holding it: every critical section either
/// finishes or leaves a rolled-back transaction, which `Writer::clean` accounts for.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
