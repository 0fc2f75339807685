//! How much memory a client can make ingest hold, over real HTTP: an oversized event is refused
//! while the body is read (not after a parse of all of it), all in-flight bodies share one
//! budget past which ingest answers 503 with `Retry-After`, and bytes after a gzip stream are
//! refused instead of ignored.

mod support;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{Serve, call, call_with, event, uuid7};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const GZIP_JSON: [(&str, &str); 2] = [
    ("Content-Type", "application/json"),
    ("Content-Encoding", "gzip"),
];

#[test]
fn an_oversized_event_in_a_small_gzip_body_is_refused_while_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    let mut big = event(&uuid7(1), "a");
    big["attributes"] = json!({ "blob": "x".repeat(8 << 20) });
    let body = gzip(
        json!({ "events": [event(&uuid7(0), "a"), big] })
            .to_string()
            .as_bytes(),
    );
    assert!(body.len() < 32 * 1024, "{}", body.len());

    let r = call_with("POST", &events, Some(&admin), &GZIP_JSON, Some(&body));
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error_code(), "too_large");
    assert!(
        r.body.contains("event 2 of the batch") && r.body.contains("nothing of this batch"),
        "{}",
        r.body
    );
    // The whole batch was refused: its small first event is not stored either.
    let r = call("GET", &format!("{events}/{}", uuid7(0)), Some(&admin), None);
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn bytes_after_the_gzip_stream_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    let mut body = gzip(
        json!({ "events": [event(&uuid7(0), "a")] })
            .to_string()
            .as_bytes(),
    );
    body.extend_from_slice(b"not gzip");
    let r = call_with("POST", &events, Some(&admin), &GZIP_JSON, Some(&body));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("nothing after it"), "{}", r.body);
    let r = call("GET", &format!("{events}/{}", uuid7(0)), Some(&admin), None);
    assert_eq!(r.status, 404, "{}", r.body);
}

/// A JSON batch of `n` events from `first` on.
fn batch(first: u64, n: u64) -> Vec<u8> {
    let events: Vec<_> = (first..first + n).map(|i| event(&uuid7(i), "a")).collect();
    json!({ "events": events }).to_string().into_bytes()
}

#[test]
fn in_flight_bodies_share_one_budget_and_the_one_over_it_gets_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--max-inflight-body-bytes", "1000000"];
    let server = Serve::start(&dir.path().join("data"), &flags);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);

    // A slow client sends most of a 0.75 MB body and holds the rest.
    let held = batch(0, 6_000);
    assert!(
        held.len() > 600_000 && held.len() < 1_000_000,
        "{}",
        held.len()
    );
    let mut slow = TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        held.len()
    );
    slow.write_all(head.as_bytes()).unwrap();
    let (sent, rest) = held.split_at(held.len() - 1000);
    slow.write_all(sent).unwrap();

    // Once the server holds those bytes, a 0.32 MB batch does not fit beside them.
    let other = batch(10_000, 2_500);
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let r = call("POST", &events, Some(&admin), Some(&other));
        if r.status == 503 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.error_code(), "busy");
    assert!(refused.retry_after.is_some());
    assert!(
        refused.body.contains("--max-inflight-body-bytes"),
        "{}",
        refused.body
    );

    // The slow client finishes and is served; its share returns and the retry fits.
    slow.write_all(rest).unwrap();
    let mut answer = vec![0u8; 12];
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    drop(slow);
    let r = call("POST", &events, Some(&admin), Some(&other));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = r.json();
    assert!(
        r["accepted"].as_u64().unwrap() + r["duplicates"].as_u64().unwrap() == 2_500,
        "{r}"
    );
    let last = call(
        "GET",
        &format!("{events}/{}", uuid7(5_999)),
        Some(&admin),
        None,
    );
    assert_eq!(
        last.status, 200,
        "the slow client's events are stored: {}",
        last.body
    );
}
