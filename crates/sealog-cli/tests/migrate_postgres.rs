//! `sealog migrate --from DIR --to postgres://…` and `sealog fsck --store`: a data directory
//! made by a real `sealog serve` is copied into a real PostgreSQL, proven, and served from
//! there with the same checkpoints and receipts; fsck finds damage in the rows; a store that
//! has the logs and a directory in use are refused; a migration killed half-way is found and
//! finished by the next run, and a half copy changed meanwhile fails the proof and is removed.

mod support;

mod pg_nodes;

use pg_nodes::{admin, check_consistent, key_file, node, open, post, results, served_checkpoint};
use sealog_core::note::Verifier;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::pg_support::TestDb;
use support::{Serve, call, event, sealog, uuid7};

/// An embedded server on `data` with a short checkpoint interval.
fn embedded(data: &Path) -> Serve {
    Serve::start(data, &["--checkpoint-interval-ms", "100"])
}

/// Records events `ns` of agent `bot` in `log` of the embedded `server`, waiting for a
/// checkpoint.
fn record(server: &Serve, token: &str, log: &str, ns: std::ops::Range<u64>) {
    let events: Vec<Value> = ns.map(|n| event(&uuid7(n), "bot")).collect();
    let url = format!("{}/v1/logs/{log}/events?wait=checkpoint", server.url);
    let body = json!({ "events": events }).to_string();
    let reply = call("POST", &url, Some(token), Some(body.as_bytes()));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// `GET path` on `server` with `token`, which must answer 200; the body.
fn get(server: &Serve, token: &str, path: &str) -> String {
    let reply = call("GET", &format!("{}{path}", server.url), Some(token), None);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.body
}

/// Every file under `dir` with its bytes, sorted by path: to show that nothing changed.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `sealog migrate --from data --to db` with the store key file `key` and `extra` flags.
fn migrate(data: &Path, db: &TestDb, key: &Path, extra: &[&str]) -> (i32, String) {
    let (url, data, key) = (db.url(), data.to_str().unwrap(), key.to_str().unwrap());
    let args = [
        &[
            "migrate",
            "--from",
            data,
            "--to",
            &url,
            "--store-key-file",
            key,
        ],
        extra,
    ]
    .concat();
    sealog(&args)
}

/// `sealog fsck --store db` with the store key file `key`.
fn fsck_store(db: &TestDb, key: &Path) -> (i32, String) {
    let url = db.url();
    sealog(&[
        "fsck",
        "--store",
        &url,
        "--store-key-file",
        key.to_str().unwrap(),
    ])
}

/// A stopped embedded deployment in `dir/data` with `default` holding `n` events (the
/// history holding the first checkpoint, after 20 of them) and `other` holding 5.
fn stopped_deployment(dir: &Path, n: u64) -> PathBuf {
    let data = dir.join("data");
    let server = embedded(&data);
    let token = server.admin_token();
    let made = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&token),
        Some(br#"{"name": "other"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    record(&server, &token, "default", 0..20);
    record(&server, &token, "default", 20..n);
    record(&server, &token, "other", 0..5);
    assert!(server.terminate().success());
    data
}

#[test]
fn a_migrated_directory_is_served_with_the_same_checkpoints_and_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The directory's admin key is the nodes' one, so that the helpers of `pg_nodes` work
    // on the store; that it came along is shown by the key list (creation time included).
    let server = Serve::start_with(
        &data,
        &["--checkpoint-interval-ms", "100"],
        &[("SEALOG_ADMIN_KEY", &admin())],
    );
    let token = admin();
    let made = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&token),
        Some(br#"{"name": "other"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    record(&server, &token, "default", 0..20);
    let early = get(&server, &token, "/v1/logs/default/checkpoint");
    let receipt = get(
        &server,
        &token,
        &format!("/v1/logs/default/events/{}/proof", uuid7(3)),
    );
    record(&server, &token, "default", 20..300);
    // The hold is an entry of `other` (the server's own), checkpointed with the events.
    let hold = call(
        "POST",
        &format!("{}/v1/logs/other/holds", server.url),
        Some(&token),
        Some(br#"{"reason": "litigation", "subject": "pseudo-7"}"#),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold_id = serde_json::from_str::<Value>(&hold.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    record(&server, &token, "other", 0..7);
    let vkey =
        serde_json::from_str::<Value>(&get(&server, &token, "/v1/logs/default")).unwrap()["vkey"]
            .as_str()
            .unwrap()
            .to_owned();
    let keys = get(&server, &token, "/v1/admin/keys");
    let last = get(&server, &token, "/v1/logs/default/checkpoint");
    let last_other = get(&server, &token, "/v1/logs/other/checkpoint");
    assert!(server.terminate().success());
    let before = contents(&data);

    let db = TestDb::create();
    let key = key_file(dir.path());
    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("log default: migrated and proven (300 entries; checkpoint at size 300"),
        "{out}"
    );
    assert!(
        out.contains("and 1 earlier checkpoint, the source's"),
        "{out}"
    );
    assert!(
        out.contains("log other: migrated and proven (8 entries; checkpoint at size 8"),
        "{out}"
    );
    assert!(
        out.contains("API keys and log settings: copied")
            && out.contains("legal holds of log other: copied"),
        "{out}"
    );
    assert!(before == contents(&data), "the source directory changed");
    let (code, out) = fsck_store(&db, &key);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("log default: ok (300 entries, last checkpoint at size 300)"));
    assert!(out.contains("log other: ok (8 entries, last checkpoint at size 8)"));

    // A node on the store serves the very checkpoints the embedded server signed, proofs
    // from the old ones, receipts, and dedup of the old ids; it appends after them.
    let pg = node(&db, &dir.path().join("node"), &key);
    assert_eq!(served_checkpoint(&pg), last);
    // The directory's keys came along with server.json.
    assert_eq!(get(&pg, &token, "/v1/admin/keys"), keys);
    // And the hold placed on the directory still blocks an erasure.
    let erasure = call(
        "POST",
        &format!("{}/v1/logs/other/subjects/pseudo-7/erasure", pg.url),
        Some(&token),
        Some(br#"{"reason": "Art. 17"}"#),
    );
    assert_eq!(erasure.status, 409, "{}", erasure.body);
    assert!(erasure.body.contains(&hold_id), "{}", erasure.body);
    let other = call(
        "GET",
        &format!("{}/v1/logs/other/checkpoint", pg.url),
        Some(&admin()),
        None,
    );
    assert_eq!(other.body, last_other);
    let log_key = Verifier::from_vkey(&vkey).unwrap();
    check_consistent(&pg, &open(&early, &log_key), &open(&last, &log_key));
    let served = get(
        &pg,
        &admin(),
        &format!("/v1/logs/default/events/{}/proof", uuid7(3)),
    );
    for (name, proof) in [("old", &receipt), ("new", &served)] {
        let file = dir.path().join(format!("{name}.tlog-proof"));
        std::fs::write(&file, proof).unwrap();
        support::verify(&file, &vkey);
    }
    assert_eq!(results(&post(&pg, 400..401))[0], ("accepted".into(), 300));
    let again: Vec<Value> = (5..6).map(|n| event(&uuid7(n), "bot")).collect();
    let dup = pg_nodes::post_events(&pg, &again);
    assert_eq!(results(&dup)[0], ("duplicate".into(), 5), "{}", dup.body);

    // fsck runs beside a serving node.
    let (code, out) = fsck_store(&db, &key);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("log default: ok (301 entries"), "{out}");
}

