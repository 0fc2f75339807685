//! Chunked evidence packs (`sealog-evidence/v2`) through the real `sealog` binary: a pack of
//! two chunks verifies on one thread and on two; every way of breaking its chunks (a changed
//! line, a chunk dropped, swapped, repeated, moved or misplaced, a manifest digest that does
//! not match) is refused naming the chunk; the server exports chunked packs; and a pack in the
//! first layout (`sealog-evidence/v1`, written before chunks existed) still verifies.

mod support;

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::evidence::{Manifest, layout};
use sealog_core::leaf;
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_evidence::archive::{Files, ReadLimits, read_members, write_zip};
use sealog_evidence::build::{PackEntry, PackParts, build};
use std::path::{Path, PathBuf};
use support::{Serve, export_pack, record_waiting, sealog_verify};

const ORIGIN: &str = "sealog.example/agents";

/// Entries of the test pack: one whole chunk and part of a second.
const ENTRIES: u64 = layout::CHUNK_LINES + 4464;

fn signer() -> Signer {
    Signer::from_seed(ORIGIN, [8; 32]).unwrap()
}

fn vkey() -> String {
    signer().verifier().vkey()
}

/// A pack of [`ENTRIES`] events, as its ZIP members.
fn chunked_pack() -> Files {
    let mut tree = MemoryTree::new();
    let leaves: Vec<Vec<u8>> = (0..ENTRIES)
        .map(|i| {
            let event = format!(
                r#"{{"action":"tool_call","agent":{{"id":"bot-{}"}},"id":"0190b3a4-8d0e-7cc1-9a53-{i:012x}","status":"ok","ts":"2026-12-07T10:00:00Z"}}"#,
                i % 3
            );
            let bytes = leaf::build(ORIGIN, i as i64, event.as_bytes());
            tree.push(leaf::hash(&bytes));
            bytes
        })
        .collect();
    let size = tree.size();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let parts = PackParts {
        checkpoint: checkpoint::sign(&cp, &signer()),
        entries: leaves
            .into_iter()
            .enumerate()
            .map(|(i, leaf)| PackEntry {
                index: i as u64,
                leaf,
                inclusion: merkle::inclusion_proof(&tree, i as u64, size).unwrap(),
                content: Vec::new(),
            })
            .collect::<Vec<_>>(),
        earlier: Vec::new(),
        filters: Default::default(),
        pruned_below: None,
        exported_at: "2026-12-07T12:00:00Z".into(),
        tool: "sealog-test".into(),
        witness_vkeys: Vec::new(),
        timestamps: Vec::new(),
        policy: None,
        tsa_roots: None,
        content: false,
    };
    let (files, report) = build(parts, &signer()).unwrap();
    assert!(report.valid, "{report}");
    let zip = write_zip(&files, std::io::Cursor::new(Vec::new())).unwrap();
    read_members(
        std::io::Cursor::new(zip.into_inner()),
        ReadLimits::default(),
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, members: &Files) -> PathBuf {
    let path = dir.join(name);
    write_zip(members, std::fs::File::create(&path).unwrap()).unwrap();
    path
}

const E0: &str = "entries/000000000000.jsonl";
const P0: &str = "proofs/000000000000.jsonl";
const E1: &str = "entries/000000065536.jsonl";
const P1: &str = "proofs/000000065536.jsonl";

/// Renames a member.
fn rename(members: &mut Files, from: &str, to: &str) {
    let bytes = members.remove(from).unwrap();
    members.insert(to.into(), bytes);
}

/// Re-signs the manifest with the log key after `edit`, as an operator holding the key could.
fn resigned(members: &Files, edit: impl Fn(&mut Manifest)) -> Files {
    let mut members = members.clone();
    let mut manifest: Manifest = serde_json::from_slice(&members["manifest.json"]).unwrap();
    edit(&mut manifest);
    let (text, sig) = manifest.sign(&signer());
    members.insert("manifest.json".into(), text);
    members.insert("manifest.sig".into(), sig);
    members
}

#[test]
fn a_chunked_pack_verifies_on_one_thread_and_on_two() {
    let dir = tempfile::tempdir().unwrap();
    let members = chunked_pack();
    let chunks: Vec<&str> = members
        .keys()
        .map(String::as_str)
        .filter(|n| layout::parse_chunk_name(n).is_some())
        .collect();
    assert_eq!(chunks, [E0, E1, P0, P1]);
    assert!(!members.contains_key("entries.jsonl"));
    let manifest: Manifest = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(manifest.format, "sealog-evidence/v2");
    for chunk in chunks {
        assert!(manifest.files.contains_key(chunk), "{chunk} has no digest");
    }
    let path = write(dir.path(), "pack.zip", &members);
    for threads in ["1", "2"] {
        let (code, out) = sealog_verify(&path, &vkey(), &["--threads", threads]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with(&format!("VALID: {ENTRIES} entries")),
            "{out}"
        );
    }
}

/// Every break of the chunks is refused, naming the chunk.
#[test]
fn broken_chunks_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = chunked_pack();
    let with = |edit: &dyn Fn(&mut Files)| {
        let mut m = good.clone();
        edit(&mut m);
        m
    };
    let changed_line = with(&|m| {
        let chunk = m.get_mut(E1).unwrap();
        let at = chunk.windows(4).position(|w| w == b"bot-").unwrap();
        chunk[at] = b'B';
    });
    let swapped = with(&|m| {
        let (e0, p0) = (m[E0].clone(), m[P0].clone());
        m.insert(E0.into(), m[E1].clone());
        m.insert(P0.into(), m[P1].clone());
        m.insert(E1.into(), e0);
        m.insert(P1.into(), p0);
    });
    let moved = "entries/000000066560.jsonl";
    let gap = resigned(
        &with(&|m| {
            rename(m, E1, moved);
            rename(m, P1, "proofs/000000066560.jsonl");
        }),
        |manifest| {
            for (from, to) in [(E1, moved), (P1, "proofs/000000066560.jsonl")] {
                let digest = manifest.files.remove(from).unwrap();
                manifest.files.insert(to.into(), digest);
            }
        },
    );
    let repeated = "entries/000000070656.jsonl";
    let cases: Vec<(&str, Files, Vec<String>)> = vec![
        (
            "a changed line in the second chunk",
            changed_line,
            vec![
                format!("{E1}: its SHA-256"),
                "entry at index 65536 (entries.jsonl line 65537): inclusion proof fails".into(),
            ],
        ),
        (
            "the second chunk dropped",
            with(&|m| {
                m.remove(E1);
                m.remove(P1);
            }),
            vec![
                format!("{E1}: listed in the manifest but missing from the pack"),
                "entries.jsonl holds 65536 entries; the manifest says 70000".into(),
            ],
        ),
        (
            "the proofs of the second chunk dropped",
            with(&|m| {
                m.remove(P1);
            }),
            vec![format!("{E1}: the pack has no {P1} to go with it")],
        ),
        (
            "two chunks swapped",
            swapped,
            vec![
                format!("{E0}: its SHA-256"),
                format!(
                    "{E1}: starts at line 65537 of entries.jsonl, but the chunks before it end at line 4464"
                ),
            ],
        ),
        (
            "a chunk repeated under another name",
            with(&|m| {
                m.insert(repeated.into(), m[E1].clone());
                m.insert("proofs/000000070656.jsonl".into(), m[P1].clone());
            }),
            vec![
                format!("{repeated}: the file is not listed in the manifest"),
                format!(
                    "{repeated}: starts at line 70657 of entries.jsonl, but the chunks before it end at line 70000"
                ),
            ],
        ),
        (
            "a chunk moved, the manifest re-signed",
            gap,
            vec![format!(
                "{moved}: starts at line 66561 of entries.jsonl, but the chunks before it end at line 65536"
            )],
        ),
        (
            "a chunk off a proof restart",
            with(&|m| {
                rename(m, E1, "entries/000000065537.jsonl");
                rename(m, P1, "proofs/000000065537.jsonl");
            }),
            vec!["entries/000000065537.jsonl: a chunk starts at a multiple of 1024 lines".into()],
        ),
        (
            "a chunk cut inside its last line, the manifest re-signed",
            resigned(
                &with(&|m| {
                    let chunk = m.get_mut(E0).unwrap();
                    chunk.pop();
                }),
                |manifest| {
                    let cut = &good[E0][..good[E0].len() - 1];
                    let digest = sealog_core::hex::encode(&sealog_core::evidence::sha256(cut));
                    manifest.files.insert(E0.into(), digest);
                },
            ),
            vec![format!("{E0}: its last line does not end in a newline")],
        ),
        (
            "a manifest digest that does not match",
            resigned(&good, |manifest| {
                manifest.files.insert(E1.into(), "00".repeat(32));
            }),
            vec![
                format!("{E1}: its SHA-256"),
                format!("differs from the manifest's {}", "00".repeat(32)),
            ],
        ),
    ];
    for (what, members, needles) in cases {
        let path = write(dir.path(), "broken.zip", &members);
        let (code, out) = sealog_verify(&path, &vkey(), &["--threads", "2"]);
        assert_eq!(code, 1, "{what} verified:\n{out}");
        for needle in needles {
            assert!(
                out.contains(&needle),
                "{what}: no mention of {needle:?}:\n{out}"
            );
        }
    }
}

