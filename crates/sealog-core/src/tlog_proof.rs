//! Transparency log proofs ([c2sp.org/tlog-proof@v1](https://c2sp.org/tlog-proof)): a
//! self-contained, offline-verifiable proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 opaque data>            (optional)
//! index <decimal leaf index>
//! <base64 inclusion proof hash>         (zero or more, leaf's sibling first)
//!
//! <the cosigned checkpoint note, verbatim>
//! ```
//!
//! Sealog receipts are tlog-proofs ([`crate::receipt`]). The parser is strict so that a proof
//! has one encoding: canonical base64 and decimal, at most [`MAX_INCLUSION_HASHES`] proof
//! lines, and a checkpoint that is a well-formed checkpoint note. `parse` and `to_bytes`
//! round-trip byte for byte. Parsing verifies nothing; the extra data is not authenticated.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::merkle::Hash;
use crate::note::Note;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The first line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most inclusion-proof hashes accepted: a proof in a tree of at most 2^64-1 leaves has at
/// most 64.
pub const MAX_INCLUSION_HASHES: usize = 64;

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque extra data (the `extra` line), if present. Not authenticated.
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// RFC 6962 inclusion proof, from the leaf's sibling up to the root's child.
    pub inclusion: Vec<Hash>,
    /// The checkpoint note, verbatim (log signature and any cosignatures).
    pub checkpoint: Vec<u8>,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The first line is not [`HEADER`].
    #[error("line 1: not a tlog-proof (expected \"{HEADER}\")")]
    BadHeader,
    /// A header line is malformed or missing.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_INCLUSION_HASHES`] proof lines.
    #[error("line {line}: more than {MAX_INCLUSION_HASHES} inclusion proof hashes")]
    TooManyHashes {
        /// 1-based line of the first extra hash.
        line: usize,
    },
    /// The embedded checkpoint is not a well-formed checkpoint note.
    #[error("checkpoint starting at line {line}: {source}")]
    Checkpoint {
        /// 1-based line where the checkpoint starts.
        line: usize,
        /// What is wrong with it.
        source: CheckpointError,
    },
}

/// Splits off the next newline-terminated line.
fn next_line(rest: &[u8], line: usize) -> Result<(&[u8], &[u8]), TlogProofError> {
    let i = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(TlogProofError::BadLine {
            line,
            reason: "unexpected end of proof (missing line or newline)",
        })?;
    Ok((&rest[..i], &rest[i + 1..]))
}

impl TlogProof {
    /// Parses a tlog-proof strictly and checks that the checkpoint is a well-formed
    /// checkpoint note (its signatures are not verified).
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        let bad = |line, reason| TlogProofError::BadLine { line, reason };
        let (header, rest) = next_line(bytes, 1)?;
        if header != HEADER.as_bytes() {
            return Err(TlogProofError::BadHeader);
        }
        let mut line_no = 2;
        let (mut line, mut rest) = next_line(rest, line_no)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix(b"extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad(line_no, "extra data is not valid base64"))?,
            );
            line_no += 1;
            (line, rest) = next_line(rest, line_no)?;
        }
        let index = line
            .strip_prefix(b"index ")
            .ok_or(bad(line_no, "expected \"index <n>\""))?;
        let index = checkpoint::parse_decimal(index).map_err(|r| bad(line_no, r))?;
        let mut inclusion = Vec::new();
        loop {
            line_no += 1;
            (line, rest) = next_line(rest, line_no)?;
            if line.is_empty() {
                break;
            }
            if inclusion.len() == MAX_INCLUSION_HASHES {
                return Err(TlogProofError::TooManyHashes { line: line_no });
            }
            inclusion.push(checkpoint::decode_hash(line).map_err(|r| bad(line_no, r))?);
        }
        let at = |source| TlogProofError::Checkpoint {
            line: line_no + 1,
            source,
        };
        let note = Note::parse(rest).map_err(|e| at(e.into()))?;
        Checkpoint::parse_body(&note.text).map_err(at)?;
        Ok(TlogProof {
            extra,
            index,
            inclusion,
            checkpoint: rest.to_vec(),
        })
    }

    /// Encodes the proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.inclusion {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }
}
