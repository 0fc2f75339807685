//! Building, zipping, reading and verifying packs end to end (without a server), across
//! verification chunks and threads; the report escapes what agents recorded.

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::evidence::{self, Trust};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_core::{event, leaf};
use sealog_evidence::archive::{self, ArchiveError, ReadLimits};
use sealog_evidence::build::{PackEntry, PackParts, build, build_into};
use sealog_evidence::verify::{VerifyError, verify_pack, verify_zip};
use std::io::Cursor;

const ORIGIN: &str = "sealog.example/agents";

struct Log {
    signer: Signer,
    tree: MemoryTree,
    leaves: Vec<Vec<u8>>,
}

fn event_json(n: u64, action: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-{n:012x}","ts":"2026-11-22T10:00:00Z","agent":{{"id":"bot-{}"}},"action":"{action}","status":"ok"{extra}}}"#,
        n % 3
    )
}

fn log_of(n: u64, oversight_reason: &str) -> Log {
    let mut log = Log {
        signer: Signer::from_seed(ORIGIN, [8; 32]).unwrap(),
        tree: MemoryTree::new(),
        leaves: Vec::new(),
    };
    for i in 0..n {
        let json = if i == 1 {
            let reason = serde_json::to_string(oversight_reason).unwrap();
            event_json(
                i,
                "human_oversight",
                &format!(
                    r#","context":{{"oversight":{{"reviewer":"r@example.com","decision":"approved","reason":{reason}}}}}"#
                ),
            )
        } else {
            event_json(i, "tool_call", "")
        };
        let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
        let bytes = leaf::build(ORIGIN, i as i64, &ev.canonical);
        log.tree.push(leaf::hash(&bytes));
        log.leaves.push(bytes);
    }
    log
}

fn parts(log: &Log, select: impl Fn(u64) -> bool) -> PackParts {
    let size = log.tree.size();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: log.tree.root(),
        extensions: Vec::new(),
    };
    PackParts {
        checkpoint: checkpoint::sign(&cp, &log.signer),
        entries: (0..size)
            .filter(|&i| select(i))
            .map(|i| PackEntry {
                index: i,
                leaf: log.leaves[i as usize].clone(),
                inclusion: merkle::inclusion_proof(&log.tree, i, size).unwrap(),
                content: Vec::new(),
            })
            .collect(),
        earlier: Vec::new(),
        filters: Default::default(),
        pruned_below: None,
        exported_at: "2026-11-22T12:00:00Z".into(),
        tool: "sealog-test".into(),
        witness_vkeys: Vec::new(),
        timestamps: Vec::new(),
        policy: None,
        tsa_roots: None,
        content: false,
    }
}

fn trust(log: &Log) -> Trust {
    Trust {
        log: log.signer.verifier(),
        witnesses: Vec::new(),
        policy: None,
    }
}

#[test]
fn a_large_pack_round_trips_through_zip_and_verifies_on_several_threads() {
    // More than two verification chunks, so chunk and wave boundaries are crossed.
    let log = log_of(20_000, "ok");
    let (files, built) = build(parts(&log, |i| i % 7 != 3), &log.signer).unwrap();
    assert!(built.valid);
    let zip = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    // Deterministic: the same pack gives the same bytes.
    let again = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    assert_eq!(zip, again);
    let read = archive::read_zip(Cursor::new(&zip), ReadLimits::default()).unwrap();
    assert_eq!(read, files);
    for threads in [1, 2, 3] {
        let report = verify_pack(&read, &trust(&log), threads).unwrap();
        assert!(report.valid, "{report}");
        assert_eq!(report.entries, 20_000 - 20_000 / 7);
        assert_eq!(report.oversight, 1);
    }
}

