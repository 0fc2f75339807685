//! From a real server to an auditor's verdict: record events of several agents and sessions,
//! export the whole log and one session with `sealog export`, verify both offline with
//! `sealog verify`, then tamper with the exported packs and a receipt the way an attacker (or
//! a dishonest operator holding the log key) would, and see every attack caught by name.

mod support;

use base64::Engine as _;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::evidence::{self, ConsistencyLine, Manifest};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_evidence::archive::{Files, ReadLimits, read_zip, write_zip};
use sealog_evidence::build::{PackEntry, PackParts, build, sign_manifest};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Runs the `sealog` binary; returns its exit code, stdout and stderr.
fn sealog(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify(file: &Path, vkey: &str) -> (i32, String) {
    let (code, out, err) = sealog(&["verify", file.to_str().unwrap(), "--log-key", vkey]);
    (code, out + &err)
}

/// Event `n` of a session, with an optional context and `session.count` on the last one.
fn session_event(agent: &str, session: &str, seq: u64, action: &str, extra: Value) -> Value {
    let mut e = json!({
        "id": uuid7(1000 * u64::from(session.as_bytes()[2]) + seq),
        "ts": format!("2026-11-30T10:{:02}:00Z", seq),
        "agent": {"id": agent},
        "action": action,
        "status": if action == "policy_flag" { "blocked" } else { "ok" },
        "session": {"id": session, "seq": seq},
    });
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if k == "count" {
                e["session"]["count"] = v.clone();
            } else {
                e.insert(k.clone(), v.clone());
            }
        }
    }
    e
}

/// `s-1`: five events with an oversight decision; `s-2`: four; `s-3`: seq 1 missing.
fn sessions() -> Vec<Vec<Value>> {
    let none = json!({});
    let oversight = json!({"context": {"oversight": {
        "required": true, "reviewer": "ana@example.com", "decision": "approved",
        "reason": "refund within policy"}}});
    vec![
        vec![
            session_event("support-bot", "s-1", 0, "session_start", none.clone()),
            session_event("support-bot", "s-1", 1, "llm_call", none.clone()),
            session_event("support-bot", "s-1", 2, "tool_call", none.clone()),
            session_event("support-bot", "s-1", 3, "human_oversight", oversight),
            session_event("support-bot", "s-1", 4, "session_end", json!({"count": 5})),
        ],
        vec![
            session_event("billing-bot", "s-2", 0, "session_start", none.clone()),
            session_event("billing-bot", "s-2", 1, "llm_call", none.clone()),
            session_event("billing-bot", "s-2", 2, "decision", none.clone()),
            session_event("billing-bot", "s-2", 3, "session_end", json!({"count": 4})),
        ],
        vec![
            session_event("triage-bot", "s-3", 0, "session_start", none.clone()),
            session_event("triage-bot", "s-3", 2, "policy_flag", none.clone()),
            session_event("triage-bot", "s-3", 3, "session_end", json!({"count": 4})),
        ],
    ]
}

fn read_pack(path: &Path) -> Files {
    read_zip(std::fs::File::open(path).unwrap(), ReadLimits::default()).unwrap()
}

fn write_pack(dir: &Path, name: &str, files: &Files) -> PathBuf {
    let path = dir.join(name);
    write_zip(files, std::fs::File::create(&path).unwrap()).unwrap();
    path
}

fn lines(file: &[u8]) -> Vec<Vec<u8>> {
    evidence::lines(file)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

fn joined(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| [l.as_slice(), b"\n"].concat())
        .collect()
}

/// Applies `edit` to the parallel lines of `entries.jsonl` and `proofs.jsonl`.
fn edit_entries(files: &Files, edit: impl Fn(&mut Vec<(Vec<u8>, Vec<u8>)>)) -> Files {
    let mut pairs: Vec<_> = lines(&files[evidence::ENTRIES])
        .into_iter()
        .zip(lines(&files[evidence::PROOFS]))
        .collect();
    edit(&mut pairs);
    let mut out = files.clone();
    let (entries, proofs): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    out.insert(evidence::ENTRIES.into(), joined(&entries));
    out.insert(evidence::PROOFS.into(), joined(&proofs));
    out
}

/// Re-lists every file's digest in the manifest and signs it with `signer`.
fn resign_manifest(files: &Files, signer: &Signer) -> Files {
    let mut files = files.clone();
    let manifest: Manifest = serde_json::from_slice(&files[evidence::MANIFEST]).unwrap();
    sign_manifest(&mut files, manifest, signer);
    files
}

