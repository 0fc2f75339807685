//! Retention of whole entries over real HTTP against the real binary, with the test clock:
//! on a log with `prune_entries`, entries recorded "200 days ago" are pruned up to the first
//! one a hold covers, read back as 410 `pruned` with the range, left out of queries and
//! exports; what is kept verifies (receipts, a pack, `sealog fsck`) across a restart; lifting
//! the hold lets the next prune through; with the setting off every entry is kept; a prune
//! cut short by a crash (its range stated, nothing removed) or by SIGKILL leaves a log that
//! opens and checks clean.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::*;

const DAYS_200: &str = "-17280000";

fn start(data: &Path, envs: &[(&str, &str)]) -> Serve {
    let args = ["--name", "test.local", "--prune-interval-ms", "200"];
    Serve::start_with(data, &args, envs)
}

fn start_old(data: &Path) -> Serve {
    start(data, &[("SEALOG_TEST_ONLY_CLOCK_OFFSET_SECONDS", DAYS_200)])
}

fn url(server: &Serve, path: &str) -> String {
    format!("{}/v1/logs/default{path}", server.url)
}

fn send(server: &Serve, method: &str, path: &str, token: &str, body: Value) -> Reply {
    let body = body.to_string();
    call(
        method,
        &url(server, path),
        Some(token),
        Some(body.as_bytes()),
    )
}

fn get(server: &Serve, path: &str, token: &str) -> Reply {
    call("GET", &url(server, path), Some(token), None)
}

fn in_session(n: u64, session: &str) -> Value {
    let mut e = event(&uuid7(n), "bot");
    e["session"] = json!({"id": session});
    e
}

/// Records events `ns` in `session`, all accepted.
fn record(server: &Serve, token: &str, ns: &[u64], session: &str) {
    let events: Vec<Value> = ns.iter().map(|&n| in_session(n, session)).collect();
    let r = send(
        server,
        "POST",
        "/events",
        token,
        json!({ "events": events }),
    );
    assert_eq!(r.json()["accepted"], ns.len(), "{}", r.body);
}

fn event_reply(server: &Serve, token: &str, n: u64) -> Reply {
    get(server, &format!("/events/{}", uuid7(n)), token)
}

fn assert_pruned(reply: &Reply, range: &str) {
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (410, "pruned"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(range), "{}", reply.body);
}

/// A receipt of event `n` from the server, verified with `sealog verify`.
fn verify_receipt(server: &Serve, token: &str, n: u64, vkey: &str, to: &Path) {
    let proof = get(server, &format!("/events/{}/proof", uuid7(n)), token);
    assert_eq!(proof.status, 200, "{}", proof.body);
    std::fs::write(to, &proof.body).unwrap();
    verify(to, vkey);
}

/// Exports the whole log and verifies the pack; returns what `sealog verify` printed.
fn verify_export(server: &Serve, token: &str, vkey: &str, to: &Path) -> String {
    log_until(server, token, |i| i["checkpoint"]["size"] == i["size"]);
    export_pack(server, token, to);
    verify(to, vkey)
}

