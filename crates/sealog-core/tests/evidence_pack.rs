//! Evidence packs: valid packs verify and report what they prove; every tampering an attacker
//! could try is caught, with a message that says what happened.

mod evidence_support;

use evidence_support::*;
use sealog_core::evidence::{self, PackError, Report, verify_files};
use sealog_core::note::Signer;

fn sample_log() -> TestLog {
    let mut log = TestLog::new();
    log.session("support-bot", "s-1", 5);
    log.checkpoint();
    log.session("billing-bot", "s-2", 4);
    log.session("support-bot", "s-3", 3);
    log.checkpoint();
    log
}

fn verify(log: &TestLog, files: &Files) -> Report {
    verify_files(files, &log.trust()).unwrap()
}

/// Asserts the pack is invalid and that some failure message contains `needle`.
fn assert_fails(report: &Report, needle: &str) {
    assert!(!report.valid, "tampered pack verified:\n{report}");
    assert!(
        report.failures.iter().any(|f| f.message.contains(needle)),
        "no failure mentions {needle:?}; got:\n{report}"
    );
}

#[test]
fn a_whole_log_pack_verifies_and_reports_what_it_proves() {
    let log = sample_log();
    let report = verify(&log, &log.export_all());
    assert!(report.valid, "{report}");
    assert_eq!(report.entries, 12);
    assert_eq!((report.first_index, report.last_index), (Some(0), Some(11)));
    assert_eq!(report.checkpoint_size, 12);
    assert_eq!(report.consistency_checked, 1);
    assert_eq!(report.by_agent["support-bot"], 8);
    assert_eq!(report.by_action["tool_call"], 6);
    assert_eq!(report.sessions.len(), 3);
    assert!(report.sessions.iter().all(|s| s.complete), "{report}");
    let text = report.to_string();
    assert!(
        text.starts_with("VALID: 12 entries of log sealog.example/agents are proven"),
        "{text}"
    );
    assert!(
        text.contains("1 earlier checkpoint(s) proven consistent"),
        "{text}"
    );
}

