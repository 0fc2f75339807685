//! How a query page is collected: filters resolved to interned numbers, then a walk driven by
//! a session's posting lists, by posting lists intersected chunk by chunk (an agent's, search
//! terms'), or by the chunks themselves (see `query`).

use super::apply::bit;
use super::codec::{self, Fields};
use super::names::{self, Kind};
use super::{IndexError, Query};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// The filters of a query with names resolved to their interned numbers.
pub(super) struct Filters {
    pub session: Option<i64>,
    pub agent: Option<i64>,
    action: Option<i64>,
    status: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
    /// Search terms every match holds.
    pub terms: Vec<i64>,
}

impl Filters {
    /// `None` if a filter names something never indexed, so nothing can match.
    pub fn resolve(conn: &Connection, q: &Query) -> Result<Option<Filters>, IndexError> {
        let wanted = [
            (Kind::Session, &q.session),
            (Kind::Agent, &q.agent),
            (Kind::Action, &q.action),
            (Kind::Status, &q.status),
        ];
        let mut found = [None; 4];
        for (slot, (kind, name)) in found.iter_mut().zip(wanted) {
            if let Some(name) = name {
                match names::find(conn, kind, name)? {
                    Some(n) => *slot = Some(n),
                    None => return Ok(None),
                }
            }
        }
        let [session, agent, action, status] = found;
        let mut terms = Vec::with_capacity(q.terms.len());
        for term in &q.terms {
            match names::find(conn, Kind::Term, term)? {
                Some(n) => terms.push(n),
                None => return Ok(None),
            }
        }
        Ok(Some(Filters {
            session,
            agent,
            action,
            status,
            since: q.since,
            until: q.until,
            terms,
        }))
    }

    /// The posting lists every match is in: its session's, its agent's and its terms'.
    pub fn posting_lists(&self) -> Vec<(Kind, i64)> {
        let names = [(Kind::Session, self.session), (Kind::Agent, self.agent)];
        let names = names.into_iter().filter_map(|(k, n)| Some((k, n?)));
        names
            .chain(self.terms.iter().map(|&n| (Kind::Term, n)))
            .collect()
    }

    pub(super) fn matches(&self, f: &Fields) -> bool {
        let is = |want: Option<i64>, have: Option<i64>| want.is_none() || want == have;
        is(self.session, f.session)
            && is(self.agent, f.agent)
            && is(self.action, f.action)
            && is(self.status, f.status)
            && self.since.is_none_or(|s| f.ts.is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| f.ts.is_some_and(|t| t < u))
    }

    /// Whether matching needs more than the posting list that drives the walk.
    fn needs_fields(&self, driver: Kind) -> bool {
        let other_name = match driver {
            Kind::Session => self.agent.is_some(),
            _ => false,
        };
        other_name
            || self.action.is_some()
            || self.status.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }

    /// SQL conditions on a chunk's zone map, and their arguments.
    pub(super) fn zone_sql(&self) -> (String, Vec<Value>) {
        let conditions = [
            ("max_ts >= ?", self.since),
            ("min_ts < ?", self.until),
            ("actions & ? != 0", self.action.map(|n| bit(n) as i64)),
            ("statuses & ? != 0", self.status.map(|n| bit(n) as i64)),
        ];
        let mut sql = String::new();
        let mut args = Vec::new();
        for (condition, value) in conditions {
            if let Some(v) = value {
                sql += " AND ";
                sql += condition;
                args.push(Value::Integer(v));
            }
        }
        (sql, args)
    }
}

/// One page being collected.
pub(super) struct Walk<'a> {
    pub conn: &'a Connection,
    pub f: &'a Filters,
    /// Exclusive upper bound on log indices.
    pub hi: u64,
    pub limit: usize,
    /// Entries this page may still examine.
    pub budget: u64,
    pub found: Vec<u64>,
}

