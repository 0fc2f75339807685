//! Checkpoints ([c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint)): a log's signed
//! tree head, as the text of a [signed note](crate::note).
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa <base64 signature>
//! ```
//!
//! The body has exactly one spelling per checkpoint and the parser accepts only that one: an
//! origin without spaces or control characters, a decimal size without sign or leading
//! zeros, a root of exactly 32 bytes in canonical padded base64, and non-empty extension
//! lines. So `parse_body(b).to_body() == b` for every accepted body, which is what lets a
//! cosignature be checked against a parsed checkpoint.
//!
//! [`open`] checks the log's signature against a *pinned* key and requires the origin to equal
//! that key's name (docs/DESIGN.md §2.3: a log's key name is its origin); nothing inside the note is
//! trusted.

use crate::merkle::Hash;
use crate::note::{Note, NoteError, NoteSignature, Signer, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A log's tree head: origin, size and root hash, plus optional opaque extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `sealog.example/agents` (docs/DESIGN.md §2.3).
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extension lines, without newlines. Not recommended by the spec; Sealog writes none.
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note is malformed or its log signature does not check out.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The body's last line has no newline.
    #[error("checkpoint body does not end in a newline")]
    MissingFinalNewline,
    /// Fewer than the three mandatory lines.
    #[error("checkpoint has {0} lines; it needs at least 3 (origin, tree size, root hash)")]
    TooFewLines(usize),
    /// A line holds a control character.
    #[error("checkpoint line {line} contains a control character")]
    ControlCharacter {
        /// 1-based line.
        line: usize,
    },
    /// The origin line is empty or contains a space.
    #[error("checkpoint origin (line 1) {0}")]
    BadOrigin(&'static str),
    /// The size line is not a canonical decimal u64.
    #[error("checkpoint tree size (line 2) {0}")]
    BadSize(&'static str),
    /// The root line is not 32 bytes of canonical base64.
    #[error("checkpoint root hash (line 3) {0}")]
    BadRoot(&'static str),
    /// An extension line is empty.
    #[error("checkpoint extension line {line} is empty")]
    EmptyExtension {
        /// 1-based line.
        line: usize,
    },
    /// The log signature verified, but the checkpoint names another log.
    #[error("checkpoint origin {origin:?} does not match the log key name {key_name:?}")]
    OriginMismatch {
        /// The origin line.
        origin: String,
        /// The pinned log key's name.
        key_name: String,
    },
}

/// Parses an ASCII decimal u64 with no sign and no leading zeros (tree sizes, indexes).
pub fn parse_decimal(s: &[u8]) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err("is empty");
    }
    if !s.iter().all(u8::is_ascii_digit) {
        return Err("is not a decimal number");
    }
    if s.len() > 1 && s[0] == b'0' {
        return Err("has a leading zero");
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or("exceeds 2^64-1")
    })
}

/// Decodes a SHA-256 hash written in canonical padded base64 (44 characters).
pub fn decode_hash(s: &[u8]) -> Result<Hash, &'static str> {
    const WHAT: &str = "is not a 32-byte hash in padded base64";
    if s.len() != 44 {
        return Err(WHAT);
    }
    STANDARD
        .decode(s)
        .ok()
        .and_then(|v| Hash::try_from(v).ok())
        .ok_or(WHAT)
}

/// Checks an origin line: non-empty, no Unicode space, no control character.
fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::BadOrigin("is empty"));
    }
    if origin.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(CheckpointError::BadOrigin(
            "contains a space or a control character",
        ));
    }
    Ok(())
}

impl Checkpoint {
    /// Checks the fields [`Checkpoint::to_body`] writes verbatim: the origin and extension
    /// lines. (Size and root cannot be malformed.)
    pub fn check(&self) -> Result<(), CheckpointError> {
        check_origin(&self.origin)?;
        for (i, ext) in self.extensions.iter().enumerate() {
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtension { line: 4 + i });
            }
            if ext.contains(|c: char| c.is_ascii_control()) {
                return Err(CheckpointError::ControlCharacter { line: 4 + i });
            }
        }
        Ok(())
    }

    /// The note text: origin, size, base64 root and extension lines, each ending in `\n`.
    ///
    /// Writes the fields as they are; a checkpoint that fails [`Checkpoint::check`] yields a
    /// body that [`Checkpoint::parse_body`] refuses.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body (the note text) strictly; see the module documentation.
    pub fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
        let body = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines
            .iter()
            .position(|l| l.bytes().any(|b| b < 0x20 || b == 0x7f))
        {
            return Err(CheckpointError::ControlCharacter { line: i + 1 });
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines(lines.len()));
        };
        // Report the first bad line first.
        check_origin(origin)?;
        let cp = Checkpoint {
            origin: (*origin).to_owned(),
            size: parse_decimal(size.as_bytes()).map_err(CheckpointError::BadSize)?,
            root: decode_hash(root.as_bytes()).map_err(CheckpointError::BadRoot)?,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        };
        cp.check()?;
        Ok(cp)
    }
}

/// Signs a checkpoint with the log's key and returns the signed note.
///
/// The checkpoint should pass [`Checkpoint::check`] and its origin should be the key's name;
/// otherwise [`open`] will refuse the note.
pub fn sign(cp: &Checkpoint, log: &Signer) -> Vec<u8> {
    let text = cp.to_body();
    let signature = NoteSignature::create(log, &text);
    Note {
        text,
        signatures: vec![signature],
    }
    .to_bytes()
}

/// Opens a signed checkpoint: parses the note, verifies the signature of the pinned log key
/// `log`, parses the body, and checks that the origin is the log key's name.
///
/// Returns the checkpoint and the parsed note (whose other signatures, e.g. witness
/// cosignatures, are not verified here).
pub fn open(note: &[u8], log: &Verifier) -> Result<(Checkpoint, Note), CheckpointError> {
    let note = Note::parse(note)?;
    note.verified_by(log)?;
    let cp = Checkpoint::parse_body(&note.text)?;
    if cp.origin != log.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: cp.origin,
            key_name: log.name().to_owned(),
        });
    }
    Ok((cp, note))
}
