//! The add-checkpoint request body (tlog-witness §add-checkpoint): `old N`, up to 63 base64
//! consistency proof lines, a blank line, then the signed checkpoint note.

use sealog_core::checkpoint::{decode_hash, parse_decimal};
use sealog_core::merkle::Hash;

/// Most consistency proof lines a client may send.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed add-checkpoint request.
#[derive(Debug)]
pub struct AddCheckpoint<'a> {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the submitted checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub note: &'a [u8],
}

/// Splits `body` into its parts; the message says what is malformed.
pub fn parse(body: &[u8]) -> Result<AddCheckpoint<'_>, String> {
    let mut rest = body;
    let mut next_line = || -> Result<&[u8], String> {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("the request ends before the blank line that precedes the checkpoint")?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    let old = next_line()?
        .strip_prefix(b"old ")
        .ok_or("the first line must be \"old <size>\"")?;
    let old = parse_decimal(old).map_err(|e| format!("old size {e}"))?;
    let mut proof = Vec::new();
    loop {
        let line = next_line()?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            ));
        }
        let n = proof.len() + 1;
        proof.push(decode_hash(line).map_err(|e| format!("consistency proof line {n} {e}"))?);
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";

    #[test]
    fn splits_old_size_proof_and_note() {
        let body = format!("old 20852014\n{H}\n{H}\n\nnote text\n");
        let req = parse(body.as_bytes()).unwrap();
        assert_eq!(req.old, 20852014);
        assert_eq!(req.proof.len(), 2);
        assert_eq!(req.note, b"note text\n");
        assert_eq!(parse(b"old 0\n\nx").unwrap().proof.len(), 0);
    }

    #[test]
    fn refuses_malformed_heads() {
        for (body, want) in [
            ("old 01\n\n", "leading zero"),
            ("old -1\n\n", "not a decimal"),
            ("new 1\n\n", "first line"),
            ("old 1\nnot-base64\n\n", "line 1"),
            ("old 1\n", "ends before"),
        ] {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body:?}: {err}");
        }
        let body = format!("old 1\n{}\nx", format!("{H}\n").repeat(64));
        assert!(parse(body.as_bytes()).unwrap_err().contains("more than 63"));
    }
}
