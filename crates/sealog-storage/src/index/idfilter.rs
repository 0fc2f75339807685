//! The cheap negative check in front of `lookup_ids`: a Bloom filter over the newest ids.
//!
//! Almost every id the engine looks up is new, and a B-tree probe costs about 1.4 µs. The
//! filter covers every indexed id at or above a `floor`; because ids are UUIDv7, the newest ids
//! are one contiguous key range, so "every id ≥ floor" is exactly what one range scan of the
//! `ids` table returns. A fresh id (generated moments ago, so above the floor) that the filter
//! rules out is answered without touching SQLite; an id below the floor (a retry of an old
//! event, or a client with a slow clock) or a false positive (about 1%) is probed as before.
//!
//! Memory is bounded by `capacity`: when that many ids have been added, the filter is rebuilt
//! from the newest `capacity / 2` ids, which raises the floor.

use super::IndexError;
use rusqlite::Connection;

/// Bits per id: with 7 probes this gives about 1% false positives.
const BITS_PER_ID: usize = 10;
const PROBES: u64 = 7;

pub(super) struct IdFilter {
    /// Every indexed id ≥ `floor` has been added.
    floor: u128,
    bits: Vec<u64>,
    count: usize,
    capacity: usize,
}

impl IdFilter {
    /// A filter that covers the ids above the largest indexed one, i.e. none yet. This makes
    /// opening O(1); the filter starts paying off as soon as new ids arrive.
    pub fn above_max(conn: &Connection, capacity: usize) -> Result<IdFilter, IndexError> {
        let max: Option<Vec<u8>> = conn
            .query_row("SELECT max(id) FROM ids", [], |r| r.get(0))
            .map_err(IndexError::store("reading the newest event id"))?;
        let floor = match max.as_deref().map(id_from_key) {
            Some(max) => max.saturating_add(1),
            None => 0,
        };
        Ok(IdFilter::new(floor, capacity))
    }

    /// Rebuilds the filter from the newest `capacity / 2` indexed ids.
    pub fn newest(conn: &Connection, capacity: usize) -> Result<IdFilter, IndexError> {
        let err = IndexError::store("rebuilding the id filter");
        let mut stmt = conn
            .prepare("SELECT id FROM ids ORDER BY id DESC LIMIT ?1")
            .map_err(err)?;
        let mut rows = stmt
            .query([capacity / 2])
            .map_err(IndexError::store("rebuilding the id filter"))?;
        let mut ids = Vec::with_capacity(capacity / 2);
        while let Some(row) = rows
            .next()
            .map_err(IndexError::store("rebuilding the id filter"))?
        {
            let key = row.get_ref(0).and_then(|v| Ok(v.as_blob()?));
            ids.push(id_from_key(
                key.map_err(IndexError::store("rebuilding the id filter"))?,
            ));
        }
        let mut filter = IdFilter::new(ids.last().copied().unwrap_or(0), capacity);
        ids.iter().for_each(|&id| filter.insert(id));
        Ok(filter)
    }

    fn new(floor: u128, capacity: usize) -> IdFilter {
        let words = (capacity * BITS_PER_ID).div_ceil(64);
        IdFilter {
            floor,
            bits: vec![0; words],
            count: 0,
            capacity,
        }
    }

    /// False only if `id` is certainly not indexed.
    pub fn may_contain(&self, id: u128) -> bool {
        id < self.floor
            || self.bits.is_empty()
            || self
                .positions(id)
                .all(|p| self.bits[p / 64] >> (p % 64) & 1 == 1)
    }

    /// Records a newly indexed id.
    pub fn insert(&mut self, id: u128) {
        if id < self.floor || self.bits.is_empty() {
            return;
        }
        for p in self.positions(id) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
        self.count += 1;
    }

    /// Whether the filter holds its capacity and should be rebuilt.
    pub fn is_full(&self) -> bool {
        !self.bits.is_empty() && self.count >= self.capacity
    }

    fn positions(&self, id: u128) -> impl Iterator<Item = usize> + use<> {
        // Double hashing over a mix of all 128 bits (UUIDv7's low bits are random, but a
        // client may send any UUID).
        let h1 = mix((id as u64) ^ mix((id >> 64) as u64));
        let h2 = mix(h1) | 1;
        let m = (self.bits.len() * 64) as u64;
        (0..PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }
}

/// The `ids` key of an event id: its 16 bytes big-endian, so keys sort like the UUIDv7 times.
pub(super) fn id_key(id: u128) -> [u8; 16] {
    id.to_be_bytes()
}

fn id_from_key(key: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[16 - n..].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

/// SplitMix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let mut f = IdFilter::new(1000, 10_000);
        let ids: Vec<u128> = (0..10_000u128)
            .map(|i| (i << 80) + 1000 + i * 7919)
            .collect();
        ids.iter().for_each(|&id| f.insert(id));
        assert!(ids.iter().all(|&id| f.may_contain(id)));
        assert!(f.is_full());
        let false_positives = (0..10_000u128)
            .filter(|i| f.may_contain((i << 81) + 12_345))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10,000"
        );
        assert!(f.may_contain(999), "below the floor must be probed");
    }

    #[test]
    fn zero_capacity_disables_the_filter() {
        let mut f = IdFilter::new(0, 0);
        f.insert(5);
        assert!(f.may_contain(6) && !f.is_full());
    }

    #[test]
    fn keys_round_trip() {
        let id = 0x0190_c3e2_6f4a_7b3c_8d2e_1f0a_9b8c_7d6e_u128;
        assert_eq!(id_from_key(&id_key(id)), id);
    }
}
