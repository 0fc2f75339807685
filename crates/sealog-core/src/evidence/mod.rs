//! Evidence packs (docs/DESIGN.md §5): the files an auditor verifies offline, and their verification.
//!
//! A pack is a set of named files (the `sealog` CLI reads them from a ZIP):
//!
//! | file | content |
//! |---|---|
//! | `manifest.json` | one line of JSON ([`Manifest`]): origin, checkpoint size, entry count, filters, export time, tool, and the SHA-256 of every other file |
//! | `manifest.sig` | the signature lines of a signed note whose text is `manifest.json`, by the log key |
//! | `checkpoint` | the cosigned checkpoint every entry is proven against |
//! | `entries.jsonl` | the exact leaf bytes of each entry, one per line, by ascending log index (in chunks `entries/<n>.jsonl` in the ZIP of a chunked pack: see [`layout`]) |
//! | `proofs.jsonl` | line *i*: `{"index":N,"inclusion":["<base64 hash>",…],"shared":m}` for entry *i* ([`ProofLine`]); likewise in chunks |
//! | `consistency.jsonl` | one line per earlier checkpoint: `{"checkpoint":"<signed note>","proof":[…]}` |
//! | `timestamps/<size>.tsr` | optional: the RFC 3161 reply over the text of the checkpoint of that size (checked by `sealog_evidence::timestamps`) |
//! | `keys/…`, `report.md`, `report.html` | informational; covered by the manifest, never trusted |
//!
//! A pack may hold only part of a log (one session, one agent): every entry is still proven
//! against the whole log's checkpoint, and nothing else of the log is revealed.
//!
//! Verification trusts only the keys the auditor pins ([`Trust`]): the manifest and every
//! checkpoint must be signed by the pinned log key, witness cosignatures are checked against
//! pinned witness keys or a policy, and keys found inside the pack are never used. It is
//! streaming and parallel: [`PackVerifier::open`] checks the signed parts, then the caller
//! hands chunks of `entries.jsonl`/`proofs.jsonl` lines to [`verify_chunk`] (on as many threads
//! as it likes) and [`PackVerifier::absorb`]s the results in order, hashes every file for
//! [`PackVerifier::file_digest`], and calls [`PackVerifier::finish`] for the [`Report`].

mod chunk;
pub mod layout;
mod manifest;
mod report;
mod sessions;

pub use chunk::{EntrySummary, VerifiedChunk, verify_chunk};
pub use manifest::{CHUNKED_FORMAT, FORMAT, Manifest};
pub use report::{Failure, Report, SessionReport};

use crate::checkpoint::{self, Checkpoint};
use crate::cosignature::CosignatureVerifier;
use crate::merkle::{self, Hash};
use crate::note::{Note, Verifier};
use crate::policy::Policy;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sessions::Sessions;
use std::collections::BTreeMap;

/// The manifest file.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's signature lines.
pub const MANIFEST_SIG: &str = "manifest.sig";
/// The cosigned checkpoint.
pub const CHECKPOINT: &str = "checkpoint";
/// Leaf bytes, one per line.
pub const ENTRIES: &str = "entries.jsonl";
/// Inclusion proofs, one per entry.
pub const PROOFS: &str = "proofs.jsonl";
/// Consistency proofs from earlier checkpoints.
pub const CONSISTENCY: &str = "consistency.jsonl";

/// Most failures a report lists one by one; the rest are counted.
pub const MAX_LISTED_FAILURES: usize = 1000;

/// The keys an auditor pins. Nothing in the pack adds to them.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The log's public key (its name is the log's origin).
    pub log: Verifier,
    /// Witnesses that must each have cosigned the checkpoint.
    pub witnesses: Vec<CosignatureVerifier>,
    /// A trust policy whose quorum the checkpoint's cosignatures must meet.
    pub policy: Option<Policy>,
}

/// Every line of `proofs.jsonl` whose 0-based position is a multiple of this carries its whole
/// proof (`shared` is 0), so verification can start at any such line.
pub const PROOF_RESTART_LINES: u64 = 1024;

