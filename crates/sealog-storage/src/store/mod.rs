//! The files of one log: the source of truth (entry segments) and what is derived from it
//! (entry offsets and tree-hash tiles); the embedded implementation of `LogStore`.
//!
//! ```text
//! logs/<name>/entries/<first index, 20 digits>.seg   records (module `record`); a new
//!                                                     segment starts past SEGMENT_BYTES
//! logs/<name>/offsets                                 u64 LE per entry: its record's offset
//!                                                     in its segment
//! logs/<name>/hashes/<L>                              for L in 0..8, the hashes of tree level
//!                                                     8·L, 32 bytes each, in node order
//! ```
//!
//! A hashes file is the concatenation of its level's tiles, so a full tile is an immutable
//! 8 KiB slice and a partial tile is a prefix of the next one: tiles and proofs are served by
//! reading stored hashes (core's `TileHashSource`), never by rehashing leaves. Only segments
//! are fsynced per group; offsets and hashes are derived, fsynced before a checkpoint covers
//! them, and re-derived from the entries past the last checkpoint on recovery.
//!
//! Retention may prune the oldest records (module `prune`, `logs/<name>/pruned`): the
//! segments then start at the one holding the first kept entry, and every tree hash is kept.

mod append;
pub(crate) mod prune;
pub(crate) mod record;
mod recover;

pub(crate) use append::Appender;

use crate::log_store::{Anchor, LogAppender, LogStore};
use crate::{EngineError, SignedCheckpoint, checkpoint_file, checkpoint_history};
use sealog_core::note::{Signer, Verifier};

use crate::durable::sync_dir;
use crate::faults::Faults;
use sealog_core::tiles::{Tile, TileReader};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// A segment grows past this size only by the group that crosses it.
pub(crate) const SEGMENT_BYTES: u64 = 64 << 20;

/// Tile levels: 8 tree levels each, so level 7 already holds nodes of 2^56 leaves.
pub(crate) const LEVELS: usize = 8;

/// Bytes of one hash.
const HASH: u64 = 32;

/// One entry segment: entries from `first` on.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    /// Index of its first entry.
    pub(crate) first: u64,
    /// The file, opened for appending and positional reads.
    pub(crate) file: Arc<File>,
}

/// The open files of one log. Shared by the writer (which alone appends) and readers.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    segments: RwLock<Vec<Segment>>,
    /// What retention pruned; read before any segment is.
    pruned: RwLock<prune::EntriesPruned>,
    offsets: File,
    levels: Vec<File>,
    faults: Faults,
    /// [`SEGMENT_BYTES`], smaller in unit tests so that segments roll.
    segment_bytes: u64,
}

impl Store {
    /// Creates the empty files of a new log in `dir` (which must exist) and fsyncs them.
    pub(crate) fn create(dir: &Path) -> io::Result<()> {
        for sub in ["entries", "hashes"] {
            std::fs::create_dir(dir.join(sub))?;
        }
        let mut paths = vec![offsets_path(dir), segment_path(dir, 0)];
        paths.extend((0..LEVELS).map(|l| level_path(dir, l)));
        for path in paths {
            append_file(&path)?.sync_all()?;
        }
        for sub in ["entries", "hashes"] {
            sync_dir(&dir.join(sub))?;
        }
        sync_dir(dir)
    }

    /// Opens the files of the log in `dir`, without checking them (see [`recover`]), and
    /// finishes a prune a crash cut short; writes and fsyncs go through `faults`.
    pub(crate) fn open(dir: &Path, faults: Faults) -> io::Result<Store> {
        let pruned = prune::load(dir)?;
        prune::remove_whole_segments(dir, &pruned)?;
        let mut segments = Vec::new();
        for first in segment_firsts(dir)? {
            let file = Arc::new(append_file(&segment_path(dir, first))?);
            segments.push(Segment { first, file });
        }
        if segments.first().map(|s| s.first) != Some(pruned.segment) {
            return Err(io::Error::other(format!(
                "{} has no first segment ({})",
                dir.join("entries").display(),
                segment_name(pruned.segment)
            )));
        }
        prune::punch_records(&segments[0], &pruned)?;
        Ok(Store {
            dir: dir.to_owned(),
            segments: RwLock::new(segments),
            pruned: RwLock::new(pruned),
            offsets: append_file(&offsets_path(dir))?,
            levels: (0..LEVELS)
                .map(|l| append_file(&level_path(dir, l)))
                .collect::<io::Result<_>>()?,
            faults,
            segment_bytes: SEGMENT_BYTES,
        })
    }

