//! Reading a `.jsonl` file as runs of whole lines, hashing it on the way, so that a pack's
//! large files are verified as they are inflated instead of being held in memory.

use crate::archive::ArchiveError;
use sealog_core::evidence::PROOF_RESTART_LINES;
use sealog_core::merkle::Hash;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes asked of the source per read: small enough to stay in cache while they are hashed
/// and copied, large enough to make the calls cheap.
const READ_BYTES: usize = 256 << 10;

/// Reads whole lines from a source, in runs, and the SHA-256 of everything handed out.
pub(crate) struct ChunkReader<'r> {
    name: &'static str,
    /// The ZIP member being read, when it is a chunk of the file `name`, and the lines of
    /// `name` before it: messages name both.
    member: Option<(String, u64)>,
    source: &'r mut dyn Read,
    /// Bytes read past the end of the last run, the start of the next.
    carry: Vec<u8>,
    scratch: Box<[u8]>,
    sha: Sha256,
    eof: bool,
    /// Lines handed out so far.
    lines: u64,
    max_line_bytes: usize,
    /// Size of the last run, to size the next one's buffer.
    last_run_bytes: usize,
}

impl<'r> ChunkReader<'r> {
    /// Reads `source`, the pack's file `name`, refusing lines longer than `max_line_bytes`.
    pub(crate) fn new(name: &'static str, source: &'r mut dyn Read, max_line_bytes: usize) -> Self {
        ChunkReader {
            name,
            member: None,
            source,
            carry: Vec::new(),
            scratch: vec![0; READ_BYTES].into_boxed_slice(),
            sha: Sha256::new(),
            eof: false,
            lines: 0,
            max_line_bytes,
            last_run_bytes: 0,
        }
    }

    /// Reads `source`, the chunk `member` of the pack's file `name` whose first line comes
    /// after `before` lines of the file.
    pub(crate) fn chunk(
        name: &'static str,
        member: String,
        before: u64,
        source: &'r mut dyn Read,
        max_line_bytes: usize,
    ) -> Self {
        ChunkReader {
            member: Some((member, before)),
            ..Self::new(name, source, max_line_bytes)
        }
    }

    /// Whether every line has been handed out.
    pub(crate) fn done(&self) -> bool {
        self.eof && self.carry.is_empty()
    }

    /// The next run of whole lines (newlines included; an unterminated last line counts as a
    /// line) and how many lines it holds: lines are taken until `stop(lines, bytes)` says so
    /// at a line end, or the file ends. `budget` is what may still be read from every source
    /// together, and is charged with what this one reads.
    pub(crate) fn next_run(
        &mut self,
        budget: &AtomicU64,
        stop: impl Fn(u64, usize) -> bool,
    ) -> Result<(Vec<u8>, u64), ArchiveError> {
        let mut run = Vec::with_capacity(self.last_run_bytes + READ_BYTES);
        let mut lines = 0u64;
        // Bytes of the line being read that came before `piece`.
        let mut open = 0usize;
        let mut piece = std::mem::take(&mut self.carry);
        loop {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', &piece) {
                let len = if start == 0 { open + end } else { end - start };
                self.check_line(lines, len)?;
                lines += 1;
                if stop(lines, run.len() + end + 1) {
                    run.extend_from_slice(&piece[..=end]);
                    self.carry = piece[end + 1..].to_vec();
                    return Ok(self.hand_out(run, lines));
                }
                start = end + 1;
            }
            open = if start == 0 {
                open + piece.len()
            } else {
                piece.len() - start
            };
            self.check_line(lines, open)?;
            run.extend_from_slice(&piece);
            piece.clear();
            if self.eof {
                if open > 0 {
                    lines += 1;
                }
                return Ok(self.hand_out(run, lines));
            }
            let n = self.read_some(budget)?;
            piece.extend_from_slice(&self.scratch[..n]);
        }
    }

    fn hand_out(&mut self, run: Vec<u8>, lines: u64) -> (Vec<u8>, u64) {
        // What is handed out, not what is read: a chunk's hash ends with its last run.
        self.sha.update(&run);
        self.lines += lines;
        self.last_run_bytes = run.len();
        (run, lines)
    }

    /// Reads what the source gives next into `scratch`; 0 at the end.
    fn read_some(&mut self, budget: &AtomicU64) -> Result<usize, ArchiveError> {
        let n = loop {
            match self.source.read(&mut self.scratch) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArchiveError::Io(e)),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(n as u64)
            })
            .map_err(|_| {
                ArchiveError::TooLarge(format!(
                    "{}{} goes past the bytes a pack may hold uncompressed",
                    self.name,
                    self.in_member()
                ))
            })?;
        Ok(n)
    }

    /// Refuses a line (or the part of one read so far) over the limit; `lines` is how many
    /// lines of the current run came before it.
    fn check_line(&self, lines: u64, bytes: usize) -> Result<(), ArchiveError> {
        if bytes > self.max_line_bytes {
            let before = self.member.as_ref().map_or(0, |(_, before)| *before);
            return Err(ArchiveError::TooLarge(format!(
                "{} line {} is longer than {} bytes{}",
                self.name,
                before + self.lines + lines + 1,
                self.max_line_bytes,
                self.in_member()
            )));
        }
        Ok(())
    }

    /// " (in entries/….jsonl)" when reading a chunk.
    fn in_member(&self) -> String {
        self.member
            .as_ref()
            .map_or_else(String::new, |(m, _)| format!(" (in {m})"))
    }

    /// Lines handed out so far.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// The SHA-256 of what was read since the last call (of the whole file, or of the
    /// chunk, once [`ChunkReader::done`]); hashing starts afresh.
    pub(crate) fn take_sha256(&mut self) -> Hash {
        std::mem::take(&mut self.sha).finalize().into()
    }
}