/// One line of `proofs.jsonl`.
///
/// Consecutive entries share the upper part of their inclusion proofs, so a line may carry
/// only the lower hashes and take its last `shared` hashes from the previous line's whole
/// proof. That keeps a pack of a million consecutive entries at about two hashes per entry
/// instead of twenty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofLine {
    /// The entry's index in the log.
    pub index: u64,
    /// Its inclusion proof to the pack's checkpoint, base64 hashes, without the shared part.
    pub inclusion: Vec<String>,
    /// How many hashes, after these, are the last hashes of the previous line's whole proof.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ProofLine {
    /// A line carrying the whole proof of `index`.
    pub fn new(index: u64, inclusion: &[Hash]) -> ProofLine {
        ProofLine {
            index,
            inclusion: inclusion.iter().map(|h| STANDARD.encode(h)).collect(),
            shared: 0,
        }
    }
}

/// Writes the lines of `proofs.jsonl` in order, sharing with the previous line what the
/// proofs have in common, and restarting every [`PROOF_RESTART_LINES`] lines.
#[derive(Debug, Default)]
pub struct ProofLineWriter {
    previous: Vec<Hash>,
    lines: u64,
}

impl ProofLineWriter {
    /// The next line, for the entry at `index` with this whole inclusion proof.
    pub fn line(&mut self, index: u64, inclusion: &[Hash]) -> ProofLine {
        let shared = if self.lines.is_multiple_of(PROOF_RESTART_LINES) {
            0
        } else {
            self.previous
                .iter()
                .rev()
                .zip(inclusion.iter().rev())
                .take_while(|(a, b)| a == b)
                .count()
        };
        self.lines += 1;
        self.previous = inclusion.to_vec();
        let mut line = ProofLine::new(index, &inclusion[..inclusion.len() - shared]);
        line.shared = shared;
        line
    }
}

/// One line of `consistency.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyLine {
    /// An earlier signed checkpoint, as text.
    pub checkpoint: String,
    /// The consistency proof from it to the pack's checkpoint, base64 hashes.
    pub proof: Vec<String>,
}

impl ConsistencyLine {
    /// The line for an earlier signed checkpoint note and its proof.
    pub fn new(note: &[u8], proof: &[Hash]) -> ConsistencyLine {
        ConsistencyLine {
            checkpoint: String::from_utf8_lossy(note).into_owned(),
            proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
        }
    }
}

/// Why a pack could not be verified at all (as opposed to the per-entry failures a
/// [`Report`] lists).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// A required file is missing.
    #[error("the pack has no {0:?}; it is not a Sealog evidence pack, or it is incomplete")]
    Missing(&'static str),
    /// The manifest is not valid, or not signed by the pinned log key.
    #[error("{MANIFEST}: {0}")]
    Manifest(String),
    /// The checkpoint is not valid, not signed by the pinned key, or lacks the required
    /// witnesses.
    #[error("{CHECKPOINT}: {0}")]
    Checkpoint(String),
}

/// Verification in progress: the signed parts checked, entries and files being absorbed.
#[derive(Debug)]
pub struct PackVerifier {
    manifest: Manifest,
    checkpoint: Checkpoint,
    witnesses: Vec<String>,
    digests_seen: BTreeMap<String, bool>,
    /// Failures of the pack as a whole (no line): few, always listed, and listed first, in an
    /// order that does not depend on when each was found.
    pack_failures: Vec<Failure>,
    /// Failures of single entries, the first [`MAX_LISTED_FAILURES`] of them.
    failures: Vec<Failure>,
    failure_count: u64,
    entries: u64,
    last_index: Option<u64>,
    first_index: Option<u64>,
    counts: report::Counts,
    sessions: Sessions,
    consistency_checked: u64,
}

