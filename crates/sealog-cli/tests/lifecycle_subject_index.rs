//! Subject access reads the entries the query index names by the subject's term, not the
//! whole log: its pack holds exactly the entries a full scan of the log finds (an exact,
//! case-sensitive match on `context.subject.pseudo_id`), whatever else the events hold.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use support::*;

fn about(n: u64, subject: &str) -> Value {
    let mut e = event(&uuid7(n), "bot");
    e["context"] = json!({"subject": {"pseudo_id": subject}});
    e["input"] = json!({"private": format!("prompt {n}")});
    e
}

/// The files of the pack at `path`.
fn files(path: &Path) -> BTreeMap<String, Vec<u8>> {
    sealog_evidence::archive::read_zip(std::fs::File::open(path).unwrap(), Default::default())
        .unwrap()
}

/// The lines of `entries.jsonl` of the pack at `path` (a chunked pack without entries has
/// no chunk of it, so none).
fn entry_lines(path: &Path) -> Vec<Vec<u8>> {
    let all = files(path);
    let entries = all.get("entries.jsonl").map_or(&[][..], Vec::as_slice);
    sealog_core::evidence::lines(entries)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

fn subject_of(line: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(line).unwrap();
    let event = if v["event"].is_object() {
        &v["event"]
    } else {
        &v["leaf"]["event"]
    };
    event["context"]["subject"]["pseudo_id"].clone()
}

#[test]
fn a_subject_pack_holds_exactly_what_a_full_scan_finds() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let long = format!("pseudo-{}", "x".repeat(193)); // too long to be a search term
    let mut crowded = about(5, "pseudo-Case");
    // More terms before the subject than an event has room for, were the subject not first.
    let words: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    crowded["agent"]["name"] = json!(words[..30].join(" "));
    crowded["context"]["tool"] = json!({"name": words[30..].join(" ")});
    let mut named_elsewhere = event(&uuid7(6), "bot");
    named_elsewhere["attributes"] = json!({"note": "pseudo-Case"});
    let events = vec![
        about(1, "pseudo-Case"),
        about(2, "pseudo-case"), // the same search term, another subject
        about(3, "PSEUDO-CASE"),
        about(4, &long),
        crowded,
        named_elsewhere,
        about(7, "pseudo-Case"),
        about(8, &long),
    ];
    // Exports cover the latest checkpoint: wait for one that holds every event.
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let body = json!({ "events": events }).to_string();
    let r = call("POST", &url, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.json()["accepted"], 8, "{}", r.body);
    let vkey = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        None,
    )
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    // Wait for the index, so that the index (not the scan of its tail) answers.
    log_until(&server, &admin, |log| log["index_watermark"] == log["size"]);

    let whole = dir.path().join("whole.zip");
    export_pack(&server, &admin, &whole);
    let all = entry_lines(&whole);
    assert_eq!(all.len(), 8);
    for (subject, want) in [
        ("pseudo-Case", vec![1, 5, 7]),
        ("pseudo-case", vec![2]),
        ("PSEUDO-CASE", vec![3]),
        (long.as_str(), vec![4, 8]),
        ("pseudo-nobody", vec![]),
    ] {
        let path = dir.path().join("subject.zip");
        let mut r = agent()
            .get(format!(
                "{}/v1/logs/default/subjects/{subject}/export",
                server.url
            ))
            .header("Authorization", format!("Bearer {admin}"))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{subject}");
        std::fs::write(&path, r.body_mut().read_to_vec().unwrap()).unwrap();
        verify(&path, &vkey);
        let scanned: Vec<Vec<u8>> = all
            .iter()
            .filter(|line| subject_of(line) == json!(subject))
            .cloned()
            .collect();
        assert_eq!(scanned.len(), want.len(), "{subject}");
        let got = entry_lines(&path);
        assert_eq!(got, scanned, "{subject}: the entries a full scan finds");
        for n in want {
            let id = uuid7(n);
            assert!(
                got.iter().any(|l| String::from_utf8_lossy(l).contains(&id)),
                "{subject} {n}"
            );
        }
    }
}
