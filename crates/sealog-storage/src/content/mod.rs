//! The encrypted content store: content that may be personal, kept outside the tree under a
//! per-subject data key, so that destroying the key erases it while every leaf and proof
//! stays valid (crypto-shredding).
//!
//! ```text
//! DIR/content/<log>/kek                     the log's key-encryption key (module `keys`)
//! DIR/content/<log>/subjects/<h>/key        the subject's data key, wrapped under the KEK
//! DIR/content/<log>/subjects/<h>/erased     the tombstone, once erased
//! DIR/content/<log>/packs/<n>.pack          the blobs of one sealed batch (module `packs`)
//! DIR/content/<log>/erasing/<h>             an erasure under way (finished at the next open)
//! DIR/content/<log>/subjects/<h>/blobs/<sha256>   a blob of a store made before packs
//! ```
//!
//! A blob is XChaCha20-Poly1305 of the content under the subject's data key, with a fresh
//! random nonce and the event id as associated data; the leaf names it by its SHA-256, so the
//! leaf commits to exactly what was stored. A batch's blobs are written as one pack, durably,
//! before [`SealBatch::commit`] returns, which the server awaits before appending the events.
//! Blobs of a store made before packs (a file each under the subject) are still read, counted
//! and deleted where they are.
//!
//! An erasure takes effect when its tombstone is durably written: from then on the key is
//! never used, and before then it is whole. It is recorded first in `erasing/`, then the key
//! file is overwritten with zeros and removed and the subject's blobs removed from the packs;
//! a crash at any point is finished on the next open, so the key is either present and whole,
//! or gone.

pub(crate) mod crypto;
mod holds;
mod keys;
mod packs;
mod retention;

pub use holds::Hold;
use holds::HoldBook;
pub use keys::Tombstone;
pub use retention::{Prune, PrunePlan, Pruned};

use crate::durable;
use crate::lock;
use keys::{Kek, KeyFile, destroy, subject_dir, subject_tag};
use packs::{Blob, Packs, Tag};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use zeroize::Zeroizing;

/// Why content cannot be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The subject's key was destroyed.
    #[error("the content of subject {:?} was erased on {}", .0.subject, .0.erased)]
    Erased(Box<Tombstone>),
    /// There is no such key or blob.
    #[error("{0}")]
    Missing(String),
    /// A stored file does not match what refers to it.
    #[error("{0}")]
    Corrupt(String),
    /// A legal hold covers what was to be erased.
    #[error("legal hold {} ({}) covers it", .0.id, .0.reason)]
    Held(Box<Hold>),
    /// The disk failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The encrypted content of every log of one data directory.
pub struct ContentStore {
    root: PathBuf,
    kek_dir: Option<PathBuf>,
    /// The shared store the logs' legal holds are kept in, if any.
    shared: Option<crate::SharedDocuments>,
    logs: Mutex<HashMap<String, Arc<LogContent>>>,
}

impl ContentStore {
    /// Opens the store of `data_dir`, finishing erasures a crash interrupted. With `kek_dir`,
    /// each log's KEK is `<kek_dir>/<log>.kek` instead of `DIR/content/<log>/kek`.
    pub fn open(data_dir: &Path, kek_dir: Option<&Path>) -> io::Result<ContentStore> {
        Self::open_sharing_holds(data_dir, kek_dir, None)
    }

    /// [`ContentStore::open`], with the logs' legal holds kept in the shared store `shared`
    /// (every node of the store sees the same holds) when there is one.
    pub fn open_sharing_holds(
        data_dir: &Path,
        kek_dir: Option<&Path>,
        shared: Option<crate::SharedDocuments>,
    ) -> io::Result<ContentStore> {
        let store = ContentStore {
            root: data_dir.join("content"),
            kek_dir: kek_dir.map(Path::to_owned),
            shared,
            logs: Mutex::new(HashMap::new()),
        };
        if let Ok(entries) = std::fs::read_dir(&store.root) {
            for entry in entries {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if crate::check_log_name(&name).is_ok() {
                    store.log(&name)?;
                }
            }
        }
        Ok(store)
    }

    /// The content of log `name` if it has any (or was opened), without making a KEK.
    pub fn existing(&self, name: &str) -> io::Result<Option<Arc<LogContent>>> {
        let opened = lock(&self.logs).contains_key(name);
        if !opened && !self.root.join(name).is_dir() {
            return Ok(None);
        }
        self.log(name).map(Some)
    }

