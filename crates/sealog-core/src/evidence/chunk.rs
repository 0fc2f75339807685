//! Verifying a run of entries and their inclusion proofs: the per-entry work, which callers
//! spread over threads.

use super::report::{Counts, Failure};
use super::sessions::{SessionEntry, Sessions};
use super::{ENTRIES, PROOF_RESTART_LINES, PROOFS, decode_hashes_into};
use crate::checkpoint::Checkpoint;
use crate::merkle::{self, Hash};
use serde::Deserialize;
use std::borrow::Cow;

/// Where one verified entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntrySummary {
    /// Line number in `entries.jsonl` (1-based).
    pub line: u64,
    /// Log index.
    pub index: u64,
}

/// The result of [`verify_chunk`]: the entries that verified and the failures, by line, and
/// what the report needs from the verified ones, already summed up for the chunk (so that
/// nothing per entry crosses threads).
#[derive(Clone, Debug, Default)]
pub struct VerifiedChunk {
    /// Lines of `entries.jsonl` examined.
    pub lines: u64,
    /// Entries whose leaf parsed and whose proof verified.
    pub entries: Vec<EntrySummary>,
    /// Entries that failed, with the reason.
    pub failures: Vec<Failure>,
    pub(super) counts: Counts,
    pub(super) sessions: Sessions,
}

/// A `proofs.jsonl` line, borrowed from the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofView<'a> {
    index: u64,
    #[serde(borrow)]
    inclusion: Vec<&'a str>,
    #[serde(default)]
    shared: usize,
}

#[derive(Deserialize)]
struct LeafView<'a> {
    v: u8,
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    event: EventView<'a>,
}

#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    agent: AgentView<'a>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    session: Option<SessionView<'a>>,
}

#[derive(Deserialize)]
struct AgentView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SessionView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    count: Option<u64>,
}

/// Verifies entries `entries[i]` (leaf bytes, without the newline) against `proofs[i]` (a
/// `proofs.jsonl` line) and the checkpoint; `first_line` is the line number of `entries[0]`.
///
/// A chunk must start at a line that carries its whole proof (a multiple of
/// [`PROOF_RESTART_LINES`] lines into the file, counting from 0).
///
/// Consecutive entries share most of their proof: once a node on an entry's path equals a
/// node already verified for the previous entry, the rest of the proof must equal the rest of
/// that entry's proof, and is checked by comparison instead of hashing. Every proof element
/// is still checked.
pub fn verify_chunk(
    cp: &Checkpoint,
    first_line: u64,
    entries: &[&[u8]],
    proofs: &[&[u8]],
) -> VerifiedChunk {
    let mut out = VerifiedChunk {
        lines: entries.len() as u64,
        ..VerifiedChunk::default()
    };
    let mut previous = Path::default();
    let mut whole = WholeProofs::default();
    for (i, leaf) in entries.iter().enumerate() {
        let line = first_line + i as u64;
        let Some(proof_line) = proofs.get(i) else {
            out.failures.push(Failure {
                line: Some(line),
                index: None,
                message: format!("{ENTRIES} line {line} has no matching line in {PROOFS}"),
            });
            continue;
        };
        match verify_entry(cp, line, leaf, proof_line, &mut whole, &mut previous) {
            Ok((index, e)) => {
                out.entries.push(EntrySummary { line, index });
                out.counts.add(&e.agent.id, &e.action, &e.status);
                if let Some(s) = &e.session {
                    out.sessions.add(SessionEntry {
                        id: &s.id,
                        seq: s.seq,
                        count: s.count,
                        action: &e.action,
                        ts: &e.ts,
                    });
                }
            }
            Err((index, message)) => out.failures.push(Failure {
                line: Some(line),
                index,
                message,
            }),
        }
    }
    for extra in entries.len()..proofs.len() {
        out.failures.push(Failure {
            line: Some(first_line + extra as u64),
            index: None,
            message: format!("{PROOFS} has a line with no entry: an entry was removed"),
        });
    }
    out
}