fn fsck(data: &Path) -> String {
    let (code, out) = sealog(&["fsck", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("INCONSISTENT"), "{out}");
    out
}

fn entries_pruned(server: &Serve, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    log_until(server, token, |i| done(&i["retention"]))["retention"].clone()
}

#[test]
fn old_entries_are_pruned_whole_up_to_a_hold_and_the_kept_ones_verify_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let old = start_old(&data);
    let admin = old.admin_token();
    let set = send(&old, "PATCH", "", &admin, json!({"prune_entries": true}));
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.json()["retention"]["prune_entries"],
        true,
        "{}",
        set.body
    );
    assert_eq!(set.json()["retention"]["prunes"], "content and entries");
    // 0: retention_changed, 1..=3: s-old, 4: s-held, 5: legal_hold; all 200 days old.
    record(&old, &admin, &[1, 2, 3], "s-old");
    record(&old, &admin, &[4], "s-held");
    let hold = send(
        &old,
        "POST",
        "/holds",
        &admin,
        json!({"reason": "case 9", "session": "s-held"}),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold = hold.json()["id"].as_str().unwrap().to_owned();
    // Nothing is past retention by the clock it runs on.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(event_reply(&old, &admin, 1).status, 200);
    let meta = log_until(&old, &admin, |i| i["checkpoint"]["size"] == i["size"]);
    assert_eq!(meta["retention"]["entries_pruned_below"], 0, "{meta}");
    let vkey = meta["vkey"].as_str().unwrap().to_owned();
    let early_receipt = dir.path().join("e4-before.tlog-proof");
    verify_receipt(&old, &admin, 4, &vkey, &early_receipt);
    assert!(old.terminate().success());

    // Today: entries 0 to 3 go, entry 4 (held) and everything after it stay.
    let now = start(&data, &[]);
    record(&now, &admin, &[5], "s-new");
    let retention = entries_pruned(&now, &admin, |r| {
        r["last_entries_prune"]["recorded"] == true
    });
    assert_eq!(retention["entries_pruned_below"], 4, "{retention}");
    let last = &retention["last_entries_prune"];
    assert_eq!((&last["from"], &last["to"]), (&json!(0), &json!(4)));
    let prune_event = get(
        &now,
        &format!("/events/{}", last["event_id"].as_str().unwrap()),
        &admin,
    );
    assert_eq!(
        prune_event.json()["event"]["attributes"],
        json!({"from": 0, "to": 4, "entries_pruned": true, "retention_days": 180,
               "below_minimum": false}),
        "{}",
        prune_event.body
    );
    let check_kept_and_pruned = |server: &Serve, name: &str| {
        for n in [1, 2, 3] {
            assert_pruned(&event_reply(server, &admin, n), "entries 0 to 3");
        }
        for n in [4, 5] {
            assert_eq!(event_reply(server, &admin, n).status, 200);
        }
        // The bundle holding the pruned entries is gone; the tree's hash tiles are not.
        let size = log_until(server, &admin, |i| i["checkpoint"]["size"] == i["size"])
            ["checkpoint"]["size"]
            .as_u64()
            .unwrap();
        let tlog = |path: &str| {
            let at = format!("{}/tlog/default/tile/{path}", server.url);
            call("GET", &at, Some(&admin), None)
        };
        assert_pruned(&tlog(&format!("entries/000.p/{size}")), "entries 0 to 3");
        assert_eq!(tlog(&format!("0/000.p/{size}")).status, 200);
        // Queries leave pruned entries out.
        let listed = get(server, "/events?agent=bot", &admin).json();
        let ids: Vec<&str> = listed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [uuid7(5), uuid7(4)], "{listed}");
        // What is kept verifies: a receipt from before, a new one, a pack of the kept range.
        verify(&early_receipt, &vkey);
        verify_receipt(
            server,
            &admin,
            5,
            &vkey,
            &dir.path().join(format!("{name}.proof")),
        );
        let out = verify_export(
            server,
            &admin,
            &vkey,
            &dir.path().join(format!("{name}.zip")),
        );
        assert!(
            out.contains("entries 0 to 3 were pruned by retention before this export"),
            "{out}"
        );
        assert!(out.contains("log indices 4 to"), "{out}");
    };
    check_kept_and_pruned(&now, "after");
    assert!(now.terminate().success());
    let out = fsck(&data);
    assert!(
        out.contains("entries 0 to 3 were pruned by retention"),
        "{out}"
    );
    // The pruned records are gone from the segment they shared with the kept ones.
    let segment = std::fs::read(data.join("logs/default/entries/00000000000000000000.seg"));
    let segment = segment.unwrap();
    for (n, kept) in [(1, false), (3, false), (4, true)] {
        let id = uuid7(n);
        let found = segment.windows(id.len()).any(|w| w == id.as_bytes());
        assert_eq!(found, kept, "event {n}");
    }

    // Restarted: all of it still holds. Lifting the hold lets the next prune through, up to
    // the first entry received today.
    let again = start(&data, &[]);
    check_kept_and_pruned(&again, "restarted");
    let lifted = call(
        "DELETE",
        &url(&again, &format!("/holds/{hold}")),
        Some(&admin),
        None,
    );
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    // The first entry received today: the event recorded today or the first prune's event.
    let index_of = |id: &str| {
        let reply = get(&again, &format!("/events/{id}"), &admin);
        reply.json()["index"].as_u64().unwrap()
    };
    let first_new = index_of(&uuid7(5)).min(index_of(last["event_id"].as_str().unwrap()));
    let retention = entries_pruned(&again, &admin, |r| {
        r["entries_pruned_below"] == first_new && r["last_entries_prune"]["recorded"] == true
    });
    assert_eq!(retention["last_entries_prune"]["from"], 4, "{retention}");
    assert_pruned(
        &event_reply(&again, &admin, 4),
        &format!("entries 0 to {}", first_new - 1),
    );
    let out = verify_export(&again, &admin, &vkey, &dir.path().join("lifted.zip"));
    assert!(out.contains("entries 4 to"), "{out}");
    assert!(again.terminate().success());
    fsck(&data);

    // The query index rebuilt from the kept entries (pruned ones count as empty leaves): the
    // kept events are found, a pruned one's id is no longer known, and the answer says why.
    let (code, out) = sealog(&["reindex", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let rebuilt = start(&data, &[]);
    let gone = event_reply(&rebuilt, &admin, 1);
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(
        gone.body.contains("were pruned by retention"),
        "{}",
        gone.body
    );
    assert_eq!(event_reply(&rebuilt, &admin, 5).status, 200);
    let listed = get(&rebuilt, "/events?agent=bot", &admin).json();
    assert_eq!(listed["events"].as_array().unwrap().len(), 1, "{listed}");
    assert!(rebuilt.terminate().success());
}

#[test]
fn with_the_setting_off_every_entry_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let old = start_old(&data);
    let admin = old.admin_token();
    let mut private = in_session(1, "s-old");
    private["input"] = json!({"private": "prompt 1"});
    private["context"] = json!({"subject": {"pseudo_id": "pseudo-1"}});
    let r = send(
        &old,
        "POST",
        "/events",
        &admin,
        json!({"events": [private]}),
    );
    assert_eq!(r.json()["accepted"], 1, "{}", r.body);
    record(&old, &admin, &[2], "s-old");
    assert!(old.terminate().success());

    let now = start(&data, &[]);
    // The content prune ran (and was recorded); the entries stay.
    let retention = entries_pruned(&now, &admin, |r| r["last_prune"]["recorded"] == true);
    assert_eq!(
        (
            &retention["prune_entries"],
            &retention["entries_pruned_below"]
        ),
        (&json!(false), &json!(0)),
        "{retention}"
    );
    for n in [1, 2] {
        assert_eq!(event_reply(&now, &admin, n).status, 200);
    }
    assert!(now.terminate().success());
    fsck(&data);
}

