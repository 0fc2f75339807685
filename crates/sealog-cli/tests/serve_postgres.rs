//! Several `sealog serve` nodes over one PostgreSQL store: one writes a log while the others
//! wait on standby and hand it their requests; a leader paused (SIGSTOP) past its lease
//! loses the log to another node and, resumed, appends and signs nothing more; every
//! checkpoint anyone served is one history.

mod support;

mod pg_nodes;

use pg_nodes::*;
use sealog_core::note::Verifier;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::call;
use support::pg_support::TestDb;

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

    // A made the log and writes it; B has it on standby and hands A its requests.
    let first = post(&a, 0..20);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(results(&first)[19], ("accepted".into(), 19));
    let on_b = post(&b, 20..21);
    assert_eq!(results(&on_b), [("accepted".into(), 20)], "{}", on_b.body);
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", a.url),
        Some(&admin()),
        None,
    );
    let log_key = Verifier::from_vkey(info.json()["vkey"].as_str().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = open(&served_checkpoint(&a), &log_key);
    assert_eq!(before.size, 21);

    // A pauses past its lease: B takes the log over and goes on from A's last group (a
    // request B handed the paused A meanwhile gets a 503 once the lease moves).
    signal(&a, "-STOP");
    let paused = Instant::now();
    let taken = loop {
        let reply = post(&b, 21..30);
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
    assert_eq!(results(&taken)[0], ("accepted".into(), 21));
    assert_eq!(results(&post(&b, 5..6))[0], ("duplicate".into(), 5));

    // A resumes: it appends nothing itself (the log is another node's now): its lost
    // lease refuses the first append, and then it hands its requests to B.
    signal(&a, "-CONT");
    let resumed = Instant::now();
    let through_a = loop {
        let reply = post(&a, 30..31);
        if reply.status == 200 {
            break reply;
        }
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(resumed.elapsed() < Duration::from_secs(3), "{}", reply.body);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(results(&through_a), [("accepted".into(), 30)]);
    assert_eq!(results(&post(&b, 30..40))[9], ("accepted".into(), 39));
    std::thread::sleep(Duration::from_millis(500));
    let on_a = call(
        "GET",
        &format!("{}/v1/logs/default/checkpoint", a.url),
        Some(&admin()),
        None,
    );
    assert_eq!(on_a.body, served_checkpoint(&b), "A serves B's checkpoint");
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
    let advertised_alone = serve_fails(&data, &["--advertise-url", "http://10.0.0.1:7300"], &[]);
    assert!(
        advertised_alone.contains("needs --store"),
        "{advertised_alone}"
    );
    for advertised in [
        "https://node1:7300",
        "http://node1:7300/sealog",
        "node1:7300",
    ] {
        let bad = serve_fails(
            &data,
            &[
                "--store",
                &url,
                "--store-key-file",
                key,
                "--advertise-url",
                advertised,
            ],
            &[],
        );
        assert!(bad.contains("--advertise-url takes"), "{advertised}: {bad}");
    }
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = serve_fails(&data, &["--store", &url, "--store-key-file", key], &[]);
    assert!(open.contains("may be read by others"), "{open}");
    assert_eq!(
        db.column("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sealog%'"),
        ["0"]
    );
}
