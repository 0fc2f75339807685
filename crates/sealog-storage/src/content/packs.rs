//! Blob packs: the blobs of one sealed batch in one file, so that a batch costs one file and
//! one fsync however many blobs it holds (a file per blob made private ingest 16× slower than
//! commitments, BENCHMARKS.md).
//!
//! ```text
//! packs/<n>.pack    n: 20 digits, one more than the highest at open
//!   "sealog-pack/v1\n"                         magic, 15 bytes
//!   count: u32 LE
//!   count × (subject tag 16 B ‖ SHA-256 of the blob 32 B ‖ length u32 LE)
//!   CRC-32 of everything above: u32 LE
//!   the blobs, in the order of their entries
//! ```
//!
//! A pack is only ever written whole, by `durable::write_file`: a new one per batch, and a
//! smaller one in its place when blobs are removed from it (an erasure, a prune), or none
//! when no blob is left. A crash therefore leaves the old pack or the new one, never a part
//! of one. The index in memory maps each blob's SHA-256 to its pack and offset; it is rebuilt
//! from the packs' headers at open. Removing ciphertext is the second line of erasure: the
//! first is the data key's destruction, which makes every copy unreadable, including a pack
//! replaced on a file system that keeps old blocks.

use crate::durable;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

const MAGIC: &[u8] = b"sealog-pack/v1\n";
const ENTRY_LEN: usize = 16 + 32 + 4;

/// A subject as packs name it: the first 16 bytes of SHA-256 of its pseudo id.
pub type Tag = [u8; 16];

/// SHA-256 of a blob.
pub type Digest = [u8; 32];

/// A blob to store: whose it is, its SHA-256 and its bytes.
pub struct Blob {
    /// The subject's tag.
    pub tag: Tag,
    /// SHA-256 of `bytes`.
    pub sha: Digest,
    /// Nonce ‖ ciphertext ‖ tag.
    pub bytes: Vec<u8>,
}

/// Where a blob is.
#[derive(Clone, Copy)]
struct Location {
    pack: u64,
    offset: u64,
    len: u32,
    tag: Tag,
}

/// One entry of a pack's header, at `offset` in the file.
struct Entry {
    tag: Tag,
    sha: Digest,
    offset: u64,
    len: u32,
}

/// The packs of one log and their index.
pub struct Packs {
    dir: PathBuf,
    next: AtomicU64,
    index: RwLock<HashMap<Digest, Location>>,
}