    /// The content of log `name` (its KEK is made on first use).
    pub fn log(&self, name: &str) -> io::Result<Arc<LogContent>> {
        let mut logs = lock(&self.logs);
        if let Some(log) = logs.get(name) {
            return Ok(log.clone());
        }
        let kek_path = match &self.kek_dir {
            Some(dir) => dir.join(format!("{name}.kek")),
            None => self.root.join(name).join("kek"),
        };
        let dir = self.root.join(name);
        let hold_book = HoldBook::of(name, &dir, self.shared.as_ref());
        let log = Arc::new(LogContent::open(name, dir, kek_path, hold_book)?);
        logs.insert(name.to_owned(), log.clone());
        Ok(log)
    }
}

/// The KEKs of a log: the current one and, while a rotation runs, the next.
struct Keks {
    current: Kek,
    next: Option<Kek>,
}

/// A data key in memory, wiped when the last user drops it.
struct DataKey {
    id: String,
    key: crypto::SecretKey,
}

/// One log's encrypted content.
pub struct LogContent {
    name: String,
    dir: PathBuf,
    kek_path: PathBuf,
    keks: Mutex<Keks>,
    /// Held shared by sealing, exclusively by erasure and KEK rotation.
    gate: RwLock<()>,
    /// Unwrapped data keys by subject; an erasure removes its subject's.
    cache: Mutex<HashMap<String, Arc<DataKey>>>,
    /// Held while the holds are changed or an erasure checks them and runs.
    holds: Mutex<()>,
    /// Where the holds are kept.
    hold_book: HoldBook,
    /// The blobs.
    packs: Packs,
}

/// Where sealed content went: what the leaf's `encrypted` reference names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The data key's id.
    pub key_id: String,
    /// SHA-256 of the stored blob, lowercase hex.
    pub ciphertext_sha256: String,
}

impl LogContent {
    fn open(
        name: &str,
        dir: PathBuf,
        kek_path: PathBuf,
        hold_book: HoldBook,
    ) -> io::Result<LogContent> {
        let current = match Kek::read(&kek_path)? {
            Some(kek) => kek,
            None => Kek::create(&kek_path)?,
        };
        let next = Kek::read(&next_path(&kek_path))?;
        let log = LogContent {
            name: name.to_owned(),
            kek_path,
            keks: Mutex::new(Keks { current, next }),
            gate: RwLock::new(()),
            cache: Mutex::new(HashMap::new()),
            holds: Mutex::new(()),
            hold_book,
            packs: Packs::open(dir.join("packs"))?,
            dir,
        };
        log.finish_erasures()?;
        Ok(log)
    }

    fn subjects(&self) -> PathBuf {
        self.dir.join("subjects")
    }

    fn erasing(&self) -> PathBuf {
        self.dir.join("erasing")
    }

