//! Recovery of a log's files on open: cut a torn tail, re-derive the offsets and tree hashes
//! the last checkpoint does not vouch for, and check the tree against that checkpoint.

use super::prune::EntriesPruned;
use super::{Appender, LEVELS, Segment, Store, record};
use crate::log_store::{Anchor, LogAppender};
use sealog_core::merkle::{CompactTree, HashSource};
use sealog_core::tiles::TileHashSource;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Checks and repairs the files of `store` and returns the appender for its end. The error
/// says what is wrong; the caller adds how to investigate.
pub(crate) fn recover(store: Arc<Store>, anchor: Anchor) -> Result<Appender, String> {
    let segments = store.segments();
    let last = segments
        .last()
        .expect("Store::open checks the first segment");
    let pruned = store.pruned();
    let tail = read_last_segment(&store, last, anchor, &pruned)?;
    let trusted = trusted_size(&store, anchor, pruned.start_of(last.first).0)?;
    if trusted < pruned.below {
        return Err(format!(
            "entries below {} were pruned by retention, but the stored tree hashes or \
             offsets reach only entry {trusted}: the hashes of pruned entries cannot be \
             derived again",
            pruned.below
        ));
    }
    let mut appender = Appender::new(
        store.clone(),
        stored_tree(&store, trusted)?,
        last.clone(),
        tail.good as u64,
    );
    // Nothing derived is rewritten before the entries are known to match the checkpoint, so
    // that a refusal leaves every file as it was for `sealog fsck` to examine.
    check_root(&appender, anchor)?;
    let mut truncated = false;

    // Re-derive entries trusted..count, segment by segment.
    let from = segments.partition_point(|s| s.first <= trusted) - 1;
    for (at, segment) in segments.iter().enumerate().skip(from) {
        let end = segments.get(at + 1).map_or(tail.count, |s| s.first);
        let owned;
        let bytes = if at + 1 == segments.len() {
            &tail.data[..tail.good]
        } else {
            owned = std::fs::read(store_segment_path(&store, segment.first))
                .map_err(io("reading a segment"))?;
            &owned[..]
        };
        rederive_segment(&store, &mut appender, segment, bytes, end, anchor, &pruned)?;
        if appender.size() < anchor.size {
            continue; // not verified yet: keep it staged
        }
        if !truncated {
            truncate_derived(&store, trusted)?;
            truncated = true;
        }
        appender
            .write_derived()
            .map_err(io("writing re-derived hashes"))?;
    }

    Ok(appender)
}

/// Maps an I/O error to the message recovery reports, saying what it was doing.
fn io(doing: &str) -> impl Fn(io::Error) -> String {
    let doing = doing.to_owned();
    move |e: io::Error| format!("I/O error while {doing}: {e}")
}

/// The last segment as read on open.
struct LastSegment {
    /// Its bytes, torn tail included.
    data: Vec<u8>,
    /// How many entries the log holds: the segment's first index plus its good records.
    count: u64,
    /// Where its good records end in `data`.
    good: usize,
}

/// Reads the last segment, refuses it if it holds fewer entries than the checkpoint covers,
/// and cuts a torn tail off its file. Its records are scanned from its first kept one.
fn read_last_segment(
    store: &Store,
    last: &Segment,
    anchor: Anchor,
    pruned: &EntriesPruned,
) -> Result<LastSegment, String> {
    let data = std::fs::read(store_segment_path(store, last.first))
        .map_err(io("reading the last segment"))?;
    let (first, offset) = pruned.start_of(last.first);
    let mut scan = record::Scan::new(data.get(offset as usize..).unwrap_or_default());
    let count = first + scan.by_ref().count() as u64;
    let good = offset as usize + scan.end();
    if count < anchor.size {
        return Err(format!(
            "the log holds {count} entries but its last signed checkpoint covers {}: entries \
             are missing or damaged (entry {count} fails its checksum or was cut)",
            anchor.size
        ));
    }
    if good < data.len() {
        // A torn tail past the checkpoint: its group's fsync never completed, so nothing in
        // it was acknowledged.
        last.file
            .set_len(good as u64)
            .and_then(|()| last.file.sync_all())
            .map_err(io("cutting the torn tail"))?;
    }
    Ok(LastSegment { data, count, good })
}

