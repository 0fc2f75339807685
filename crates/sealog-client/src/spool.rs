//! The crash-safe on-disk spool, in the frame format and layout the Python and TypeScript SDKs
//! use, so any of them can replay what another left behind (for the same log and API key).
//!
//! One directory per (server URL, log) under the spool root; each process appends to its own
//! segment `<time ns>-<pid>-<random>-<key id>.seg` and holds an exclusive `flock` on it while it
//! is open. A segment nobody holds can be claimed and replayed by any client of the same log
//! **with the same key id** (never sent under another identity). A record is
//! `u32 length (big-endian) | u32 CRC-32 of payload | payload` (one event's JSON); readers stop
//! at the first short or corrupt frame, so a crash can only cost the torn tail.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest record a reader accepts (as the other SDKs).
const MAX_RECORD: usize = 16 * 1024 * 1024;
const HDR: usize = 8;

/// The spool root: `$SEALOG_SPOOL_DIR`, else `$XDG_STATE_HOME/sealog/spool`, else
/// `~/.local/state/sealog/spool`.
pub fn default_root() -> PathBuf {
    if let Some(d) = std::env::var_os("SEALOG_SPOOL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into()))
                .join(".local/state")
        });
    base.join("sealog").join("spool")
}

/// The public name of an API key that segments are marked with: `<id>` of `slk_<id>_<secret>`,
/// `h<16 hex>` of SHA-256 for another form, `none` without a key. Never the secret.
pub fn key_id(api_key: Option<&str>) -> String {
    let Some(key) = api_key.filter(|k| !k.is_empty()) else {
        return "none".into();
    };
    let parts: Vec<&str> = key.split('_').collect();
    if parts.len() >= 3
        && parts[0] == "slk"
        && !parts[1].is_empty()
        && parts[1].chars().all(char::is_alphanumeric)
    {
        return parts[1].into();
    }
    format!("h{}", &hex(&Sha256::digest(key.as_bytes()))[..16])
}

/// The directory of one (URL, log) under `root`.
pub fn dir_for(root: &Path, url: &str, log: &str) -> PathBuf {
    let h = hex(&Sha256::digest(format!("{url}\n{log}").as_bytes()));
    let safe: String = log
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    root.join(format!("{safe}-{}", &h[..16]))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key id in a segment's name; None for a name that does not say.
fn segment_key(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() == 4).then(|| parts[3].to_owned())
}

/// Frames `records` for appending.
pub fn encode_frames(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + HDR).sum());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_be_bytes());
        out.extend_from_slice(&crc32fast::hash(r).to_be_bytes());
        out.extend_from_slice(r);
    }
    out
}

/// Decodes frames: the records, and how many trailing bytes were torn or corrupt.
pub fn read_frames(data: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + HDR <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_be_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let (start, end) = (pos + HDR, pos + HDR + len);
        if len > MAX_RECORD || end > data.len() || crc32fast::hash(&data[start..end]) != crc {
            break;
        }
        out.push(data[start..end].to_vec());
        pos = end;
    }
    (out, data.len() - pos)
}

/// A segment claimed for replay, locked by us until [`Spool::done`] or dropped.
pub struct Segment {
    /// Its file name.
    pub path: PathBuf,
    _file: File,
    /// Its whole records.
    pub records: Vec<Vec<u8>>,
    /// Unreadable trailing bytes (a torn write).
    pub corrupt_bytes: usize,
    size: u64,
}

/// One client's spool directory.
pub struct Spool {
    /// Where the segments are.
    pub dir: PathBuf,
    /// The key id this spool writes and replays.
    pub key: String,
    /// The cap on all segments' bytes.
    pub max_bytes: u64,
    fsync: bool,
    segment_bytes: u64,
    current: Option<(File, PathBuf, u64)>,
    own: Vec<PathBuf>,
    bytes: u64,
    /// Other keys' segments and their sizes, as last scanned.
    pub foreign: HashMap<PathBuf, u64>,
}

