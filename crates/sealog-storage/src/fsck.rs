//! `sealog fsck` and `sealog reindex`: offline checks and repairs of a data directory.

use crate::engine::{lock_dir, log_dir, log_names};
use crate::index::IdIndex;
use crate::store::prune::EntriesPruned;
use crate::store::{self, LEVELS, record, segment_firsts};
use crate::{
    Engine, EngineError, EngineOptions, ErrorKind, SignedCheckpoint, checkpoint_file,
    checkpoint_history,
};
use sealog_core::leaf;
use sealog_core::merkle::{CompactTree, Hash, HashSource, tree_root};
use sealog_core::note::Signer;
use sealog_core::tiles::{TILE_HEIGHT, Tile, TileHashSource, TileReader};
use std::fmt;
use std::fs::File;
use std::iter::Peekable;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What [`fsck`] found in a data directory.
#[derive(Clone, Debug, Default)]
pub struct FsckReport {
    /// One report per log, sorted by name.
    pub logs: Vec<LogFsck>,
}

/// What [`fsck`] found in one log.
#[derive(Clone, Debug, Default)]
pub struct LogFsck {
    /// The log's name.
    pub name: String,
    /// Entries with a good checksum, in order from 0.
    pub entries: u64,
    /// The size of the last signed checkpoint (0 if it could not be read).
    pub checkpoint_size: u64,
    /// The first inconsistency, if any.
    pub problem: Option<String>,
    /// Things that are not inconsistencies, such as a torn tail that the next open cuts.
    pub notes: Vec<String>,
}

impl FsckReport {
    /// Whether no log has a problem.
    pub fn is_clean(&self) -> bool {
        self.logs.iter().all(|l| l.problem.is_none())
    }
}

impl fmt::Display for FsckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for log in &self.logs {
            let verdict = if log.problem.is_some() {
                "INCONSISTENT"
            } else {
                "ok"
            };
            let noun = if log.entries == 1 { "entry" } else { "entries" };
            writeln!(
                f,
                "log {}: {verdict} ({} {noun}, last checkpoint at size {})",
                log.name, log.entries, log.checkpoint_size
            )?;
            if let Some(problem) = &log.problem {
                writeln!(f, "  problem: {problem}")?;
            }
            for note in &log.notes {
                writeln!(f, "  note: {note}")?;
            }
        }
        if self.logs.is_empty() {
            writeln!(f, "no logs")?;
        }
        Ok(())
    }
}

/// Re-derives every tree hash, offset and checkpoint root of every log in `dir` from the
/// entries and reports the first inconsistency of each log. It only reads; run it while the
/// server is stopped, or a tail being written may show as torn.
pub fn fsck(dir: &Path) -> Result<FsckReport, EngineError> {
    let mut report = FsckReport::default();
    for name in log_names(dir)? {
        let mut log = LogFsck {
            name: name.clone(),
            ..LogFsck::default()
        };
        if let Err(problem) = check_log(&log_dir(dir, &name), &mut log) {
            log.problem = Some(problem);
        }
        report.logs.push(log);
    }
    Ok(report)
}

/// Destroys and rebuilds the derived index of every log in `dir` (which no server may have
/// open), and returns the number of entries indexed.
pub fn reindex(dir: &Path) -> Result<u64, EngineError> {
    let lock = lock_dir(dir)?;
    for name in log_names(dir)? {
        IdIndex::destroy(&log_dir(dir, &name).join("index"))
            .map_err(|e| EngineError::new(ErrorKind::Io, format!("log {name}: {e}")))?;
    }
    // Opening catches every index up from its watermark, now 0.
    drop(lock);
    let engine = Engine::open(dir, EngineOptions::default())?;
    let total = engine.logs().iter().map(|l| l.size()).sum();
    engine.shutdown()?;
    Ok(total)
}

/// Checks one log; the error is its first inconsistency.
fn check_log(dir: &Path, out: &mut LogFsck) -> Result<(), String> {
    let skey = std::fs::read_to_string(dir.join("key")).map_err(|e| format!("no key: {e}"))?;
    let signer = Signer::from_skey(skey.trim()).map_err(|e| format!("bad key: {e}"))?;
    let cp = checkpoint_file::load(dir, &signer.verifier())?;
    out.checkpoint_size = cp.size;
    let history = load_history(dir, &signer, &cp)?;
    let mut replay = Replay {
        cp: &cp,
        earlier: history.iter().peekable(),
        offsets: Stored::open(&store::offsets_path(dir), 8)?,
        levels: (0..LEVELS)
            .map(|l| Stored::open(&store::level_path(dir, l), 32))
            .collect::<Result<_, _>>()?,
        tree: CompactTree::new(),
    };
    let pruned = store::prune::load(dir).map_err(|e| e.to_string())?;
    if pruned.below > 0 {
        replay.tree = pruned_tree(dir, &pruned, &mut replay.earlier, &cp, out)?;
        out.entries = pruned.below;
    }
    let firsts = segment_firsts(dir).map_err(|e| format!("cannot list segments: {e}"))?;
    for (at, &first) in firsts.iter().enumerate() {
        if first < pruned.segment {
            out.notes.push(format!(
                "segment {first} is below the pruned range's end: left by a prune a crash cut \
                 short, removed on the next open"
            ));
            continue;
        }
        let sealed = at + 1 < firsts.len();
        check_segment(dir, first, pruned.start_of(first), sealed, &mut replay, out)?;
    }
    let tree = &replay.tree;
    if tree.size() < cp.size {
        return Err(format!(
            "the log holds {} entries but its last signed checkpoint covers {}",
            tree.size(),
            cp.size
        ));
    }
    if cp.size == 0 && cp.root != sealog_core::merkle::EMPTY_ROOT {
        return Err(root_mismatch(0, &cp.root));
    }
    Ok(())
}

