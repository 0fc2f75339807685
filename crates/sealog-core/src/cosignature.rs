//! Witness cosignatures ([c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature),
//! the Ed25519 `cosignature/v1` type, signature type 0x04).
//!
//! A witness that has checked a checkpoint is consistent with everything it saw before adds a
//! signature line to it. The line's payload is the key ID (computed with type 0x04), then a
//! `timestamped_signature`: an 8-byte big-endian POSIX timestamp and an Ed25519 signature
//! over
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the whole checkpoint body>
//! ```
//!
//! Verifiers pin witnesses as [`CosignatureVerifier`]s (vkeys of type 0x04), distinct from
//! log keys ([`crate::note::Verifier`], type 0x01), so one can never be used for the other.
//! A cosignature from a pinned witness that does not verify is an error, not a skip, as for
//! any known key in a signed note.

use crate::checkpoint::Checkpoint;
use crate::note::{
    self, ALG_COSIGNATURE_V1, MAX_SIGNATURES, Note, NoteError, NoteSignature, Signer,
};
use ed25519_dalek::VerifyingKey;

/// Why a cosignature from a pinned witness was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The signature line is from another key than this verifier's.
    #[error("signature is from key {found}, not from witness {name}+{key_id:08x}")]
    WrongKey {
        /// The witness key name.
        name: String,
        /// The witness key ID.
        key_id: u32,
        /// `name+id` of the signature line.
        found: String,
    },
    /// The payload is not 8 + 64 bytes.
    #[error(
        "cosignature from witness {name}+{key_id:08x} is {len} bytes, not 72 (timestamp and Ed25519 signature)"
    )]
    BadLength {
        /// The witness key name.
        name: String,
        /// The witness key ID.
        key_id: u32,
        /// Bytes after the key ID.
        len: usize,
    },
    /// The timestamp exceeds 2^63-1, which the specification forbids.
    #[error("cosignature from witness {name}+{key_id:08x} has timestamp {timestamp}, over 2^63-1")]
    TimestampTooLarge {
        /// The witness key name.
        name: String,
        /// The witness key ID.
        key_id: u32,
        /// The timestamp.
        timestamp: u64,
    },
    /// The Ed25519 signature does not verify.
    #[error("invalid cosignature from witness {name}+{key_id:08x}")]
    Invalid {
        /// The witness key name.
        name: String,
        /// The witness key ID.
        key_id: u32,
    },
}

/// The message a `cosignature/v1` signs: header, time line, then the checkpoint body.
pub fn signed_message(cp: &Checkpoint, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{}", cp.to_body()).into_bytes()
}

/// The cosignature/v1 key ID of a witness key: type 0x04 over the same name and public key.
fn cosigner_key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    note::key_id(name, ALG_COSIGNATURE_V1, public_key)
}

/// Cosigns a checkpoint as `witness` at `timestamp` (POSIX seconds, from the caller's clock)
/// and returns the signature line to add to the checkpoint note.
///
/// The timestamp must not exceed 2^63-1 (year 292 billion); verifiers refuse larger ones.
pub fn cosign(cp: &Checkpoint, witness: &Signer, timestamp: u64) -> NoteSignature {
    let mut signature = Vec::with_capacity(72);
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature.extend_from_slice(&witness.sign(&signed_message(cp, timestamp)));
    NoteSignature {
        name: witness.name().to_owned(),
        key_id: cosigner_key_id(witness.name(), &witness.public_key()),
        signature,
    }
}

/// Adds cosignatures to a signed checkpoint note and returns the new note.
///
/// A cosignature replaces an existing line with the same key name and key ID (a witness's
/// newer cosignature supersedes its older one). The cosignatures are not verified here:
/// check them with [`CosignatureVerifier::verify`] first. Fails if the note is malformed or
/// the result would be (too many signatures, two new lines from one key, a bad key name).
pub fn add_cosignatures(
    signed_checkpoint: &[u8],
    cosignatures: &[NoteSignature],
) -> Result<Vec<u8>, NoteError> {
    let mut note = Note::parse(signed_checkpoint)?;
    for c in cosignatures {
        note.signatures
            .retain(|s| s.name != c.name || s.key_id != c.key_id);
    }
    if note.signatures.len() + cosignatures.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    note.signatures.extend_from_slice(cosignatures);
    let bytes = note.to_bytes();
    Note::parse(&bytes)?;
    Ok(bytes)
}

/// A pinned witness key for `cosignature/v1` (vkey signature type 0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a witness vkey, `name+hex(id)+base64(0x04 ‖ public key)`. Refuses other
    /// signature types (including a 0x01 note key), a key ID that does not match, and
    /// non-canonical or small-order keys.
    pub fn from_vkey(vkey: &str) -> Result<CosignatureVerifier, NoteError> {
        let (name, key_id, key) = note::parse_vkey(vkey, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, key_id, key })
    }

    /// The verifier for a witness's own signing key (what it publishes as its vkey).
    pub fn from_signer(witness: &Signer) -> CosignatureVerifier {
        let key = witness.verifying_key();
        let name = witness.name().to_owned();
        let key_id = cosigner_key_id(&name, key.as_bytes());
        CosignatureVerifier { name, key_id, key }
    }

    /// The vkey string (type 0x04).
    pub fn vkey(&self) -> String {
        note::encode_vkey(&self.name, self.key_id, ALG_COSIGNATURE_V1, &self.key)
    }

    /// The witness key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosignature/v1 key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Verifies one cosignature line on `cp` and returns its timestamp.
    pub fn verify(&self, cp: &Checkpoint, sig: &NoteSignature) -> Result<u64, CosignatureError> {
        let (name, key_id) = (self.name.clone(), self.key_id);
        if sig.name != self.name || sig.key_id != self.key_id {
            let found = format!("{}+{:08x}", sig.name, sig.key_id);
            return Err(CosignatureError::WrongKey {
                name,
                key_id,
                found,
            });
        }
        let Some((ts, ed)) = sig
            .signature
            .split_first_chunk::<8>()
            .filter(|(_, ed)| ed.len() == 64)
        else {
            return Err(CosignatureError::BadLength {
                name,
                key_id,
                len: sig.signature.len(),
            });
        };
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > i64::MAX as u64 {
            return Err(CosignatureError::TimestampTooLarge {
                name,
                key_id,
                timestamp,
            });
        }
        if !note::verify_ed25519(&self.key, &signed_message(cp, timestamp), ed) {
            return Err(CosignatureError::Invalid { name, key_id });
        }
        Ok(timestamp)
    }

    /// Looks for this witness's cosignature in `note` (the signed form of `cp`): `None` if
    /// there is none, its timestamp if it verifies, an error if it does not.
    pub fn verify_in(&self, note: &Note, cp: &Checkpoint) -> Result<Option<u64>, CosignatureError> {
        let mut timestamp = None;
        for sig in note
            .signatures
            .iter()
            .filter(|s| s.name == self.name && s.key_id == self.key_id)
        {
            timestamp.get_or_insert(self.verify(cp, sig)?);
        }
        Ok(timestamp)
    }
}
