//! Several `sealog serve` nodes over one PostgreSQL store: one writes a log while the others
//! wait on standby; a leader paused (SIGSTOP) past its lease loses the log to another node
//! and, resumed, appends and signs nothing more; every checkpoint anyone served is one
//! history.

#[path = "../../sealog-storage/tests/pg_support/mod.rs"]
mod pg_support;
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pg_support::TestDb;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{Hash, verify_consistency};
use sealog_core::note::Verifier;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{Serve, call, event, uuid7};

/// The admin key every node is started with (each node keeps its own key store).
fn admin() -> String {
    format!("slk_0123456789abcdef_{}", "k".repeat(43))
}

/// The lease of the test nodes: short, so that a takeover takes about a second.
const LEASE_MS: &str = "1000";

/// A node over `db` with its own data directory `data`.
fn node(db: &TestDb, data: &Path, key_file: &Path) -> Serve {
    let url = db.url();
    let key = key_file.to_str().unwrap();
    let args = [
        "--name",
        "test.local",
        "--store",
        &url,
        "--store-key-file",
        key,
        "--lease-ms",
        LEASE_MS,
        "--checkpoint-interval-ms",
        "100",
    ];
    Serve::start_with(data, &args, &[("SEALOG_ADMIN_KEY", &admin())])
}

