//! Key files of one log's content store: the key-encryption key (KEK), each subject's wrapped
//! data key, and the tombstone an erasure leaves in its place.
//!
//! ```text
//! kek               {"id", "key"}: the log's KEK, mode 0600 (or <kek dir>/<log>.kek)
//! kek.next          the KEK a rotation is moving to, while it runs
//! subjects/<h>/key  {"subject", "key_id", "kek_id", "wrapped"}: the data key, wrapped, 0600
//! subjects/<h>/erased  the tombstone: who, when, why, how many blobs, the erasure event's id
//! ```
//!
//! `<h>` is the first 32 hex digits of SHA-256 of the subject's pseudo id, so any id makes a
//! safe file name.

use super::crypto::{self, SecretKey};
use crate::durable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A key-encryption key and its id.
pub struct Kek {
    /// Names the KEK in each key file it wrapped.
    pub id: String,
    key: SecretKey,
}

#[derive(Serialize, Deserialize)]
struct KekFile {
    id: String,
    key: String,
}

impl Kek {
    /// Reads the KEK at `path`, if there is one.
    pub fn read(path: &Path) -> io::Result<Option<Kek>> {
        let text = match std::fs::read(path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let file: KekFile = serde_json::from_slice(&text).map_err(|e| corrupt(path, e))?;
        let key = sealog_core::hex::decode::<{ crypto::KEY_LEN }>(&file.key)
            .ok_or_else(|| corrupt(path, "the key is not 64 hex digits"))?;
        Ok(Some(Kek {
            id: file.id,
            key: Zeroizing::new(key),
        }))
    }

    /// A new random KEK, written durably to `path` with mode 0600.
    pub fn create(path: &Path) -> io::Result<Kek> {
        let kek = Kek {
            id: crypto::random_id(8)?,
            key: crypto::random_key()?,
        };
        let file = KekFile {
            id: kek.id.clone(),
            key: sealog_core::hex::encode(kek.key.as_ref()),
        };
        let text = Zeroizing::new(serde_json::to_vec(&file).map_err(io::Error::other)?);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        durable::write_file(path, &text, 0o600)?;
        Ok(kek)
    }
}

/// A subject's data key as stored: wrapped under a KEK.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    /// The subject's pseudo id.
    pub subject: String,
    /// The data key's id, named in every `encrypted` reference it made.
    pub key_id: String,
    /// The KEK that wrapped it.
    pub kek_id: String,
    /// Hex of the sealed data key.
    wrapped: String,
}

/// A wrapped data key: nonce, key, tag.
const WRAPPED_LEN: usize = 24 + crypto::KEY_LEN + 16;

fn wrap_aad(log: &str, subject: &str, key_id: &str) -> Vec<u8> {
    format!("sealog data key/v1\n{log}\n{subject}\n{key_id}").into_bytes()
}

impl KeyFile {
    /// Wraps `key` under `kek`.
    pub fn wrap(
        log: &str,
        subject: &str,
        key_id: &str,
        key: &SecretKey,
        kek: &Kek,
    ) -> io::Result<KeyFile> {
        let sealed = crypto::seal(&kek.key, key.as_ref(), &wrap_aad(log, subject, key_id))?;
        Ok(KeyFile {
            subject: subject.to_owned(),
            key_id: key_id.to_owned(),
            kek_id: kek.id.clone(),
            wrapped: sealog_core::hex::encode(&sealed),
        })
    }

    /// The data key, unwrapped with `kek` (which must be the one named by `kek_id`).
    pub fn unwrap_with(&self, log: &str, kek: &Kek) -> Option<SecretKey> {
        let sealed = sealog_core::hex::decode::<WRAPPED_LEN>(&self.wrapped)?;
        let aad = wrap_aad(log, &self.subject, &self.key_id);
        let plain = crypto::open(&kek.key, &sealed, &aad)?;
        let key: [u8; crypto::KEY_LEN] = plain.as_slice().try_into().ok()?;
        Some(Zeroizing::new(key))
    }

    /// Reads a key file, if there is one.
    pub fn read(path: &Path) -> io::Result<Option<KeyFile>> {
        read_json(path)
    }

    /// Writes it durably, mode 0600.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        durable::write_file(
            path,
            &serde_json::to_vec(self).map_err(io::Error::other)?,
            0o600,
        )
    }
}

/// What an erasure leaves in place of the data key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tombstone {
    /// The subject's pseudo id.
    pub subject: String,
    /// The id of the destroyed data key.
    pub key_id: String,
    /// When the key was destroyed (RFC 3339, UTC, µs).
    pub erased: String,
    /// The reason (legal basis) the caller gave.
    pub reason: String,
    /// How many stored blobs the erasure made unreadable.
    pub blobs: u64,
    /// The id of the `erasure` event that records it in the log.
    pub event_id: String,
}

impl Tombstone {
    /// Reads a tombstone, if there is one.
    pub fn read(path: &Path) -> io::Result<Option<Tombstone>> {
        read_json(path)
    }

    /// Writes it durably.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        durable::write_file(
            path,
            &serde_json::to_vec(self).map_err(io::Error::other)?,
            0o600,
        )
    }
}

/// The directory of a subject: its tag in 32 hex digits.
pub fn subject_dir(subjects: &Path, subject: &str) -> PathBuf {
    subjects.join(sealog_core::hex::encode(&subject_tag(subject)))
}

/// A subject's tag: the first 16 bytes of SHA-256 of its pseudo id.
pub fn subject_tag(subject: &str) -> [u8; 16] {
    let digest = Sha256::digest(subject.as_bytes());
    digest[..16].try_into().expect("16 of 32 bytes")
}

/// Overwrites the key file at `path` with zeros and removes it, durably: its bytes are gone
/// from the file system where it writes in place, and its name from the directory.
pub fn destroy(path: &Path) -> io::Result<()> {
    use std::io::Write;
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])?;
    file.sync_all()?;
    std::fs::remove_file(path)?;
    durable::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} is damaged: {e}", path.display()),
    )
}
