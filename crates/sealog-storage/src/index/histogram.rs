//! Counts of the matching events over time, by action: what the dashboard's chart draws.
//!
//! A histogram is answered from the chunks, never from the leaves. The chunks that can hold a
//! match are those whose zone map (time bounds, action and status bitmaps) admits the filters
//! and, with an agent or session filter, that appear in its posting lists; only those are
//! decoded. An open end of the time range is found first from the same zone maps: chunks in
//! order of their newest (or oldest) time, decoded only until no later chunk can hold a newer
//! (or older) match, which with sane client clocks is one or two chunks. Then every candidate
//! chunk is decoded once and its matching entries counted into the buckets.
//!
//! So the cost does not depend on the leaves' size but grows with the number of entries in the
//! candidate chunks: the whole index for a filter that every chunk may match, a few chunks for a
//! session or a narrow time range. Memory is bounded by [`MAX_BUCKETS`] counters for each of at
//! most 256 actions counted apart; rarer actions, beyond those, are summed together.

use super::codec;
use super::codec::Fields;
use super::names::{self, Kind};
use super::store::meta;
use super::walk::{Filters, bad_row, held, intersect};
use super::{IdIndex, IndexError, Query};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use std::collections::{HashMap, HashSet};

/// The most buckets a histogram has; larger requests are capped to it.
pub const MAX_BUCKETS: usize = 1000;

/// The most actions a histogram lists apart, the most frequent first; the others are summed
/// into one series.
pub const MAX_SERIES: usize = 24;

/// Distinct actions counted apart while the chunks are read; events of actions seen after
/// these many others go straight into the summed series. Bounds memory to this many series of
/// [`MAX_BUCKETS`] counters.
const MAX_TRACKED: usize = 256;

/// Counts of the events matching a [`Query`] in equal time buckets, by action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    /// Bucket edges in µs since the Unix epoch, ascending: bucket `i` counts the events with
    /// `edges[i] <= ts < edges[i + 1]`. Empty (no buckets) when nothing matched and the query
    /// left an end of the time range open.
    pub edges: Vec<i64>,
    /// One series per action, the most frequent first (at most [`MAX_SERIES`] with a name),
    /// then, if any events remain, one series without a name that sums them.
    pub series: Vec<Series>,
    /// How many distinct actions the series without a name sums (events that had no action
    /// are in it too, but are not an action).
    pub folded_actions: usize,
    /// How many leaves the index covered when this histogram was read.
    pub watermark: u64,
}

/// The counts of one action, per bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The action; `None` for the series that sums all actions not listed apart.
    pub action: Option<String>,
    /// Matching events per bucket (as many as the histogram has buckets).
    pub counts: Vec<u64>,
    /// The sum of `counts`.
    pub total: u64,
}