struct Exported {
    _dir: tempfile::TempDir,
    tmp: PathBuf,
    vkey: String,
    whole: PathBuf,
    session: PathBuf,
    /// The log's own signing key, as a dishonest operator would hold it.
    log_key: Signer,
    receipt: String,
    _server: Serve,
}

/// Starts a server, records the sessions (the first one alone, waited on, so the log's
/// history keeps a checkpoint older than the export's) and exports with the CLI.
/// The export endpoint sends the same pack the CLI wrote, with its length announced, and the
/// scratch files it was built in are gone from the data directory afterwards.
fn export_is_streamed_and_leaves_no_scratch(
    server: &Serve,
    admin: &str,
    data: &Path,
    cli_pack: &Path,
) {
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let req = ureq::http::Request::builder()
        .uri(format!("{}/v1/logs/default/export", server.url))
        .header("Authorization", format!("Bearer {admin}"))
        .body(())
        .unwrap();
    let mut resp = agent().run(req).unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/zip");
    let len: u64 = header("content-length").parse().unwrap();
    let zip = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    assert_eq!(zip.len() as u64, len);
    // Same log, same checkpoint: only the export time in the manifest may differ.
    let (http, cli) = (
        read_zip(std::io::Cursor::new(&zip), ReadLimits::default()).unwrap(),
        read_pack(cli_pack),
    );
    assert_eq!(http[evidence::ENTRIES], cli[evidence::ENTRIES]);
    assert_eq!(http[evidence::PROOFS], cli[evidence::PROOFS]);
    assert_eq!(
        listing(),
        before,
        "scratch files left in the data directory"
    );
}

