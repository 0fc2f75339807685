//! `sealog serve` limits and encodings over real HTTP: gzip'd NDJSON, a gzip bomb, too many
//! events, the per-key rate limit with `Retry-After`, and the operations endpoints.

mod support;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use std::io::Write;
use support::{Serve, call, call_with, event, uuid7};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzipped_ndjson_is_accepted_and_a_gzip_bomb_or_an_oversized_batch_is_413() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--max-body-bytes", "65536", "--max-batch-events", "10"];
    let server = Serve::start(&dir.path().join("data"), &flags);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    let ndjson_gzip = [
        ("Content-Type", "application/x-ndjson"),
        ("Content-Encoding", "gzip"),
    ];

    let lines: String = (0..3)
        .map(|n| format!("{}\n", event(&uuid7(n), "a")))
        .collect();
    let r = call_with(
        "POST",
        &events,
        Some(&admin),
        &ndjson_gzip,
        Some(&gzip(lines.as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 3);

    // 1 MiB of zeros compresses to about a kilobyte: the limit applies after decompression.
    let bomb = gzip(&vec![b' '; 1 << 20]);
    assert!(bomb.len() < 65536);
    let r = call_with("POST", &events, Some(&admin), &ndjson_gzip, Some(&bomb));
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error_code(), "too_large");

    let eleven: Vec<_> = (10..21).map(|n| event(&uuid7(n), "a")).collect();
    let body = json!({ "events": eleven }).to_string();
    let r = call("POST", &events, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(
        r.body.contains("10"),
        "the message names the limit: {}",
        r.body
    );

    let r = call_with(
        "POST",
        &events,
        Some(&admin),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        Some(b"{}"),
    );
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(r.body.contains("gzip"), "{}", r.body);
}

#[test]
fn a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "2"]);
    let admin = server.admin_token();
    let url = format!("{}/v1/logs/default", server.url);
    let key = call(
        "POST",
        &format!("{url}/keys"),
        Some(&admin),
        Some(json!({"role": "read"}).to_string().as_bytes()),
    );
    let reader = key.json()["key"].as_str().unwrap().to_owned();
    // A burst of twice the rate passes; the next request is refused with a wait.
    let limited = (0..10)
        .map(|_| call("GET", &url, Some(&admin), None))
        .find(|r| r.status != 200)
        .expect("the rate limit is enforced");
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After is whole seconds, at least 1");
    assert_eq!(call("GET", &url, Some(&reader), None).status, 200);
}

#[test]
fn operations_endpoints_describe_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let body = json!({"events": [event(&uuid7(1), "a")]}).to_string();
    let events = format!("{}/v1/logs/default/events", server.url);
    assert_eq!(
        call("POST", &events, Some(&admin), Some(body.as_bytes())).status,
        200
    );

    assert_eq!(
        call("GET", &format!("{}/healthz", server.url), None, None).status,
        200
    );
    assert_eq!(
        call("GET", &format!("{}/readyz", server.url), None, None).status,
        200
    );
    // /metrics names every tenant's logs: only the server-wide admin key reads it.
    let metrics_url = format!("{}/metrics", server.url);
    assert_eq!(call("GET", &metrics_url, None, None).status, 401);
    let scoped = call(
        "POST",
        &format!("{}/v1/logs/default/keys", server.url),
        Some(&admin),
        Some(json!({"role": "admin"}).to_string().as_bytes()),
    )
    .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(call("GET", &metrics_url, Some(&scoped), None).status, 403);
    let metrics = call("GET", &metrics_url, Some(&admin), None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("# TYPE"),
        "Prometheus text format: {}",
        metrics.body
    );
    for name in [
        "sealog_ingest_events_total",
        "sealog_fsync_duration_seconds_bucket",
        "sealog_tree_size",
        "sealog_checkpoint_age_seconds",
        "sealog_index_lag_entries",
        "sealog_queue_entries",
    ] {
        assert!(metrics.body.contains(name), "{name} missing from /metrics");
    }
    assert!(!metrics.body.contains(&admin), "a secret in /metrics");

    let openapi = call("GET", &format!("{}/openapi.json", server.url), None, None).json();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/v1/logs/{log}/events"]["post"].is_object());
}

