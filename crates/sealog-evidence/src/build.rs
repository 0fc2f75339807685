//! Assembling a pack from what a log serves, and checking it before anyone sees it.

use crate::archive::Files;
use crate::render;
use crate::verify::{VerifyError, verify_pack};
use sealog_core::evidence::{
    self, CHECKPOINT, CONSISTENCY, ConsistencyLine, ENTRIES, FORMAT, MANIFEST, MANIFEST_SIG,
    Manifest, PROOFS, PackError, ProofLineWriter, Report, Trust,
};
use sealog_core::merkle::Hash;
use sealog_core::note::Signer;
use std::collections::BTreeMap;

/// One entry of a pack: its index, leaf bytes and inclusion proof to the pack's checkpoint.
pub struct PackEntry {
    /// Log index.
    pub index: u64,
    /// Leaf bytes, exactly as stored.
    pub leaf: Vec<u8>,
    /// Inclusion proof to the pack's checkpoint.
    pub inclusion: Vec<Hash>,
}

/// Everything a pack is made of, as the log serves it. `entries` may be any iterator, so a
/// server can read each entry and compute its proof only as the pack is written, instead of
/// holding every leaf and whole proof at once.
pub struct PackParts<I = Vec<PackEntry>> {
    /// The (cosigned) checkpoint note every entry is proven against.
    pub checkpoint: Vec<u8>,
    /// The selected entries, by ascending index.
    pub entries: I,
    /// Earlier checkpoint notes with their consistency proofs to `checkpoint`.
    pub earlier: Vec<(Vec<u8>, Vec<Hash>)>,
    /// The filters used (empty for the whole log).
    pub filters: BTreeMap<String, String>,
    /// Export time, RFC 3339.
    pub exported_at: String,
    /// The exporting program and version.
    pub tool: String,
    /// Witness vkeys the log knows, shipped for information only.
    pub witness_vkeys: Vec<String>,
}

/// Builds the files of a pack, signs its manifest with the log key, verifies the result
/// exactly as an auditor would (refusing to hand out a pack that would not verify), and adds
/// the human report. Returns the files and the verification report.
pub fn build<I: IntoIterator<Item = PackEntry>>(
    parts: PackParts<I>,
    log: &Signer,
) -> Result<(Files, Report), PackError> {
    let mut files = Files::new();
    let mut entries = Vec::new();
    let mut proofs = Vec::new();
    let mut proof_lines = ProofLineWriter::default();
    let mut count = 0u64;
    for e in parts.entries {
        count += 1;
        entries.extend_from_slice(&e.leaf);
        entries.push(b'\n');
        let line = proof_lines.line(e.index, &e.inclusion);
        proofs.extend(serde_json::to_vec(&line).expect("a proof line serializes"));
        proofs.push(b'\n');
    }
    let mut consistency = Vec::new();
    for (note, proof) in &parts.earlier {
        let line = ConsistencyLine::new(note, proof);
        consistency.extend(serde_json::to_vec(&line).expect("a consistency line serializes"));
        consistency.push(b'\n');
    }
    let trust = Trust {
        log: log.verifier(),
        witnesses: Vec::new(),
        policy: None,
    };
    let (cp, _) = evidence::open_checkpoint(&parts.checkpoint, &trust)?;
    files.insert(CHECKPOINT.into(), parts.checkpoint);
    files.insert(ENTRIES.into(), entries);
    files.insert(PROOFS.into(), proofs);
    files.insert(CONSISTENCY.into(), consistency);
    files.insert(
        "keys/log.vkey".into(),
        format!("{}\n", log.vkey()).into_bytes(),
    );
    if !parts.witness_vkeys.is_empty() {
        let list = parts.witness_vkeys.join("\n") + "\n";
        files.insert("keys/witnesses.vkey".into(), list.into_bytes());
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        origin: cp.origin.clone(),
        checkpoint_size: cp.size,
        entries: count,
        filters: parts.filters,
        exported_at: parts.exported_at,
        tool: parts.tool,
        files: BTreeMap::new(),
    };
    sign_manifest(&mut files, manifest.clone(), log);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let report = verify_pack(&files, &trust, threads).map_err(|e| match e {
        VerifyError::Pack(e) => e,
        VerifyError::Archive(e) => PackError::Manifest(format!(
            "the exported pack could not be read back, so it was not handed out: {e}"
        )),
    })?;
    if !report.valid {
        return Err(PackError::Manifest(format!(
            "the exported pack does not verify, so it was not handed out: {report}"
        )));
    }
    let vkey = log.vkey();
    files.insert(
        "report.md".into(),
        render::markdown(&report, &files, &vkey).into_bytes(),
    );
    files.insert(
        "report.html".into(),
        render::html(&report, &files, &vkey).into_bytes(),
    );
    sign_manifest(&mut files, manifest, log);
    Ok((files, report))
}

/// Lists every other file's SHA-256 in `manifest`, signs it with `log`, and stores the
/// manifest and its signature in `files` (replacing any there).
pub fn sign_manifest(files: &mut Files, mut manifest: Manifest, log: &Signer) {
    files.remove(MANIFEST);
    files.remove(MANIFEST_SIG);
    manifest.files = files
        .iter()
        .map(|(name, bytes)| (name.clone(), hex(&evidence::sha256(bytes))))
        .collect();
    let (text, sig) = manifest.sign(log);
    files.insert(MANIFEST.into(), text);
    files.insert(MANIFEST_SIG.into(), sig);
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