impl PackVerifier {
    /// Checks the manifest's signature and content, and the checkpoint's signature and
    /// witnesses, against the pinned keys.
    pub fn open(
        manifest: &[u8],
        manifest_sig: &[u8],
        checkpoint_note: &[u8],
        trust: &Trust,
    ) -> Result<PackVerifier, PackError> {
        let manifest = manifest::open(manifest, manifest_sig, &trust.log)?;
        let (cp, witnesses) = open_checkpoint(checkpoint_note, trust)?;
        if manifest.checkpoint_size != cp.size {
            return Err(PackError::Manifest(format!(
                "names a checkpoint of size {}, but the pack's checkpoint has size {}",
                manifest.checkpoint_size, cp.size
            )));
        }
        let digests_seen = manifest.files.keys().map(|k| (k.clone(), false)).collect();
        Ok(PackVerifier {
            manifest,
            checkpoint: cp,
            witnesses,
            digests_seen,
            pack_failures: Vec::new(),
            failures: Vec::new(),
            failure_count: 0,
            entries: 0,
            last_index: None,
            first_index: None,
            counts: report::Counts::default(),
            sessions: Sessions::default(),
            consistency_checked: 0,
        })
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The verified checkpoint every entry must be proven against.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Records the SHA-256 of a file of the pack (every file but the manifest and its
    /// signature), which must match the manifest.
    pub fn file_digest(&mut self, name: &str, sha256: &Hash) {
        let hex = crate::hex::encode(sha256);
        match (
            self.manifest.files.get(name),
            self.digests_seen.get_mut(name),
        ) {
            (Some(expected), Some(seen)) => {
                *seen = true;
                if *expected != hex {
                    self.fail(None, None, format!("{name}: its SHA-256 {hex} differs from the manifest's {expected}: the file was changed after export"));
                }
            }
            _ => self.fail(
                None,
                None,
                format!(
                    "{name}: the file is not listed in the manifest: it was added after export"
                ),
            ),
        }
    }

    /// Records a failure of the pack as a whole, such as a chunk out of place.
    pub fn pack_failure(&mut self, message: String) {
        self.fail(None, None, message);
    }

    /// Takes the result of [`verify_chunk`] for the next lines, in order.
    pub fn absorb(&mut self, chunk: VerifiedChunk) {
        self.entries += chunk.lines;
        // Order is checked over every line whose index is known, verified or not, so a
        // reordering is named even when it also breaks the proofs.
        let mut order: Vec<(u64, u64)> = chunk
            .entries
            .iter()
            .map(|e| (e.line, e.index))
            .chain(
                chunk
                    .failures
                    .iter()
                    .filter_map(|f| Some((f.line?, f.index?))),
            )
            .collect();
        order.sort_unstable();
        for (line, index) in order {
            if let Some(below) = self.manifest.pruned_below.filter(|&b| index < b) {
                self.fail(
                    Some(line),
                    Some(index),
                    format!(
                        "index {index} is below {below}, where the manifest says the entries \
                         retention pruned end"
                    ),
                );
            }
            if let Some(last) = self.last_index
                && index <= last
            {
                let what = if index == last {
                    "repeats the previous entry's index"
                } else {
                    "comes after a higher index"
                };
                self.fail(
                    Some(line),
                    Some(index),
                    format!("index {index} {what}: entries were duplicated or reordered"),
                );
            }
            self.first_index.get_or_insert(index);
            self.last_index = Some(self.last_index.map_or(index, |l| l.max(index)));
        }
        for f in chunk.failures {
            self.push_failure(f);
        }
        self.counts.merge(chunk.counts);
        self.sessions.merge(chunk.sessions);
    }

    /// Checks `consistency.jsonl`: every earlier checkpoint must be signed by the log key and
    /// be consistent with the pack's checkpoint; one of the same size with another root is a
    /// fork.
    pub fn consistency(&mut self, file: &[u8], log: &Verifier) {
        // Every tree size signed so far, with its root: two roots for one size is a fork.
        let mut signed = BTreeMap::from([(self.checkpoint.size, self.checkpoint.root)]);
        for (n, line) in file.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let line_no = n as u64 + 1;
            match self.check_consistency_line(line, log, &mut signed) {
                Ok(()) => self.consistency_checked += 1,
                Err(msg) => self.fail(None, None, format!("{CONSISTENCY} line {line_no}: {msg}")),
            }
        }
    }

    fn check_consistency_line(
        &self,
        line: &[u8],
        log: &Verifier,
        signed: &mut BTreeMap<u64, Hash>,
    ) -> Result<(), String> {
        let parsed: ConsistencyLine =
            serde_json::from_slice(line).map_err(|e| format!("not a consistency line: {e}"))?;
        let (old, _) = checkpoint::open(parsed.checkpoint.as_bytes(), log)
            .map_err(|e| format!("earlier checkpoint: {e}"))?;
        let proof = decode_hashes(&parsed.proof)?;
        let new = &self.checkpoint;
        if *signed.entry(old.size).or_insert(old.root) != old.root {
            return Err(format!(
                "the log signed two different trees of size {}: a fork — the operator showed different histories to different parties",
                old.size
            ));
        }
        if old.size >= new.size {
            return match old.size == new.size {
                true => Ok(()),
                false => Err(format!(
                    "earlier checkpoint has size {}, larger than the pack's {}",
                    old.size, new.size
                )),
            };
        }
        if old.size == 0 {
            return Ok(());
        }
        merkle::verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|e| {
            format!("the log of size {} is not an extension of the earlier one of size {}: {e} — the log was rewritten", new.size, old.size)
        })
    }

