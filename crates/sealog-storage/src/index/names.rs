//! Interning of agent, session, action, status and search-term strings into small integers.
//!
//! The secondary index keys are what limits the index's write speed and size, so rows store
//! integers, never strings. Each kind counts from 0 in order of first appearance; for sessions
//! that makes the keys time-ordered, so new entries land in the same few B-tree pages.

use super::IndexError;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// The writer's cache of one kind: hashed with foldhash, because the indexer looks up a dozen
/// names per event and SipHash was a fifth of that cost.
type Cache = HashMap<String, i64, foldhash::fast::RandomState>;

/// What an interned string names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    Agent = 0,
    Session = 1,
    Action = 2,
    Status = 3,
    /// A search term (module `terms`).
    Term = 4,
}

const KINDS: usize = 5;

/// The writer's interning state: a bounded cache in front of the `names` table and the next
/// number of each kind.
pub(super) struct Names {
    cache: [Cache; KINDS],
    next: [i64; KINDS],
    capacity: usize,
}

impl Names {
    /// Loads the next number of each kind; the cache starts empty.
    pub fn load(conn: &Connection, capacity: usize) -> Result<Names, IndexError> {
        let mut next = [0; KINDS];
        let mut stmt = conn
            .prepare("SELECT kind, max(n) + 1 FROM names GROUP BY kind")
            .map_err(IndexError::store("loading interned names"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, usize>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(IndexError::store("loading interned names"))?;
        for (kind, n) in rows {
            if let Some(slot) = next.get_mut(kind) {
                *slot = n;
            }
        }
        Ok(Names {
            cache: Default::default(),
            next,
            capacity,
        })
    }

    /// The number of `name`, assigning the next one (inside the caller's transaction) if new.
    pub fn intern(&mut self, conn: &Connection, kind: Kind, name: &str) -> Result<i64, IndexError> {
        let k = kind as usize;
        if let Some(&n) = self.cache[k].get(name) {
            return Ok(n);
        }
        let n = match find(conn, kind, name)? {
            Some(n) => n,
            None => {
                let n = self.next[k];
                conn.prepare_cached("INSERT INTO names (kind, name, n) VALUES (?1, ?2, ?3)")
                    .and_then(|mut s| s.execute(params![k, name, n]))
                    .map_err(IndexError::store("interning a name"))?;
                self.next[k] = n + 1;
                n
            }
        };
        // Clearing when full keeps memory bounded without LRU bookkeeping; misses cost one
        // B-tree lookup each.
        if self.cache[k].len() >= self.capacity {
            self.cache[k].clear();
        }
        self.cache[k].insert(name.to_owned(), n);
        Ok(n)
    }
}

/// The number of `name`, if it was ever interned (visible in `conn`'s snapshot).
pub(super) fn find(conn: &Connection, kind: Kind, name: &str) -> Result<Option<i64>, IndexError> {
    conn.prepare_cached("SELECT n FROM names WHERE kind = ?1 AND name = ?2")
        .and_then(|mut s| {
            s.query_row(params![kind as usize, name], |r| r.get(0))
                .optional()
        })
        .map_err(IndexError::store("looking up a name"))
}

/// The names of the interned numbers `ns` of `kind` (visible in `conn`'s snapshot); numbers
/// never interned are left out.
pub(super) fn names_of(
    conn: &Connection,
    kind: Kind,
    ns: &[i64],
) -> Result<HashMap<i64, String>, IndexError> {
    let wanted: std::collections::HashSet<i64> = ns.iter().copied().collect();
    let mut out = HashMap::with_capacity(wanted.len());
    if wanted.is_empty() {
        return Ok(out);
    }
    // The table is keyed by (kind, name): reading one kind is one range of it.
    let err = IndexError::store("looking up names");
    let mut stmt = conn
        .prepare_cached("SELECT n, name FROM names WHERE kind = ?1")
        .map_err(err)?;
    let rows = stmt
        .query_map([kind as usize], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(IndexError::store("looking up names"))?;
    for row in rows {
        let (n, name) = row.map_err(IndexError::store("looking up names"))?;
        if wanted.contains(&n) {
            out.insert(n, name);
        }
    }
    Ok(out)
}