/// A store key file, mode 0600.
fn key_file(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("store.key");
    std::fs::write(&path, format!("{}\n", "3c".repeat(32))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Posts events `ns` to `server`'s log `default`.
fn post(server: &Serve, ns: std::ops::Range<u64>) -> crate::support::Reply {
    let events: Vec<Value> = ns.map(|n| event(&uuid7(n), "pg")).collect();
    let body = json!({ "events": events }).to_string();
    let url = format!("{}/v1/logs/default/events", server.url);
    call("POST", &url, Some(&admin()), Some(body.as_bytes()))
}

/// The indices `reply` gave, with their status.
fn results(reply: &crate::support::Reply) -> Vec<(String, u64)> {
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["index"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `server`'s latest checkpoint of `default`, as served.
fn served_checkpoint(server: &Serve) -> String {
    let url = format!("{}/v1/logs/default/checkpoint", server.url);
    let reply = call("GET", &url, Some(&admin()), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Signals `server` with `signal` (STOP, CONT).
fn signal(server: &Serve, signal: &str) {
    let pid = server.pid().to_string();
    let status = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(status.success());
}

fn open(note: &str, key: &Verifier) -> Checkpoint {
    checkpoint::open(note.as_bytes(), key)
        .unwrap_or_else(|e| panic!("checkpoint does not verify ({e}): {note}"))
        .0
}

/// Checks that `old` is consistent with `new`, with a proof `server` serves.
fn check_consistent(server: &Serve, old: &Checkpoint, new: &Checkpoint) {
    assert!(old.size <= new.size, "{} after {}", new.size, old.size);
    if old.size == new.size {
        assert_eq!(old.root, new.root, "two checkpoints of size {}", old.size);
        return;
    }
    if old.size == 0 {
        return; // every tree extends the empty one
    }
    let q = format!(
        "{}/v1/logs/default/proofs/consistency?from={}&to={}",
        server.url, old.size, new.size
    );
    let reply = call("GET", &q, Some(&admin()), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let proof: Vec<Hash> = reply.json()["proof"]
        .as_array()
        .expect("a proof")
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
        .unwrap_or_else(|e| panic!("{} is not consistent with {}: {e}", old.size, new.size));
}

/// Collects every distinct checkpoint the nodes at `urls` serve and the database holds,
/// until `stop`.
fn observe(
    urls: Vec<String>,
    db_url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen: Vec<String> = Vec::new();
        let db = TestDb::existing(&db_url);
        while !stop.load(Ordering::SeqCst) {
            for url in &urls {
                let url = format!("{url}/v1/logs/default/checkpoint");
                let reply = call("GET", &url, Some(&admin()), None);
                if reply.status == 200 && !seen.contains(&reply.body) {
                    seen.push(reply.body);
                }
            }
            for note in db.column("SELECT convert_from(checkpoint_note, 'UTF8') FROM sealog_logs") {
                if !seen.contains(&note) {
                    seen.push(note);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        seen
    })
}

#[test]
fn a_paused_leader_loses_the_log_and_signs_nothing_after() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let a = node(&db, &dir.path().join("a"), &key);
    let b = node(&db, &dir.path().join("b"), &key);
    assert!(!dir.path().join("b/admin.token").exists());
    let stop = Arc::new(AtomicBool::new(false));
    let observer = observe(vec![a.url.clone(), b.url.clone()], db.url(), stop.clone());

    // A made the log and writes it; B has it on standby and says so.
    let first = post(&a, 0..20);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(results(&first)[19], ("accepted".into(), 19));
    let on_b = post(&b, 20..21);
    assert_eq!(
        (on_b.status, on_b.error_code()),
        (503, "log_on_standby".into())
    );
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", a.url),
        Some(&admin()),
        None,
    );
    let log_key = Verifier::from_vkey(info.json()["vkey"].as_str().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = open(&served_checkpoint(&a), &log_key);
    assert_eq!(before.size, 20);

    // A pauses past its lease: B takes the log over and goes on from A's last group.
    signal(&a, "-STOP");
    let paused = Instant::now();
    let taken = loop {
        let reply = post(&b, 20..30);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(paused.elapsed() < Duration::from_secs(10), "no takeover");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The lease was renewed at most a third of it before the pause.
    let takeover = paused.elapsed();
    assert!(
        takeover >= Duration::from_millis(600),
        "taken over in {takeover:?}"
    );
    assert_eq!(results(&taken)[0], ("accepted".into(), 20));
    assert_eq!(results(&post(&b, 5..6))[0], ("duplicate".into(), 5));

    // A resumes: it refuses to append (the log is another node's now) and signs nothing.
    signal(&a, "-CONT");
    let refused = post(&a, 30..31);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(results(&post(&b, 30..40))[9], ("accepted".into(), 39));
    std::thread::sleep(Duration::from_millis(500));
    let on_a = call(
        "GET",
        &format!("{}/v1/logs/default/checkpoint", a.url),
        Some(&admin()),
        None,
    );
    assert_eq!(on_a.error_code(), "log_on_standby", "{}", on_a.body);
    stop.store(true, Ordering::SeqCst);
    let seen = observer.join().unwrap();

    // Every checkpoint anyone served or stored is one history, ending in B's.
    let last = open(&served_checkpoint(&b), &log_key);
    assert_eq!(last.size, 40);
    assert_eq!(
        db.column("SELECT size || ' ' || checkpoint_size FROM sealog_logs"),
        ["40 40"]
    );
    assert!(seen.len() >= 3, "too few checkpoints seen: {seen:?}");
    for note in &seen {
        check_consistent(&b, &open(note, &log_key), &last);
    }
    eprintln!("takeover after SIGSTOP of the leader: {takeover:?} (lease {LEASE_MS} ms)");
}

/// `sealog serve` with `args`: its exit code and what it printed on stderr.
fn serve_fails(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env_remove("SEALOG_STORE_KEY")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn store_settings_are_checked_before_anything_starts() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = db.url();
    let key = key_file(dir.path());
    let key = key.to_str().unwrap();

    let no_key = serve_fails(&data, &["--store", &url], &[]);
    assert!(no_key.contains("needs a store key"), "{no_key}");
    let not_pg = serve_fails(
        &data,
        &["--store", "mysql://db/x", "--store-key-file", key],
        &[],
    );
    assert!(not_pg.contains("--store takes a postgres://"), "{not_pg}");
    let short = serve_fails(&data, &["--store", &url], &[("SEALOG_STORE_KEY", "abcd")]);
    assert!(short.contains("not 64 hex digits"), "{short}");
    let lone = serve_fails(&data, &["--lease-ms", "500"], &[]);
    assert!(lone.contains("need --store"), "{lone}");
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = serve_fails(&data, &["--store", &url, "--store-key-file", key], &[]);
    assert!(open.contains("may be read by others"), "{open}");
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sealog%'"),
        ["0"]
    );
}