#[test]
fn a_zip_streamed_across_chunks_verifies_as_the_same_pack_in_memory() {
    let log = log_of(20_000, "ok");
    let (files, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    let zip_of = |files: &archive::Files| {
        archive::write_zip(files, Cursor::new(Vec::new()))
            .unwrap()
            .into_inner()
    };
    let valid = verify_zip(&zip_of(&files), ReadLimits::default(), &trust(&log), 2).unwrap();
    assert!(valid.valid, "{valid}");
    assert_eq!(valid.entries, 20_000);
    // Lines removed at and around chunk boundaries (8192 lines), from either file, and the
    // last line: the streamed ZIP names exactly what the in-memory pack names.
    for (name, line) in [
        ("entries.jsonl", 8191),
        ("entries.jsonl", 8192),
        ("proofs.jsonl", 16_384),
        ("proofs.jsonl", 19_999),
        ("entries.jsonl", 19_999),
    ] {
        let mut bad = files.clone();
        let file = bad.get_mut(name).unwrap();
        let mut lines: Vec<&[u8]> = file.split_inclusive(|&b| b == b'\n').collect();
        lines.remove(line);
        *file = lines.concat();
        // The reference: one thread, one chunk, the whole pack in memory.
        let reference = evidence::verify_files(&bad, &trust(&log)).unwrap();
        let streamed = verify_zip(&zip_of(&bad), ReadLimits::default(), &trust(&log), 3).unwrap();
        assert!(!streamed.valid, "{name} line {line}: {streamed}");
        // The same failures, at the same places; an entry's reason may differ, as a chunk
        // starts its proof shortcut afresh.
        let places = |r: &sealog_core::evidence::Report| {
            r.failures
                .iter()
                .map(|f| (f.line, f.index, f.line.is_none().then(|| f.message.clone())))
                .collect::<Vec<_>>()
        };
        assert_eq!(places(&streamed), places(&reference), "{name} line {line}");
        assert_eq!(streamed.failure_count, reference.failure_count);
    }
}

#[test]
fn a_streamed_zip_is_bounded_too() {
    let log = log_of(50, "ok");
    let (files, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    let zip = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let short_lines = ReadLimits {
        max_line_bytes: 100,
        ..ReadLimits::default()
    };
    let err = verify_zip(&zip, short_lines, &trust(&log), 2).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Archive(ArchiveError::TooLarge(m)) if m.starts_with("entries.jsonl line 1 is longer than 100 bytes")),
        "{err}"
    );
    let mut incomplete = files.clone();
    incomplete.remove("proofs.jsonl");
    let zip = archive::write_zip(&incomplete, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let err = verify_zip(&zip, ReadLimits::default(), &trust(&log), 2).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the pack has no \"proofs.jsonl\""),
        "{err}"
    );
}