impl Walk<'_> {
    /// Adds `ix`; returns the cursor (`< ix`) if the page is now full.
    fn push(&mut self, ix: u64) -> Option<u64> {
        self.found.push(ix);
        (self.found.len() == self.limit).then_some(ix)
    }

    /// Scans chunks newest first, skipping those whose zone map rules them out.
    pub fn chunks(&mut self) -> Result<Option<u64>, IndexError> {
        let (zone, mut args) = self.f.zone_sql();
        let sql = format!(
            "SELECT first, count, data FROM chunks WHERE first < ?{zone} ORDER BY first DESC"
        );
        args.insert(0, Value::Integer(self.hi as i64));
        let err = IndexError::store("scanning index chunks");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let mut rows = stmt
            .query(params_from_iter(args))
            .map_err(IndexError::store("scanning index chunks"))?;
        let mut examined = 0;
        while let Some(row) = rows
            .next()
            .map_err(IndexError::store("scanning index chunks"))?
        {
            let (first, count): (u64, u64) =
                (row.get(0).map_err(bad_row)?, row.get(1).map_err(bad_row)?);
            if examined >= self.budget {
                return Ok(Some(first + count));
            }
            let fields = codec::decode_fields(
                row.get_ref(2)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(bad_row)?,
            );
            let end = self.hi.saturating_sub(first).min(fields.len() as u64);
            examined += end;
            for k in (0..end).rev() {
                if self.f.matches(&fields[k as usize])
                    && let Some(next) = self.push(first + k)
                {
                    return Ok(Some(next));
                }
            }
        }
        Ok(None)
    }

    /// Walks posting lists newest first: the rarest of `lists` drives, the others are
    /// intersected with it chunk by chunk, and the field filters are checked on what is left.
    pub fn postings(&mut self, lists: &[(Kind, i64)]) -> Result<Option<u64>, IndexError> {
        let (driver, others) = rarest_first(self.conn, lists)?;
        let needs_fields = self.f.needs_fields(driver.0);
        let (mut examined, mut covered, mut next) = (0, self.hi, None);
        for_each_posting(self.conn, driver.0, driver.1, self.hi, |first, items| {
            if examined >= self.budget {
                next = Some(covered);
                return Ok(false);
            }
            examined += items.len() as u64;
            let mut offsets: Vec<u64> = items.iter().map(|&(offset, _)| offset).collect();
            intersect(self.conn, &mut offsets, &others, first)?;
            let fields = match needs_fields && !offsets.is_empty() {
                true => self.chunk_if_zone_matches(first)?,
                false => None,
            };
            let hi = self.hi;
            for &offset in offsets.iter().rev().filter(|&&o| first + o < hi) {
                let matched = !needs_fields
                    || fields
                        .as_ref()
                        .and_then(|fields| fields.get(offset as usize))
                        .is_some_and(|f| self.f.matches(f));
                if matched && let Some(n) = self.push(first + offset) {
                    next = Some(n);
                    return Ok(false);
                }
            }
            covered = first;
            Ok(true)
        })?;
        Ok(next)
    }

    /// Reads a session's posting lists whole, then walks them newest first.
    pub fn session(&mut self, session: i64) -> Result<Option<u64>, IndexError> {
        let mut all = Vec::new();
        for_each_posting(
            self.conn,
            Kind::Session,
            session,
            self.hi,
            |first, items| {
                all.extend(items.iter().map(|&(offset, _)| (first + offset, first)));
                Ok(true)
            },
        )?;
        all.retain(|&(ix, _)| ix < self.hi);
        all.sort_unstable_by(|a, b| b.cmp(a));
        let needs_fields = self.f.needs_fields(Kind::Session);
        // Candidates come newest first, so one chunk is decoded at most once in a row.
        let mut chunk: Option<(u64, Option<Vec<Fields>>)> = None;
        for (ix, first) in all {
            if needs_fields {
                if chunk.as_ref().is_none_or(|(f, _)| *f != first) {
                    chunk = Some((first, self.chunk_if_zone_matches(first)?));
                }
                let fields = chunk
                    .as_ref()
                    .and_then(|(_, c)| c.as_ref()?.get((ix - first) as usize));
                if !fields.is_some_and(|f| self.f.matches(f)) {
                    continue;
                }
            }
            if let Some(next) = self.push(ix) {
                return Ok(Some(next));
            }
        }
        Ok(None)
    }

    /// The decoded chunk starting at `first`, or `None` if its zone map rules it out.
    fn chunk_if_zone_matches(&self, first: u64) -> Result<Option<Vec<Fields>>, IndexError> {
        let (zone, mut args) = self.f.zone_sql();
        args.insert(0, Value::Integer(first as i64));
        let sql = format!("SELECT data FROM chunks WHERE first = ?{zone}");
        let err = IndexError::store("reading an index chunk");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let mut rows = stmt
            .query(params_from_iter(args))
            .map_err(IndexError::store("reading an index chunk"))?;
        match rows
            .next()
            .map_err(IndexError::store("reading an index chunk"))?
        {
            Some(row) => Ok(Some(codec::decode_fields(
                row.get_ref(0)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(bad_row)?,
            ))),
            None => Ok(None),
        }
    }
}