#[test]
fn the_server_exports_chunked_packs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    assert_eq!(
        record_waiting(&server, &admin, 1, 5, "checkpoint").status,
        200
    );
    let path = dir.path().join("pack.zip");
    export_pack(&server, &admin, &path);
    let members = read_members(std::fs::File::open(&path).unwrap(), ReadLimits::default()).unwrap();
    assert!(
        members.contains_key(E0) && members.contains_key(P0),
        "{:?}",
        members.keys()
    );
    assert!(!members.contains_key("entries.jsonl"));
    let info = support::call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    );
    let (code, out) = sealog_verify(&path, info.json()["vkey"].as_str().unwrap(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID: 5 entries"), "{out}");
}

/// A pack the exporter wrote before chunks existed (`sealog-evidence/v1`, checked in).
#[test]
fn a_pack_of_the_first_layout_still_verifies() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sealog-evidence/tests/fixtures/v1-pack.zip");
    let members = read_members(std::fs::File::open(&path).unwrap(), ReadLimits::default()).unwrap();
    let manifest: Manifest = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(manifest.format, "sealog-evidence/v1");
    assert!(members.contains_key("entries.jsonl"));
    for threads in ["1", "2"] {
        let (code, out) = sealog_verify(&path, &vkey(), &["--threads", threads]);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("VALID: 2000 entries"), "{out}");
    }
    // And a change to it is still caught.
    let mut broken = members.clone();
    let entries = broken.get_mut("entries.jsonl").unwrap();
    let at = entries.windows(4).position(|w| w == b"bot-").unwrap();
    entries[at] = b'B';
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = sealog_verify(&write(dir.path(), "v1.zip", &broken), &vkey(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entries.jsonl: its SHA-256"), "{out}");
}
