//! The writer's side of a log's files: stages a group's records and tree hashes in memory,
//! writes them, and fsyncs the segment once per group.

use super::{LEVELS, Segment, Store, record};
use crate::log_store::{CommitError, LogAppender};
use sealog_core::leaf;
use sealog_core::merkle::{CompactTree, Hash};
use sealog_core::tiles::TILE_HEIGHT;
use std::io;
use std::sync::Arc;

/// Appends to one log; owned by its writer thread.
///
/// After an error the staged state may be ahead of the files: the writer must stop using it
/// (a restart recovers from the files).
#[derive(Debug)]
pub(crate) struct Appender {
    store: Arc<Store>,
    tree: CompactTree,
    segment: Segment,
    /// Bytes in `segment`, written or not.
    segment_len: u64,
    records: Vec<u8>,
    offsets: Vec<u8>,
    hashes: [Vec<u8>; LEVELS],
}

impl Appender {
    /// Appends after `tree`, whose size is the end of `segment` (holding `segment_len` bytes).
    pub(crate) fn new(
        store: Arc<Store>,
        tree: CompactTree,
        segment: Segment,
        segment_len: u64,
    ) -> Self {
        Appender {
            store,
            tree,
            segment,
            segment_len,
            records: Vec::new(),
            offsets: Vec::new(),
            hashes: Default::default(),
        }
    }

    /// Stages the offset and tree hashes of a leaf already in the segment at `offset`.
    pub(crate) fn derive(&mut self, leaf_bytes: &[u8], offset: u64) -> Hash {
        let hash = leaf::hash(leaf_bytes);
        self.offsets.extend_from_slice(&offset.to_le_bytes());
        for (node, h) in self.tree.append(hash) {
            // Only tile levels are stored; the levels between are recomputed inside a tile.
            if node.level % TILE_HEIGHT == 0 {
                self.hashes[usize::from(node.level / TILE_HEIGHT)].extend_from_slice(&h);
            }
        }
        hash
    }

    fn write_group(&mut self) -> io::Result<std::time::Duration> {
        let store = self.store.clone();
        let faults = store.faults();
        faults.write(&self.segment.file, &self.records)?;
        self.segment_len += self.records.len() as u64;
        self.records.clear();
        self.write_derived()?;
        let start = std::time::Instant::now();
        faults.sync_file(&self.segment.file)?;
        Ok(start.elapsed())
    }

    /// Cuts the segment back to `len` bytes, durably. The derived files past the checkpoint
    /// are re-derived from the entries on recovery, so they need no cut.
    fn roll_back(&mut self, len: u64) -> io::Result<()> {
        self.segment.file.set_len(len)?;
        self.store.faults().sync_file(&self.segment.file)?;
        self.segment_len = len;
        Ok(())
    }

    /// Writes the staged offsets and hashes (recovery re-derives them from the entries).
    pub(crate) fn write_derived(&mut self) -> io::Result<()> {
        let faults = self.store.faults();
        faults.write(self.store.offsets(), &self.offsets)?;
        self.offsets.clear();
        for (level, buf) in self.hashes.iter_mut().enumerate() {
            if !buf.is_empty() {
                faults.write(self.store.level(level), buf)?;
                buf.clear();
            }
        }
        Ok(())
    }
}

impl LogAppender for Appender {
    fn size(&self) -> u64 {
        self.tree.size()
    }

    fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Starts a new segment if the current one is full.
    fn begin_group(&mut self) -> io::Result<()> {
        if self.segment_len >= self.store.segment_bytes {
            self.segment = self.store.roll(self.size())?;
            self.segment_len = 0;
        }
        Ok(())
    }

    fn push(&mut self, leaf_bytes: &[u8]) -> Hash {
        let offset = self.segment_len + self.records.len() as u64;
        record::encode(&mut self.records, leaf_bytes);
        self.derive(leaf_bytes, offset)
    }

    /// Writes what is staged and fsyncs the segment (the derived files are fsynced before a
    /// checkpoint covers them). On failure the segment is cut back to where the group began
    /// (which frees space, so it works on a full disk too) and that is fsynced.
    fn commit(&mut self) -> Result<std::time::Duration, CommitError> {
        let start_len = self.segment_len;
        self.write_group().map_err(|error| CommitError {
            error,
            rolled_back: self.roll_back(start_len).is_ok(),
        })
    }
}