#[test]
fn a_one_session_pack_proves_its_events_against_the_whole_log() {
    let log = sample_log();
    let files = log.export(|l| contains(l, r#""id":"s-2""#), &[("session", "s-2")]);
    let report = verify(&log, &files);
    assert!(report.valid, "{report}");
    assert_eq!(report.entries, 4);
    assert_eq!((report.first_index, report.last_index), (Some(5), Some(8)));
    assert_eq!(report.checkpoint_size, 12);
    assert_eq!(report.sessions.len(), 1);
    assert!(report.sessions[0].complete);
    // Nothing of the other sessions is in the pack.
    let all: Vec<u8> = files.values().flatten().copied().collect();
    assert!(!contains(&all, "s-1") && !contains(&all, "s-3"));
}

#[test]
fn an_event_withheld_from_a_session_shows_as_a_gap() {
    let log = sample_log();
    let files = log.export(
        |l| contains(l, r#""id":"s-1""#) && !contains(l, r#""seq":2"#),
        &[("session", "s-1")],
    );
    let report = verify(&log, &files);
    assert!(report.valid, "the pack itself is authentic: {report}");
    let s = &report.sessions[0];
    assert!(!s.complete);
    assert_eq!(
        s.problems,
        [
            "missing seq 2",
            "session_end declares 5 events; the pack holds 4"
        ]
    );
    assert!(
        report
            .to_string()
            .contains("incomplete: s-1 — missing seq 2")
    );
}

#[test]
fn witnesses_are_checked_against_pinned_keys_only() {
    let log = sample_log();
    let files = log.export_all();
    let report = verify_files(&files, &log.trust_with_witness()).unwrap();
    assert_eq!(report.witnesses, ["witness.example/w1"]);
    let mut trust = log.trust();
    let other = Signer::from_seed("witness.example/w2", [5; 32]).unwrap();
    trust.witnesses = vec![sealog_core::cosignature::CosignatureVerifier::from_signer(
        &other,
    )];
    let err = verify_files(&files, &trust).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint: no cosignature from the pinned witness witness.example/w2"
    );
}

#[test]
fn a_flipped_byte_in_an_entry_is_caught_at_that_entry() {
    let log = sample_log();
    let mut files = log.export_all();
    edit_lines(&mut files, evidence::ENTRIES, |lines| {
        let l = &mut lines[3];
        let at = find(l, "tool_call");
        l[at] = b'T';
    });
    let report = verify(&log, &files);
    assert_fails(
        &report,
        "entry at index 3 (entries.jsonl line 4): inclusion proof fails",
    );
    assert_fails(&report, "entries.jsonl: its SHA-256");
}

#[test]
fn a_flipped_byte_in_a_proof_is_caught_at_that_entry() {
    let log = sample_log();
    let mut files = log.export_all();
    edit_lines(&mut files, evidence::PROOFS, |lines| {
        let l = &mut lines[6];
        let at = find(l, "inclusion\":[\"") + 13;
        l[at] = if l[at] == b'A' { b'B' } else { b'A' };
    });
    assert_fails(
        &verify(&log, &files),
        "entry at index 6 (entries.jsonl line 7): inclusion proof fails",
    );
}

#[test]
fn removed_inserted_duplicated_and_reordered_entries_are_caught() {
    let log = sample_log();
    let both = |files: &mut Files, edit: &dyn Fn(&mut Vec<Vec<u8>>)| {
        edit_lines(files, evidence::ENTRIES, edit);
        edit_lines(files, evidence::PROOFS, edit);
    };
    let mut removed = log.export_all();
    both(&mut removed, &|l| {
        l.remove(4);
    });
    assert_fails(
        &verify(&log, &removed),
        "holds 11 entries; the manifest says 12",
    );

    let mut duplicated = log.export_all();
    both(&mut duplicated, &|l| {
        let copy = l[4].clone();
        l.insert(5, copy);
    });
    assert_fails(
        &verify(&log, &duplicated),
        "index 4 repeats the previous entry's index",
    );

    let mut reordered = log.export_all();
    both(&mut reordered, &|l| l.swap(2, 7));
    assert_fails(&verify(&log, &reordered), "comes after a higher index");

    let mut inserted = log.export_all();
    edit_lines(&mut inserted, evidence::ENTRIES, |l| {
        let forged = String::from_utf8(l[2].clone())
            .unwrap()
            .replace("tool_call", "decision");
        l.insert(3, forged.into_bytes());
    });
    edit_lines(&mut inserted, evidence::PROOFS, |l| {
        let copy = l[2].clone();
        l.insert(3, copy);
    });
    assert_fails(&verify(&log, &inserted), "inclusion proof fails");
}

#[test]
fn head_and_tail_truncation_are_caught() {
    let log = sample_log();
    for cut in [0usize, 11] {
        let mut files = log.export_all();
        for name in [evidence::ENTRIES, evidence::PROOFS] {
            edit_lines(&mut files, name, |l| {
                l.remove(cut);
            });
        }
        assert_fails(
            &verify(&log, &files),
            "holds 11 entries; the manifest says 12",
        );
    }
}

#[test]
fn a_lone_proof_or_entry_line_is_caught() {
    let log = sample_log();
    let mut files = log.export_all();
    edit_lines(&mut files, evidence::ENTRIES, |l| {
        l.pop();
    });
    assert_fails(
        &verify(&log, &files),
        "proofs.jsonl has a line with no entry",
    );
}

#[test]
fn tampered_or_forged_signed_parts_are_refused() {
    let log = sample_log();
    let good = log.export_all();

    let mut flipped = good.clone();
    flipped.get_mut(evidence::CHECKPOINT).unwrap()[30] ^= 1;
    assert!(matches!(
        verify_files(&flipped, &log.trust()),
        Err(PackError::Checkpoint(_))
    ));

    let mut manifest = good.clone();
    let m = manifest.get_mut(evidence::MANIFEST).unwrap();
    let at = find(m, "\"entries\":12") + 11;
    m[at] = b'3';
    let err = verify_files(&manifest, &log.trust()).unwrap_err();
    assert!(
        err.to_string().contains("not signed by the pinned log key"),
        "{err}"
    );

    // The attacker edits the entries and re-signs everything with their own key (with the
    // log's name): the pinned key refuses it.
    let attacker = Signer::from_seed(ORIGIN, [66; 32]).unwrap();
    let mut forged = log.export_all();
    let cp = sealog_core::checkpoint::Checkpoint {
        origin: ORIGIN.into(),
        size: 12,
        root: [0; 32],
        extensions: Vec::new(),
    };
    forged.insert(
        evidence::CHECKPOINT.into(),
        sealog_core::checkpoint::sign(&cp, &attacker),
    );
    let forged = sign_manifest(forged, manifest_of(&good), &attacker);
    let err = verify_files(&forged, &log.trust()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("manifest.json: not signed by the pinned log key"),
        "{err}"
    );
}

#[test]
fn an_older_checkpoint_swapped_in_is_caught() {
    let log = sample_log();
    let mut files = log.export_all();
    files.insert(evidence::CHECKPOINT.into(), log.checkpoints[0].1.clone());
    let err = verify_files(&files, &log.trust()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "manifest.json: names a checkpoint of size 12, but the pack's checkpoint has size 5"
    );
}

#[test]
fn a_fork_and_a_rewritten_history_are_caught() {
    // The log signs a checkpoint of size 5, then "rewrites" history: another tree of size 5
    // (a fork) and a tree of size 12 that does not extend it.
    let mut other = TestLog::new();
    other.session("support-bot", "s-1", 4);
    other.session("support-bot", "s-9", 1);
    let forked_note = other.checkpoint();

    let mut log = sample_log();
    log.checkpoints.insert(0, (5, forked_note.clone()));
    let report = verify(&log, &log.export_all());
    assert_fails(
        &report,
        "consistency.jsonl line 1: the log of size 12 is not an extension of the earlier one of size 5",
    );

    let mut same_size = TestLog::new();
    same_size.session("support-bot", "s-1", 5);
    same_size.checkpoint();
    let mut forked = same_size.export_all();
    let line = evidence::ConsistencyLine::new(&forked_note, &[]);
    forked.insert(
        evidence::CONSISTENCY.into(),
        [serde_json::to_vec(&line).unwrap(), b"\n".to_vec()].concat(),
    );
    let forked = sign_manifest(
        forked,
        manifest_of(&same_size.export_all()),
        &same_size.signer,
    );
    assert_fails(
        &verify(&same_size, &forked),
        "signed two different trees of size 5: a fork",
    );
}

#[test]
fn a_file_added_or_missing_after_export_is_caught() {
    let log = sample_log();
    let mut added = log.export_all();
    added.insert("extra.txt".into(), b"hello".to_vec());
    assert_fails(
        &verify(&log, &added),
        "extra.txt: the file is not listed in the manifest",
    );

    let mut missing = log.export_all();
    missing.remove("report.md");
    assert_fails(
        &verify(&log, &missing),
        "report.md: listed in the manifest but missing",
    );

    let mut gone = log.export_all();
    gone.remove(evidence::PROOFS);
    assert_eq!(
        verify_files(&gone, &log.trust()).unwrap_err(),
        PackError::Missing("proofs.jsonl")
    );
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn find(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle} not found"))
}

#[test]
fn sessions_and_counts_summed_per_chunk_match_one_pass() {
    // Sessions that straddle the 1,024-line chunk starts, one with an event withheld.
    let mut log = TestLog::new();
    for s in 0..9 {
        let agent = if s % 2 == 0 { "even-bot" } else { "odd-bot" };
        log.session(agent, &format!("s-{s}"), 300);
    }
    log.checkpoint();
    let withheld = log.leaves[1500].clone();
    let files = log.export(|l| *l != *withheld, &[]);
    let whole = verify(&log, &files);
    let lines = |name: &str| evidence::lines(&files[name]);
    let (entries, proofs) = (lines(evidence::ENTRIES), lines(evidence::PROOFS));
    let mut v = evidence::PackVerifier::open(
        &files[evidence::MANIFEST],
        &files[evidence::MANIFEST_SIG],
        &files[evidence::CHECKPOINT],
        &log.trust(),
    )
    .unwrap();
    for (name, bytes) in &files {
        if name != evidence::MANIFEST && name != evidence::MANIFEST_SIG {
            v.file_digest(name, &evidence::sha256(bytes));
        }
    }
    let cp = v.checkpoint().clone();
    for from in (0..entries.len()).step_by(evidence::PROOF_RESTART_LINES as usize) {
        let to = (from + evidence::PROOF_RESTART_LINES as usize).min(entries.len());
        let chunk =
            evidence::verify_chunk(&cp, from as u64 + 1, &entries[from..to], &proofs[from..to]);
        v.absorb(chunk);
    }
    v.consistency(&files[evidence::CONSISTENCY], &log.trust().log);
    let chunked = v.finish();
    assert!(chunked.valid, "{chunked}");
    assert_eq!(chunked.by_agent, whole.by_agent);
    assert_eq!(chunked.by_action, whole.by_action);
    assert_eq!(chunked.by_agent["even-bot"], 5 * 300);
    assert_eq!(chunked.sessions, whole.sessions);
    let s5 = &chunked.sessions[5];
    assert_eq!(
        (s5.id.as_str(), s5.events, s5.complete),
        ("s-5", 299, false)
    );
    assert_eq!(
        s5.problems,
        [
            "missing seq 0",
            "session_end declares 300 events; the pack holds 299",
            "no session_start in the pack"
        ]
    );
    assert!(chunked.sessions.iter().filter(|s| s.complete).count() == 8);
}

#[test]
fn a_pack_of_a_pruned_log_states_the_range_and_holds_nothing_below_it() {
    let log = sample_log();
    let kept = log.export(|l| !contains(l, r#""id":"s-1""#), &[]);
    let stating = |below: u64| {
        let mut manifest = manifest_of(&kept);
        manifest.pruned_below = Some(below);
        sign_manifest(kept.clone(), manifest, &log.signer)
    };
    let report = verify(&log, &stating(5));
    assert!(report.valid, "{report}");
    assert_eq!(
        (report.first_index, report.pruned_below),
        (Some(5), Some(5))
    );
    let text = report.to_string();
    assert!(
        text.contains("entries 0 to 4 were pruned by retention before this export"),
        "{text}"
    );
    // A manifest whose pruned range covers an entry of the pack is caught at that entry.
    assert_fails(
        &verify(&log, &stating(6)),
        "index 5 is below 6, where the manifest says the entries retention pruned end",
    );
}
