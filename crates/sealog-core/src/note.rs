//! Signed notes ([c2sp.org/signed-note@v1.0.0](https://c2sp.org/signed-note)): text signed by
//! one or more named Ed25519 keys.
//!
//! Every checkpoint Sealog publishes is a signed note, and so is every cosigned checkpoint
//! inside a receipt, so this parser sits in front of everything a verifier reads. It is
//! deliberately stricter than the specification where the specification leaves room for two
//! spellings of the same thing: base64 must be canonical, a note's text may not end with a
//! blank line (so exactly one blank line separates text from signatures), two signatures may
//! not share a key name and key ID, and a note is at most [`MAX_NOTE_SIZE`] bytes with at most
//! [`MAX_SIGNATURES`] signatures. Verification is strict Ed25519 (`verify_strict`) and keys of
//! small order are refused when a key is parsed.
//!
//! A note is only ever checked against keys the caller pins ([`Verifier`]); keys or names
//! found inside a note are never trusted (docs/DESIGN.md §1.3).
//!
//! ```
//! use sealog_core::note::{self, Note, Signer};
//! let log = Signer::from_seed("example.com/log", [7; 32]).unwrap();
//! let signed = note::sign("hello\n", &[&log]).unwrap();
//! let parsed = Note::parse(&signed).unwrap();
//! assert!(parsed.verified_by(&log.verifier()).is_ok());
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of Ed25519 note signatures (signed-note §Signature types).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 checkpoint cosignatures
/// (c2sp.org/tlog-cosignature, `cosignature/v1`).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Largest note [`Note::parse`] accepts, in bytes. The specification asks verifiers to
/// accept at least 16 signatures of up to ~5 kB (post-quantum) each; 1 MiB leaves room for
/// far more while bounding the work an untrusted note can cause.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Most signature lines [`Note::parse`] accepts (as Go's `sumdb/note`; the spec requires 16).
pub const MAX_SIGNATURES: usize = 100;