    /// Ends verification: checks the entry count and that every listed file was present.
    pub fn finish(mut self) -> Report {
        if self.entries != self.manifest.entries {
            let msg = format!(
                "{ENTRIES} holds {} entries; the manifest says {}: entries were removed or added",
                self.entries, self.manifest.entries
            );
            self.fail(None, None, msg);
        }
        let missing: Vec<String> = self
            .digests_seen
            .iter()
            .filter(|(_, seen)| !**seen)
            .map(|(name, _)| name.clone())
            .collect();
        for name in missing {
            self.fail(
                None,
                None,
                format!("{name}: listed in the manifest but missing from the pack"),
            );
        }
        self.pack_failures.sort_by(|a, b| a.message.cmp(&b.message));
        let mut failures = self.pack_failures;
        failures.append(&mut self.failures);
        Report {
            valid: self.failure_count == 0,
            origin: self.checkpoint.origin.clone(),
            checkpoint_size: self.checkpoint.size,
            checkpoint_root: STANDARD.encode(self.checkpoint.root),
            witnesses: self.witnesses,
            filters: self.manifest.filters.clone(),
            pruned_below: self.manifest.pruned_below,
            exported_at: self.manifest.exported_at.clone(),
            entries: self.entries,
            first_index: self.first_index,
            last_index: self.last_index,
            consistency_checked: self.consistency_checked,
            by_agent: self.counts.by_agent,
            by_action: self.counts.by_action,
            by_status: self.counts.by_status,
            oversight: self.counts.oversight,
            sessions: self.sessions.report(),
            failure_count: self.failure_count,
            failures,
        }
    }

    fn fail(&mut self, line: Option<u64>, index: Option<u64>, message: String) {
        self.push_failure(Failure {
            line,
            index,
            message,
        });
    }

    fn push_failure(&mut self, f: Failure) {
        self.failure_count += 1;
        if f.line.is_none() {
            self.pack_failures.push(f);
        } else if self.failures.len() < MAX_LISTED_FAILURES {
            self.failures.push(f);
        }
    }
}

