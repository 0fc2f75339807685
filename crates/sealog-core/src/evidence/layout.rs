//! Where a pack's entries and proofs are (docs/DESIGN.md §5). A `sealog-evidence/v1` pack
//! holds them as two files, `entries.jsonl` and `proofs.jsonl`; a `sealog-evidence/v2` pack
//! splits both into chunks, `entries/<n>.jsonl` and `proofs/<n>.jsonl`, each its own ZIP
//! member with its own digest in the manifest, so that verifiers inflate them in parallel.
//! Either way a pack's entries, read as one file, are the same lines.

use super::{ENTRIES, PROOF_RESTART_LINES, PROOFS};
use std::ops::Range;

/// Most lines a chunk holds.
pub const CHUNK_LINES: u64 = 64 * PROOF_RESTART_LINES;

/// A chunk ends early, at a proof restart, once its entries hold this many bytes, so that a
/// chunk (what a verifier holds per thread) stays small whatever the events' size.
pub const CHUNK_BYTES: u64 = 16 << 20;

/// Digits of a chunk's number in its name.
const DIGITS: usize = 12;

/// Whether a chunk that holds `lines` lines whose entries hold `entry_bytes` bytes ends
/// there: the writer's rule, which the verifier does not rely on.
pub fn chunk_ends(lines: u64, entry_bytes: u64) -> bool {
    lines == CHUNK_LINES
        || (lines.is_multiple_of(PROOF_RESTART_LINES) && entry_bytes >= CHUNK_BYTES)
}

/// The name of the chunk of `file` ([`ENTRIES`] or [`PROOFS`]) whose first line is line
/// `first` of the whole file, counting from 0: `entries/000000065536.jsonl`.
pub fn chunk_name(file: &str, first: u64) -> String {
    let dir = file.strip_suffix(".jsonl").unwrap_or(file);
    format!("{dir}/{first:0DIGITS$}.jsonl")
}

/// The file ([`ENTRIES`] or [`PROOFS`]) and first line of a chunk named `name`, if `name` is
/// spelled exactly as [`chunk_name`] spells it.
pub fn parse_chunk_name(name: &str) -> Option<(&'static str, u64)> {
    let (file, rest) = [ENTRIES, PROOFS].into_iter().find_map(|file| {
        let dir = file.strip_suffix(".jsonl")?;
        Some((file, name.strip_prefix(dir)?.strip_prefix('/')?))
    })?;
    let digits = rest.strip_suffix(".jsonl")?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((file, digits.parse().ok()?))
}

/// One chunk of a pack held in memory: its first line, and its bytes in each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Its first line in the whole file, counting from 0.
    pub first: u64,
    /// Its bytes of `entries.jsonl`.
    pub entries: Range<usize>,
    /// Its bytes of `proofs.jsonl`: as many lines as its entries (the last chunk takes any
    /// proof lines left over).
    pub proofs: Range<usize>,
}

/// Splits a pack's entries and proofs into chunks by [`chunk_ends`], as the exporter does;
/// no chunk when both are empty.
pub fn split(entries: &[u8], proofs: &[u8]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let (mut e_start, mut p_start, mut first) = (0, 0, 0u64);
    let (mut lines, mut p_at) = (0u64, 0usize);
    for end in memchr::memchr_iter(b'\n', entries) {
        lines += 1;
        p_at = memchr::memchr(b'\n', &proofs[p_at..]).map_or(proofs.len(), |i| p_at + i + 1);
        if chunk_ends(lines, (end + 1 - e_start) as u64) {
            chunks.push(Chunk {
                first,
                entries: e_start..end + 1,
                proofs: p_start..p_at,
            });
            (e_start, p_start, first, lines) = (end + 1, p_at, first + lines, 0);
        }
    }
    if e_start < entries.len() || p_start < proofs.len() {
        chunks.push(Chunk {
            first,
            entries: e_start..entries.len(),
            proofs: p_start..proofs.len(),
        });
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_one_spelling_is_a_chunk() {
        assert_eq!(chunk_name(ENTRIES, 65_536), "entries/000000065536.jsonl");
        assert_eq!(
            parse_chunk_name("proofs/000000065536.jsonl"),
            Some((PROOFS, 65_536))
        );
        for other in [
            "entries/65536.jsonl",
            "entries/00000006553a.jsonl",
            "entries.jsonl",
            "keys/000000000000.jsonl",
            "entries/000000000000.json",
        ] {
            assert_eq!(parse_chunk_name(other), None, "{other}");
        }
    }

    #[test]
    fn chunks_end_at_the_line_limit_and_the_last_takes_the_rest() {
        let n = CHUNK_LINES as usize + 3;
        let entries = "e\n".repeat(n);
        let proofs = "pp\n".repeat(n + 1);
        let chunks = split(entries.as_bytes(), proofs.as_bytes());
        let want = vec![
            Chunk {
                first: 0,
                entries: 0..2 * CHUNK_LINES as usize,
                proofs: 0..3 * CHUNK_LINES as usize,
            },
            Chunk {
                first: CHUNK_LINES,
                entries: 2 * CHUNK_LINES as usize..2 * n,
                proofs: 3 * CHUNK_LINES as usize..3 * (n + 1),
            },
        ];
        assert_eq!(chunks, want);
        assert!(split(b"", b"").is_empty());
    }

    #[test]
    fn large_entries_end_a_chunk_at_a_proof_restart() {
        assert!(!chunk_ends(1000, CHUNK_BYTES));
        assert!(chunk_ends(PROOF_RESTART_LINES, CHUNK_BYTES));
        assert!(!chunk_ends(PROOF_RESTART_LINES, CHUNK_BYTES - 1));
    }
}