#[test]
fn a_pack_built_in_scratch_files_is_the_same_zip_as_one_built_in_memory() {
    let log = log_of(20_000, "ok");
    let (files, _) = build(parts(&log, |i| i % 3 != 0), &log.signer).unwrap();
    let in_memory = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let scratch = || tempfile::tempfile().unwrap();
    let mut pack = build_into(
        parts(&log, |i| i % 3 != 0),
        &log.signer,
        scratch(),
        scratch(),
    )
    .unwrap();
    assert!(pack.report.valid);
    assert!(!pack.files.contains_key("entries.jsonl"));
    // Written twice: the scratch files are rewound, not consumed.
    for _ in 0..2 {
        let streamed = pack
            .write_zip(Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let read = archive::read_zip(Cursor::new(&streamed), ReadLimits::default()).unwrap();
        for (name, bytes) in &files {
            assert!(read[name] == *bytes, "{name} differs");
        }
        assert_eq!(read.len(), files.len());
        assert_eq!(streamed, in_memory);
    }
}

#[test]
fn a_bad_entry_deep_in_a_large_pack_is_named() {
    let log = log_of(20_000, "ok");
    let (mut files, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    let entries = files.get_mut("entries.jsonl").unwrap();
    let mut lines: Vec<Vec<u8>> = entries.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let l = &mut lines[17_000];
    let at = l.windows(4).position(|w| w == b"bot-").unwrap();
    l[at] = b'B';
    *entries = lines.join(&b'\n');
    let report = verify_pack(&files, &trust(&log), 2).unwrap();
    assert!(!report.valid);
    assert!(
        report.failures.iter().any(|f| f.index == Some(17_000)
            && f.message.starts_with(
                "entry at index 17000 (entries.jsonl line 17001): inclusion proof fails"
            )),
        "{report}"
    );
}

#[test]
fn the_report_escapes_what_agents_recorded() {
    let hostile = "<script>alert(1)</script> | **bold** [x](javascript:y) \u{7}";
    let log = log_of(5, hostile);
    let (files, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    let html = String::from_utf8(files["report.html"].clone()).unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; | **bold**"),
        "{html}"
    );
    assert!(!html.contains('\u{7}'));
    let md = String::from_utf8(files["report.md"].clone()).unwrap();
    assert!(
        md.contains(r"&lt;script&gt;alert(1)&lt;/script&gt; \| \*\*bold\*\* \[x\](javascript:y)"),
        "{md}"
    );
    assert!(
        md.contains(
            "| EU AI Act Art. 14 | human oversight, override and stop | 1 human oversight events |"
        ),
        "{md}"
    );
    assert!(md.contains("sealog verify pack.zip --log-key"), "{md}");
    assert!(md.contains("not a claim that any system complies"), "{md}");
}

#[test]
fn a_pack_that_would_not_verify_is_not_handed_out() {
    let log = log_of(10, "ok");
    let mut p = parts(&log, |_| true);
    p.entries[4].inclusion[0][0] ^= 1;
    let err = build(p, &log.signer).unwrap_err();
    assert!(
        err.to_string()
            .contains("the exported pack does not verify"),
        "{err}"
    );
}

#[test]
fn reading_is_bounded() {
    let log = log_of(50, "ok");
    let (files, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    let zip = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let tight = ReadLimits {
        max_files: 100,
        max_total_bytes: 1000,
        ..ReadLimits::default()
    };
    assert!(matches!(
        archive::read_zip(Cursor::new(&zip), tight),
        Err(ArchiveError::TooLarge(_))
    ));
    let few = ReadLimits {
        max_files: 3,
        max_total_bytes: 1 << 30,
        ..ReadLimits::default()
    };
    assert!(matches!(
        archive::read_zip(Cursor::new(&zip), few),
        Err(ArchiveError::TooLarge(_))
    ));
    assert!(matches!(
        archive::read_zip(Cursor::new(b"not a zip".to_vec()), ReadLimits::default()),
        Err(ArchiveError::Zip(_))
    ));
}

/// A log whose events are `(agent, action, attributes)`.
fn log_with(events: &[(&str, &str, &str)]) -> Log {
    let mut log = Log {
        signer: Signer::from_seed(ORIGIN, [8; 32]).unwrap(),
        tree: MemoryTree::new(),
        leaves: Vec::new(),
    };
    for (i, (agent, action, attributes)) in events.iter().enumerate() {
        let json = format!(
            r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-{i:012x}","ts":"2026-11-2{i}T10:00:00Z","agent":{{"id":"{agent}"}},"action":"{action}","status":"ok","attributes":{attributes}}}"#
        );
        let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
        let bytes = leaf::build(ORIGIN, i as i64, &ev.canonical);
        log.tree.push(leaf::hash(&bytes));
        log.leaves.push(bytes);
    }
    log
}

/// A log whose entry 1 has an encrypted input of `size` bytes and entry 2 an encrypted
/// output; the others have none.
fn private_log(size: usize) -> Log {
    let mut log = log_of(0, "");
    let payload = |size: usize| {
        format!(
            r#"{{"encrypted":{{"subject":"pseudo-1","key_id":"k1","ciphertext_sha256":"{}"}},"size":{size}}}"#,
            "ab".repeat(32)
        )
    };
    for i in 0..4u64 {
        let extra = match i {
            1 => format!(r#","input":{}"#, payload(size)),
            2 => format!(r#","output":{}"#, payload(7)),
            _ => String::new(),
        };
        let json = event_json(i, "llm_call", &extra);
        let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
        let bytes = leaf::build(ORIGIN, i as i64, &ev.canonical);
        log.tree.push(leaf::hash(&bytes));
        log.leaves.push(bytes);
    }
    log
}

fn report_md(log: &Log) -> String {
    let (files, _) = build(parts(log, |_| true), &log.signer).unwrap();
    String::from_utf8(files["report.md"].clone()).unwrap()
}

#[test]
fn the_compliance_table_cites_the_lifecycle_records_the_server_made() {
    let log = log_with(&[
        ("bot", "tool_call", "{}"),
        (
            "sealog",
            "retention_changed",
            r#"{"retention_days":30,"below_minimum":true}"#,
        ),
        ("sealog", "legal_hold", r#"{"hold":"h","reason":"case"}"#),
        (
            "sealog",
            "prune",
            r#"{"from":0,"to":3,"blobs":4,"held":1,"retention_days":30}"#,
        ),
        ("sealog", "erasure", r#"{"blobs":2,"reason":"Art. 17"}"#),
        (
            "sealog",
            "prune",
            r#"{"from":1,"to":5,"blobs":1,"held":0,"retention_days":30}"#,
        ),
        // An agent's own event of the same name is not the server's record.
        ("bot", "x-prune", r#"{"blobs":99}"#),
    ]);
    let md = report_md(&log);
    let row = |requirement: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {requirement} |")))
            .unwrap_or_else(|| panic!("no row {requirement}: {md}"))
            .to_owned()
    };
    let retention = row("EU AI Act Art. 19, Art. 26(6)");
    assert!(
        retention.contains(
            "retention set to 30 days, below the six-month minimum by an explicit override on \
             2026-11-21T10:00:00Z (entry 1)"
        ),
        "{retention}"
    );
    assert!(
        retention.contains(
            "2 prune(s) removed 5 encrypted payload(s) past retention (entries and proofs kept); \
             the latest on 2026-11-25T10:00:00Z (entry 5) examined entries 1 to 4, 0 payload(s) \
             kept under a hold"
        ),
        "{retention}"
    );
    assert!(
        row("GDPR Art. 5(1)(e)").contains("2 prune(s) removed 5"),
        "{md}"
    );
    assert!(
        row("GDPR Art. 17")
            .contains("1 erasure(s) of a data subject's content by destroying its key (entries 4)"),
        "{md}"
    );
    assert!(
        row("GDPR Art. 17(3)(e), Art. 18")
            .contains("1 legal hold(s) placed (entries 2) and 0 lifted"),
        "{md}"
    );
    assert!(
        row("EU AI Act Art. 73(6)").contains("no incident recorded in this pack"),
        "{md}"
    );
    assert!(md.contains("not a claim that any system complies"), "{md}");

    // A pack without such records says so instead of claiming anything.
    let md = report_md(&log_with(&[("bot", "tool_call", "{}")]));
    for says in [
        "no retention change recorded in this pack (a log's default is 180 days)",
        "no prune recorded in this pack",
        "no erasure recorded in this pack",
        "no legal hold recorded in this pack",
    ] {
        assert!(md.contains(says), "{says}: {md}");
    }
}

/// The content line of entry `index`'s `field`, as the server writes it.
fn content_line(index: u64, field: &str, state: &str) -> Vec<u8> {
    let id = format!("0190b3a4-8d0e-7cc1-9a53-{index:012x}");
    format!("{{\"index\":{index},\"id\":\"{id}\",\"field\":\"{field}\",{state}}}\n").into_bytes()
}

fn with_content(log: &Log, lines: &[(u64, Vec<u8>)]) -> PackParts {
    let mut p = parts(log, |_| true);
    p.content = true;
    for e in &mut p.entries {
        for (index, line) in lines {
            if *index == e.index {
                e.content.extend_from_slice(line);
            }
        }
    }
    p
}

#[test]
fn a_pack_with_content_states_it_and_each_line_must_match_its_leaf() {
    use sealog_evidence::build::BuildError;
    use sealog_evidence::content::{self, CONTENT};
    let prompt = r#"{"prompt":"hello"}"#;
    let log = private_log(prompt.len());
    let input = content_line(1, "input", &format!(r#""content":{prompt}"#));
    let erased = content_line(
        2,
        "output",
        r#""erased":"2026-11-23T09:00:00.000000Z","reason":"GDPR Art. 17""#,
    );
    let good = [(1, input.clone()), (2, erased.clone())];
    let (files, report) = build(with_content(&log, &good), &log.signer).unwrap();
    assert!(report.valid);
    assert_eq!(files[CONTENT], [input.clone(), erased.clone()].concat());
    let md = String::from_utf8(files["report.md"].clone()).unwrap();
    assert!(md.contains("## Content of private events"), "{md}");
    assert!(md.contains("1 payload(s) included"), "{md}");
    assert!(
        md.contains("content erased on 2026-11-23T09:00:00.000000Z: 1 payload(s)"),
        "{md}"
    );
    let zip = archive::write_zip(&files, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let summary = content::notes(&zip, 1 << 20).unwrap().unwrap();
    assert_eq!((summary.included, summary.unavailable), (1, 0));
    // A pack without content says nothing about it.
    let (plain, _) = build(parts(&log, |_| true), &log.signer).unwrap();
    assert!(!plain.contains_key(CONTENT));
    let zip = archive::write_zip(&plain, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    assert_eq!(content::notes(&zip, 1 << 20).unwrap(), None);

    let refused = |lines: &[(u64, Vec<u8>)]| match build(with_content(&log, lines), &log.signer) {
        Err(BuildError::Content(why)) => why,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("built a pack whose content does not match its entries"),
    };
    let longer = content_line(1, "input", r#""content":{"prompt":"hello!"}"#);
    let why = refused(&[(1, longer), (2, erased.clone())]);
    assert!(why.contains("its leaf commits to 18 bytes"), "{why}");
    let why = refused(&[(1, input.clone())]);
    assert!(
        why.contains("entry 2: its output is encrypted, but content.jsonl has no line"),
        "{why}"
    );
    let stray = content_line(3, "input", r#""content":{}"#);
    let why = refused(&[(1, input.clone()), (2, erased.clone()), (3, stray)]);
    assert!(
        why.contains("entry 3's input matches no encrypted payload"),
        "{why}"
    );
    let misnamed = String::from_utf8(content_line(2, "output", r#""unavailable":"x""#))
        .unwrap()
        .replace("9a53-000000000002", "9a53-000000000003")
        .into_bytes();
    let why = refused(&[(1, input), (2, misnamed)]);
    assert!(why.contains("names event"), "{why}");
}