impl IdIndex {
    /// Counts the events matching `q` in at most `buckets` (1 to [`MAX_BUCKETS`]) equal time
    /// buckets, by action; `q.limit` and `q.cursor` do not apply.
    ///
    /// The range is `since..until`; an end left open is the exact oldest (or newest) `ts` of
    /// the matching events, so the buckets cover just the events. Buckets are whole
    /// microseconds wide, so a range narrower than `buckets` µs has fewer buckets. Events
    /// without a readable `ts` cannot be placed in time and are not counted.
    pub fn histogram(&self, q: &Query, buckets: usize) -> Result<Histogram, IndexError> {
        let buckets = buckets.clamp(1, MAX_BUCKETS) as i64;
        self.read(|conn| {
            let watermark = meta(conn, "watermark")? as u64;
            let empty = |edges: Vec<i64>| Histogram {
                edges,
                series: Vec::new(),
                folded_actions: 0,
                watermark,
            };
            let filters = Filters::resolve(conn, q)?;
            let lo = match (q.since, &filters) {
                (Some(since), _) => Some(since),
                (None, Some(f)) => bound(conn, f, End::Oldest)?,
                (None, None) => None,
            };
            let hi = match (q.until, &filters) {
                (Some(until), _) => Some(until),
                // Exclusive: one past the newest match.
                (None, Some(f)) => bound(conn, f, End::Newest)?.map(|t| t.saturating_add(1)),
                (None, None) => None,
            };
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Ok(empty(Vec::new()));
            };
            if lo >= hi {
                return Ok(empty(Vec::new()));
            }
            // i128: the span of two extreme times does not fit an i64.
            let span = i128::from(hi) - i128::from(lo);
            let width = i64::try_from((span + i128::from(buckets) - 1) / i128::from(buckets))
                .expect("a bucket is at most as wide as a span of i64 times divided by 1");
            let count = usize::try_from((span + i128::from(width) - 1) / i128::from(width))
                .expect("at most MAX_BUCKETS buckets");
            let edges: Vec<i64> = (0..count as i64)
                .map(|i| lo + i * width)
                .chain([hi])
                .collect();
            let Some(f) = filters else {
                return Ok(empty(edges));
            };
            let mut counter = Counter::new(count);
            let (sql, args) = candidates(&f, "first, data", "");
            for_each_row(conn, &sql, args, |row| {
                let first: u64 = row.get(0).map_err(bad_row)?;
                let data = row
                    .get_ref(1)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(bad_row)?;
                for_each_match(conn, &f, first, data, |e| {
                    if let Some(ts) = e.ts.filter(|&t| lo <= t && t < hi) {
                        counter.add(e.action, ((ts - lo) / width) as usize);
                    }
                })?;
                Ok(true)
            })?;
            let (series, folded_actions) = counter.finish(conn)?;
            Ok(Histogram {
                edges,
                series,
                folded_actions,
                watermark,
            })
        })
    }
}

/// Which end of the matching events' time range to find.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Oldest,
    Newest,
}

/// The exact oldest or newest `ts` among the entries matching `f`.
///
/// Chunks come in order of their zone map's bound at that end; once a match was found, a chunk
/// whose bound does not beat it (nor can any after it) ends the search.
fn bound(conn: &Connection, f: &Filters, end: End) -> Result<Option<i64>, IndexError> {
    let order = match end {
        End::Oldest => " AND min_ts IS NOT NULL ORDER BY min_ts ASC",
        End::Newest => " AND max_ts IS NOT NULL ORDER BY max_ts DESC",
    };
    let column = match end {
        End::Oldest => "first, min_ts",
        End::Newest => "first, max_ts",
    };
    let better = |a: i64, b: i64| match end {
        End::Oldest => a < b,
        End::Newest => a > b,
    };
    let (sql, args) = candidates(f, column, order);
    let mut best: Option<i64> = None;
    for_each_row(conn, &sql, args, |row| {
        let first: i64 = row.get(0).map_err(bad_row)?;
        let edge: i64 = row.get(1).map_err(bad_row)?;
        if best.is_some_and(|b| !better(edge, b)) {
            return Ok(false);
        }
        let data: Vec<u8> = conn
            .prepare_cached("SELECT data FROM chunks WHERE first = ?1")
            .and_then(|mut s| s.query_row([first], |r| r.get(0)))
            .map_err(IndexError::store("reading an index chunk"))?;
        for_each_match(conn, f, first as u64, &data, |e| {
            if let Some(ts) = e.ts.filter(|&t| best.is_none_or(|b| better(t, b))) {
                best = Some(ts);
            }
        })?;
        Ok(true)
    })?;
    Ok(best)
}

/// The `columns` of the chunks that can hold an entry matching `f` (their zone map admits it
/// and a posting list of each of its agent, session and search terms names the chunk), then
/// `tail`.
fn candidates(f: &Filters, columns: &str, tail: &str) -> (String, Vec<Value>) {
    let (zone, mut args) = f.zone_sql();
    let mut sql = format!("SELECT {columns} FROM chunks WHERE 1{zone}");
    for (kind, n) in f.posting_lists() {
        sql += " AND first IN (SELECT first FROM postings WHERE kind = ? AND n = ?)";
        args.extend([Value::Integer(kind as i64), Value::Integer(n)]);
    }
    sql += tail;
    (sql, args)
}