impl Spool {
    /// Opens (creating) `dir` for the key id `key`.
    pub fn open(dir: PathBuf, key: String, max_bytes: u64, fsync: bool) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut spool = Spool {
            dir,
            key,
            max_bytes,
            fsync,
            segment_bytes: 8 << 20,
            current: None,
            own: Vec::new(),
            bytes: 0,
            foreign: HashMap::new(),
        };
        spool.scan();
        Ok(spool)
    }

    fn segments(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        v.sort();
        v
    }

    fn scan(&mut self) {
        self.bytes = 0;
        self.foreign.clear();
        for p in self.segments() {
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            self.bytes += meta.len();
            if segment_key(&p).as_deref() != Some(&self.key) {
                self.foreign.insert(p, meta.len());
            }
        }
    }

    /// Bytes in the directory, this key's and others'.
    pub fn size_bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes of this key's segments (what a replay can send).
    pub fn replayable_bytes(&self) -> u64 {
        self.bytes
            .saturating_sub(self.foreign.values().sum::<u64>())
    }

    /// True while segments this process wrote are not delivered.
    pub fn own_pending(&self) -> bool {
        !self.own.is_empty()
    }

    /// Appends records durably; returns `(written, dropped)`. Records that would take the spool
    /// past `max_bytes` are dropped (unless `force`) and must be recorded as lost.
    pub fn append(&mut self, records: &[Vec<u8>], force: bool) -> std::io::Result<(usize, usize)> {
        let mut room = self.max_bytes.saturating_sub(self.bytes);
        let mut keep = Vec::new();
        for r in records {
            let need = (r.len() + HDR) as u64;
            if force || need <= room {
                keep.push(r.clone());
                room = room.saturating_sub(need);
            }
        }
        let dropped = records.len() - keep.len();
        if keep.is_empty() {
            return Ok((0, dropped));
        }
        let data = encode_frames(&keep);
        if self
            .current
            .as_ref()
            .is_none_or(|c| c.2 >= self.segment_bytes)
        {
            self.current = None;
            self.open_segment()?;
        }
        let (file, _, size) = self.current.as_mut().expect("a segment is open");
        file.write_all(&data)?;
        if self.fsync {
            file.sync_data()?;
        }
        *size += data.len() as u64;
        self.bytes += data.len() as u64;
        Ok((keep.len(), dropped))
    }

    fn open_segment(&mut self) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let random = &uuid::Uuid::now_v7().simple().to_string()[24..32];
        let name = format!("{now:020}-{}-{random}-{}.seg", std::process::id(), self.key);
        let path = self.dir.join(name);
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        file.lock()?;
        if self.fsync {
            File::open(&self.dir)?.sync_all()?;
        }
        self.own.push(path.clone());
        self.current = Some((file, path, 0));
        Ok(())
    }

    /// Locks and reads every segment of this key that nobody else holds, oldest first (the one
    /// this spool writes is closed first, so it is among them).
    pub fn claim(&mut self) -> Vec<Segment> {
        if self.current.as_ref().is_some_and(|c| c.2 > 0) {
            self.current = None;
        }
        self.scan();
        let mut out = Vec::new();
        for path in self.segments() {
            if segment_key(&path).as_deref() != Some(&self.key) {
                continue;
            }
            let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&path) else {
                continue;
            };
            if file.try_lock().is_err() {
                continue;
            }
            let same = match (file.metadata(), std::fs::metadata(&path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino(),
                _ => false,
            };
            let mut data = Vec::new();
            if !same || file.read_to_end(&mut data).is_err() {
                continue;
            }
            let (records, corrupt_bytes) = read_frames(&data);
            out.push(Segment {
                path,
                _file: file,
                records,
                corrupt_bytes,
                size: data.len() as u64,
            });
        }
        out
    }

    /// Deletes a delivered segment.
    pub fn done(&mut self, seg: Segment) {
        let _ = std::fs::remove_file(&seg.path);
        self.bytes = self.bytes.saturating_sub(seg.size);
        self.own.retain(|p| p != &seg.path);
    }

    /// (events, segments) of this key, as read now.
    pub fn count_replayable(&self) -> (usize, usize) {
        let mut n = (0, 0);
        for p in self.segments() {
            if segment_key(&p).as_deref() == Some(&self.key)
                && let Ok(data) = std::fs::read(&p)
            {
                n.0 += read_frames(&data).0.len();
                n.1 += 1;
            }
        }
        n
    }

    /// Closes the segment being written (its lock goes with it).
    pub fn close(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_stop_at_a_torn_tail() {
        let recs = vec![b"{\"a\":1}".to_vec(), b"{}".to_vec()];
        let mut data = encode_frames(&recs);
        data.extend_from_slice(&[0, 0, 0, 9, 1, 2]);
        assert_eq!(read_frames(&data), (recs, 6));
    }

    #[test]
    fn key_ids_match_the_other_sdks() {
        assert_eq!(key_id(Some("slk_abc123_secret")), "abc123");
        assert_eq!(key_id(None), "none");
        // Python: "h" + sha256(b"plain").hexdigest()[:16]
        assert_eq!(key_id(Some("plain")), "ha116c9ed46d62077");
    }

    #[test]
    fn a_full_spool_drops_unless_forced_and_replays_its_own_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path().into(), "k1".into(), 30, true).unwrap();
        let recs = vec![vec![b'x'; 10], vec![b'y'; 10], vec![b'z'; 10]];
        assert_eq!(s.append(&recs, false).unwrap(), (1, 2));
        assert_eq!(s.append(&recs[1..2], true).unwrap(), (1, 0));
        std::fs::write(dir.path().join("1-2-ab-other.seg"), encode_frames(&recs)).unwrap();
        let segs = s.claim();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].records, recs[..2].to_vec());
        assert_eq!(s.foreign.len(), 1);
        for seg in segs {
            s.done(seg);
        }
        assert!(!s.own_pending());
        assert_eq!(s.replayable_bytes(), 0);
    }
}
