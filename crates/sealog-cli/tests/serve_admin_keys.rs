//! Key hygiene of `sealog serve`, over real HTTP and real files: server-wide admin keys can be
//! created, revoked (never the last) and rotated (which removes admin.token), an operator can
//! bring their own admin key, a start that cannot listen leaves no key behind, and the data
//! directory is private to the service user.

mod support;

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use support::{Serve, call};

fn admin_keys(server: &Serve) -> String {
    format!("{}/v1/admin/keys", server.url)
}

/// A key's id, the part between `slk_` and the secret.
fn key_id(key: &str) -> String {
    key.trim_start_matches("slk_")
        .split('_')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn server_wide_admin_keys_are_revoked_and_rotated_but_never_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    assert!(
        server.banner.contains("sealog keys rotate-admin"),
        "{}",
        server.banner
    );
    let first = server.admin_token();
    let logs = format!("{}/v1/logs", server.url);

    let r = call(
        "DELETE",
        &format!("{}/{}", admin_keys(&server), key_id(&first)),
        Some(&first),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.error_code(), "last_admin_key");

    // Rotation: a new key, the old one revoked at once, and admin.token gone with it.
    let r = call(
        "POST",
        &format!("{}/rotate", admin_keys(&server)),
        Some(&first),
        Some(b"{}"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let rotated = r.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["admin_token_removed"], true);
    assert!(!server.data.join("admin.token").exists());
    assert_eq!(call("GET", &logs, Some(&first), None).status, 401);
    assert_eq!(call("GET", &logs, Some(&rotated), None).status, 200);

    // A second admin key lets the first be revoked; a log-scoped key cannot manage them.
    let body = json!({"label": "ops"}).to_string();
    let r = call(
        "POST",
        &admin_keys(&server),
        Some(&rotated),
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json()["key"].as_str().unwrap().to_owned();
    let list = call("GET", &admin_keys(&server), Some(&second), None).json();
    assert_eq!(list["keys"].as_array().unwrap().len(), 3, "{list}");
    let r = call(
        "POST",
        &format!("{}/default/keys", logs),
        Some(&second),
        Some(json!({"role": "admin"}).to_string().as_bytes()),
    );
    let log_admin = r.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        call("GET", &admin_keys(&server), Some(&log_admin), None).status,
        403
    );
    let r = call(
        "DELETE",
        &format!("{}/{}", admin_keys(&server), key_id(&rotated)),
        Some(&second),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(call("GET", &logs, Some(&rotated), None).status, 401);

    // Revocations survive a restart.
    let data = server.data.clone();
    drop(server);
    let server = Serve::start(&data, &[]);
    let logs = format!("{}/v1/logs", server.url);
    assert_eq!(call("GET", &logs, Some(&rotated), None).status, 401);
    assert_eq!(call("GET", &logs, Some(&first), None).status, 401);
    assert_eq!(call("GET", &logs, Some(&second), None).status, 200);
}

#[test]
fn an_operator_brings_their_own_admin_key_and_a_malformed_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let own = format!("slk_0123456789abcdef_{}", "k".repeat(43));
    let data = dir.path().join("data");
    let server = Serve::start_with(&data, &[], &[("SEALOG_ADMIN_KEY", own.as_str())]);
    assert!(!data.join("admin.token").exists());
    assert!(!server.banner.contains("slk_"), "{}", server.banner);
    assert_eq!(
        call("GET", &format!("{}/v1/logs", server.url), Some(&own), None).status,
        200
    );
    drop(server);

    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("other"))
        .env("SEALOG_ADMIN_KEY", "slk_short_secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not of the form slk_"), "{stderr}");
}

#[test]
fn a_start_that_cannot_listen_leaves_no_admin_key_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["serve", "--listen", &addr, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen"), "{stderr}");
    assert!(!data.join("admin.token").exists());
    assert!(!data.join("server.json").exists());
}

/// Every path under `dir` whose mode lets the group or others in.
fn open_to_others(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode();
        if mode & 0o077 != 0 {
            found.push(format!("{} {mode:o}", entry.path().display()));
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(open_to_others(&entry.path()));
        }
    }
    found
}

#[test]
fn the_data_directory_and_everything_in_it_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let body = json!({"events": [support::event(&support::uuid7(1), "a")]}).to_string();
    let events = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    assert_eq!(
        call("POST", &events, Some(&admin), Some(body.as_bytes())).status,
        200
    );
    let r = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&admin),
        Some(br#"{"name": "second"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(open_to_others(&data), Vec::<String>::new());
}

/// Runs `sealog ARGS` and returns its stdout, failing the test on a non-zero exit.
fn sealog(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .env_remove("SEALOG_API_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sealog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_cli_generates_an_admin_key_to_start_with_and_rotates_the_first_one() {
    let generated = sealog(&["keys", "generate"]);
    assert!(generated.starts_with("slk_"), "{generated}");
    let dir = tempfile::tempdir().unwrap();
    let own = Serve::start_with(
        &dir.path().join("own"),
        &[],
        &[("SEALOG_ADMIN_KEY", generated.as_str())],
    );
    assert_eq!(
        call(
            "GET",
            &format!("{}/v1/logs", own.url),
            Some(&generated),
            None
        )
        .status,
        200
    );
    drop(own);

    let server = Serve::start(&dir.path().join("data"), &[]);
    let first = server.admin_token();
    let rotated = sealog(&[
        "keys",
        "rotate-admin",
        "--server",
        &server.url,
        "--token",
        &first,
    ]);
    assert!(rotated.starts_with("slk_") && rotated != first, "{rotated}");
    assert!(!server.data.join("admin.token").exists());
    let logs = format!("{}/v1/logs", server.url);
    assert_eq!(call("GET", &logs, Some(&first), None).status, 401);
    assert_eq!(call("GET", &logs, Some(&rotated), None).status, 200);
}