/// Calls `visit` on each entry of the chunk at `first` (packed in `data`) that matches `f`,
/// search terms included.
fn for_each_match(
    conn: &Connection,
    f: &Filters,
    first: u64,
    data: &[u8],
    mut visit: impl FnMut(Fields),
) -> Result<(), IndexError> {
    let held = match f.terms.is_empty() {
        true => None,
        false => {
            let terms: Vec<_> = f.terms.iter().map(|&n| (Kind::Term, n)).collect();
            let mut offsets = held(conn, terms[0], first)?;
            intersect(conn, &mut offsets, &terms[1..], first)?;
            Some(offsets)
        }
    };
    let mut offset = 0u64;
    codec::for_each_fields(data, |e| {
        let held_here = held
            .as_ref()
            .is_none_or(|h| h.binary_search(&offset).is_ok());
        if held_here && f.matches(&e) {
            visit(e);
        }
        offset += 1;
    });
    Ok(())
}

/// Runs `sql` and calls `visit` on each row until it returns `false`.
fn for_each_row(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
    mut visit: impl FnMut(&rusqlite::Row<'_>) -> Result<bool, IndexError>,
) -> Result<(), IndexError> {
    let err = IndexError::store("scanning index chunks");
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let mut rows = stmt
        .query(params_from_iter(args))
        .map_err(IndexError::store("scanning index chunks"))?;
    while let Some(row) = rows
        .next()
        .map_err(IndexError::store("scanning index chunks"))?
    {
        if !visit(row)? {
            break;
        }
    }
    Ok(())
}

/// Per-bucket counts by interned action number, while the chunks are read.
struct Counter {
    buckets: usize,
    /// Where each tracked action's counts are in `tracked`.
    slot: HashMap<i64, usize>,
    tracked: Vec<(i64, Vec<u64>)>,
    /// Events of untracked actions, and of none.
    rest: Vec<u64>,
    untracked: HashSet<i64>,
    /// The last action looked up and its slot: consecutive events often share an action.
    last: Option<(i64, Option<usize>)>,
}

impl Counter {
    fn new(buckets: usize) -> Counter {
        Counter {
            buckets,
            slot: HashMap::new(),
            tracked: Vec::new(),
            rest: vec![0; buckets],
            untracked: HashSet::new(),
            last: None,
        }
    }

    fn add(&mut self, action: Option<i64>, bucket: usize) {
        let Some(action) = action else {
            self.rest[bucket] += 1;
            return;
        };
        let slot = match self.last {
            Some((a, slot)) if a == action => slot,
            _ => {
                let slot = match self.slot.get(&action) {
                    Some(&s) => Some(s),
                    None if self.tracked.len() < MAX_TRACKED => {
                        self.tracked.push((action, vec![0; self.buckets]));
                        self.slot.insert(action, self.tracked.len() - 1);
                        Some(self.tracked.len() - 1)
                    }
                    None => {
                        self.untracked.insert(action);
                        None
                    }
                };
                self.last = Some((action, slot));
                slot
            }
        };
        match slot {
            Some(s) => self.tracked[s].1[bucket] += 1,
            None => self.rest[bucket] += 1,
        }
    }

    /// The named series, the most frequent first (ties by name), then the summed rest; and
    /// how many actions the rest sums.
    fn finish(self, conn: &Connection) -> Result<(Vec<Series>, usize), IndexError> {
        let numbers: Vec<i64> = self.tracked.iter().map(|&(n, _)| n).collect();
        let names = names::names_of(conn, Kind::Action, &numbers)?;
        let mut series: Vec<Series> = self
            .tracked
            .into_iter()
            .map(|(n, counts)| Series {
                action: Some(names.get(&n).cloned().unwrap_or_else(|| format!("#{n}"))),
                total: counts.iter().sum(),
                counts,
            })
            .collect();
        series.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.action.cmp(&b.action)));
        let folded = series.split_off(series.len().min(MAX_SERIES));
        let mut rest = self.rest;
        for s in &folded {
            rest.iter_mut().zip(&s.counts).for_each(|(r, c)| *r += c);
        }
        let total: u64 = rest.iter().sum();
        if total > 0 {
            series.push(Series {
                action: None,
                counts: rest,
                total,
            });
        }
        Ok((series, self.untracked.len() + folded.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// One synthetic event: (ts, agent, session, action, status), any of them missing.
    type Ev = (
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    const T0: i64 = 1_795_305_600_000_000;

    fn leaf(i: usize, e: &Ev) -> Vec<u8> {
        let mut event = serde_json::json!({"id": format!("0192f3a0-0000-7000-8000-{i:012x}")});
        let (ts, agent, session, action, status) = e;
        if let Some(ts) = ts {
            event["ts"] = sealog_core::leaf::format_received(*ts).into();
        }
        if let Some(a) = agent {
            event["agent"] = serde_json::json!({"id": a});
        }
        if let Some(s) = session {
            event["session"] = serde_json::json!({"id": s, "seq": i});
        }
        if let Some(a) = action {
            event["action"] = a.clone().into();
        }
        if let Some(s) = status {
            event["status"] = s.clone().into();
        }
        serde_json::to_vec(&serde_json::json!({"v": 1, "event": event})).unwrap()
    }

    /// Events over about an hour, mostly in time order, some out of it; actions of
    /// falling frequency (about 40, more than `MAX_SERIES`), a few events without a time or an action.
    fn events(n: usize) -> Vec<Ev> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut evs = (0..n)
            .map(|i| {
                let r = next();
                let mut ts = T0 + i as i64 * 700_000 + (r % 1000) as i64;
                if r % 97 == 0 {
                    ts -= 600_000_000; // a client clock ten minutes behind
                }
                let action = (r >> 20) % 60;
                let action = (action * action / 60).to_string();
                (
                    (r % 211 != 0).then_some(ts),
                    Some(format!("agent-{}", (r >> 8) % 5)),
                    (r % 3 != 0).then(|| format!("session-{}", i / 40)),
                    (r % 173 != 0).then(|| format!("act-{action:0>2}")),
                    Some(["ok", "error", "blocked"][((r >> 12) % 3) as usize].to_owned()),
                )
            })
            .collect::<Vec<Ev>>();
        // Clocks far off at both ends of the log: the first event is from ten days ahead,
        // the last from a day ago, so the chunks with the most extreme times hold no match
        // for other agents, and finding an open end must look past them.
        let day = 86_400_000_000;
        evs[0].0 = Some(T0 + 10 * day);
        evs[0].1 = Some("agent-0".to_owned());
        evs[n - 1].0 = Some(T0 - day);
        evs[n - 1].1 = Some("agent-0".to_owned());
        evs
    }

    /// The histogram `IdIndex::histogram` must return, computed from the events themselves.
    fn expected(evs: &[Ev], q: &Query, buckets: usize) -> (Vec<i64>, Vec<Series>, usize) {
        let is = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
        let matching: Vec<(i64, &Option<String>)> = evs
            .iter()
            .filter(|(_, agent, session, action, status)| {
                is(&q.agent, agent)
                    && is(&q.session, session)
                    && is(&q.action, action)
                    && is(&q.status, status)
            })
            .filter_map(|(ts, _, _, action, _)| Some(((*ts)?, action)))
            .filter(|(t, _)| q.since.is_none_or(|s| *t >= s) && q.until.is_none_or(|u| *t < u))
            .collect();
        let lo = q.since.or(matching.iter().map(|m| m.0).min());
        let hi = q.until.or(matching.iter().map(|m| m.0 + 1).max());
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return (Vec::new(), Vec::new(), 0);
        };
        let span = (hi - lo) as u64;
        let width = span.div_ceil(buckets as u64) as i64;
        let count = span.div_ceil(width as u64) as usize;
        let mut edges: Vec<i64> = (0..count as i64).map(|i| lo + i * width).collect();
        edges.push(hi);
        let mut by_action: BTreeMap<&Option<String>, Vec<u64>> = BTreeMap::new();
        for (t, action) in matching {
            by_action.entry(action).or_insert_with(|| vec![0; count])
                [((t - lo) / width) as usize] += 1;
        }
        let mut rest = by_action.remove(&None).unwrap_or_else(|| vec![0; count]);
        let mut named: Vec<Series> = by_action
            .into_iter()
            .map(|(a, counts)| Series {
                action: a.clone(),
                total: counts.iter().sum(),
                counts,
            })
            .collect();
        named.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.action.cmp(&b.action)));
        let folded = named.split_off(named.len().min(MAX_SERIES));
        for s in &folded {
            rest.iter_mut().zip(&s.counts).for_each(|(r, c)| *r += c);
        }
        if rest.iter().sum::<u64>() > 0 {
            named.push(Series {
                action: None,
                total: rest.iter().sum(),
                counts: rest,
            });
        }
        (edges, named, folded.len())
    }

    #[test]
    fn counts_every_filter_and_range_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let index = IdIndex::open(dir.path()).unwrap();
        let evs = events(6_000);
        let leaves: Vec<Vec<u8>> = evs.iter().enumerate().map(|(i, e)| leaf(i, e)).collect();
        for (k, batch) in leaves.chunks(700).enumerate() {
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            index.apply(k as u64 * 700, &refs).unwrap();
        }
        let some = |s: &str| Some(s.to_owned());
        let mid = T0 + 2_000 * 700_000;
        let queries = [
            Query::default(),
            Query {
                agent: some("agent-3"),
                ..Query::default()
            },
            Query {
                action: some("act-00"),
                ..Query::default()
            },
            Query {
                session: some("session-17"),
                ..Query::default()
            },
            Query {
                action: some("act-00"),
                status: some("error"),
                ..Query::default()
            },
            Query {
                since: Some(mid),
                ..Query::default()
            },
            Query {
                until: Some(mid),
                agent: some("agent-1"),
                ..Query::default()
            },
            Query {
                since: Some(mid),
                until: Some(mid + 3_600_000_000),
                status: some("blocked"),
                ..Query::default()
            },
            // A name never indexed, with and without a closed range.
            Query {
                agent: some("nobody"),
                ..Query::default()
            },
            Query {
                agent: some("nobody"),
                since: Some(mid),
                until: Some(mid + 10),
                ..Query::default()
            },
            // Narrower than the buckets asked for: one bucket per µs.
            Query {
                since: Some(mid),
                until: Some(mid + 5),
                ..Query::default()
            },
        ];
        for q in &queries {
            for buckets in [1, 7, 60, MAX_BUCKETS] {
                let got = index.histogram(q, buckets).unwrap();
                let (edges, series, folded) = expected(&evs, q, buckets);
                assert_eq!(got.edges, edges, "{q:?}, {buckets} buckets");
                assert_eq!(got.series, series, "{q:?}, {buckets} buckets");
                assert_eq!(got.folded_actions, folded, "{q:?}");
                assert_eq!(got.watermark, 6_000);
            }
        }
        // The test covers what it means to: folding beyond MAX_SERIES, unnamed events, and
        // buckets that the range made fewer.
        let all = index.histogram(&Query::default(), 60).unwrap();
        assert_eq!(all.series.len(), MAX_SERIES + 1);
        assert!(all.folded_actions > 0);
        assert_eq!(all.edges.len(), 61);
        let total: u64 = all.series.iter().map(|s| s.total).sum();
        assert_eq!(total, evs.iter().filter(|e| e.0.is_some()).count() as u64);
        let narrow = index.histogram(&queries[10], 60).unwrap();
        assert_eq!(narrow.edges, (mid..=mid + 5).collect::<Vec<_>>());
        // More buckets than allowed are capped.
        let capped = index
            .histogram(&Query::default(), 10 * MAX_BUCKETS)
            .unwrap();
        assert_eq!(capped.edges.len(), MAX_BUCKETS + 1);
    }
}
