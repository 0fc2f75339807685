//! What the client commands print, against a real `sealog serve`: nothing breaks when the
//! reader of their output goes away, columns line up, an empty export is called out, `fsck`
//! keeps off a directory a running server holds, and counts of one read as one.

mod support;

use serde_json::json;
use std::process::{Command, Output, Stdio};
use support::{Serve, call, event, uuid7};

/// Runs `sealog args` with its output captured.
fn sealog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `sealog args` with its stdout a pipe whose reading end is already closed, as
/// `sealog … | head -0` leaves it; returns the exit status and what it wrote on stderr.
fn into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Records one event in the log `default`, waiting for its checkpoint.
fn record_one(server: &Serve) {
    let body = serde_json::to_vec(&json!({"events": [event(&uuid7(1), "bot")]})).unwrap();
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let reply = call("POST", &url, Some(&server.admin_token()), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn listing_and_exporting_into_a_closed_pipe_end_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    record_one(&server);
    let admin = server.admin_token();
    let pack = dir.path().join("pack.zip");
    let remote = ["--server", &server.url, "--token", &admin];
    let commands: [Vec<&str>; 3] = [
        [&["logs", "list"][..], &remote].concat(),
        [&["keys", "list"][..], &remote].concat(),
        [&["export", "-o", pack.to_str().unwrap()][..], &remote].concat(),
    ];
    for args in &commands {
        let (status, stderr) = into_closed_pipe(args);
        assert!(status.success(), "{args:?}: {status}, {stderr}");
        assert_eq!(stderr, "", "{args:?} complained");
    }
    assert!(pack.is_file(), "the pack was written all the same");
}

#[test]
fn logs_list_aligns_every_vkey() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let long = "a-log-whose-name-is-longer-than-the-old-column";
    let out = sealog(&[
        "logs",
        "create",
        long,
        "--server",
        &server.url,
        "--token",
        &admin,
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = sealog(&["logs", "list", "--server", &server.url, "--token", &admin]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let column = lines[0].find("vkey").unwrap();
    for line in &lines[1..] {
        let vkey = line.find("test.local/").unwrap_or_else(|| panic!("{text}"));
        assert_eq!(vkey, column, "vkeys start under the heading:\n{text}");
    }
}

#[test]
fn an_export_of_no_events_warns() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    record_one(&server);
    let admin = server.admin_token();
    let pack = dir.path().join("none.zip");
    let remote = ["--server", &server.url, "--token", &admin];
    let empty = [
        &["export", "--agent", "nobody", "-o"][..],
        &[pack.to_str().unwrap()],
        &remote,
    ];
    let out = sealog(&empty.concat());
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the pack holds no events"),
        "{stderr}"
    );
    // A pack with events says nothing of the kind.
    let out = sealog(&[&["export", "-o", pack.to_str().unwrap()][..], &remote].concat());
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    // The command it suggests pastes as one command, the path quoted, with no `<placeholder>`
    // for a shell to take as a redirection.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let suggested = format!("  sealog verify '{}' --log-key 'LOG_VKEY'", pack.display());
    assert!(stdout.lines().any(|l| l == suggested), "{stdout}");
}

#[test]
fn fsck_refuses_a_directory_a_running_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    record_one(&server);
    let out = sealog(&["fsck", "--data", data.to_str().unwrap()]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is in use by a running server") && stderr.contains("stop the server"),
        "{stderr}"
    );
    assert!(server.terminate().success());
    let out = sealog(&["fsck", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn one_entry_is_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    record_one(&server);
    assert!(server.terminate().success());
    let out = sealog(&["reindex", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("reindexed 1 entry in "), "{stdout}");
}