#[test]
fn huge_strings_and_duplicate_keys_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);

    // Just over the event limit: the event is rejected by field, the batch's other event kept.
    let mut huge = event(&uuid7(1), "a");
    huge["agent"]["id"] = json!("x".repeat(100 << 10));
    let body = json!({"events": [huge, event(&uuid7(2), "a")]}).to_string();
    let r = call("POST", &events, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let results = r.json()["results"].clone();
    assert_eq!(results[0]["status"], "rejected");
    assert_eq!(results[0]["errors"][0]["path"], "agent.id");
    assert!(results[0]["error"].as_str().unwrap().contains("commitment"));
    assert_eq!(results[1]["status"], "accepted", "the good event is stored");

    // Far over it (10 MiB): the read stops there and the whole batch is refused, so it never
    // costs a parse; the client still reads the answer.
    huge["agent"]["id"] = json!("x".repeat(10 << 20));
    let body = json!({"events": [event(&uuid7(5), "a"), huge]}).to_string();
    let r = call("POST", &events, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("event 2 of the batch"), "{}", r.body);
    let stored = call("GET", &format!("{events}/{}", uuid7(5)), Some(&admin), None);
    assert_eq!(stored.status, 404, "{}", stored.body);

    let dup = br#"{"events": [{"id": "0192f3a0-0000-7000-8000-000000000003", "id": "0192f3a0-0000-7000-8000-000000000004", "ts": "2026-01-01T00:00:00Z", "agent": {"id": "a"}, "action": "decision", "status": "ok"}]}"#;
    let r = call("POST", &events, Some(&admin), Some(dup));
    assert_eq!(r.json()["results"][0]["status"], "rejected", "{}", r.body);
    assert!(r.body.contains("duplicate key"), "{}", r.body);
    let r = call(
        "POST",
        &events,
        Some(&admin),
        Some(br#"{"events": [], "events": []}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("duplicate field"), "{}", r.body);
}

#[test]
fn tiles_are_private_until_an_admin_makes_the_hashes_and_then_the_entries_public() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let checkpoint = format!("{}/tlog/default/checkpoint", server.url);
    assert_eq!(call("GET", &checkpoint, None, None).status, 401);
    let patch = json!({"public": true}).to_string();
    let log = format!("{}/v1/logs/default", server.url);
    let r = call("PATCH", &log, Some(&admin), Some(patch.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
    let public = call("GET", &checkpoint, None, None);
    assert_eq!(public.status, 200, "{}", public.body);
    assert!(
        public.body.starts_with("test.local/default\n0\n"),
        "{}",
        public.body
    );

    // Public means hashes: the events themselves stay behind a key until the admin says so.
    let events = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let body = json!({"events": [event(&uuid7(1), "a")]}).to_string();
    assert_eq!(
        call("POST", &events, Some(&admin), Some(body.as_bytes())).status,
        200
    );
    let hashes = format!("{}/tlog/default/tile/0/000.p/1", server.url);
    let entries = format!("{}/tlog/default/tile/entries/000.p/1", server.url);
    assert_eq!(call("GET", &hashes, None, None).status, 200);
    assert_eq!(call("GET", &entries, None, None).status, 401);
    assert_eq!(call("GET", &entries, Some(&admin), None).status, 200);
    let info = call("GET", &log, Some(&admin), None).json();
    assert_eq!(
        (info["public"].clone(), info["public_entries"].clone()),
        (json!(true), json!(false))
    );
    let patch = json!({"public_entries": true}).to_string();
    assert_eq!(
        call("PATCH", &log, Some(&admin), Some(patch.as_bytes())).status,
        200
    );
    let open = call("GET", &entries, None, None);
    assert_eq!(open.status, 200);
    assert_eq!(open.content_type, "application/octet-stream");
    // Entries cannot be public while the checkpoint is not.
    let patch = json!({"public": false}).to_string();
    let r = call("PATCH", &log, Some(&admin), Some(patch.as_bytes()));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        call("GET", &entries, None, None).status,
        200,
        "the refused change changed nothing"
    );
}

#[test]
fn metric_labels_come_from_a_closed_set_and_public_metrics_is_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--public-metrics"]);
    // Invented methods, unauthenticated: each would have been a series of its own.
    let addr = server.url.trim_start_matches("http://").to_owned();
    for i in 0..50 {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let request = format!("BREW{i} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    }
    let metrics = call("GET", &format!("{}/metrics", server.url), None, None);
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(!metrics.body.contains("BREW"), "{}", metrics.body);
    assert!(
        metrics.body.contains("method=\"other\""),
        "{}",
        metrics.body
    );
}
