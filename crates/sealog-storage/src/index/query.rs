//! Queries: newest-first pages of log indices, and one session in `seq` order.
//!
//! Pagination is by log index, descending. A cursor means "entries with index < N", which new
//! appends never disturb, so walking the pages visits every matching entry that existed when the
//! walk started exactly once, however much is ingested meanwhile.
//!
//! A query is driven by its most selective structure: a session's posting lists, else the
//! posting lists of its agent and search terms (the rarest drives, the others are intersected
//! chunk by chunk), else the chunks themselves, newest first. Chunks whose zone map (time bounds, action
//! and status bitmaps) rules them out are skipped without being read, so a search for a rare
//! status or an old time range does not decode the whole log. A page examines at most
//! `scan_entries` entries; if it stops early it returns fewer entries and a cursor to continue.
//! A session is read whole (it is bounded by the session's size), then sorted.

use super::names::{self, Kind};
use super::store::meta;
use super::walk::{Filters, Walk, for_each_posting};
use super::{IdIndex, IndexError};

/// The largest page a query returns; larger limits are capped to it.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

/// A filtered, newest-first page request. All filters are optional and combine with AND.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only events of this `agent.id`.
    pub agent: Option<String>,
    /// Only events of this `session.id`.
    pub session: Option<String>,
    /// Only events with this `action`.
    pub action: Option<String>,
    /// Only events with this `status`.
    pub status: Option<String>,
    /// Only events with `ts` at or after this time (µs since the Unix epoch; see
    /// [`parse_ts`](super::parse_ts)). Events without a readable `ts` never match a time bound.
    pub since: Option<i64>,
    /// Only events with `ts` strictly before this time (µs since the Unix epoch).
    pub until: Option<i64>,
    /// Only events holding every one of these search terms, as
    /// [`with_search`](Query::with_search) adds them.
    pub terms: Vec<String>,
    /// Page size: 0 means 100; capped at [`MAX_LIMIT`].
    pub limit: usize,
    /// The `next` cursor of the previous page, to continue a walk.
    pub cursor: Option<String>,
}

/// One page of a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Matching log indices, newest first. May hold fewer than `limit` entries even when more
    /// follow (see `next`).
    pub indices: Vec<u64>,
    /// Cursor for the next page; `None` once the walk has reached the start of the log.
    pub next: Option<String>,
    /// How many leaves the index covered when this page was read (the log may be longer).
    pub watermark: u64,
}

/// One event of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionEntry {
    /// The event's `session.seq`, if it had a readable one (such events sort first).
    pub seq: Option<u64>,
    /// The event's log index.
    pub index: u64,
}

/// One page of a session in `seq` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPage {
    /// Entries ordered by `seq`, then by log index (a repeated `seq` shows as two entries).
    pub entries: Vec<SessionEntry>,
    /// Cursor for the next page; `None` when this page holds the session's last entry.
    pub next: Option<String>,
    /// How many leaves the index covered when this page was read.
    pub watermark: u64,
}

impl IdIndex {
    /// One newest-first page of the log indices that match `q`.
    pub fn query(&self, q: &Query) -> Result<Page, IndexError> {
        let upper = q
            .cursor
            .as_deref()
            .map(|c| parse_cursor(c, 'i'))
            .transpose()?;
        let budget = self.options.scan_entries.max(1);
        self.read(|conn| {
            let watermark = meta(conn, "watermark")? as u64;
            let hi = upper.map_or(watermark, |(u, _)| u.min(watermark));
            let Some(filters) = Filters::resolve(conn, q)? else {
                return Ok(Page {
                    indices: Vec::new(),
                    next: None,
                    watermark,
                });
            };
            let mut walk = Walk {
                conn,
                f: &filters,
                hi,
                limit: effective_limit(q.limit),
                budget,
                found: Vec::new(),
            };
            let lists = filters.posting_lists();
            let next = match filters.session {
                Some(session) if filters.terms.is_empty() => walk.session(session)?,
                _ if !lists.is_empty() => walk.postings(&lists)?,
                _ => walk.chunks()?,
            };
            let next = next.filter(|&n| n > 0).map(|n| format!("i{n}"));
            Ok(Page {
                indices: walk.found,
                next,
                watermark,
            })
        })
    }

    /// One page of the events of `session`, in `seq` order.
    ///
    /// Each page reads the whole session's posting lists, so its cost grows with the session.
    pub fn session(
        &self,
        session: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<SessionPage, IndexError> {
        let after = match cursor {
            Some(c) => parse_cursor(c, 's').map(|(ix, seq)| (seq, ix))?,
            None => (i64::MIN, 0),
        };
        let limit = effective_limit(limit);
        self.read(|conn| {
            let watermark = meta(conn, "watermark")? as u64;
            let mut all = Vec::new();
            if let Some(n) = names::find(conn, Kind::Session, session)? {
                for_each_posting(conn, Kind::Session, n, u64::MAX, |first, items| {
                    all.extend(
                        items
                            .iter()
                            .map(|&(offset, seq)| (seq.unwrap_or(-1), first + offset)),
                    );
                    Ok(true)
                })?;
            }
            all.sort_unstable();
            let mut entries: Vec<SessionEntry> = all
                .into_iter()
                .filter(|&e| cursor.is_none() || e > after)
                .take(limit + 1)
                .map(|(seq, index)| SessionEntry {
                    seq: u64::try_from(seq).ok(),
                    index,
                })
                .collect();
            let next = match entries.len() > limit {
                true => {
                    entries.truncate(limit);
                    entries
                        .last()
                        .map(|e| format!("s{}.{}", e.index, e.seq.map_or(-1, |s| s as i64)))
                }
                false => None,
            };
            Ok(SessionPage {
                entries,
                next,
                watermark,
            })
        })
    }
}

fn effective_limit(limit: usize) -> usize {
    match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    }
}

/// Parses `i<index>` (a query cursor) or `s<index>.<seq>` (a session cursor).
fn parse_cursor(cursor: &str, kind: char) -> Result<(u64, i64), IndexError> {
    let bad = || IndexError::BadCursor(cursor.to_owned());
    let rest = cursor.strip_prefix(kind).ok_or_else(bad)?;
    let (index, seq) = match kind {
        's' => rest.split_once('.').ok_or_else(bad)?,
        _ => (rest, "0"),
    };
    Ok((
        index.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}