    /// A copy of the segment list, oldest first.
    pub(crate) fn segments(&self) -> Vec<Segment> {
        self.segments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts a new, empty segment at entry `first` and makes its name durable.
    pub(crate) fn roll(&self, first: u64) -> io::Result<Segment> {
        let file = Arc::new(
            self.faults
                .sync(|| append_file(&segment_path(&self.dir, first)))?,
        );
        self.faults.sync_file(&file)?;
        self.faults.sync(|| sync_dir(&self.dir.join("entries")))?;
        let segment = Segment { first, file };
        self.segments
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(segment.clone());
        Ok(segment)
    }

    /// The offsets file (u64 LE per entry).
    pub(crate) fn offsets(&self) -> &File {
        &self.offsets
    }

    /// The hashes file of tile level `level`.
    pub(crate) fn level(&self, level: usize) -> &File {
        &self.levels[level]
    }

    /// The fault injector every write and fsync goes through.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Offsets of entries `start..end` in their segments.
    pub(crate) fn read_offsets(&self, start: u64, end: u64) -> io::Result<Vec<u64>> {
        let mut buf = vec![0; ((end - start) * 8) as usize];
        self.offsets.read_exact_at(&mut buf, start * 8)?;
        Ok(buf
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }

    /// `count` hashes of tile level `level` from node index `from`, concatenated.
    pub(crate) fn read_hashes(&self, level: u8, from: u64, count: u64) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; (count * HASH) as usize];
        self.levels[usize::from(level)].read_exact_at(&mut buf, from * HASH)?;
        Ok(buf)
    }
}

/// The embedded store: the files of the log's directory.
impl LogStore for Store {
    /// The key in `key` of the log's directory.
    fn signing_key(&self) -> Result<Signer, EngineError> {
        let key_path = self.dir.join("key");
        let skey = std::fs::read_to_string(&key_path).map_err(|e| {
            EngineError::io(
                format_args!("cannot read the log key {}", key_path.display()),
                e,
            )
        })?;
        Signer::from_skey(skey.trim()).map_err(|e| {
            EngineError::corrupt(format!("{} is not a signing key: {e}", key_path.display()))
        })
    }

    fn checkpoint(&self, verifier: &Verifier) -> Result<SignedCheckpoint, EngineError> {
        checkpoint_file::load(&self.dir, verifier).map_err(EngineError::corrupt)
    }

    fn store_checkpoint(&self, cp: &SignedCheckpoint) -> io::Result<()> {
        checkpoint_file::store(&self.dir, cp, &self.faults)
    }

    fn history(
        &self,
        verifier: &Verifier,
        repair: bool,
    ) -> Result<Vec<SignedCheckpoint>, EngineError> {
        checkpoint_history::load(&self.dir, verifier, repair).map_err(EngineError::corrupt)
    }

    fn append_history(&self, cp: &SignedCheckpoint) -> io::Result<()> {
        checkpoint_history::append(&self.dir, cp, &self.faults)
    }

    fn recover(self: Arc<Self>, anchor: Anchor) -> Result<Box<dyn LogAppender>, EngineError> {
        let appender = recover::recover(self, anchor).map_err(EngineError::corrupt)?;
        Ok(Box::new(appender))
    }

