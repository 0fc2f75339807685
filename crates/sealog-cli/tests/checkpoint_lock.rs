//! The checkpoint lock, over the real binary: a log restored from an old backup of the whole
//! data directory is not served, with a message that says what happened (the server serves
//! the rest), a start from the newest data
//! goes on, and a lock that belongs to another server or sits inside the data directory is
//! refused.

mod support;

use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::*;

/// Records `n` events from `first` on and waits for a checkpoint covering them.
fn record(server: &Serve, first: u64, n: u64) {
    let events: Vec<_> = (first..first + n)
        .map(|i| event(&uuid7(i), "bot"))
        .collect();
    let reply = call(
        "POST",
        &format!("{}/v1/logs/default/events?wait=checkpoint", server.url),
        Some(&server.admin_token()),
        Some(&serde_json::to_vec(&json!({ "events": events })).unwrap()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Starts the server on `data` with `args` and returns its error output, expecting it to stop.
fn refused(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "test.local",
            "--data",
        ])
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Starts the server on `data` with `args`, expecting its log `default` not to open: the
/// server serves the rest, answers that log's requests 503 `log_damaged`, and reports it on
/// `/readyz` and `/metrics`. Returns the readiness message.
fn damaged(data: &Path, args: &[&str]) -> String {
    let server = Serve::start(data, args);
    let token = server.admin_token();
    let log = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&token),
        None,
    );
    assert_eq!(log.status, 503, "{}", log.body);
    assert_eq!(log.error_code(), "log_damaged");
    let metrics = call(
        "GET",
        &format!("{}/metrics", server.url),
        Some(&token),
        None,
    );
    assert!(
        metrics
            .body
            .contains("sealog_log_damaged{log=\"default\"} 1"),
        "{}",
        metrics.body
    );
    let logs = call(
        "GET",
        &format!("{}/v1/logs", server.url),
        Some(&token),
        None,
    )
    .json();
    assert_eq!(logs["damaged"][0]["name"], "default", "{logs}");
    let ready = call("GET", &format!("{}/readyz", server.url), None, None);
    assert_eq!(ready.status, 503, "{}", ready.body);
    // The server still serves: it can make another log.
    let other = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&token),
        Some(br#"{"name": "other"}"#),
    );
    assert_eq!(other.status, 201, "{}", other.body);
    ready.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_log_from_an_old_backup_of_the_whole_data_directory_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let (data, lock, backup) = (
        dir.path().join("data"),
        dir.path().join("lock"),
        dir.path().join("backup"),
    );
    let lock_arg = ["--checkpoint-lock", lock.to_str().unwrap()];
    let server = Serve::start(&data, &lock_arg);
    record(&server, 0, 5);
    assert!(server.terminate().success());
    copy_dir(&data, &backup);
    let server = Serve::start(&data, &lock_arg);
    record(&server, 5, 5);
    assert!(server.terminate().success());

    // The backup has every file of a consistent log, only an older one.
    std::fs::rename(&data, dir.path().join("newest")).unwrap();
    std::fs::rename(&backup, &data).unwrap();
    let err = damaged(&data, &lock_arg);
    assert!(
        err.contains("log default: the checkpoint lock in")
            && err.contains("holds a signed checkpoint of size 10 that the data directory's tree (5 entries) does not extend")
            && err.contains("restored from an older backup"),
        "{err}"
    );
    // Without the lock the same start goes unnoticed: that is what the lock is for.
    let unlocked = Serve::start(&data, &[]);
    drop(unlocked);

    // The newest data opens with the lock and goes on growing.
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(dir.path().join("newest"), &data).unwrap();
    let server = Serve::start(&data, &lock_arg);
    record(&server, 10, 5);
    assert!(server.terminate().success());
}

#[test]
fn a_lock_of_another_server_or_inside_the_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("lock");
    let lock_arg = ["--checkpoint-lock", lock.to_str().unwrap()];
    let server = Serve::start(&dir.path().join("a"), &lock_arg);
    record(&server, 0, 3);
    assert!(server.terminate().success());
    // Another server's log of the same name: its lock was signed by another key.
    let err = refused(&dir.path().join("b"), &lock_arg);
    assert!(
        err.contains("log default: its checkpoint lock is unusable")
            && err.contains("belongs to another server"),
        "{err}"
    );
    let inside = dir.path().join("a").join("lock");
    let err = refused(
        &dir.path().join("a"),
        &["--checkpoint-lock", inside.to_str().unwrap()],
    );
    assert!(err.contains("is inside the data directory"), "{err}");
}
