//! Retention over real HTTP against the real binary, with the test clock: content recorded
//! "200 days ago" is pruned past the default 180 days, recorded by a `prune` event, and read
//! back as 410 `pruned` with the range; a hold keeps what it covers until it is lifted;
//! receipts and packs still verify and fsck is clean; a retention below six months needs the
//! explicit override, which the log's metadata shows; the test clock is refused off loopback.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

const DAYS_200: &str = "-17280000";

fn start(data: &Path, envs: &[(&str, &str)]) -> Serve {
    let args = ["--name", "test.local", "--prune-interval-ms", "200"];
    Serve::start_with(data, &args, envs)
}

fn url(server: &Serve, path: &str) -> String {
    format!("{}/v1/logs/default{path}", server.url)
}

fn post(server: &Serve, path: &str, token: &str, body: Value) -> Reply {
    call(
        "POST",
        &url(server, path),
        Some(token),
        Some(body.to_string().as_bytes()),
    )
}

fn info(server: &Serve, token: &str) -> Value {
    call("GET", &url(server, ""), Some(token), None).json()
}

fn private(n: u64, subject: &str, session: &str) -> Value {
    let mut e = event(&uuid7(n), "bot");
    e["action"] = json!("llm_call");
    e["session"] = json!({"id": session});
    e["input"] = json!({"private": format!("prompt {n}")});
    e["output"] = json!({"private": format!("answer {n}")});
    e["context"] = json!({"subject": {"pseudo_id": subject}});
    e
}

fn content(server: &Serve, token: &str, n: u64) -> Reply {
    let path = format!("/events/{}/content", uuid7(n));
    call("GET", &url(server, &path), Some(token), None)
}