/// Why a note, a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note exceeds [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, over the limit of {MAX_NOTE_SIZE}")]
    TooLarge {
        /// The note's size in bytes.
        size: usize,
    },
    /// The note is not valid UTF-8.
    #[error("line {line}: note is not valid UTF-8")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
    },
    /// The note contains an ASCII control character other than newline (CR, tab, NUL, …).
    #[error("line {line}: note contains control character {byte:#04x}; only newline is allowed")]
    ControlCharacter {
        /// 1-based line of the character.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The note's last line is not terminated by a newline.
    #[error("note does not end in a newline")]
    MissingFinalNewline,
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line separating its text from its signatures")]
    NoSeparator,
    /// Nothing follows the last blank line, e.g. a blank line after the signatures.
    #[error("note has no signature lines after its last blank line")]
    NoSignatures,
    /// The text ends with a blank line, so more than one blank line precedes the signatures.
    #[error("note text ends with a blank line: exactly one blank line must precede the signatures")]
    TextEndsWithBlankLine,
    /// Text given to [`sign`] does not end in a newline.
    #[error("note text does not end in a newline")]
    TextNotTerminated,
    /// A signature line is malformed.
    #[error("line {line}: malformed signature line: {reason}")]
    BadSignatureLine {
        /// 1-based line in the note.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// Two signature lines carry the same key name and key ID.
    #[error("line {line}: second signature from key {name}+{key_id:08x}")]
    DuplicateSignature {
        /// 1-based line of the second signature.
        line: usize,
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// The note carries no signature from the pinned key.
    #[error("note is not signed by key {name}+{key_id:08x} (it is signed by {signed_by})")]
    NoSignatureFrom {
        /// The pinned key's name.
        name: String,
        /// The pinned key's ID.
        key_id: u32,
        /// The `name+id` of the keys that did sign, comma-separated.
        signed_by: String,
    },
    /// A signature from the pinned key does not verify.
    #[error("invalid signature from key {name}+{key_id:08x}")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A key name is empty or contains a space, a `+` or a control character.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidKeyName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A vkey or skey string is malformed. The string is not repeated: it may be secret.
    #[error("malformed {kind}: {reason}")]
    MalformedKey {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key has a different signature type than the one asked for.
    #[error("{kind} has signature type {found:#04x} ({}), expected {expected:#04x} ({})", alg_name(*.found), alg_name(*.expected))]
    WrongKeyType {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// The type the caller needs.
        expected: u8,
        /// The type the key has.
        found: u8,
    },
    /// The key ID written in a key string is not the one its name and key derive.
    #[error("{kind} {name}: key ID {claimed:08x} does not match the key (expected {computed:08x})")]
    KeyIdMismatch {
        /// `"verifier key"` or `"signer key"`.
        kind: &'static str,
        /// Key name.
        name: String,
        /// The ID written in the string.
        claimed: u32,
        /// The ID computed from name, type and public key.
        computed: u32,
    },
}

fn alg_name(alg: u8) -> &'static str {
    match alg {
        ALG_ED25519 => "Ed25519",
        0x02 => "ECDSA",
        ALG_COSIGNATURE_V1 => "Ed25519 cosignature/v1",
        0x05 => "RFC 6962 tree head signature",
        0x06 => "ML-DSA-44 cosignature",
        _ => "unknown",
    }
}

/// The key ID of a key: the first four bytes, big-endian, of
/// `SHA-256(name ‖ "\n" ‖ alg ‖ public key)` (signed-note §Signatures).
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public_key);
    let sum: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

/// Checks a key name: non-empty, no Unicode space, no `+`, no control character (a name
/// that could not appear on a signature line).
fn check_name(name: &str) -> Result<(), NoteError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains(char::is_whitespace) {
        "it contains a space"
    } else if name.contains('+') {
        "it contains '+'"
    } else if name.contains(|c: char| c < ' ') {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(NoteError::InvalidKeyName {
        name: name.to_owned(),
        reason,
    })
}

/// Splits `name+hex(id)+base64(key)` and checks the name and the ID's spelling (eight
/// lowercase hex digits). The base64 may itself contain `+`, so only two splits are made.
fn split_key<'a>(s: &'a str, kind: &'static str) -> Result<(&'a str, u32, Vec<u8>), NoteError> {
    let malformed = |reason| NoteError::MalformedKey { kind, reason };
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected <name>+<key ID>+<key>"));
    };
    check_name(name)?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(malformed("key ID is not eight lowercase hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| malformed("key ID is not hex"))?;
    let key = STANDARD
        .decode(key)
        .map_err(|_| malformed("key is not valid base64"))?;
    Ok((name, id, key))
}

/// Parses an Ed25519 vkey of signature type `alg` (0x01 or 0x04): checks the type, the key
/// ID, and that the key is a canonical encoding of a point that is not of small order.
pub(crate) fn parse_vkey(vkey: &str, alg: u8) -> Result<(String, u32, VerifyingKey), NoteError> {
    const KIND: &str = "verifier key";
    let malformed = |reason| NoteError::MalformedKey { kind: KIND, reason };
    let (name, id, key) = split_key(vkey, KIND)?;
    let Some((&found, public)) = key.split_first() else {
        return Err(malformed("key is empty"));
    };
    if found != alg {
        return Err(NoteError::WrongKeyType {
            kind: KIND,
            expected: alg,
            found,
        });
    }
    let computed = key_id(name, alg, public);
    if computed != id {
        return Err(NoteError::KeyIdMismatch {
            kind: KIND,
            name: name.to_owned(),
            claimed: id,
            computed,
        });
    }
    let public: &[u8; 32] = public
        .try_into()
        .map_err(|_| malformed("Ed25519 public key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(public)
        .map_err(|_| malformed("Ed25519 public key is not a curve point"))?;
    // Decompression accepts non-canonical y coordinates; a key has exactly one spelling.
    if key.to_edwards().compress().as_bytes() != public {
        return Err(malformed("Ed25519 public key is not canonically encoded"));
    }
    // A small-order key admits signatures that verify for many messages.
    if key.is_weak() {
        return Err(malformed("Ed25519 public key has small order"));
    }
    Ok((name.to_owned(), id, key))
}

/// Encodes a vkey: `name+hex(id)+base64(alg ‖ public key)`.
pub(crate) fn encode_vkey(name: &str, id: u32, alg: u8, key: &VerifyingKey) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(alg);
    raw.extend_from_slice(key.as_bytes());
    format!("{name}+{id:08x}+{}", STANDARD.encode(raw))
}

/// Strict Ed25519 verification of a 64-byte signature.
pub(crate) fn verify_ed25519(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    Signature::from_slice(sig).is_ok_and(|sig| key.verify_strict(msg, &sig).is_ok())
}

/// A named Ed25519 signing key (signature type 0x01).
///
/// Keys are made from a caller-supplied 32-byte seed because this crate has no randomness.
/// The secret is zeroized on drop and never printed by `Debug`.
///
/// A witness uses the same type: [`crate::cosignature::cosign`] signs with it under the
/// cosignature/v1 key ID (type 0x04). Such a key should not also sign plain notes.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.key_id)
    }
}

