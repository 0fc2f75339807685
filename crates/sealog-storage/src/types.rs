//! The values the engine hands out.

use sealog_core::merkle::Hash;

/// The outcome of one event of an append, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Newly stored at `index` with this leaf hash, durably.
    Accepted {
        /// Its index in the log.
        index: u64,
        /// SHA-256(0x00 ‖ leaf bytes).
        leaf_hash: Hash,
    },
    /// The event id was already in the log (at any age, or earlier in the same call).
    Duplicate {
        /// The index of the original.
        index: u64,
    },
}

/// A checkpoint the log signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size it commits to.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// The signed note, byte for byte as served.
    pub note: Vec<u8>,
    /// When it was signed, µs since the Unix epoch.
    pub signed_unix_micros: i64,
}

/// Counters of one log, for `/metrics` and the log overview.
#[derive(Clone, Debug, Default)]
pub struct LogStats {
    /// Durable entries.
    pub size: u64,
    /// Entries the index has caught up to.
    pub index_watermark: u64,
    /// Entries waiting in front of the writer.
    pub queue_entries: u64,
    /// Events accepted since start.
    pub accepted: u64,
    /// Duplicates answered since start.
    pub duplicates: u64,
    /// Group commits since start.
    pub groups: u64,
    /// fsync latencies: counts per upper bound in µs (the last bound is `u64::MAX`). Each
    /// count is of the fsyncs above the previous bound (not cumulative).
    pub fsync_micros_buckets: Vec<(u64, u64)>,
    /// Sum of all fsync latencies, µs.
    pub fsync_micros_sum: u64,
}

pub(crate) use crate::clock::now_micros;