/// Verifies a whole pack held in memory, on one thread: `files` maps each file name to its
/// bytes, a chunked pack's entries and proofs each as one file (see [`layout`]). For large packs, callers split the work themselves (see the module docs).
pub fn verify_files(files: &BTreeMap<String, Vec<u8>>, trust: &Trust) -> Result<Report, PackError> {
    let get = |name: &'static str| {
        files
            .get(name)
            .map(Vec::as_slice)
            .ok_or(PackError::Missing(name))
    };
    let mut v = PackVerifier::open(get(MANIFEST)?, get(MANIFEST_SIG)?, get(CHECKPOINT)?, trust)?;
    let (entries, proofs) = (get(ENTRIES)?, get(PROOFS)?);
    let chunked = v.manifest.is_chunked();
    for (name, bytes) in files {
        let large = chunked && (name == ENTRIES || name == PROOFS);
        if name != MANIFEST && name != MANIFEST_SIG && !large {
            v.file_digest(name, &sha256(bytes));
        }
    }
    if chunked {
        for chunk in layout::split(entries, proofs) {
            let e = &entries[chunk.entries.clone()];
            let p = &proofs[chunk.proofs.clone()];
            v.file_digest(&layout::chunk_name(ENTRIES, chunk.first), &sha256(e));
            v.file_digest(&layout::chunk_name(PROOFS, chunk.first), &sha256(p));
        }
    }
    let entries = lines(entries);
    let proofs = lines(proofs);
    let chunk = verify_chunk(&v.checkpoint, 1, &entries, &proofs);
    v.absorb(chunk);
    v.consistency(get(CONSISTENCY)?, &trust.log);
    Ok(v.finish())
}

/// The lines of a `.jsonl` file, without their newlines. Every line, the last included, must
/// end in a newline; an unterminated last line is kept so that it fails verification.
pub fn lines(file: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', file).count() + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', file) {
        out.push(&file[start..end]);
        start = end + 1;
    }
    if start < file.len() {
        out.push(&file[start..]);
    }
    out
}

/// SHA-256 of a file, as the manifest lists it.
pub fn sha256(bytes: &[u8]) -> Hash {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Opens a checkpoint note with the pinned log key and checks the pinned witnesses and policy;
/// returns it with the names of the witnesses whose cosignatures verified.
pub fn open_checkpoint(note: &[u8], trust: &Trust) -> Result<(Checkpoint, Vec<String>), PackError> {
    let bad = |e: &dyn std::fmt::Display| PackError::Checkpoint(e.to_string());
    let (cp, parsed): (Checkpoint, Note) =
        checkpoint::open(note, &trust.log).map_err(|e| bad(&e))?;
    let mut names = Vec::new();
    for w in &trust.witnesses {
        match w.verify_in(&parsed, &cp).map_err(|e| bad(&e))? {
            Some(_) => names.push(w.name().to_owned()),
            None => {
                return Err(PackError::Checkpoint(format!(
                    "no cosignature from the pinned witness {}",
                    w.name()
                )));
            }
        }
    }
    if let Some(policy) = &trust.policy {
        let cosigned = policy
            .verified_witnesses(&parsed, &cp)
            .map_err(|e| bad(&e))?;
        let cosigned: Vec<String> = cosigned.into_iter().map(|c| c.name).collect();
        policy.check_quorum(&cosigned).map_err(|e| {
            let by = match cosigned.is_empty() {
                true => "no witness of the policy".to_owned(),
                false => cosigned.join(", "),
            };
            PackError::Checkpoint(format!("{e}; cosigned by {by}"))
        })?;
        for name in cosigned {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok((cp, names))
}

/// Decodes base64 hashes of a proof, saying which one is bad. The standard engine accepts
/// only canonical base64 (padding required, no stray trailing bits), so each hash has exactly
/// one accepted spelling.
fn decode_hashes<S: AsRef<str>>(items: &[S]) -> Result<Vec<Hash>, String> {
    let mut out = Vec::with_capacity(items.len());
    decode_hashes_into(items, &mut out)?;
    Ok(out)
}

/// Appends the decoded `items` to `out`.
fn decode_hashes_into<S: AsRef<str>>(items: &[S], out: &mut Vec<Hash>) -> Result<(), String> {
    for (i, s) in items.iter().enumerate() {
        let mut buf = [0u8; 33];
        match STANDARD.decode_slice(s.as_ref(), &mut buf) {
            Ok(32) => out.push(buf[..32].try_into().expect("32 bytes")),
            _ => return Err(format!("proof hash {} is not a base64 SHA-256 hash", i + 1)),
        }
    }
    Ok(())
}