impl Signer {
    /// Makes a signer from a key name and a 32-byte Ed25519 seed (RFC 8032 secret key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Signer {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// Parses a signer key, `PRIVATE+KEY+name+hex(id)+base64(0x01 ‖ seed)`, as written by
    /// Go's `note.GenerateKey`, and checks that the ID matches the derived public key.
    pub fn from_skey(skey: &str) -> Result<Signer, NoteError> {
        const KIND: &str = "signer key";
        let malformed = |reason| NoteError::MalformedKey { kind: KIND, reason };
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(malformed("does not start with PRIVATE+KEY+"))?;
        let (name, id, key) = split_key(rest, KIND)?;
        let Some((&found, seed)) = key.split_first() else {
            return Err(malformed("key is empty"));
        };
        if found != ALG_ED25519 {
            return Err(NoteError::WrongKeyType {
                kind: KIND,
                expected: ALG_ED25519,
                found,
            });
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| malformed("Ed25519 seed is not 32 bytes"))?;
        let signer = Signer::from_seed(name, seed)?;
        if signer.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                kind: KIND,
                name: name.to_owned(),
                claimed: id,
                computed: signer.key_id,
            });
        }
        Ok(signer)
    }

    /// The signer key string, `PRIVATE+KEY+name+hex(id)+base64(0x01 ‖ seed)`. Secret.
    pub fn skey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(raw)
        )
    }

    /// The verifier key string of the matching [`Verifier`].
    pub fn vkey(&self) -> String {
        encode_vkey(
            &self.name,
            self.key_id,
            ALG_ED25519,
            &self.key.verifying_key(),
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID (for signature type 0x01).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `msg` with Ed25519 (deterministic, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }
}

/// A pinned Ed25519 note-signing key (signature type 0x01), parsed from a vkey.
///
/// Only type 0x01 is accepted: a witness's cosignature key (type 0x04) signs a different
/// message and is a [`crate::cosignature::CosignatureVerifier`], so one can never be pinned
/// where the other is expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl Verifier {
    /// Parses a vkey, `name+hex(id)+base64(0x01 ‖ public key)`. Refuses other signature
    /// types, a key ID that does not match, and non-canonical or small-order keys.
    pub fn from_vkey(vkey: &str) -> Result<Verifier, NoteError> {
        let (name, key_id, key) = parse_vkey(vkey, ALG_ED25519)?;
        Ok(Verifier { name, key_id, key })
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        encode_vkey(&self.name, self.key_id, ALG_ED25519, &self.key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Reports whether `sig` is a valid strict Ed25519 signature of `msg` by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        verify_ed25519(&self.key, msg, sig)
    }
}

/// One signature line of a note: `— name base64(key ID ‖ signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID (the first four bytes of the base64 payload, big-endian).
    pub key_id: u32,
    /// The signature bytes that follow the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Signs `text` with an Ed25519 note key.
    pub(crate) fn create(signer: &Signer, text: &str) -> NoteSignature {
        NoteSignature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            signature: signer.sign(text.as_bytes()).to_vec(),
        }
    }

    /// The signature line, with its final newline: `— name base64(key ID ‖ signature)\n`.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, STANDARD.encode(raw))
    }

    /// Parses a signature line without its newline.
    fn parse_line(line: &str) -> Result<NoteSignature, &'static str> {
        let rest = line
            .strip_prefix("— ")
            .ok_or("it does not start with an em dash and a space")?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or("no space between the key name and the signature")?;
        check_name(name).map_err(|_| "invalid key name")?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| "signature is not valid base64")?;
        // A key ID and at least one signature byte.
        if raw.len() < 5 {
            return Err("signature is too short");
        }
        let (id, signature) = raw.split_at(4);
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: signature.to_vec(),
        })
    }
}