#[test]
fn a_prune_cut_short_by_a_crash_leaves_a_log_that_opens_and_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let old = start_old(&data);
    let admin = old.admin_token();
    let set = send(&old, "PATCH", "", &admin, json!({"prune_entries": true}));
    assert_eq!(set.status, 200, "{}", set.body);
    record(&old, &admin, &(1..=300).collect::<Vec<_>>(), "s-old");
    let meta = log_until(&old, &admin, |i| i["checkpoint"]["size"] == i["size"]);
    let vkey = meta["vkey"].as_str().unwrap().to_owned();
    assert!(old.terminate().success());
    let before = dir.path().join("before");
    copy_dir(&data, &before);

    // SIGKILL at several moments around the first prune: each log opens, finishes or redoes
    // the prune, and checks clean.
    for (round, delay) in [150u64, 220, 300].into_iter().enumerate() {
        let copy = dir.path().join(format!("killed-{round}"));
        copy_dir(&before, &copy);
        let server = start(&copy, &[]);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill();
        fsck(&copy);
        let server = start(&copy, &[]);
        // Every old entry goes (0 to 300), the newest signed one by the next prune.
        let retention = entries_pruned(&server, &admin, |r| {
            r["entries_pruned_below"] == 301 && r["last_entries_prune"]["recorded"] == true
        });
        assert_eq!(retention["last_entries_prune"]["to"], 301, "{retention}");
        assert_pruned(&event_reply(&server, &admin, 1), "entries 0 to 300");
        assert_pruned(&event_reply(&server, &admin, 300), "entries 0 to 300");
        verify_export(
            &server,
            &admin,
            &vkey,
            &dir.path().join(format!("k{round}.zip")),
        );
        assert!(server.terminate().success());
        fsck(&copy);
    }

    // The crash right after the first prune stated its range durably, before any record
    // went and before its event: the files from before with the state a prune of entries 0
    // to 299 writes first (entry 300 is the newest signed one, so it stays). The open removes
    // the records; the job records the prune, then prunes entry 300.
    let stated = dir.path().join("stated");
    copy_dir(&before, &stated);
    let offsets = std::fs::read(stated.join("logs/default/offsets")).unwrap();
    let offset = u64::from_le_bytes(offsets[300 * 8..301 * 8].try_into().unwrap());
    let event_id = uuid7(1000);
    let state = json!({"below": 300, "segment": 0, "offset": offset, "last": {
        "event_id": event_id, "at": "2026-12-07T00:00:00.000000Z", "from": 0, "to": 300,
        "recorded": false}});
    std::fs::write(stated.join("logs/default/pruned"), state.to_string()).unwrap();
    let out = fsck(&stated);
    assert!(
        out.contains("entries 0 to 299 were pruned by retention"),
        "{out}"
    );
    let server = start(&stated, &[]);
    let retention = entries_pruned(&server, &admin, |r| {
        r["entries_pruned_below"] == 301 && r["last_entries_prune"]["recorded"] == true
    });
    assert_eq!(retention["last_entries_prune"]["from"], 300, "{retention}");
    let first = get(&server, &format!("/events/{event_id}"), &admin);
    assert_eq!(
        first.json()["event"]["attributes"]["to"],
        300,
        "the stated prune is recorded: {}",
        first.body
    );
    assert_pruned(&event_reply(&server, &admin, 2), "entries 0 to 300");
    verify_export(&server, &admin, &vkey, &dir.path().join("stated.zip"));
    assert!(server.terminate().success());
    fsck(&stated);
}

#[test]
fn a_log_on_postgres_refuses_the_setting() {
    let db = pg_support::TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let store = db.url();
    let envs = [("SEALOG_STORE_KEY", "42".repeat(32))];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Serve::start_with(&dir.path().join("data"), &["--store", &store], &envs);
    let admin = server.admin_token();
    let refused = send(&server, "PATCH", "", &admin, json!({"prune_entries": true}));
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (409, "unsupported")
    );
    assert!(refused.body.contains("embedded store"), "{}", refused.body);
}

/// Copies a stopped server's data directory.
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}