/// A posting list: what it lists and the interned number of it.
pub(super) type List = (Kind, i64);

/// Orders `lists` by how many chunks they are in (counted up to a bound, which is enough to
/// tell a rare term from a common one): the first drives a walk, the rest are intersected.
fn rarest_first(conn: &Connection, lists: &[(Kind, i64)]) -> Result<(List, Vec<List>), IndexError> {
    let err = IndexError::store("counting posting lists");
    let mut stmt = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM postings WHERE kind = ?1 AND n = ?2 LIMIT 4096)",
        )
        .map_err(err)?;
    let mut counted = Vec::with_capacity(lists.len());
    for &(kind, n) in lists {
        let count: i64 = stmt
            .query_row(params![kind as i64, n], |r| r.get(0))
            .map_err(IndexError::store("counting posting lists"))?;
        counted.push((count, (kind, n)));
    }
    counted.sort_unstable_by_key(|&(count, _)| count);
    let mut lists = counted.into_iter().map(|(_, list)| list);
    let driver = lists.next().expect("a posting walk has at least one list");
    Ok((driver, lists.collect()))
}

/// Keeps the `offsets` (ascending) of the chunk at `first` that each of `lists` holds too.
pub(super) fn intersect(
    conn: &Connection,
    offsets: &mut Vec<u64>,
    lists: &[(Kind, i64)],
    first: u64,
) -> Result<(), IndexError> {
    for &(kind, n) in lists {
        if offsets.is_empty() {
            break;
        }
        let held = held(conn, (kind, n), first)?;
        offsets.retain(|o| held.binary_search(o).is_ok());
    }
    Ok(())
}

/// The offsets (ascending) in the chunk at `first` that the posting list `list` holds.
pub(super) fn held(
    conn: &Connection,
    list: (Kind, i64),
    first: u64,
) -> Result<Vec<u64>, IndexError> {
    let (kind, n) = list;
    let data = conn
        .prepare_cached("SELECT data FROM postings WHERE kind = ?1 AND n = ?2 AND first = ?3")
        .and_then(|mut s| {
            s.query_row(params![kind as i64, n, first as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
        })
        .map_err(IndexError::store("reading posting lists"))?;
    let items = data.map(|d| codec::decode_posting(&d, matches!(kind, Kind::Session)));
    Ok(items
        .into_iter()
        .flatten()
        .map(|(offset, _)| offset)
        .collect())
}

/// Calls `visit(first, items)` for each posting list of (`kind`, `n`) whose chunk starts below
/// `hi`, newest first, until it returns `false`.
pub(super) fn for_each_posting(
    conn: &Connection,
    kind: Kind,
    n: i64,
    hi: u64,
    mut visit: impl FnMut(u64, &[(u64, Option<i64>)]) -> Result<bool, IndexError>,
) -> Result<(), IndexError> {
    let err = IndexError::store("reading posting lists");
    let mut stmt = conn
        .prepare_cached("SELECT first, data FROM postings WHERE kind = ?1 AND n = ?2 AND first < ?3 ORDER BY first DESC")
        .map_err(err)?;
    let hi = i64::try_from(hi).unwrap_or(i64::MAX);
    let mut rows = stmt
        .query(params![kind as i64, n, hi])
        .map_err(IndexError::store("reading posting lists"))?;
    while let Some(row) = rows
        .next()
        .map_err(IndexError::store("reading posting lists"))?
    {
        let first: u64 = row.get(0).map_err(bad_row)?;
        let data = row
            .get_ref(1)
            .and_then(|v| Ok(v.as_blob()?))
            .map_err(bad_row)?;
        if !visit(
            first,
            &codec::decode_posting(data, matches!(kind, Kind::Session)),
        )? {
            break;
        }
    }
    Ok(())
}

pub(super) fn bad_row(e: rusqlite::Error) -> IndexError {
    IndexError::store("decoding an index row")(e)
}
