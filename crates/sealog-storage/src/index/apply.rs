//! Writing one batch of leaves in one transaction: its ids, its chunk (packed fields and zone
//! map), its agent, session and search-term posting lists, and the new watermark.

use super::IndexError;
use super::codec::{self, Fields};
use super::entry;
use super::idfilter::id_key;
use super::names::{Kind, Names};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};
use std::collections::HashMap;

/// The zone-map bit of an interned action or status; numbers from 63 on share the last bit,
/// which only makes the skip test less sharp for rare names, never wrong.
pub(super) fn bit(n: i64) -> u64 {
    1 << n.clamp(0, 63)
}

/// Per-chunk summary that lets queries skip chunks that cannot match.
#[derive(Default)]
struct Zone {
    min_ts: Option<i64>,
    max_ts: Option<i64>,
    actions: u64,
    statuses: u64,
}

/// Posting lists of one batch, keyed by (kind, interned number), each with its last offset.
/// Hashed while the batch is read (a dozen lookups per event), sorted once when stored.
type Postings = HashMap<(Kind, i64), (Vec<u8>, u64), foldhash::fast::RandomState>;

/// Indexes `leaves` as `first..`, inside the caller's transaction, and moves the watermark.
/// Returns the ids it indexed, for the id filter.
pub(super) fn write_batch(
    tx: &Connection,
    names: &mut Names,
    first: u64,
    leaves: &[&[u8]],
) -> Result<Vec<(u128, u64)>, IndexError> {
    let mut ids = Vec::with_capacity(leaves.len());
    let mut chunk = Vec::with_capacity(leaves.len() * 12);
    let (mut zone, mut prev_ts) = (Zone::default(), 0);
    let mut postings = Postings::default();
    for (offset, leaf) in (0u64..).zip(leaves) {
        let e = entry::parse(leaf);
        let mut intern = |kind, name: Option<&str>| match name {
            Some(name) => names.intern(tx, kind, name).map(Some),
            None => Ok(None),
        };
        let f = Fields {
            ts: e.ts,
            agent: intern(Kind::Agent, e.agent.as_deref())?,
            action: intern(Kind::Action, e.action.as_deref())?,
            status: intern(Kind::Status, e.status.as_deref())?,
            session: intern(Kind::Session, e.session.as_deref())?,
            seq: e.seq,
        };
        let f = Fields {
            seq: f.session.and(f.seq),
            ..f
        };
        codec::encode_fields(&mut chunk, &f, &mut prev_ts);
        if let Some(id) = e.id {
            ids.push((id, first + offset));
        }
        if let Some(agent) = f.agent {
            let (data, prev) = postings.entry((Kind::Agent, agent)).or_default();
            codec::encode_posting(data, prev, offset, None);
        }
        if let Some(session) = f.session {
            let (data, prev) = postings.entry((Kind::Session, session)).or_default();
            codec::encode_posting(data, prev, offset, Some(f.seq));
        }
        for term in e.terms.iter() {
            let n = names.intern(tx, Kind::Term, term)?;
            let (data, prev) = postings.entry((Kind::Term, n)).or_default();
            // An event lists a term once, however many of its fields hold the value.
            if data.is_empty() || *prev != offset {
                codec::encode_posting(data, prev, offset, None);
            }
        }
        // `Option::min` would treat a missing time as the smallest.
        zone.min_ts = match (zone.min_ts, f.ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        zone.max_ts = zone.max_ts.max(f.ts);
        zone.actions |= f.action.map_or(0, bit);
        zone.statuses |= f.status.map_or(0, bit);
    }
    write_ids(tx, &mut ids)?;
    store_chunk(tx, first, leaves.len(), &zone, &chunk, postings)?;
    Ok(ids)
}

/// Stores one batch's chunk of packed fields behind its zone map, its posting lists, and the
/// watermark past it.
fn store_chunk(
    tx: &Connection,
    first: u64,
    count: usize,
    zone: &Zone,
    chunk: &[u8],
    postings: Postings,
) -> Result<(), IndexError> {
    let err = IndexError::store("writing an index chunk");
    tx.prepare_cached(
        "INSERT INTO chunks (first, count, min_ts, max_ts, actions, statuses, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        // The masks are stored as the i64 with the same bits.
        let (actions, statuses) = (zone.actions as i64, zone.statuses as i64);
        s.execute(params![
            first,
            count,
            zone.min_ts,
            zone.max_ts,
            actions,
            statuses,
            chunk
        ])
    })
    .map_err(err)?;
    let mut insert = tx
        .prepare_cached("INSERT INTO postings (kind, n, first, data) VALUES (?1, ?2, ?3, ?4)")
        .map_err(IndexError::store("writing posting lists"))?;
    // In key order, so the rows land in the table's B-tree left to right.
    let mut postings: Vec<_> = postings.into_iter().collect();
    postings.sort_unstable_by_key(|&(key, _)| key);
    for ((kind, n), (data, _)) in postings {
        insert
            .execute(params![kind as i64, n, first, data])
            .map_err(IndexError::store("writing posting lists"))?;
    }
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'watermark'")
        .and_then(|mut s| s.execute([first + count as u64]))
        .map_err(IndexError::store("moving the index watermark"))?;
    Ok(())
}

/// Inserts ids in key order (fewer page switches), many rows per statement (less per-row
/// overhead). An id already present keeps its original index: that is the answer dedup needs,
/// even if a duplicate ever reached the log.
fn write_ids(tx: &Connection, ids: &mut [(u128, u64)]) -> Result<(), IndexError> {
    const ROWS: usize = 128;
    ids.sort_unstable();
    let err = || IndexError::store("writing event ids");
    let many = format!(
        "INSERT OR IGNORE INTO ids (id, ix) VALUES {}",
        ["(?, ?)"; ROWS].join(", ")
    );
    let mut groups = ids.chunks_exact(ROWS);
    let mut stmt = tx.prepare_cached(&many).map_err(err())?;
    for group in groups.by_ref() {
        let args = group.iter().flat_map(|(id, ix)| {
            [
                Value::Blob(id_key(*id).to_vec()),
                Value::Integer(*ix as i64),
            ]
        });
        stmt.execute(params_from_iter(args)).map_err(err())?;
    }
    let mut one = tx
        .prepare_cached("INSERT OR IGNORE INTO ids (id, ix) VALUES (?1, ?2)")
        .map_err(err())?;
    for (id, ix) in groups.remainder() {
        one.execute(params![id_key(*id), ix]).map_err(err())?;
    }
    Ok(())
}