/// Verifies one entry; returns its index and event. `whole` holds the previous line's whole proof (for `shared`), and is
/// replaced by this line's, or cleared when this line cannot be read.
fn verify_entry<'l>(
    cp: &Checkpoint,
    line: u64,
    leaf: &'l [u8],
    proof_line: &[u8],
    whole: &mut WholeProofs,
    previous: &mut Path,
) -> Result<(u64, EventView<'l>), (Option<u64>, String)> {
    let readable_before = std::mem::replace(&mut whole.readable, false);
    let proof: ProofView = serde_json::from_slice(proof_line).map_err(|e| {
        (
            None,
            format!("{PROOFS} line {line} is not a proof line: {e}"),
        )
    })?;
    let index = proof.index;
    let fail = |m: String| {
        (
            Some(index),
            format!("entry at index {index} ({ENTRIES} line {line}): {m}"),
        )
    };
    let hashes = &mut whole.current;
    hashes.clear();
    decode_hashes_into(&proof.inclusion, hashes).map_err(fail)?;
    if proof.shared > 0 {
        if (line - 1).is_multiple_of(PROOF_RESTART_LINES) {
            return Err(fail(format!(
                "line {line} of {PROOFS} must carry its whole proof, but shares {} hashes",
                proof.shared
            )));
        }
        let prev = &whole.previous;
        if !readable_before || prev.len() < proof.shared {
            return Err(fail(format!(
                "shares {} hashes with the previous line, which does not have them",
                proof.shared
            )));
        }
        hashes.extend_from_slice(&prev[prev.len() - proof.shared..]);
    }
    std::mem::swap(&mut whole.previous, &mut whole.current);
    whole.readable = true;
    let hashes = &whole.previous;
    if index >= cp.size {
        return Err(fail(format!(
            "index is outside the checkpoint's tree of size {}",
            cp.size
        )));
    }
    let view: LeafView =
        serde_json::from_slice(leaf).map_err(|e| fail(format!("not a Sealog leaf: {e}")))?;
    if view.v != 1 {
        return Err(fail(format!("leaf version {} is not 1", view.v)));
    }
    if view.log != cp.origin {
        return Err(fail(format!(
            "the leaf was recorded in the log {:?}, not {:?}",
            view.log, cp.origin
        )));
    }
    let leaf_hash = merkle::leaf_hash(leaf);
    previous
        .verify(&leaf_hash, index, cp.size, hashes, &cp.root)
        .map_err(|m| {
            fail(format!(
                "inclusion proof fails: {m} — the entry or its proof was altered"
            ))
        })?;
    Ok((index, view.event))
}

/// The previous line's whole proof (for `shared`), if it could be read, and a buffer for the
/// current line's: reused from line to line instead of allocated.
#[derive(Default)]
struct WholeProofs {
    previous: Vec<Hash>,
    readable: bool,
    current: Vec<Hash>,
}

/// The nodes computed while verifying the previous proof: `(level, index, hash, proof
/// position)`, bottom up, and that proof.
#[derive(Default)]
struct Path {
    nodes: Vec<(u32, u64, Hash, usize)>,
    proof: Vec<Hash>,
    /// The buffer the next path is computed in, swapped with `nodes` when it verifies.
    spare: Vec<(u32, u64, Hash, usize)>,
}

impl Path {
    /// RFC 9162 §2.1.3.2 inclusion verification, with a shortcut into the previous path.
    fn verify(
        &mut self,
        leaf: &Hash,
        index: u64,
        size: u64,
        proof: &[Hash],
        root: &Hash,
    ) -> Result<(), String> {
        let mut nodes = std::mem::take(&mut self.spare);
        nodes.clear();
        let (mut fnode, mut snode, mut level) = (index, size - 1, 0u32);
        let mut r = *leaf;
        for (k, p) in proof.iter().enumerate() {
            if snode == 0 {
                return Err(format!(
                    "the proof has {} hashes, more than the tree needs",
                    proof.len()
                ));
            }
            if fnode & 1 == 1 || fnode == snode {
                r = merkle::node_hash(p, &r);
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                    level += 1;
                }
            } else {
                r = merkle::node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
            level += 1;
            nodes.push((level, fnode, r, k));
            if let Some(&(_, _, known, j)) = self
                .nodes
                .iter()
                .find(|&&(l, n, _, _)| l == level && n == fnode)
            {
                // The same node of the same tree: the rest of the path is the previous one.
                if known != r || proof[k + 1..] != self.proof[j + 1..] {
                    self.spare = nodes;
                    return Err("it disagrees with the previous entry's verified proof".into());
                }
                let shift = |pos: usize| pos - j + k;
                nodes.extend(
                    self.nodes
                        .iter()
                        .filter(|n| n.3 > j)
                        .map(|&(l, n, h, pos)| (l, n, h, shift(pos))),
                );
                self.accept(nodes, proof);
                return Ok(());
            }
        }
        self.spare = nodes;
        if snode != 0 {
            return Err(format!(
                "the proof has {} hashes, fewer than the tree needs",
                proof.len()
            ));
        }
        if r != *root {
            return Err("the computed root differs from the checkpoint's".into());
        }
        let nodes = std::mem::take(&mut self.spare);
        self.accept(nodes, proof);
        Ok(())
    }

    /// Keeps a verified path for the next entry, recycling the old one's buffer.
    fn accept(&mut self, nodes: Vec<(u32, u64, Hash, usize)>, proof: &[Hash]) {
        self.spare = std::mem::replace(&mut self.nodes, nodes);
        self.proof.clear();
        self.proof.extend_from_slice(proof);
    }
}
