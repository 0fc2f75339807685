//! `sealog verify` as a function: exit codes, the refusal without a pinned key, text and JSON
//! output, for packs and for the shared receipt vectors.

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_core::{event, leaf};
use sealog_evidence::archive;
use sealog_evidence::build::{PackEntry, PackParts, build};
use sealog_evidence::command::{EXIT_INVALID, EXIT_USAGE, EXIT_VALID, VerifyArgs, verify};
use std::path::{Path, PathBuf};

const ORIGIN: &str = "sealog.example/agents";

fn write_pack(dir: &Path, signer: &Signer) -> PathBuf {
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    for i in 0..3u64 {
        let json = format!(
            r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-{i:012x}","ts":"2026-11-22T10:00:00Z","agent":{{"id":"bot"}},"action":"tool_call","status":"ok"}}"#
        );
        let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
        let bytes = leaf::build(ORIGIN, 1, &ev.canonical);
        tree.push(leaf::hash(&bytes));
        entries.push(bytes);
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 3,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let parts = PackParts {
        checkpoint: checkpoint::sign(&cp, signer),
        entries: entries
            .into_iter()
            .enumerate()
            .map(|(i, leaf)| PackEntry {
                index: i as u64,
                leaf,
                inclusion: merkle::inclusion_proof(&tree, i as u64, 3).unwrap(),
                content: Vec::new(),
            })
            .collect::<Vec<_>>(),
        earlier: Vec::new(),
        filters: Default::default(),
        pruned_below: None,
        exported_at: "2026-11-22T12:00:00Z".into(),
        tool: "test".into(),
        witness_vkeys: Vec::new(),
        timestamps: Vec::new(),
        policy: None,
        tsa_roots: None,
        content: false,
    };
    let (files, _) = build(parts, signer).unwrap();
    let path = dir.join("pack.zip");
    archive::write_zip(&files, std::fs::File::create(&path).unwrap()).unwrap();
    path
}

fn run(args: &VerifyArgs) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = verify(args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn packs_exit_0_when_valid_1_when_tampered_2_when_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::from_seed(ORIGIN, [1; 32]).unwrap();
    let pack = write_pack(dir.path(), &signer);
    let mut args = VerifyArgs {
        file: pack.clone(),
        log_key: Some(signer.vkey()),
        ..Default::default()
    };
    let (code, out, _) = run(&args);
    assert_eq!(code, EXIT_VALID, "{out}");
    assert!(
        out.starts_with("VALID: 3 entries of log sealog.example/agents are proven"),
        "{out}"
    );

    args.json = true;
    let (code, out, _) = run(&args);
    assert_eq!(code, EXIT_VALID);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["entries"], 3);

    // Another log's key: the manifest is refused.
    let other = Signer::from_seed(ORIGIN, [2; 32]).unwrap();
    args.json = false;
    args.log_key = Some(other.vkey());
    let (code, out, _) = run(&args);
    assert_eq!(code, EXIT_INVALID);
    assert!(out.contains("not signed by the pinned log key"), "{out}");

    // No key: refused, with the explanation of pinning.
    args.log_key = None;
    let (code, _, err) = run(&args);
    assert_eq!(code, EXIT_USAGE);
    assert!(
        err.contains("refusing to verify without --log-key"),
        "{err}"
    );

    // Not a pack, not a receipt, not there.
    args.log_key = Some(signer.vkey());
    std::fs::write(dir.path().join("x.txt"), "hello").unwrap();
    args.file = dir.path().join("x.txt");
    assert_eq!(run(&args).0, EXIT_USAGE);
    args.file = dir.path().join("missing.zip");
    assert_eq!(run(&args).0, EXIT_USAGE);
    args.log_key = Some("not a key".into());
    args.file = pack;
    let (code, _, err) = run(&args);
    assert_eq!(code, EXIT_USAGE);
    assert!(err.contains("--log-key is not a valid vkey"), "{err}");
}

#[test]
fn receipts_from_the_shared_vectors() {
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/vectors/receipts.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = vectors["log_vkey"].as_str().unwrap().to_owned();
    for (kind, expected) in [("valid", EXIT_VALID), ("invalid", EXIT_INVALID)] {
        for v in vectors[kind].as_array().unwrap() {
            let path = dir.path().join("r.tlog-proof");
            std::fs::write(&path, v["receipt"].as_str().unwrap()).unwrap();
            let args = VerifyArgs {
                file: path,
                log_key: Some(key.clone()),
                ..Default::default()
            };
            let (code, out, err) = run(&args);
            assert_eq!(code, expected, "{}: {out}{err}", v["name"]);
            if expected == EXIT_VALID {
                assert!(out.starts_with("VALID: the event at index"), "{out}");
            } else {
                assert!(out.starts_with("INVALID: "), "{out}");
            }
        }
    }
}