/// How many entries' stored offsets and tree hashes may be trusted as they are.
///
/// Trust stored derived data only up to what the checkpoint vouches for (it was fsynced
/// before signing) and before the last segment's first kept entry (so what open() just read
/// is always rehashed); re-derive the rest from the entries.
fn trusted_size(store: &Store, anchor: Anchor, last_first: u64) -> Result<u64, String> {
    let len = |f: &std::fs::File| f.metadata().map(|m| m.len());
    let mut trusted = anchor
        .size
        .min(last_first)
        .min(len(store.offsets()).map_err(io("sizing offsets"))? / 8);
    for level in 0..LEVELS {
        let hashes = len(store.level(level)).map_err(io("sizing hashes"))? / 32;
        // `hashes` nodes of level 8·L are complete in every tree below (hashes + 1)·256^L.
        let bound = (hashes + 1)
            .checked_shl(8 * level as u32)
            .map_or(u64::MAX, |b| b - 1);
        trusted = trusted.min(bound);
    }
    Ok(trusted)
}

/// The tree of the first `trusted` entries, from the stored hashes.
fn stored_tree(store: &Store, trusted: u64) -> Result<CompactTree, String> {
    let border = TileHashSource::new(store, trusted)
        .node_hashes(&CompactTree::border(trusted))
        .map_err(|e| format!("reading the stored tree at size {trusted}: {e}"))?;
    CompactTree::from_border(trusted, border).map_err(|e| e.to_string())
}

/// Re-derives the entries of `segment` (whose good records are `bytes`) from the appender's
/// size up to `end`, checking the root as the tree passes the checkpoint's size.
fn rederive_segment(
    store: &Store,
    appender: &mut Appender,
    segment: &Segment,
    bytes: &[u8],
    end: u64,
    anchor: Anchor,
    pruned: &EntriesPruned,
) -> Result<(), String> {
    let index = appender.size();
    let (kept, kept_offset) = pruned.start_of(segment.first);
    let start = if index == kept {
        kept_offset
    } else {
        // Where the last trusted entry's record ends.
        let off = store
            .read_offsets(index - 1, index)
            .map_err(io("reading offsets"))?[0];
        let mut header = [0; record::HEADER];
        segment
            .file
            .read_exact_at(&mut header, off)
            .map_err(io("reading a record header"))?;
        off + (record::HEADER + record::data_len(&header)) as u64
    };
    let tail = bytes.get(start as usize..).unwrap_or_default();
    for (off, leaf) in record::Scan::new(tail).take((end - index) as usize) {
        appender.derive(leaf, start + off as u64);
        check_root(appender, anchor)?;
    }
    if appender.size() != end {
        return Err(format!(
            "segment {} should hold entries up to {end} but entry {} is missing or fails \
             its checksum",
            segment.first,
            appender.size()
        ));
    }
    Ok(())
}

/// Cuts the stored offsets and tree hashes back to the first `trusted` entries, before the
/// re-derived ones are written after them.
fn truncate_derived(store: &Store, trusted: u64) -> Result<(), String> {
    store
        .offsets()
        .set_len(trusted * 8)
        .map_err(io("truncating offsets"))?;
    for level in 0..LEVELS {
        let keep = trusted.checked_shr(8 * level as u32).unwrap_or(0) * 32;
        store
            .level(level)
            .set_len(keep)
            .map_err(io("truncating hashes"))?;
    }
    Ok(())
}

/// Refuses a tree that has reached the checkpoint's size with another root.
fn check_root(appender: &Appender, anchor: Anchor) -> Result<(), String> {
    if appender.size() == anchor.size && appender.root() != anchor.root {
        return Err(format!(
            "the root of the first {} entries does not match the last signed checkpoint: an \
             entry or a stored tree hash was changed",
            anchor.size
        ));
    }
    Ok(())
}

/// The path of a segment of `store`.
fn store_segment_path(store: &Store, first: u64) -> std::path::PathBuf {
    super::segment_path(&store.dir, first)
}