    fn read_entries(&self, start: u64, end: u64) -> io::Result<Vec<Vec<u8>>> {
        // The segments before the pruned state: a prune states its range before it drops
        // segments, so a list without them is never checked against an older range.
        let segments = self.segments();
        let below = self.pruned().below;
        if start < below {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("entries below {below} were pruned by retention"),
            ));
        }
        let offsets = self.read_offsets(start, end)?;
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut i = start;
        while i < end {
            let at = segments.partition_point(|s| s.first <= i) - 1;
            let run_end = segments.get(at + 1).map_or(end, |s| s.first.min(end));
            let (first_off, last_off) = (
                offsets[(i - start) as usize],
                offsets[(run_end - 1 - start) as usize],
            );
            // One read for the whole run: from its first record to the end of its last.
            let file = &segments[at].file;
            let mut header = [0; record::HEADER];
            file.read_exact_at(&mut header, last_off)?;
            let span = last_off + (record::HEADER + record::data_len(&header)) as u64 - first_off;
            let mut buf = vec![0; span as usize];
            file.read_exact_at(&mut buf, first_off)?;
            let before = out.len();
            out.extend(
                record::Scan::new(&buf)
                    .take((run_end - i) as usize)
                    .map(|(_, data)| data.to_vec()),
            );
            let got = (out.len() - before) as u64;
            if got != run_end - i {
                return Err(io::Error::other(format!(
                    "entry {} of log {} fails its checksum; run `sealog fsck`",
                    i + got,
                    self.dir.display()
                )));
            }
            i = run_end;
        }
        Ok(out)
    }

    fn sync_derived(&self) -> io::Result<()> {
        self.faults.sync_file(&self.offsets)?;
        self.levels
            .iter()
            .try_for_each(|f| self.faults.sync_file(f))
    }

    fn can_prune_entries(&self) -> bool {
        true
    }

    fn entries_pruned(&self) -> prune::EntriesPruned {
        self.pruned()
    }

    fn prune_entries(
        &self,
        below: u64,
        last: prune::EntriesPrune,
    ) -> Result<prune::EntriesPruned, EngineError> {
        self.prune(below, last)
            .map_err(|e| EngineError::io("pruning entries", e))
    }

    fn entries_prune_recorded(&self, event_id: &str) -> io::Result<()> {
        self.prune_recorded(event_id)
    }

    /// The engine holds the data directory's lock as long as the log's threads run.
    fn check_writer(&self) -> io::Result<()> {
        Ok(())
    }
}

impl TileReader for Store {
    type Error = io::Error;

    fn read_tiles(&self, tiles: &[Tile]) -> io::Result<Vec<Vec<u8>>> {
        tiles
            .iter()
            .map(|t| self.read_hashes(t.level, t.index * 256, u64::from(t.width)))
            .collect()
    }
}

/// Opens (creating if needed) a file for appending and positional reads.
fn append_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// The file name of the segment starting at entry `first`.
fn segment_name(first: u64) -> String {
    format!("{first:020}.seg")
}

/// The path of the segment starting at entry `first`.
pub(crate) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join("entries").join(segment_name(first))
}

/// The path of the offsets file.
pub(crate) fn offsets_path(dir: &Path) -> PathBuf {
    dir.join("offsets")
}

/// The path of the hashes file of tile level `level`.
pub(crate) fn level_path(dir: &Path, level: usize) -> PathBuf {
    dir.join("hashes").join(level.to_string())
}