    /// Starts sealing a batch; erasures and rotations wait until it is committed or dropped.
    pub fn batch(&self) -> SealBatch<'_> {
        SealBatch {
            log: self,
            _gate: self
                .gate
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            blobs: Vec::new(),
        }
    }

    /// The subject's data key, made (and stored durably) if it has none and `create`.
    fn data_key(&self, subject: &str, create: bool) -> Result<Arc<DataKey>, ContentError> {
        let mut cache = lock(&self.cache);
        if let Some(key) = cache.get(subject) {
            return Ok(key.clone());
        }
        let dir = subject_dir(&self.subjects(), subject);
        if let Some(t) = Tombstone::read(&dir.join("erased"))? {
            return Err(ContentError::Erased(Box::new(t)));
        }
        let keks = lock(&self.keks);
        let key = match KeyFile::read(&dir.join("key"))? {
            Some(file) => {
                let kek = [Some(&keks.current), keks.next.as_ref()]
                    .into_iter()
                    .flatten()
                    .find(|k| k.id == file.kek_id)
                    .ok_or_else(|| {
                        ContentError::Corrupt(format!(
                            "the key of subject {subject:?} is wrapped under KEK {}, which is \
                             not {}",
                            file.kek_id,
                            self.kek_path.display()
                        ))
                    })?;
                let key = file.unwrap_with(&self.name, kek).ok_or_else(|| {
                    ContentError::Corrupt(format!(
                        "the key of subject {subject:?} does not unwrap under KEK {}",
                        kek.id
                    ))
                })?;
                DataKey {
                    id: file.key_id,
                    key,
                }
            }
            None if create => {
                let key = DataKey {
                    id: crypto::random_id(8)?,
                    key: crypto::random_key()?,
                };
                create_dirs(&dir)?;
                KeyFile::wrap(&self.name, subject, &key.id, &key.key, &keks.current)?
                    .write(&dir.join("key"))?;
                key
            }
            None => {
                return Err(ContentError::Missing(format!(
                    "no content is stored for subject {subject:?}"
                )));
            }
        };
        let key = Arc::new(key);
        cache.insert(subject.to_owned(), key.clone());
        Ok(key)
    }

    /// The content sealed for `event_id` under `key_id` as blob `sha256`.
    pub fn open_blob(
        &self,
        subject: &str,
        key_id: &str,
        sha256: &str,
        event_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, ContentError> {
        let key = self.data_key(subject, false)?;
        if key.id != key_id {
            return Err(ContentError::Missing(format!(
                "subject {subject:?} has key {}, not {key_id}",
                key.id
            )));
        }
        let digest = sealog_core::hex::decode::<32>(sha256)
            .ok_or_else(|| ContentError::Corrupt(format!("{sha256:?} is not a SHA-256")))?;
        let legacy = || {
            subject_dir(&self.subjects(), subject)
                .join("blobs")
                .join(sha256)
        };
        let blob = match self.packs.read(&digest)? {
            Some(blob) => blob,
            None => match std::fs::read(legacy()) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(ContentError::Missing(format!(
                        "blob {sha256} is not stored"
                    )));
                }
                Err(e) => return Err(e.into()),
            },
        };
        if Sha256::digest(&blob)[..] != digest[..] {
            return Err(ContentError::Corrupt(format!(
                "blob {sha256} does not hash to its name"
            )));
        }
        crypto::open(&key.key, &blob, event_id.as_bytes()).ok_or_else(|| {
            ContentError::Corrupt(format!(
                "blob {sha256} does not decrypt for event {event_id}"
            ))
        })
    }

    /// Erases a subject: destroys its data key and blobs, durably, unless a legal hold covers
    /// it. `tombstone` gets the number of blobs and says when, why and under which event id.
    /// Erasing again returns the first erasure's tombstone.
    pub fn erase(
        &self,
        subject: &str,
        tombstone: impl FnOnce(u64) -> Tombstone,
    ) -> Result<Tombstone, ContentError> {
        let _holds = lock(&self.holds);
        let _gate = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = subject_dir(&self.subjects(), subject);
        if let Some(t) = Tombstone::read(&dir.join("erased"))? {
            return Ok(t);
        }
        self.hold_book.while_locked(|holds| {
            if let Some(hold) = holds.iter().find(|h| h.covers_subject(subject)) {
                return Err(ContentError::Held(Box::new(hold.clone())));
            }
            self.erase_unheld(subject, &dir, tombstone)
        })
    }

    /// [`LogContent::erase`] once no hold covers `subject`, with the holds locked.
    fn erase_unheld(
        &self,
        subject: &str,
        dir: &Path,
        tombstone: impl FnOnce(u64) -> Tombstone,
    ) -> Result<Tombstone, ContentError> {
        let key_id = KeyFile::read(&dir.join("key"))?.map(|k| k.key_id);
        let legacy = match std::fs::read_dir(dir.join("blobs")) {
            Ok(entries) => entries.count() as u64,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        let tag = subject_tag(subject);
        let blobs = self.packs.count(&tag) + legacy;
        let mut t = tombstone(blobs);
        t.key_id = key_id.unwrap_or_default();
        let marker = self.erasing().join(dir.file_name().unwrap_or_default());
        create_dirs(&self.erasing())?;
        durable::write_file(&marker, b"", 0o600)?;
        create_dirs(dir)?;
        t.write(&dir.join("erased"))?;
        lock(&self.cache).remove(subject);
        self.finish(dir, &tag)?;
        std::fs::remove_file(&marker)?;
        durable::sync_dir(&self.erasing())?;
        Ok(t)
    }

    /// The holds in place.
    pub fn holds(&self) -> io::Result<Vec<Hold>> {
        let _holds = lock(&self.holds);
        self.hold_book.read()
    }

    /// Places a hold, durably.
    pub fn place_hold(&self, hold: Hold) -> io::Result<()> {
        let _holds = lock(&self.holds);
        create_dirs(&self.dir)?;
        self.hold_book.change(|all| all.push(hold))
    }

    /// Lifts hold `id`, durably; returns it, or `None` if no such hold is in place.
    pub fn lift_hold(&self, id: &str) -> io::Result<Option<Hold>> {
        let _holds = lock(&self.holds);
        self.hold_book
            .change(|all| all.iter().position(|h| h.id == id).map(|at| all.remove(at)))
    }

    /// Finishes the erasures a crash interrupted; one without a tombstone had not begun.
    fn finish_erasures(&self) -> io::Result<()> {
        let Ok(entries) = std::fs::read_dir(self.erasing()) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry?;
            let dir = self.subjects().join(entry.file_name());
            let tag = sealog_core::hex::decode::<16>(&entry.file_name().to_string_lossy());
            if let Some(tag) = tag
                && dir.join("erased").exists()
            {
                self.finish(&dir, &tag)?;
            }
            std::fs::remove_file(entry.path())?;
        }
        durable::sync_dir(&self.erasing())
    }

    /// Destroys the key file of an erased subject's directory `dir`, then its blobs.
    fn finish(&self, dir: &Path, tag: &Tag) -> io::Result<()> {
        destroy(&dir.join("key"))?;
        self.packs.remove(|_, t| t == tag)?;
        match std::fs::remove_dir_all(dir.join("blobs")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        durable::sync_dir(dir)
    }

    /// Re-wraps every data key under a new KEK, then makes it the log's KEK; returns its id.
    /// A rotation a crash interrupted is finished by rotating again.
    pub fn rotate_kek(&self) -> io::Result<String> {
        let _gate = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keks = lock(&self.keks);
        let next_file = next_path(&self.kek_path);
        if keks.next.is_none() {
            keks.next = Some(Kek::create(&next_file)?);
        }
        let Keks { current, next } = &*keks;
        let next = next.as_ref().expect("set above");
        if let Ok(entries) = std::fs::read_dir(self.subjects()) {
            for entry in entries {
                let path = entry?.path().join("key");
                let Some(file) = KeyFile::read(&path)? else {
                    continue;
                };
                if file.kek_id == next.id {
                    continue;
                }
                let key = file.unwrap_with(&self.name, current).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} does not unwrap under KEK {}",
                            path.display(),
                            current.id
                        ),
                    )
                })?;
                KeyFile::wrap(&self.name, &file.subject, &file.key_id, &key, next)?.write(&path)?;
            }
        }
        std::fs::rename(&next_file, &self.kek_path)?;
        durable::sync_dir(self.kek_path.parent().unwrap_or(Path::new(".")))?;
        let next = keks.next.take().expect("set above");
        let id = next.id.clone();
        keks.current = next;
        Ok(id)
    }
}

