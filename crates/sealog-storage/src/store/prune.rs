//! Pruning the oldest entry records of a log while keeping every tree hash (DESIGN §11).
//!
//! `logs/<name>/pruned` (JSON, replaced by `durable::write_file`) states the range first:
//! every entry below `below` is gone, and entry `below` starts at `offset` in the segment
//! named `segment`. Only then are the records removed: whole segments below that one are
//! unlinked, and the records before `offset` in it are punched out of the file (the file
//! system frees their blocks; the offsets of the kept records do not move). Both steps are
//! idempotent and done again on every open, so a crash anywhere leaves a log that opens:
//! before the file is replaced nothing changed, after it the open finishes the removal.

use super::{Segment, Store, record, segment_firsts, segment_path};
use crate::durable;
use serde::{Deserialize, Serialize};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What a log pruned of its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesPruned {
    /// Every entry below this index was removed; 0 when none was.
    pub below: u64,
    /// The first index of the segment holding entry `below`.
    pub segment: u64,
    /// Where entry `below`'s record starts in that segment.
    pub offset: u64,
    /// The latest prune, as the event that records it names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<EntriesPrune>,
}

/// One prune of entries, with the id of the event that records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesPrune {
    /// The id of the event that records the prune.
    pub event_id: String,
    /// When it was decided (RFC 3339).
    pub at: String,
    /// The entries removed: `from` (inclusive) to `to` (exclusive).
    pub from: u64,
    /// See `from`.
    pub to: u64,
    /// Whether the recording event is in the log.
    pub recorded: bool,
}

impl EntriesPruned {
    /// Where the first kept record of the segment starting at `first` is: its index and offset.
    pub(crate) fn start_of(&self, first: u64) -> (u64, u64) {
        if first == self.segment && self.below > first {
            (self.below, self.offset)
        } else {
            (first, 0)
        }
    }
}

/// The path of the state file.
pub(crate) fn pruned_path(dir: &Path) -> PathBuf {
    dir.join("pruned")
}

/// Reads the state of the log in `dir` (the default when nothing was pruned).
pub(crate) fn load(dir: &Path) -> io::Result<EntriesPruned> {
    let path = pruned_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is damaged: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(EntriesPruned::default()),
        Err(e) => Err(e),
    }
}

/// Replaces the state file durably.
pub(crate) fn store(dir: &Path, pruned: &EntriesPruned) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(pruned).map_err(io::Error::other)?;
    durable::write_file(&pruned_path(dir), &bytes, 0o600)
}

/// Unlinks the segments wholly below the pruned one, as listed in `dir`.
pub(crate) fn remove_whole_segments(dir: &Path, pruned: &EntriesPruned) -> io::Result<()> {
    let below: Vec<u64> = segment_firsts(dir)?
        .into_iter()
        .filter(|&f| f < pruned.segment)
        .collect();
    for first in &below {
        match std::fs::remove_file(segment_path(dir, *first)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    if !below.is_empty() {
        durable::sync_dir(&dir.join("entries"))?;
    }
    Ok(())
}

/// Removes the records before the kept ones from the pruned segment's file and syncs it.
pub(crate) fn punch_records(segment: &Segment, pruned: &EntriesPruned) -> io::Result<()> {
    let (_, offset) = pruned.start_of(segment.first);
    if offset == 0 {
        return Ok(());
    }
    use rustix::fs::{FallocateFlags, fallocate};
    let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    match fallocate(&*segment.file, flags, 0, offset) {
        Ok(()) => {}
        // A file system without holes: overwrite the records with zeros instead.
        Err(rustix::io::Errno::OPNOTSUPP) => zero(segment, offset)?,
        Err(e) => return Err(e.into()),
    }
    segment.file.sync_data()
}

/// Overwrites the first `len` bytes of the segment with zeros.
fn zero(segment: &Segment, len: u64) -> io::Result<()> {
    let block = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(block.len() as u64);
        segment.file.write_all_at(&block[..n as usize], at)?;
        at += n;
    }
    Ok(())
}

impl Store {
    /// What was pruned of the log's entries.
    pub(crate) fn pruned(&self) -> EntriesPruned {
        self.pruned
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Removes entries below `below` (which the caller checked are signed, with at least one
    /// signed entry after them), stating the range durably first. `last` is the prune as its
    /// event will record it.
    pub(crate) fn prune(&self, below: u64, last: EntriesPrune) -> io::Result<EntriesPruned> {
        let before = self.pruned();
        if below <= before.below {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "entries below {} are pruned already; a prune must go further",
                    before.below
                ),
            ));
        }
        let segments = self.segments();
        let at = segments.partition_point(|s| s.first <= below) - 1;
        let segment = &segments[at];
        let offset = self.read_offsets(below, below + 1)?[0];
        self.check_record(segment, below, offset)?;
        let after = EntriesPruned {
            below,
            segment: segment.first,
            offset: if segment.first == below { 0 } else { offset },
            last: Some(last),
        };
        store(&self.dir, &after)?;
        *self
            .pruned
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = after.clone();
        self.segments
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|s| s.first >= after.segment);
        remove_whole_segments(&self.dir, &after)?;
        punch_records(segment, &after)?;
        Ok(after)
    }

    /// Notes that the prune's event `event_id` is in the log.
    pub(crate) fn prune_recorded(&self, event_id: &str) -> io::Result<()> {
        let mut pruned = self.pruned();
        match &mut pruned.last {
            Some(last) if last.event_id == event_id && !last.recorded => last.recorded = true,
            _ => return Ok(()),
        }
        store(&self.dir, &pruned)?;
        *self
            .pruned
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = pruned;
        Ok(())
    }

    /// Refuses to state a range whose first kept record is not where its offset says: a whole
    /// record with a good checksum whose leaf hash is the stored one.
    fn check_record(&self, segment: &Segment, index: u64, offset: u64) -> io::Result<()> {
        let mut header = [0; record::HEADER];
        segment.file.read_exact_at(&mut header, offset)?;
        let mut buf = vec![0; record::HEADER + record::data_len(&header)];
        segment.file.read_exact_at(&mut buf, offset)?;
        let stored = self.read_hashes(0, index, 1)?;
        match record::Scan::new(&buf).next() {
            Some((_, leaf)) if sealog_core::leaf::hash(leaf)[..] == stored[..] => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "entry {index} is not where its stored offset says; nothing was pruned, \
                     run `sealog fsck`"
                ),
            )),
        }
    }
}