/// The first indices of the segments in `dir`, ascending. Other files are ignored.
pub(crate) fn segment_firsts(dir: &Path) -> io::Result<Vec<u64>> {
    let mut firsts = Vec::new();
    for entry in std::fs::read_dir(dir.join("entries"))? {
        let name = entry?.file_name();
        let parsed = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok());
        firsts.extend(parsed);
    }
    firsts.sort_unstable();
    Ok(firsts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Faults;
    use sealog_core::merkle::{EMPTY_ROOT, tree_root};
    use sealog_core::tiles::TileHashSource;

    fn leaf(n: u64) -> Vec<u8> {
        format!("leaf {n} {}", "z".repeat((n % 50) as usize)).into_bytes()
    }

    fn open(dir: &Path) -> Arc<Store> {
        let mut store = Store::open(dir, Faults::default()).unwrap();
        store.segment_bytes = 1000;
        Arc::new(store)
    }

    /// The anchor of an empty log.
    const EMPTY: Anchor = Anchor {
        size: 0,
        root: EMPTY_ROOT,
    };

    /// A new store in `dir` (small segments) holding leaves 0..400, appended in 40 groups.
    fn filled(dir: &Path) -> (Arc<Store>, Appender) {
        Store::create(dir).unwrap();
        let store = open(dir);
        let mut appender = recover::recover(store.clone(), EMPTY).unwrap();
        for group in 0..40 {
            appender.begin_group().unwrap();
            for n in group * 10..group * 10 + 10 {
                appender.push(&leaf(n));
            }
            appender.commit().unwrap();
        }
        (store, appender)
    }

    /// Segments roll, reads span them, and recovery re-derives across them.
    #[test]
    fn segments_roll_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let (store, appender) = filled(dir.path());
        let root = appender.root();
        assert!(store.segments().len() > 10, "segments rolled");
        let want: Vec<Vec<u8>> = (0..400).map(leaf).collect();
        assert_eq!(store.read_entries(0, 400).unwrap(), want);
        assert_eq!(store.read_entries(95, 305).unwrap(), want[95..305]);
        assert_eq!(
            tree_root(&TileHashSource::new(&*store, 400), 400).unwrap(),
            root
        );
        let mid = tree_root(&TileHashSource::new(&*store, 400), 123).unwrap();
        drop((appender, store));

        // Lose every derived file: recovery rebuilds them from all segments.
        std::fs::write(dir.path().join("offsets"), b"").unwrap();
        std::fs::write(dir.path().join("hashes/0"), b"").unwrap();
        std::fs::write(dir.path().join("hashes/1"), b"").unwrap();
        let store = open(dir.path());
        let appender = recover::recover(
            store.clone(),
            Anchor {
                size: 123,
                root: mid,
            },
        )
        .unwrap();
        assert_eq!((appender.size(), appender.root()), (400, root));
        assert_eq!(store.read_entries(0, 400).unwrap(), want);
        drop((appender, store));

        // A wrong anchor is refused.
        let store = open(dir.path());
        assert!(recover::recover(store, Anchor { size: 123, root }).is_err());
    }

    fn prune_record(to: u64) -> prune::EntriesPrune {
        prune::EntriesPrune {
            event_id: format!("prune-{to}"),
            at: "2026-01-01T00:00:00Z".into(),
            from: 0,
            to,
            recorded: false,
        }
    }

    /// A prune removes whole segments and the oldest records of the next, keeps every hash,
    /// and a log whose prune a crash cut short after stating the range opens and finishes it.
    #[test]
    fn prune_keeps_hashes_and_survives_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (store, appender) = filled(dir.path());
        store.sync_derived().unwrap();
        let root = appender.root();
        let anchor = Anchor { size: 400, root };
        let firsts = segment_firsts(dir.path()).unwrap();
        // Inside the third segment, so two go whole and one loses its oldest records.
        let below = firsts[2] + 3;
        let pruned = store.prune(below, prune_record(below)).unwrap();
        assert_eq!((pruned.segment, pruned.below), (firsts[2], below));
        assert_eq!(segment_firsts(dir.path()).unwrap()[0], firsts[2]);
        assert!(store.read_entries(below - 1, below).is_err());
        let want: Vec<Vec<u8>> = (below..400).map(leaf).collect();
        assert_eq!(store.read_entries(below, 400).unwrap(), want);
        assert!(
            store.prune(below, prune_record(below)).is_err(),
            "must go further"
        );
        // Every tree hash is kept: the roots of the whole tree and of one inside the range.
        assert_eq!(
            tree_root(&TileHashSource::new(&*store, 400), 400).unwrap(),
            root
        );
        assert!(tree_root(&TileHashSource::new(&*store, 123), 123).is_ok());
        drop((appender, store));

        // Reopened: recovery scans the pruned segment from its first kept record.
        let store = open(dir.path());
        let appender = recover::recover(store.clone(), anchor).unwrap();
        assert_eq!((appender.size(), appender.root()), (400, root));
        assert_eq!(store.read_entries(below, 400).unwrap(), want);
        drop((appender, store));

        // A crash after the range was stated and before any record went: a copy of the
        // segments from before, with the new state file.
        let copy = tempfile::tempdir().unwrap();
        Store::create(copy.path()).unwrap();
        let (fresh, mut appender) = {
            let s = open(copy.path());
            let a = recover::recover(s.clone(), EMPTY).unwrap();
            (s, a)
        };
        for n in 0..400 {
            appender.begin_group().unwrap();
            appender.push(&leaf(n));
            appender.commit().unwrap();
        }
        fresh.sync_derived().unwrap();
        let seg = segment_firsts(copy.path()).unwrap();
        let at = seg.partition_point(|&f| f <= 250) - 1;
        let offset = fresh.read_offsets(250, 251).unwrap()[0];
        drop((appender, fresh));
        let state = prune::EntriesPruned {
            below: 250,
            segment: seg[at],
            offset,
            last: Some(prune_record(250)),
        };
        prune::store(copy.path(), &state).unwrap();
        let store = open(copy.path());
        assert_eq!(segment_firsts(copy.path()).unwrap()[0], seg[at]);
        let appender = recover::recover(store.clone(), anchor).unwrap();
        assert_eq!((appender.size(), appender.root()), (400, root));
        let bytes = std::fs::read(segment_path(copy.path(), seg[at])).unwrap();
        assert!(
            bytes[..offset as usize].iter().all(|&b| b == 0),
            "records removed"
        );
        assert_eq!(
            store.read_entries(250, 400).unwrap(),
            (250..400).map(leaf).collect::<Vec<_>>()
        );
    }
}