/// Loads the checkpoint history, refusing one that reaches beyond the last signed checkpoint
/// `cp`: every earlier checkpoint must be a prefix of the tree the entries produce.
fn load_history(
    dir: &Path,
    signer: &Signer,
    cp: &SignedCheckpoint,
) -> Result<Vec<SignedCheckpoint>, String> {
    let history = checkpoint_history::load(dir, &signer.verifier(), false)?;
    if let Some(late) = history.iter().find(|h| h.size > cp.size) {
        return Err(format!(
            "the checkpoint history holds a checkpoint of size {} beyond the last signed \
             checkpoint (size {}): the checkpoint file is older than the history (restored \
             from a backup?)",
            late.size, cp.size
        ));
    }
    Ok(history)
}

/// The tree of the pruned entries, from their stored hashes: every history checkpoint it
/// covers must have its root (those are taken off `earlier`), and so must the last
/// checkpoint once the kept entries are replayed onto it. Notes the range in `out`.
fn pruned_tree(
    dir: &Path,
    pruned: &EntriesPruned,
    earlier: &mut Peekable<std::slice::Iter<'_, SignedCheckpoint>>,
    cp: &SignedCheckpoint,
    out: &mut LogFsck,
) -> Result<CompactTree, String> {
    let below = pruned.below;
    if cp.size <= below {
        return Err(format!(
            "entries below {below} were pruned but the last signed checkpoint covers only {} \
             (a prune always keeps a signed entry): the checkpoint file is older than the prune",
            cp.size
        ));
    }
    let levels = LevelFiles(
        (0..LEVELS)
            .map(|l| {
                let path = store::level_path(dir, l);
                File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))
            })
            .collect::<Result<_, _>>()?,
    );
    let source = TileHashSource::new(&levels, below);
    let mut checked = 0;
    while let Some(h) = earlier.next_if(|h| h.size <= below) {
        let root = tree_root(&source, h.size)
            .map_err(|e| format!("the stored hashes of pruned entries cannot be read: {e}"))?;
        if root != h.root {
            return Err(format!(
                "{} (an earlier checkpoint in the history, over pruned entries whose stored \
                 tree hashes were changed)",
                root_mismatch(h.size, &h.root)
            ));
        }
        checked += 1;
    }
    let border = source
        .node_hashes(&CompactTree::border(below))
        .map_err(|e| format!("the stored hashes of pruned entries cannot be read: {e}"))?;
    let last = pruned.last.as_ref().map_or(String::new(), |l| {
        format!(" (latest prune: {}, event {})", l.at, l.event_id)
    });
    out.notes.push(format!(
        "entries 0 to {} were pruned by retention{last}, as stated in {}: their tree hashes \
         are kept and match the {checked} history checkpoint(s) over them, and the kept \
         entries are checked onto them",
        below - 1,
        store::prune::pruned_path(dir).display()
    ));
    CompactTree::from_border(below, border).map_err(|e| e.to_string())
}

/// The stored tile levels, read as tiles (for the tree of pruned entries).
struct LevelFiles(Vec<File>);

impl TileReader for LevelFiles {
    type Error = std::io::Error;

    fn read_tiles(&self, tiles: &[Tile]) -> std::io::Result<Vec<Vec<u8>>> {
        tiles
            .iter()
            .map(|t| {
                let mut buf = vec![0; usize::from(t.width) * 32];
                self.0[usize::from(t.level)].read_exact_at(&mut buf, t.index * 256 * 32)?;
                Ok(buf)
            })
            .collect()
    }
}

/// Replays the segment file `segment` from its first kept entry `first` (at byte `start`)
/// into `replay`, counting its good entries in `out`. A partial record at the end is damage in a `sealed` segment and, in the last one,
/// a torn tail that the next open cuts (noted in `out`).
fn check_segment(
    dir: &Path,
    segment: u64,
    (first, start): (u64, u64),
    sealed: bool,
    replay: &mut Replay,
    out: &mut LogFsck,
) -> Result<(), String> {
    if first != replay.tree.size() {
        return Err(format!(
            "segment {segment} continues at entry {first} after entry {}: entries are missing \
             or duplicated",
            replay.tree.size()
        ));
    }
    let path = store::segment_path(dir, segment);
    let whole = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bytes = whole.get(start as usize..).unwrap_or_default();
    let mut scan = record::Scan::new(bytes);
    for (offset, data) in scan.by_ref() {
        replay.append(start + offset as u64, data)?;
        out.entries = replay.tree.size();
        replay.check_roots()?;
    }
    if scan.end() < bytes.len() {
        let what = format!(
            "{} bytes after entry {} in {} are not a whole record",
            bytes.len() - scan.end(),
            replay.tree.size(),
            path.display()
        );
        if sealed {
            return Err(format!("{what} (in a sealed segment: damaged)"));
        }
        out.notes.push(format!(
            "{what}: an unacknowledged torn tail, cut on the next open"
        ));
    }
    Ok(())
}

