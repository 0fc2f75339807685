//! `sealog bench ingest` (`--wait-checkpoint`, `--client sdk`) and `sealog bench proofs`
//! against the real server:
//! what they report is what the server did.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::{Serve, call};

/// Runs `sealog bench ARGS` against `server`; returns stdout, or panics with its output.
fn bench(server: &Serve, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("bench")
        .args(args)
        .args(["--server", &server.url, "--token", &server.admin_token()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    (stdout, stderr)
}

/// The log's size as `GET /v1/logs/default` reports it.
fn log_size(server: &Serve) -> u64 {
    let info = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&server.admin_token()),
        None,
    );
    info.json()["size"].as_u64().unwrap()
}

/// The number after `before` and up to the next space in `text`.
fn number_after(text: &str, before: &str) -> f64 {
    let (_, rest) = text
        .split_once(before)
        .unwrap_or_else(|| panic!("no {before:?} in {text}"));
    rest.split([' ', ','])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{before:?} in {text}: {e}"))
}

#[test]
fn ingest_with_wait_checkpoint_gets_a_receipt_for_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "0"]);
    let (out, _) = bench(
        &server,
        &[
            "ingest",
            "--wait-checkpoint",
            "--events",
            "300",
            "--batch",
            "100",
            "--concurrency",
            "2",
        ],
    );
    assert!(
        out.contains("http ingest (wait=checkpoint): 300 events (300 accepted)"),
        "{out}"
    );
    assert!(
        out.contains("receipts: 300 of 300 accepted events"),
        "{out}"
    );
    assert_eq!(log_size(&server), 300);

    // Without it, the answers carry no receipt (and the line is not printed).
    let (out, _) = bench(&server, &["ingest", "--events", "100", "--batch", "50"]);
    assert!(out.contains("100 events (100 accepted)"), "{out}");
    assert!(!out.contains("receipts:"), "{out}");
}

#[test]
fn ingest_through_the_rust_sdk_has_every_event_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "0"]);
    let (out, _) = bench(
        &server,
        &[
            "ingest",
            "--client",
            "sdk",
            "--events",
            "2500",
            "--batch",
            "1000",
            "--concurrency",
            "3",
            "--input",
            "commitment",
        ],
    );
    assert!(
        out.contains("sdk ingest: 2500 events (2500 accepted)"),
        "{out}"
    );
    assert!(
        out.contains("spooled 0, retried 0, rejected 0, invalid 0"),
        "{out}"
    );
    assert!(number_after(&out, "= ") > 0.0, "{out}");
    assert_eq!(log_size(&server), 2500);
    let events = call(
        "GET",
        &format!("{}/v1/logs/default/events?limit=1", server.url),
        Some(&server.admin_token()),
        None,
    )
    .json();
    let input = &events["events"][0]["event"]["input"];
    assert!(input["commitment"].is_string(), "{events}");
}

#[test]
fn ingest_stops_at_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "0"]);
    let started = Instant::now();
    let (out, _) = bench(
        &server,
        &[
            "ingest",
            "--events",
            "1000000000",
            "--batch",
            "100",
            "--concurrency",
            "2",
            "--seconds",
            "1",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{out}");
    let sent = number_after(&out, "http ingest: ");
    assert!(sent > 0.0 && sent < 1e9, "{out}");
    // Every event it says it sent was stored, and it says so.
    assert!(
        out.contains(&format!("{sent} events ({sent} accepted)")),
        "{out}"
    );
    assert_eq!(log_size(&server) as f64, sent);
}

#[test]
fn proofs_records_events_then_reports_the_latency_of_the_proofs_it_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "0"]);
    let (out, err) = bench(
        &server,
        &[
            "proofs",
            "--events",
            "1500",
            "--seconds",
            "1",
            "--concurrency",
            "2",
        ],
    );
    assert!(err.contains("recorded 1500 events"), "{err}");
    assert_eq!(log_size(&server), 1500);
    let served = number_after(&out, "proofs: ");
    assert!(served >= 1.0, "{out}");
    assert!(
        out.contains("1500 events proved in turn, concurrency 2"),
        "{out}"
    );
    let (p50, p99, max) = (
        number_after(&out, "proof latency: p50 "),
        number_after(&out, "p99 "),
        number_after(&out, "max "),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{out}");
    assert!(!out.contains("failed:"), "{out}");
}

#[test]
fn proofs_reports_the_requests_that_fail() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    // An ingest-only key records the events but may not read their proofs.
    let key = call(
        "POST",
        &format!("{}/v1/logs/default/keys", server.url),
        Some(&server.admin_token()),
        Some(br#"{"role":"ingest","label":"bench"}"#),
    );
    let key = key.json()["key"].as_str().unwrap().to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["bench", "proofs", "--events", "10", "--seconds", "0.5"])
        .args(["--server", &server.url, "--token", &key])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("proofs: 0 served"), "{stdout}");
    assert!(stdout.contains(" × 403"), "{stdout}");
    assert!(stderr.contains("no proof was served"), "{stderr}");
}