/// A parsed, not yet verified, signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline but not the blank separator line.
    pub text: String,
    /// The signatures in the order they appear.
    pub signatures: Vec<NoteSignature>,
}

/// 1-based line number of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

impl Note {
    /// Parses a signed note strictly (see the module documentation). Parsing verifies no
    /// signature: use [`Note::verified_by`].
    pub fn parse(msg: &[u8]) -> Result<Note, NoteError> {
        if msg.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge { size: msg.len() });
        }
        let s = std::str::from_utf8(msg).map_err(|e| NoteError::NotUtf8 {
            line: line_of(msg, e.valid_up_to()),
        })?;
        if let Some(i) = msg.iter().position(|&b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter {
                line: line_of(msg, i),
                byte: msg[i],
            });
        }
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The text is separated from the signatures by the *last* blank line.
        let split = s.rfind("\n\n").ok_or(NoteError::NoSeparator)?;
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if text == "\n" || text.ends_with("\n\n") {
            return Err(NoteError::TextEndsWithBlankLine);
        }
        // Text lines, then the blank line, then the first signature line.
        let first_line = line_of(text.as_bytes(), text.len()) + 1;
        let mut signatures: Vec<NoteSignature> = Vec::new();
        // `sigs` ends in '\n' (as `s` does) and holds no blank line (it follows the last one).
        let lines = sigs.strip_suffix('\n').unwrap_or(sigs);
        for (i, line) in lines.split('\n').enumerate() {
            let line_no = first_line + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let sig =
                NoteSignature::parse_line(line).map_err(|reason| NoteError::BadSignatureLine {
                    line: line_no,
                    reason,
                })?;
            if signatures
                .iter()
                .any(|s| s.name == sig.name && s.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature {
                    line: line_no,
                    name: sig.name,
                    key_id: sig.key_id,
                });
            }
            signatures.push(sig);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Encodes the note: the text, a blank line, then one line per signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out.into_bytes()
    }

    /// Finds the signature by `v` (same key name and key ID) and verifies it over the text.
    ///
    /// Signatures by other keys are ignored, even if they share the name or the ID (but not
    /// both). A signature by `v` that fails to verify is an error, not a skip.
    pub fn verified_by(&self, v: &Verifier) -> Result<&NoteSignature, NoteError> {
        let mut found = None;
        for sig in self
            .signatures
            .iter()
            .filter(|s| s.name == v.name && s.key_id == v.key_id)
        {
            if !v.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::InvalidSignature {
                    name: v.name.clone(),
                    key_id: v.key_id,
                });
            }
            found.get_or_insert(sig);
        }
        found.ok_or_else(|| NoteError::NoSignatureFrom {
            name: v.name.clone(),
            key_id: v.key_id,
            signed_by: self
                .signatures
                .iter()
                .map(|s| format!("{}+{:08x}", s.name, s.key_id))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// Signs `text` with each signer, in order, and returns the encoded note.
///
/// The text must end in a newline and satisfy [`Note::parse`] (no control characters, no
/// trailing blank line, within the size limit); there must be at least one signer and no two
/// with the same name and key ID. The result always parses back to the same note.
pub fn sign(text: &str, signers: &[&Signer]) -> Result<Vec<u8>, NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    let note = Note {
        text: text.to_owned(),
        signatures: signers
            .iter()
            .map(|s| NoteSignature::create(s, text))
            .collect(),
    };
    let bytes = note.to_bytes();
    // Parsing the output applies every rule a reader will apply, in one place.
    Note::parse(&bytes)?;
    Ok(bytes)
}
