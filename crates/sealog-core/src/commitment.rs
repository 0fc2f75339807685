//! Keyed commitments to payloads: `hmac-sha256:<base64>`.
//!
//! By default an event carries a commitment to its input and output rather than the content
//! itself (docs/DESIGN.md §1.4). A plain hash would let anyone holding the log brute-force low-entropy
//! content ("yes", a postcode); an HMAC under a key that stays with the tenant does not, yet
//! the tenant can later prove what was said by revealing the content and letting a verifier
//! recompute the commitment with the key.
//!
//! A JSON value is committed through its RFC 8785 canonical bytes, so the commitment does not
//! depend on key order or number spelling; raw bytes (an image, a PDF) are committed as they
//! are, with their media type recorded beside the commitment.
//!
//! ```
//! use sealog_core::commitment::{Commitment, CommitmentKey};
//! let key = CommitmentKey::new(b"a tenant secret of 16+ bytes").unwrap();
//! let c = key.commit_json(&serde_json::json!({"prompt": "hello"}));
//! assert!(c.to_string().starts_with("hmac-sha256:"));
//! assert!(key.check_json(&serde_json::json!({"prompt": "hello"}), &c));
//! assert!(!key.check_json(&serde_json::json!({"prompt": "hullo"}), &c));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// The commitment scheme prefix.
pub const PREFIX: &str = "hmac-sha256:";

/// The shortest key accepted: 128 bits, so the key cannot be guessed either.
pub const MIN_KEY_BYTES: usize = 16;

/// A tenant's secret commitment key.
#[derive(Clone)]
pub struct CommitmentKey(Vec<u8>);

impl fmt::Debug for CommitmentKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CommitmentKey(<secret>)")
    }
}

/// A commitment: the HMAC-SHA-256 of the committed bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Commitment(pub [u8; 32]);

/// Why a commitment or key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommitmentError {
    /// The key is too short to resist guessing.
    #[error("commitment key has {0} bytes; use at least {MIN_KEY_BYTES} random bytes")]
    KeyTooShort(usize),
    /// The string does not start with `hmac-sha256:`.
    #[error("commitment must start with \"{PREFIX}\"")]
    UnknownScheme,
    /// The part after the prefix is not standard padded base64 of 32 bytes.
    #[error("commitment must be \"{PREFIX}\" followed by the standard base64 of 32 bytes")]
    BadEncoding,
}

impl CommitmentKey {
    /// Wraps a secret key of at least [`MIN_KEY_BYTES`] bytes.
    pub fn new(key: &[u8]) -> Result<Self, CommitmentError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(CommitmentError::KeyTooShort(key.len()));
        }
        Ok(Self(key.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }

    /// Commits to raw bytes.
    pub fn commit_bytes(&self, bytes: &[u8]) -> Commitment {
        let mut mac = self.mac();
        mac.update(bytes);
        Commitment(mac.finalize().into_bytes().into())
    }

    /// Commits to a JSON value through its canonical (RFC 8785) bytes.
    pub fn commit_json(&self, value: &Value) -> Commitment {
        self.commit_bytes(&crate::jcs::canonicalize(value))
    }

    /// Checks, in constant time, that `bytes` are what `commitment` committed to.
    pub fn check_bytes(&self, bytes: &[u8], commitment: &Commitment) -> bool {
        let mut mac = self.mac();
        mac.update(bytes);
        mac.verify_slice(&commitment.0).is_ok()
    }

    /// Checks, in constant time, that `value` is what `commitment` committed to.
    pub fn check_json(&self, value: &Value, commitment: &Commitment) -> bool {
        self.check_bytes(&crate::jcs::canonicalize(value), commitment)
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{PREFIX}{}", BASE64.encode(self.0))
    }
}

impl FromStr for Commitment {
    type Err = CommitmentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b64 = s
            .strip_prefix(PREFIX)
            .ok_or(CommitmentError::UnknownScheme)?;
        let bytes = BASE64
            .decode(b64)
            .map_err(|_| CommitmentError::BadEncoding)?;
        let mac: [u8; 32] = bytes.try_into().map_err(|_| CommitmentError::BadEncoding)?;
        // Refuse non-canonical base64 (stray bits in the last character) so one commitment
        // has exactly one spelling.
        if BASE64.encode(mac) != b64 {
            return Err(CommitmentError::BadEncoding);
        }
        Ok(Commitment(mac))
    }
}