/// Lines a run holds at most: big enough to amortise the shared upper proof path, small
/// enough to keep every core busy. A multiple of [`PROOF_RESTART_LINES`], where runs must
/// start.
pub(crate) const RUN_LINES: u64 = 8 * PROOF_RESTART_LINES;

/// A run ends early, at a proof restart, once its entries hold this many bytes, so that
/// large events do not make runs (and memory) large.
const RUN_BYTES: usize = 8 << 20;

/// Runs of matching lines of a pack's entries and proofs.
pub(crate) struct Pair {
    pub(crate) entries: Vec<u8>,
    pub(crate) proofs: Vec<u8>,
    /// Lines of the longer of the two.
    pub(crate) lines: u64,
    /// Lines of the entries.
    pub(crate) entry_lines: u64,
}

/// The next runs of both files, as many proof lines as entry lines (past the last entry,
/// whole runs of proofs); a run of entries also ends where `ends(lines, bytes)` says, at a
/// line end. `None` once both files are read.
pub(crate) fn next_pair(
    entries: &mut ChunkReader,
    proofs: &mut ChunkReader,
    budget: &AtomicU64,
    ends: impl Fn(u64, usize) -> bool,
) -> Result<Option<Pair>, ArchiveError> {
    while !(entries.done() && proofs.done()) {
        let (e, e_lines) = entries.next_run(budget, |lines, bytes| {
            lines == RUN_LINES
                || (lines.is_multiple_of(PROOF_RESTART_LINES) && bytes >= RUN_BYTES)
                || ends(lines, bytes)
        })?;
        let want = if e_lines > 0 { e_lines } else { RUN_LINES };
        let (p, p_lines) = proofs.next_run(budget, |lines, _| lines == want)?;
        if e_lines > 0 || p_lines > 0 {
            return Ok(Some(Pair {
                entries: e,
                proofs: p,
                lines: e_lines.max(p_lines),
                entry_lines: e_lines,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives one byte per read, so that every line crosses read boundaries.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&b, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = b;
            self.0 = rest;
            Ok(1)
        }
    }

    fn runs(file: &[u8], per_run: u64, budget: u64) -> Result<Vec<(Vec<u8>, u64)>, ArchiveError> {
        let mut source = Trickle(file);
        let mut r = ChunkReader::new("f.jsonl", &mut source, 8);
        let budget = AtomicU64::new(budget);
        let mut out = Vec::new();
        while !r.done() {
            out.push(r.next_run(&budget, |lines, _| lines == per_run)?);
        }
        assert_eq!(r.lines, out.iter().map(|(_, n)| n).sum::<u64>());
        assert_eq!(r.take_sha256(), sealog_core::evidence::sha256(file));
        Ok(out)
    }

    #[test]
    fn runs_hold_whole_lines_and_the_hash_covers_the_file() {
        let got = runs(b"a\nbb\n\nccc\ndd", 2, 100).unwrap();
        let want: Vec<(Vec<u8>, u64)> = vec![
            (b"a\nbb\n".to_vec(), 2),
            (b"\nccc\n".to_vec(), 2),
            (b"dd".to_vec(), 1),
        ];
        assert_eq!(got, want);
        // A file that ends on a newline has no empty last line.
        let got = runs(b"a\nb\n", 2, 100).unwrap();
        let lines: u64 = got.iter().map(|(_, n)| n).sum();
        assert_eq!(lines, 2);
        assert!(
            runs(b"", 2, 100)
                .unwrap()
                .iter()
                .all(|(r, n)| r.is_empty() && *n == 0)
        );
    }

    #[test]
    fn a_stop_by_size_ends_a_run_early() {
        let mut file: &[u8] = b"aaaa\nbbbb\ncccc\n";
        let mut r = ChunkReader::new("f.jsonl", &mut file, 100);
        let budget = AtomicU64::new(100);
        let (run, n) = r.next_run(&budget, |_, bytes| bytes >= 9).unwrap();
        assert_eq!((run.as_slice(), n), (&b"aaaa\nbbbb\n"[..], 2));
        assert_eq!(budget.into_inner(), 100 - 15);
    }

    #[test]
    fn long_lines_and_large_files_are_refused_with_their_place() {
        let err = runs(b"ok\n123456789\n", 5, 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the pack is too large: f.jsonl line 2 is longer than 8 bytes"
        );
        // An unterminated last line is measured too.
        assert!(runs(b"ok\n123456789", 5, 100).is_err());
        let err = runs(b"a\nb\nc\n", 5, 4).unwrap_err();
        assert!(
            err.to_string()
                .contains("f.jsonl goes past the bytes a pack may hold uncompressed"),
            "{err}"
        );
    }
}