#[test]
fn fsck_of_the_store_finds_a_changed_leaf_a_changed_tree_hash_and_a_removed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = stopped_deployment(dir.path(), 300);
    let key = key_file(dir.path());
    let damaged = |damage: &str| {
        let db = TestDb::create();
        let (code, out) = migrate(&data, &db, &key, &[]);
        assert_eq!(code, 0, "{out}");
        db.execute(damage);
        let (code, out) = fsck_store(&db, &key);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("log other: ok (5 entries"), "{out}");
        out
    };
    let changed = damaged(
        "UPDATE sealog_entries SET leaf = leaf || '\\x00'::bytea WHERE idx = 7 AND log_id = \
         (SELECT id FROM sealog_logs WHERE name = 'default')",
    );
    assert!(
        changed.contains("log default: INCONSISTENT (7 entries")
            && changed.contains("the stored leaf hash of entry 7 is not the hash of its bytes"),
        "{changed}"
    );
    let rehashed =
        damaged("UPDATE sealog_tree_hashes SET hash = sha256(hash) WHERE level = 1 AND idx = 0");
    assert!(
        rehashed.contains("log default: INCONSISTENT (300 entries")
            && rehashed.contains("the stored hash of tree level 8 index 0 does not match"),
        "{rehashed}"
    );
    let removed = damaged(
        "DELETE FROM sealog_entries WHERE idx = 12 AND log_id = \
         (SELECT id FROM sealog_logs WHERE name = 'default')",
    );
    assert!(
        removed.contains("log default: INCONSISTENT (12 entries")
            && removed.contains("entry 12 is missing (the next stored entry is 13)"),
        "{removed}"
    );
}