fn exported() -> Exported {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    for batch in sessions() {
        let reply = call(
            "POST",
            &events,
            Some(&admin),
            Some(&serde_json::to_vec(&json!({"events": batch})).unwrap()),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["rejected"], 0, "{}", reply.body);
    }
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    );
    let vkey = info.json()["vkey"].as_str().unwrap().to_owned();
    let tmp = dir.path().join("out");
    std::fs::create_dir(&tmp).unwrap();
    let (whole, session) = (tmp.join("whole.zip"), tmp.join("s-2.zip"));
    for (path, filters) in [(&whole, vec![]), (&session, vec!["--session", "s-2"])] {
        let mut args = vec!["export", "--server", &server.url, "--token", &admin, "-o"];
        args.push(path.to_str().unwrap());
        args.extend(filters);
        let (code, out, err) = sealog(&args);
        assert_eq!(code, 0, "{out}{err}");
    }
    export_is_streamed_and_leaves_no_scratch(&server, &admin, &dir.path().join("data"), &whole);
    let skey = std::fs::read_to_string(dir.path().join("data/logs/default/key")).unwrap();
    let receipt = call(
        "GET",
        &format!(
            "{}/v1/logs/default/events/{}/proof",
            server.url,
            sessions()[1][2]["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    );
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    Exported {
        _dir: dir,
        tmp,
        vkey,
        whole,
        session,
        log_key: Signer::from_skey(skey.trim()).unwrap(),
        receipt: receipt.body,
        _server: server,
    }
}

#[test]
fn exported_packs_verify_offline_and_say_what_they_prove() {
    let ex = exported();
    let (code, out) = verify(&ex.whole, &ex.vkey);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("VALID: 12 entries of log test.local/default are proven"),
        "{out}"
    );
    assert!(
        out.contains("1 earlier checkpoint(s) proven consistent"),
        "{out}"
    );
    assert!(out.contains("sessions: 3 (2 complete)"), "{out}");
    assert!(out.contains("incomplete: s-3 — missing seq 1"), "{out}");

    let (code, out) = verify(&ex.session, &ex.vkey);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID: 4 entries"), "{out}");
    assert!(out.contains("log indices 5 to 8"), "{out}");
    assert!(out.contains("filters session=s-2 (other events are not disclosed)"));
    assert!(out.contains("sessions: 1 (1 complete)"), "{out}");

    // Selective disclosure: nothing in the one-session pack names another session's agent.
    for (name, bytes) in read_pack(&ex.session) {
        let text = String::from_utf8_lossy(&bytes);
        for other in ["support-bot", "triage-bot", "ana@example.com"] {
            assert!(!text.contains(other), "{name} discloses {other}");
        }
    }

    // Machines get JSON; the report is in the pack for humans.
    let (code, out, _) = sealog(&[
        "verify",
        ex.whole.to_str().unwrap(),
        "--log-key",
        &ex.vkey,
        "--json",
    ]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["entries"], 12);
    assert_eq!(report["oversight"], 1, "{report}");
    let files = read_pack(&ex.whole);
    let md = String::from_utf8_lossy(&files["report.md"]);
    assert!(md.contains("ana@example.com"), "the oversight is reported");
    assert!(md.contains("Art. 12"), "the compliance mapping is there");

    // Without a pinned key nothing is verified; with another log's key it is refused.
    let (code, _, err) = sealog(&["verify", ex.whole.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("refusing to verify without --log-key"),
        "{err}"
    );
    let other = Signer::from_seed("test.local/default", [9; 32]).unwrap();
    let (code, out) = verify(&ex.whole, &other.verifier().vkey());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not signed by the pinned log key"), "{out}");
}

/// Every tampering of the exported packs fails verification with a message naming it.
#[test]
fn tampered_exports_are_caught_by_name() {
    let ex = exported();
    let whole = read_pack(&ex.whole);
    let session = read_pack(&ex.session);
    let flip = |files: &Files, name: &str, at: usize| {
        let mut f = files.clone();
        let bytes = f.get_mut(name).unwrap();
        let at = at.min(bytes.len() - 2);
        bytes[at] ^= 0x01;
        f
    };
    // A proof hash changed to another valid one (a flipped bit could leave the base64
    // alphabet, which is caught too, but as a malformed hash).
    let other_hash = |files: &Files, at: usize| {
        let mut f = files.clone();
        let bytes = f.get_mut(evidence::PROOFS).unwrap();
        // Base64's alphabet: `+` and `/` are as much a part of a hash as letters are (a hash
        // with one there at `at` made this check fail about one run in thirty).
        let in_hash = bytes[at].is_ascii_alphanumeric() || matches!(bytes[at], b'+' | b'/');
        assert!(in_hash, "not inside a hash");
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        f
    };
    let swap_first_two = |p: &mut Vec<(Vec<u8>, Vec<u8>)>| p.swap(0, 1);
    let extra = edit_entries(&whole, |_| {});
    let inserted_line = lines(&extra[evidence::ENTRIES])[0].clone();
    let inserted_proof = lines(&extra[evidence::PROOFS])[0].clone();
    let older_note = {
        let line: Value = serde_json::from_slice(&lines(&whole[evidence::CONSISTENCY])[0]).unwrap();
        line["checkpoint"].as_str().unwrap().as_bytes().to_vec()
    };
    let mut older = whole.clone();
    older.insert(evidence::CHECKPOINT.into(), older_note.clone());

    let cases: Vec<(&str, Files, &str)> = vec![
        (
            "a flipped byte in an entry",
            flip(&whole, evidence::ENTRIES, 200),
            "entry at index 0 (entries.jsonl line 1)",
        ),
        (
            "a changed byte in a proof",
            other_hash(&session, 30),
            "entry at index 5 (entries.jsonl line 1): inclusion proof fails",
        ),
        (
            "a flipped byte in the checkpoint",
            flip(&whole, evidence::CHECKPOINT, 25),
            "checkpoint note: invalid signature",
        ),
        (
            "a flipped byte in the manifest",
            flip(&whole, evidence::MANIFEST, 40),
            "manifest.json: not signed by the pinned log key",
        ),
        (
            "an entry removed",
            edit_entries(&session, |p| {
                p.remove(1);
            }),
            "entries.jsonl holds 3 entries; the manifest says 4",
        ),
        (
            "an entry of another session inserted",
            edit_entries(&session, |p| {
                p.insert(0, (inserted_line.clone(), inserted_proof.clone()))
            }),
            "entries.jsonl holds 5 entries; the manifest says 4",
        ),
        (
            "an entry duplicated",
            edit_entries(&session, |p| p.push(p[3].clone())),
            "index 8 repeats the previous entry's index",
        ),
        (
            "entries reordered",
            edit_entries(&session, swap_first_two),
            "index 5 comes after a higher index",
        ),
        (
            "the head cut off",
            edit_entries(&whole, |p| {
                p.remove(0);
            }),
            "entries.jsonl holds 11 entries; the manifest says 12",
        ),
        (
            "the tail cut off",
            edit_entries(&whole, |p| {
                p.pop();
            }),
            "entries.jsonl holds 11 entries; the manifest says 12",
        ),
        (
            "an older checkpoint swapped in",
            older,
            "names a checkpoint of size 12, but the pack's checkpoint has size 5",
        ),
    ];
    for (what, files, needle) in cases {
        let path = write_pack(&ex.tmp, "tampered.zip", &files);
        let (code, out) = verify(&path, &ex.vkey);
        assert_eq!(code, 1, "{what} verified:\n{out}");
        assert!(
            out.contains(needle),
            "{what}: no mention of {needle:?}:\n{out}"
        );
    }
}

/// An attacker rewrites history and re-signs the whole pack with their own key under the
/// log's name; a dishonest operator with the log key signs a second tree of an earlier size.
#[test]
fn re_signed_and_forked_exports_are_caught() {
    let ex = exported();
    let whole = read_pack(&ex.whole);
    let mut leaves = lines(&whole[evidence::ENTRIES]);
    let at = leaves[6]
        .windows(11)
        .position(|w| w == b"billing-bot")
        .unwrap();
    leaves[6][at + 10] = b'x';
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.push(sealog_core::leaf::hash(leaf));
    }
    let size = tree.size();
    let attacker = Signer::from_seed("test.local/default", [66; 32]).unwrap();
    let forged_cp = checkpoint::sign(
        &Checkpoint {
            origin: "test.local/default".into(),
            size,
            root: tree.root(),
            extensions: Vec::new(),
        },
        &attacker,
    );
    let parts = PackParts {
        checkpoint: forged_cp,
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
        exported_at: "2026-12-02T00:00:00Z".into(),
        tool: "attacker".into(),
        witness_vkeys: Vec::new(),
        timestamps: Vec::new(),
        policy: None,
        tsa_roots: None,
        content: false,
    };
    let (forged, _) = build(parts, &attacker).expect("valid under the attacker's own key");
    let path = write_pack(&ex.tmp, "forged.zip", &forged);
    let (code, out) = verify(&path, &ex.vkey);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("manifest.json: not signed by the pinned log key"),
        "{out}"
    );

    // The fork: a second checkpoint of size 5, signed by the real log key, that the tree of
    // the pack does not extend — listed among the earlier checkpoints and the manifest
    // re-signed, as an operator who holds the key could.
    let fork_note = checkpoint::sign(
        &Checkpoint {
            origin: "test.local/default".into(),
            size: 5,
            root: [3; 32],
            extensions: Vec::new(),
        },
        &ex.log_key,
    );
    let mut forked = whole.clone();
    let mut consistency = lines(&whole[evidence::CONSISTENCY]);
    let proof: Value = serde_json::from_slice(&consistency[0]).unwrap();
    let proof: Vec<merkle::Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    consistency.push(serde_json::to_vec(&ConsistencyLine::new(&fork_note, &proof)).unwrap());
    forked.insert(evidence::CONSISTENCY.into(), joined(&consistency));
    let forked = resign_manifest(&forked, &ex.log_key);
    let path = write_pack(&ex.tmp, "forked.zip", &forked);
    let (code, out) = verify(&path, &ex.vkey);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("two different trees of size 5: a fork"),
        "{out}"
    );
}

/// A receipt fetched from the server verifies; the same receipt with its leaf edited does not.
#[test]
fn a_receipt_with_an_edited_leaf_is_caught() {
    let ex = exported();
    let good = ex.tmp.join("event.tlog-proof");
    std::fs::write(&good, &ex.receipt).unwrap();
    let (code, out) = verify(&good, &ex.vkey);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID: the event at index 7"), "{out}");

    // The leaf travels base64-encoded on the receipt's `extra` line.
    let b64 = base64::engine::general_purpose::STANDARD;
    let (head, rest) = ex.receipt.split_once("\nextra ").unwrap();
    let (leaf, tail) = rest.split_once('\n').unwrap();
    let leaf = String::from_utf8(b64.decode(leaf).unwrap()).unwrap();
    let edited_leaf = leaf.replacen("billing-bot", "billing-bou", 1);
    assert_ne!(edited_leaf, leaf);
    let edited = format!("{head}\nextra {}\n{tail}", b64.encode(edited_leaf));
    let bad = ex.tmp.join("edited.tlog-proof");
    std::fs::write(&bad, edited).unwrap();
    let (code, out) = verify(&bad, &ex.vkey);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("INVALID: the leaf is not in the tree at index 7"),
        "{out}"
    );
}