/// The log's tree rebuilt from its entries, compared as it grows with the stored derived
/// data and with the signed checkpoints.
struct Replay<'a> {
    /// The last signed checkpoint.
    cp: &'a SignedCheckpoint,
    /// The earlier checkpoints not yet reached, oldest first.
    earlier: Peekable<std::slice::Iter<'a, SignedCheckpoint>>,
    /// The stored entry offsets.
    offsets: Stored,
    /// The stored tree hashes, one file per tile level.
    levels: Vec<Stored>,
    tree: CompactTree,
}

impl Replay<'_> {
    /// Appends the entry `data`, found at `offset` in its segment, to the tree, checking its
    /// stored offset and the stored hashes it completes.
    fn append(&mut self, offset: u64, data: &[u8]) -> Result<(), String> {
        let index = self.tree.size();
        if self
            .offsets
            .get(index)?
            .is_some_and(|o| o[..] != offset.to_le_bytes())
        {
            return Err(format!("the stored offset of entry {index} is wrong"));
        }
        for (node, hash) in self.tree.append(leaf::hash(data)) {
            if node.level % TILE_HEIGHT != 0 {
                continue;
            }
            let stored = self.levels[usize::from(node.level / TILE_HEIGHT)].get(node.index)?;
            let vouched = self.tree.size() <= self.cp.size;
            match stored {
                Some(s) if s[..] != hash => {
                    return Err(format!(
                        "the stored hash of tree level {} index {} does not match entry {index}: \
                         the entry or the hash was changed",
                        node.level, node.index
                    ));
                }
                None if vouched => {
                    return Err(format!(
                        "the stored hash of tree level {} index {} is missing though the \
                         checkpoint covers it",
                        node.level, node.index
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks the tree's root against the checkpoints of its current size.
    fn check_roots(&mut self) -> Result<(), String> {
        check_roots(&self.tree, self.cp, &mut self.earlier)
    }
}

/// Checks the root of `tree`, rebuilt from a log's entries, against the last signed
/// checkpoint `cp` and the earlier ones of the tree's current size, which it takes from
/// `earlier` (oldest first). Shared by the embedded and the PostgreSQL store's fsck.
pub(crate) fn check_roots(
    tree: &CompactTree,
    cp: &SignedCheckpoint,
    earlier: &mut Peekable<std::slice::Iter<'_, SignedCheckpoint>>,
) -> Result<(), String> {
    // The empty tree's root is EMPTY_ROOT, so size 0 needs no case of its own.
    if tree.size() == cp.size && tree.root() != cp.root {
        return Err(root_mismatch(cp.size, &cp.root));
    }
    while let Some(h) = earlier.next_if(|h| h.size == tree.size()) {
        if tree.root() != h.root {
            return Err(format!(
                "{} (an earlier checkpoint in the history)",
                root_mismatch(h.size, &h.root)
            ));
        }
    }
    Ok(())
}

/// The message for a checkpoint root that the entries do not produce.
pub(crate) fn root_mismatch(size: u64, root: &Hash) -> String {
    format!(
        "the root of the first {size} entries differs from the signed checkpoint's root {}: an \
         entry was changed",
        sealog_core::hex::encode(root)
    )
}

/// A file of fixed-size items read sequentially in large chunks, so that memory stays
/// bounded whatever the log's size.
struct Stored {
    file: File,
    item: u64,
    len: u64,
    base: u64,
    chunk: Vec<u8>,
}

impl Stored {
    /// Items per chunk.
    const CHUNK: u64 = 1 << 16;

    fn open(path: &Path, item: u64) -> Result<Stored, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let len = file.metadata().map_err(|e| e.to_string())?.len() / item;
        Ok(Stored {
            file,
            item,
            len,
            base: 0,
            chunk: Vec::new(),
        })
    }

    /// Item `i`, or `None` past the end of the file.
    fn get(&mut self, i: u64) -> Result<Option<&[u8]>, String> {
        if i >= self.len {
            return Ok(None);
        }
        let loaded = self.chunk.len() as u64 / self.item;
        if i < self.base || i >= self.base + loaded {
            self.base = i;
            let n = Self::CHUNK.min(self.len - i);
            self.chunk = vec![0; (n * self.item) as usize];
            self.file
                .read_exact_at(&mut self.chunk, i * self.item)
                .map_err(|e| format!("read error: {e}"))?;
        }
        let at = ((i - self.base) * self.item) as usize;
        Ok(Some(&self.chunk[at..at + self.item as usize]))
    }
}
