//! The 518 RFC 9162 and subtree proof vectors of transparency-dev/merkle
//! (`tests/data/rfc9162-merkle/`, see its README): every vector goes through the verifier,
//! `wantErr: true` must be rejected and `wantErr: false` accepted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sealog_core::merkle::{
    Hash, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc9162-merkle");

/// Decodes a root or proof hash. Some vectors hold byte strings that are not 32 bytes long
/// (empty, or placeholders such as "don't care 1"); the reference verifier compares roots and
/// proof hashes only for equality, so such a string is mapped to a 32-byte value that equals
/// only the same string. A vector wrong only there is then rejected by the verifier itself,
/// and the "don't care" happy paths stay happy.
fn hash(value: &Value) -> Hash {
    let bytes = bytes(value);
    match Hash::try_from(bytes.as_slice()) {
        Ok(hash) => hash,
        Err(_) => Sha256::new()
            .chain_update(b"sealog test: not a 32-byte hash\0")
            .chain_update(&bytes)
            .finalize()
            .into(),
    }
}

/// Decodes a leaf hash. One of another length cannot be passed to the typed verifiers, and
/// the reference verifier rejects it too (it checks the leaf hash's length), so the vector is
/// rejected here.
fn leaf_hash(value: &Value) -> Result<Hash, String> {
    let bytes = bytes(value);
    Hash::try_from(bytes.as_slice()).map_err(|_| format!("leaf hash is {} bytes", bytes.len()))
}

fn bytes(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("hash fields are base64 strings"))
        .expect("valid base64")
}

fn proof(vector: &Value) -> Vec<Hash> {
    match &vector["proof"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(hash).collect(),
        other => panic!("proof is {other}"),
    }
}

fn number(vector: &Value, field: &str) -> u64 {
    vector[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a u64"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("vector folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Runs one vector; returns whether the verifier accepted it, with its error.
fn run(kind: &str, v: &Value) -> Result<(), String> {
    let result = match kind {
        "inclusion" => verify_inclusion(
            &leaf_hash(&v["leafHash"])?,
            number(v, "leafIdx"),
            number(v, "treeSize"),
            &proof(v),
            &hash(&v["root"]),
        ),
        "consistency" => verify_consistency(
            number(v, "size1"),
            number(v, "size2"),
            &proof(v),
            &hash(&v["root1"]),
            &hash(&v["root2"]),
        ),
        "subtreeinclusion" => verify_subtree_inclusion(
            &leaf_hash(&v["leafHash"])?,
            number(v, "leafIdx"),
            number(v, "start"),
            number(v, "end"),
            &proof(v),
            &hash(&v["root"]),
        ),
        "subtreeconsistency" => verify_subtree_consistency(
            number(v, "start"),
            number(v, "end"),
            number(v, "size"),
            &proof(v),
            &hash(&v["root1"]),
            &hash(&v["root2"]),
        ),
        other => panic!("unknown vector kind {other}"),
    };
    result.map_err(|e| e.to_string())
}

#[test]
fn all_518_vectors() {
    let mut counts = Vec::new();
    let mut failures = Vec::new();
    let mut accepted = 0;
    for kind in [
        "inclusion",
        "consistency",
        "subtreeinclusion",
        "subtreeconsistency",
    ] {
        let mut paths = Vec::new();
        files(&Path::new(DATA).join(kind), &mut paths);
        paths.sort();
        for path in &paths {
            let text = std::fs::read_to_string(path).expect("readable vector");
            let vector: Value = serde_json::from_str(&text).expect("JSON vector");
            let want_err = vector["wantErr"].as_bool().expect("wantErr is a bool");
            let result = run(kind, &vector);
            accepted += usize::from(result.is_ok());
            if result.is_ok() == want_err {
                failures.push(format!(
                    "{}: wantErr {want_err}, got {result:?}",
                    path.display()
                ));
            }
        }
        counts.push((kind, paths.len()));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        counts,
        [
            ("inclusion", 98),
            ("consistency", 98),
            ("subtreeinclusion", 204),
            ("subtreeconsistency", 118)
        ]
    );
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<usize>(), 518);
    assert_eq!(accepted, 36, "happy paths accepted");
}
