//! A small in-memory log that exports evidence packs the way the server does, for the
//! evidence tests.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::cosignature::{self, CosignatureVerifier};
use sealog_core::evidence::{self, ConsistencyLine, FORMAT, Manifest, ProofLineWriter, Trust};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_core::{event, leaf};
use std::collections::BTreeMap;

pub const ORIGIN: &str = "sealog.example/agents";

pub type Files = BTreeMap<String, Vec<u8>>;

pub struct TestLog {
    pub signer: Signer,
    pub witness: Signer,
    pub tree: MemoryTree,
    pub leaves: Vec<Vec<u8>>,
    /// Signed checkpoints published so far, oldest first.
    pub checkpoints: Vec<(u64, Vec<u8>)>,
}

/// A UUIDv7 built from a counter, so ids are unique and valid.
fn id(n: u64) -> String {
    let hex = format!("{:012x}", 0x0190_b3a4_8d0e_u64 + n);
    format!("{}-{}-7cc1-9a53-{:012x}", &hex[..8], &hex[8..12], n)
}

impl TestLog {
    pub fn new() -> TestLog {
        TestLog {
            signer: Signer::from_seed(ORIGIN, [3; 32]).unwrap(),
            witness: Signer::from_seed("witness.example/w1", [4; 32]).unwrap(),
            tree: MemoryTree::new(),
            leaves: Vec::new(),
            checkpoints: Vec::new(),
        }
    }

    /// Records a session of `n` events (start, n−2 tool calls, end) for `agent`.
    pub fn session(&mut self, agent: &str, session: &str, n: u64) {
        for seq in 0..n {
            let (action, count) = match seq {
                0 => ("session_start", String::new()),
                s if s == n - 1 => ("session_end", format!(",\"count\":{n}")),
                _ => ("tool_call", String::new()),
            };
            let json = format!(
                r#"{{"id":"{}","ts":"2026-11-22T10:00:{:02}Z","agent":{{"id":"{agent}"}},"action":"{action}","status":"ok","session":{{"id":"{session}","seq":{seq}{count}}}}}"#,
                id(self.leaves.len() as u64),
                seq % 60
            );
            self.append(&json);
        }
    }

    pub fn append(&mut self, json: &str) {
        let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
        let bytes = leaf::build(ORIGIN, 1_795_000_000_000_000, &ev.canonical);
        self.tree.push(leaf::hash(&bytes));
        self.leaves.push(bytes);
    }

    /// Signs (and has the witness cosign) a checkpoint of the current tree.
    pub fn checkpoint(&mut self) -> Vec<u8> {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: self.tree.size(),
            root: self.tree.root(),
            extensions: Vec::new(),
        };
        let signed = checkpoint::sign(&cp, &self.signer);
        let cosig = cosignature::cosign(&cp, &self.witness, 1_795_000_000);
        let note = cosignature::add_cosignatures(&signed, &[cosig]).unwrap();
        self.checkpoints.push((cp.size, note.clone()));
        note
    }

    pub fn trust(&self) -> Trust {
        Trust {
            log: self.signer.verifier(),
            witnesses: Vec::new(),
            policy: None,
        }
    }

    pub fn trust_with_witness(&self) -> Trust {
        Trust {
            witnesses: vec![CosignatureVerifier::from_signer(&self.witness)],
            ..self.trust()
        }
    }

    /// Exports the entries `select` keeps, proven against the latest checkpoint, with
    /// consistency proofs from every earlier checkpoint.
    pub fn export(&self, select: impl Fn(&[u8]) -> bool, filters: &[(&str, &str)]) -> Files {
        let (size, note) = self
            .checkpoints
            .last()
            .cloned()
            .expect("sign a checkpoint first");
        let mut entries = Vec::new();
        let mut proofs = Vec::new();
        let mut count = 0;
        let mut proof_lines = ProofLineWriter::default();
        for (i, leaf) in self.leaves[..size as usize].iter().enumerate() {
            if !select(leaf) {
                continue;
            }
            count += 1;
            entries.extend_from_slice(leaf);
            entries.push(b'\n');
            let proof = merkle::inclusion_proof(&self.tree, i as u64, size).unwrap();
            proofs.extend(serde_json::to_vec(&proof_lines.line(i as u64, &proof)).unwrap());
            proofs.push(b'\n');
        }
        let mut consistency = Vec::new();
        for (old, old_note) in &self.checkpoints[..self.checkpoints.len() - 1] {
            let proof = merkle::consistency_proof(&self.tree, *old, size).unwrap();
            let line = ConsistencyLine::new(old_note, &proof);
            consistency.extend(serde_json::to_vec(&line).unwrap());
            consistency.push(b'\n');
        }
        let mut files = Files::new();
        files.insert(evidence::CHECKPOINT.into(), note);
        files.insert(evidence::ENTRIES.into(), entries);
        files.insert(evidence::PROOFS.into(), proofs);
        files.insert(evidence::CONSISTENCY.into(), consistency);
        files.insert("keys/log.vkey".into(), self.signer.vkey().into_bytes());
        files.insert("report.md".into(), b"# Evidence pack\n".to_vec());
        let manifest = Manifest {
            format: FORMAT.into(),
            origin: ORIGIN.into(),
            checkpoint_size: size,
            entries: count,
            filters: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            pruned_below: None,
            exported_at: "2026-11-22T12:00:00Z".into(),
            tool: "sealog-test".into(),
            files: BTreeMap::new(),
        };
        sign_manifest(files, manifest, &self.signer)
    }

    pub fn export_all(&self) -> Files {
        self.export(|_| true, &[])
    }
}

/// Lists every file's digest in the manifest and signs it with `signer`.
pub fn sign_manifest(mut files: Files, mut manifest: Manifest, signer: &Signer) -> Files {
    files.remove(evidence::MANIFEST);
    files.remove(evidence::MANIFEST_SIG);
    manifest.files = files
        .iter()
        .map(|(name, bytes)| (name.clone(), hex(&evidence::sha256(bytes))))
        .collect();
    let (text, sig) = manifest.sign(signer);
    files.insert(evidence::MANIFEST.into(), text);
    files.insert(evidence::MANIFEST_SIG.into(), sig);
    files
}

pub fn manifest_of(files: &Files) -> Manifest {
    serde_json::from_slice(&files[evidence::MANIFEST]).unwrap()
}

pub fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces the lines of a `.jsonl` file.
pub fn edit_lines(files: &mut Files, name: &str, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let mut lines: Vec<Vec<u8>> = evidence::lines(&files[name])
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    edit(&mut lines);
    let mut out = Vec::new();
    for l in lines {
        out.extend(l);
        out.push(b'\n');
    }
    files.insert(name.into(), out);
}