/// The log's metadata once `done` holds for it (within 20 s).
fn wait_info(server: &Serve, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let i = info(server, token);
        if done(&i) {
            return i;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never reached: {}", info(server, token));
}

/// The events the server recorded itself, oldest first, once the index has all of them.
fn server_events(server: &Serve, token: &str) -> Vec<Value> {
    let page = wait_info(server, token, |i| i["index_watermark"] == i["size"]);
    assert!(page["size"].as_u64().unwrap() > 0);
    let list = call(
        "GET",
        &url(server, "/events?agent=sealog"),
        Some(token),
        None,
    )
    .json();
    let mut out: Vec<Value> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect();
    out.reverse();
    out
}

fn verify(file: &Path, vkey: &str) -> String {
    let (code, out) = sealog(&["verify", file.to_str().unwrap(), "--log-key", vkey]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID"), "{out}");
    out
}

#[test]
fn content_past_retention_is_pruned_unless_held_and_every_proof_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // 200 days ago, by the test clock: two subjects' content, one session under a hold.
    let old = start(
        &data,
        &[("SEALOG_TEST_ONLY_CLOCK_OFFSET_SECONDS", DAYS_200)],
    );
    let admin = old.admin_token();
    let events = [
        private(1, "pseudo-1", "s-old"),
        private(2, "pseudo-1", "s-old"),
        private(3, "pseudo-2", "s-held"),
        event(&uuid7(4), "bot"),
    ];
    let r = post(&old, "/events", &admin, json!({"events": events}));
    assert_eq!(r.json()["accepted"], 4, "{}", r.body);
    let hold = post(
        &old,
        "/holds",
        &admin,
        json!({"reason": "case 9", "session": "s-held"}),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold = hold.json()["id"].as_str().unwrap().to_owned();
    // Nothing is past retention by the clock it runs on, however often the job runs.
    std::thread::sleep(Duration::from_millis(800));
    let meta = info(&old, &admin);
    let retention = &meta["retention"];
    assert_eq!(
        (
            &retention["days"],
            &retention["below_minimum"],
            &retention["last_prune"]
        ),
        (&json!(180), &json!(false), &Value::Null),
        "{meta}"
    );
    assert_eq!(
        retention["test_clock_offset_seconds"], -17_280_000,
        "{meta}"
    );
    assert_eq!(content(&old, &admin, 1).status, 200);
    let vkey = meta["vkey"].as_str().unwrap().to_owned();
    let receipt = dir.path().join("e1.tlog-proof");
    let proof = call(
        "GET",
        &url(&old, &format!("/events/{}/proof", uuid7(1))),
        Some(&admin),
        None,
    );
    assert_eq!(proof.status, 200, "{}", proof.body);
    std::fs::write(&receipt, &proof.body).unwrap();
    assert!(old.terminate().success());

    // Today, on the real clock: the old content goes, except what the hold covers.
    let now = start(&data, &[]);
    let r = post(
        &now,
        "/events",
        &admin,
        json!({"events": [private(5, "pseudo-1", "s-new")]}),
    );
    assert_eq!(r.json()["accepted"], 1, "{}", r.body);
    // Recorded: the prune's event is in the log.
    let meta = wait_info(&now, &admin, |i| {
        i["retention"]["last_prune"]["recorded"] == true
    });
    let last = &meta["retention"]["last_prune"];
    assert_eq!(
        (&last["from"], &last["to"], &last["blobs"], &last["held"]),
        (&json!(0), &json!(5), &json!(4), &json!(2)),
        "{meta}"
    );
    assert_eq!(meta["retention"]["content_pruned_below"], 5, "{meta}");
    assert_eq!(meta["retention"]["held_from"], 2, "{meta}");
    assert!(
        meta["retention"].get("test_clock_offset_seconds").is_none(),
        "{meta}"
    );
    for n in [1, 2] {
        let gone = content(&now, &admin, n);
        assert_eq!(
            (gone.status, gone.error_code().as_str()),
            (410, "pruned"),
            "{}",
            gone.body
        );
        assert!(gone.body.contains("entries 0 to 4"), "{}", gone.body);
    }
    assert_eq!(content(&now, &admin, 3).json()["input"], "prompt 3");
    assert_eq!(content(&now, &admin, 5).json()["output"], "answer 5");
    let recorded = server_events(&now, &admin);
    let actions: Vec<&str> = recorded
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["legal_hold", "prune"]);
    let attributes = &recorded[1]["attributes"];
    assert_eq!(
        attributes,
        &json!({"from": 0, "to": 5, "blobs": 4, "held": 2, "retention_days": 180,
                "below_minimum": false, "entries_pruned": false}),
    );
    assert_eq!(recorded[1]["id"], last["event_id"]);

    // Lifting the hold lets the next prune through.
    let lifted = call(
        "DELETE",
        &url(&now, &format!("/holds/{hold}")),
        Some(&admin),
        None,
    );
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let meta = wait_info(&now, &admin, |i| {
        let latest = &i["retention"]["last_prune"];
        latest["event_id"] != last["event_id"] && latest["recorded"] == true
    });
    let second = &meta["retention"]["last_prune"];
    assert_eq!(
        (
            &second["from"],
            &second["to"],
            &second["blobs"],
            &second["held"]
        ),
        (&json!(2), &json!(5), &json!(2), &json!(0)),
        "{meta}"
    );
    assert!(meta["retention"]["held_from"].is_null(), "{meta}");
    assert_eq!(content(&now, &admin, 3).error_code(), "pruned");
    assert_eq!(content(&now, &admin, 5).status, 200);
    let actions: Vec<String> = server_events(&now, &admin)
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["legal_hold", "prune", "legal_hold_lifted", "prune"]
    );

    // Every entry is kept: the receipt from before and a pack of the whole log verify.
    verify(&receipt, &vkey);
    wait_info(&now, &admin, |i| i["checkpoint"]["size"] == i["size"]);
    let pack = dir.path().join("after.zip");
    let (code, out) = sealog(&[
        "export",
        "--server",
        &now.url,
        "--token",
        &admin,
        "-o",
        pack.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let out = verify(&pack, &vkey);
    let first = "by retention (180 days): 4 payload(s) of entries 0 to 4 removed, 2 kept under a \
                 hold; the entries verify";
    assert!(out.contains(first), "{out}");
    assert!(
        out.contains("2 payload(s) of entries 2 to 4 removed, 0 kept"),
        "{out}"
    );
    assert!(now.terminate().success());
    let (code, out) = sealog(&["fsck", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_retention_below_six_months_needs_the_override_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let patch = |body: Value| {
        call(
            "PATCH",
            &url(&server, ""),
            Some(&admin),
            Some(body.to_string().as_bytes()),
        )
    };
    let refused = patch(json!({"retention_days": 30}));
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (422, "invalid_retention")
    );
    assert!(
        refused.body.contains("retention_below_minimum"),
        "{}",
        refused.body
    );
    assert_eq!(patch(json!({"retention_days": 0})).status, 422);
    assert_eq!(patch(json!({"retention_days": 36501})).status, 422);
    assert_eq!(info(&server, &admin)["retention"]["days"], 180);

    let set = patch(json!({"retention_days": 30, "retention_below_minimum": true}));
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        (
            &set.json()["retention"]["days"],
            &set.json()["retention"]["below_minimum"]
        ),
        (&json!(30), &json!(true))
    );
    // Back to six months and more: the override no longer applies.
    let back = patch(json!({"retention_days": 365}));
    assert_eq!(
        back.json()["retention"]["below_minimum"],
        false,
        "{}",
        back.body
    );
    assert_eq!(patch(json!({"retention_days": 365})).status, 200);
    let changes: Vec<Value> = server_events(&server, &admin)
        .into_iter()
        .map(|e| e["attributes"].clone())
        .collect();
    assert_eq!(
        changes,
        [
            json!({"retention_days": 30, "below_minimum": true, "prune_entries": false}),
            json!({"retention_days": 365, "below_minimum": false, "prune_entries": false})
        ],
        "an unchanged retention records nothing"
    );
    // Neither the metadata nor the prune job makes a content store for a log without content.
    assert!(!server.data.join("content/default").exists());
    // An agent cannot record a prune or a retention change itself.
    let mut forged = event(&uuid7(9), "sealog");
    forged["action"] = json!("prune");
    let r = post(&server, "/events", &admin, json!({"events": [forged]}));
    assert_eq!(r.json()["accepted"], 0, "{}", r.body);
}

#[test]
fn the_test_clock_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path().join("data"))
        .env("SEALOG_TEST_ONLY_CLOCK_OFFSET_SECONDS", "86400")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("only a server on a loopback address"),
        "{text}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was started");
}