#[test]
fn migrate_refuses_a_directory_in_use_and_a_store_that_has_its_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = key_file(dir.path());
    let db = TestDb::create();
    let running = embedded(&data);
    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("in use by a running server"), "{out}");
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sealog%'"),
        ["0"]
    );
    assert!(running.terminate().success());

    // A node made `default` in the store: nothing is copied.
    let pg = node(&db, &dir.path().join("node"), &key);
    drop(pg);
    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the store already has logs called default")
            && out.contains("nothing was copied"),
        "{out}"
    );
    assert_eq!(db.column("SELECT count(*) FROM sealog_entries"), ["0"]);
}

#[test]
fn a_migration_killed_half_way_is_found_and_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = embedded(&data);
    let token = server.admin_token();
    let total = 20_000;
    for first in (0..total).step_by(2_000) {
        let events: Vec<Value> = (first..first + 2_000)
            .map(|n| event(&uuid7(n), "bot"))
            .collect();
        let url = format!("{}/v1/logs/default/events", server.url);
        let body = json!({ "events": events }).to_string();
        let reply = call("POST", &url, Some(&token), Some(body.as_bytes()));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert!(server.terminate().success());
    let key = key_file(dir.path());
    let db = TestDb::create();

    killed_half_way(&data, &db, &key, total);

    // The half log is no log: fsck says so.
    let (code, out) = fsck_store(&db, &key);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("`sealog migrate` was interrupted"), "{out}");

    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("an interrupted copy was found in the store and continued from entry"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "log default: migrated and proven ({total} entries; checkpoint at size {total}"
        )),
        "{out}"
    );
    let (code, out) = fsck_store(&db, &key);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        db.column("SELECT count(*) FROM sealog_entries"),
        [total.to_string()]
    );

    // A copied row changed before the rerun: the proof fails, the copy is removed and never
    // served, and the next run copies afresh.
    let db = TestDb::create();
    killed_half_way(&data, &db, &key, total);
    db.execute("UPDATE sealog_entries SET leaf = leaf || '\\x00'::bytea WHERE idx = 5");
    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("log default: NOT PROVEN")
            && out.contains("the stored leaf hash of entry 5")
            && out.contains("the copy was removed from the store"),
        "{out}"
    );
    assert_eq!(db.column("SELECT count(*) FROM sealog_logs"), ["0"]);
    let (code, out) = migrate(&data, &db, &key, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("interrupted"), "{out}");
}

/// Runs `sealog migrate` of `data` into `db` in batches of 100 and kills it (SIGKILL) once
/// some are committed, before it finishes the copy of the `total` entries.
fn killed_half_way(data: &Path, db: &TestDb, key: &Path, total: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args([
            "migrate",
            "--from",
            data.to_str().unwrap(),
            "--to",
            &db.url(),
        ])
        .args([
            "--store-key-file",
            key.to_str().unwrap(),
            "--batch-entries",
            "100",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let copied = loop {
        // The schema comes in one transaction: once the table is there, so is its column.
        let made = db.column("SELECT count(*) FROM pg_tables WHERE tablename = 'sealog_logs'");
        let sizes = match made[0].as_str() {
            "0" => Vec::new(),
            _ => db.column("SELECT size FROM sealog_logs WHERE importing AND size > 0"),
        };
        if let Some(size) = sizes.first() {
            break size.parse::<u64>().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no batch copied"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(copied < total, "copied {copied} of {total} before the kill");
    assert_eq!(db.column("SELECT importing FROM sealog_logs"), ["t"]);
}