/// Content being sealed; [`SealBatch::commit`] makes it durable.
pub struct SealBatch<'a> {
    log: &'a LogContent,
    _gate: RwLockReadGuard<'a, ()>,
    /// Sealed, to be written as one pack by `commit`.
    blobs: Vec<Blob>,
}

impl SealBatch<'_> {
    /// Encrypts `plaintext` for `event_id` under the subject's data key (made if it has none)
    /// and keeps the blob for `commit`; refused once the subject was erased.
    pub fn seal(
        &mut self,
        subject: &str,
        event_id: &str,
        plaintext: &[u8],
    ) -> Result<Sealed, ContentError> {
        let key = self.log.data_key(subject, true)?;
        let blob = crypto::seal(&key.key, plaintext, event_id.as_bytes())?;
        let sha: [u8; 32] = Sha256::digest(&blob).into();
        self.blobs.push(Blob {
            tag: subject_tag(subject),
            sha,
            bytes: blob,
        });
        Ok(Sealed {
            key_id: key.id.clone(),
            ciphertext_sha256: sealog_core::hex::encode(&sha),
        })
    }

    /// Writes every blob of the batch as one pack, durably (one file and one fsync for the
    /// batch, not one per blob: BENCHMARKS.md). A batch dropped uncommitted writes nothing.
    pub fn commit(self) -> io::Result<()> {
        self.log.packs.write(&self.blobs)
    }
}

/// Creates `dir` and its missing parents, durably (each new directory's parent fsynced).
fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
        std::fs::create_dir(dir)?;
        durable::sync_dir(parent)?;
    }
    Ok(())
}

fn next_path(kek_path: &Path) -> PathBuf {
    let mut name = kek_path.file_name().unwrap_or_default().to_owned();
    name.push(".next");
    kek_path.with_file_name(name)
}

#[cfg(test)]
mod tests;