impl Packs {
    /// Opens (creating) the pack directory `dir` and indexes every pack in it. Temporary files
    /// a crash left behind are removed.
    pub fn open(dir: PathBuf) -> io::Result<Packs> {
        super::create_dirs(&dir)?;
        let mut index = HashMap::new();
        let mut next = 0;
        for item in std::fs::read_dir(&dir)? {
            let path = item?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                std::fs::remove_file(&path)?;
                continue;
            }
            let Some(n) = name
                .strip_suffix(".pack")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            next = next.max(n + 1);
            for e in read_header(&path)? {
                let at = Location {
                    pack: n,
                    offset: e.offset,
                    len: e.len,
                    tag: e.tag,
                };
                index.insert(e.sha, at);
            }
        }
        Ok(Packs {
            dir,
            next: AtomicU64::new(next),
            index: RwLock::new(index),
        })
    }

    fn path(&self, pack: u64) -> PathBuf {
        self.dir.join(format!("{pack:020}.pack"))
    }

    fn read_index(&self) -> RwLockReadGuard<'_, HashMap<Digest, Location>> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, HashMap<Digest, Location>> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `blobs` as one new pack, durably, and indexes them.
    pub fn write(&self, blobs: &[Blob]) -> io::Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        let pack = self.next.fetch_add(1, Ordering::Relaxed);
        let (bytes, offsets) = encode(blobs);
        durable::write_file(&self.path(pack), &bytes, 0o600)?;
        let mut index = self.write_index();
        for (b, offset) in blobs.iter().zip(offsets) {
            let len = u32::try_from(b.bytes.len()).expect("encode checked the length");
            let at = Location {
                pack,
                offset,
                len,
                tag: b.tag,
            };
            index.insert(b.sha, at);
        }
        Ok(())
    }

    /// The blob `sha`, if a pack holds it.
    pub fn read(&self, sha: &Digest) -> io::Result<Option<Vec<u8>>> {
        // Held while reading, so that no removal replaces the pack under the offset.
        let index = self.read_index();
        let Some(at) = index.get(sha) else {
            return Ok(None);
        };
        let mut blob = vec![0; at.len as usize];
        File::open(self.path(at.pack))?.read_exact_at(&mut blob, at.offset)?;
        Ok(Some(blob))
    }

    /// How many blobs of subject `tag` the packs hold.
    pub fn count(&self, tag: &Tag) -> u64 {
        self.read_index().values().filter(|l| l.tag == *tag).count() as u64
    }

    /// Removes every blob `remove` selects (by its SHA-256 and subject tag), durably: each
    /// pack holding one is replaced by one without it, or deleted if none of its blobs is left.
    /// Returns how many blobs were removed.
    pub fn remove(&self, remove: impl Fn(&Digest, &Tag) -> bool) -> io::Result<u64> {
        let mut index = self.write_index();
        let packs: BTreeSet<u64> = index
            .iter()
            .filter(|(sha, at)| remove(sha, &at.tag))
            .map(|(_, at)| at.pack)
            .collect();
        let mut removed = 0;
        for &pack in &packs {
            let path = self.path(pack);
            let bytes = std::fs::read(&path)?;
            let mut kept = Vec::new();
            for e in parse_header(&bytes, bytes.len() as u64, &path)? {
                if remove(&e.sha, &e.tag) {
                    index.remove(&e.sha);
                    removed += 1;
                    continue;
                }
                let start = usize::try_from(e.offset).map_err(io::Error::other)?;
                kept.push(Blob {
                    tag: e.tag,
                    sha: e.sha,
                    bytes: bytes[start..start + e.len as usize].to_vec(),
                });
            }
            if kept.is_empty() {
                std::fs::remove_file(&path)?;
                continue;
            }
            let (replacement, offsets) = encode(&kept);
            durable::write_file(&path, &replacement, 0o600)?;
            for (b, offset) in kept.iter().zip(offsets) {
                if let Some(at) = index.get_mut(&b.sha) {
                    at.offset = offset;
                }
            }
        }
        if !packs.is_empty() {
            durable::sync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}

/// A pack of `blobs` and the offset of each blob in it.
fn encode(blobs: &[Blob]) -> (Vec<u8>, Vec<u64>) {
    let count = u32::try_from(blobs.len()).expect("a batch holds fewer than 2^32 blobs");
    let mut out = Vec::with_capacity(
        MAGIC.len()
            + 8
            + blobs.len() * ENTRY_LEN
            + blobs.iter().map(|b| b.bytes.len()).sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    for b in blobs {
        let len = u32::try_from(b.bytes.len()).expect("a blob is smaller than 4 GiB");
        out.extend_from_slice(&b.tag);
        out.extend_from_slice(&b.sha);
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(&crc32fast::hash(&out).to_le_bytes());
    let mut offsets = Vec::with_capacity(blobs.len());
    for b in blobs {
        offsets.push(out.len() as u64);
        out.extend_from_slice(&b.bytes);
    }
    (out, offsets)
}

/// The entries of the pack at `path`, reading only its header.
fn read_header(path: &Path) -> io::Result<Vec<Entry>> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = [0u8; MAGIC.len() + 4];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| damaged(path, e))?;
    let count = u32::from_le_bytes(head[MAGIC.len()..].try_into().expect("4 bytes")) as usize;
    let header_len = head.len() + count * ENTRY_LEN + 4;
    if head[..MAGIC.len()] != *MAGIC || header_len as u64 > size {
        return Err(damaged(path, "no pack header"));
    }
    let mut header = vec![0u8; header_len];
    file.read_exact_at(&mut header, 0)
        .map_err(|e| damaged(path, e))?;
    parse_header(&header, size, path)
}

/// The entries of a pack of `size` bytes whose first bytes are `bytes` (its header at least).
fn parse_header(bytes: &[u8], size: u64, path: &Path) -> io::Result<Vec<Entry>> {
    let fixed = MAGIC.len() + 4;
    if bytes.len() < fixed + 4 || bytes[..MAGIC.len()] != *MAGIC {
        return Err(damaged(path, "no pack header"));
    }
    let count = u32::from_le_bytes(bytes[MAGIC.len()..fixed].try_into().expect("4 bytes")) as usize;
    let crc_at = fixed + count * ENTRY_LEN;
    let Some(crc) = bytes.get(crc_at..crc_at + 4) else {
        return Err(damaged(path, "its header is cut short"));
    };
    if crc32fast::hash(&bytes[..crc_at]).to_le_bytes() != crc {
        return Err(damaged(path, "its header fails its CRC"));
    }
    let mut offset = (crc_at + 4) as u64;
    let mut entries = Vec::with_capacity(count);
    for raw in bytes[fixed..crc_at].chunks_exact(ENTRY_LEN) {
        let len = u32::from_le_bytes(raw[48..].try_into().expect("4 bytes"));
        entries.push(Entry {
            tag: raw[..16].try_into().expect("16 bytes"),
            sha: raw[16..48].try_into().expect("32 bytes"),
            offset,
            len,
        });
        offset += u64::from(len);
    }
    if offset > size {
        return Err(damaged(path, "shorter than its header says"));
    }
    Ok(entries)
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} is damaged: {e}", path.display()),
    )
}
