//! What exports may hold of the server, over real HTTP: one key's exports at once are capped
//! (other keys are not affected), a download nobody reads is dropped after the idle deadline
//! (freeing its scratch file and its place), and below the disk reserve exports get 507 while
//! ingest goes on.

mod support;

use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::{Serve, call, event, uuid7};

/// `n` events from `first` on, each with 30,000 characters of hex that deflate cannot shrink
/// by much, so that a pack of a thousand outgrows the loopback socket buffers.
fn bulky(first: u64, n: u64) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ first;
    let events: Vec<_> = (first..first + n)
        .map(|i| {
            let blob: String = (0..30_000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from_digit((state % 16) as u32, 16).unwrap()
                })
                .collect();
            let mut e = event(&uuid7(i), "a");
            e["attributes"] = json!({ "blob": blob });
            e
        })
        .collect();
    json!({ "events": events }).to_string().into_bytes()
}

/// Starts an export on a raw socket and reads only its status line and headers; returns the
/// socket and the announced length.
fn start_unread_export(url: &str, token: &str) -> (TcpStream, usize) {
    let mut conn = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let request = format!(
        "GET /v1/logs/default/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("an export announces its length")
        .parse()
        .unwrap();
    (conn, length)
}

#[test]
fn exports_per_key_are_capped_and_an_unread_one_is_dropped_after_the_idle_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--max-exports-per-key",
        "1",
        "--export-idle-timeout-ms",
        "1000",
    ];
    let server = Serve::start(&dir.path().join("data"), &flags);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    for first in [0, 500] {
        let r = call("POST", &events, Some(&admin), Some(&bulky(first, 500)));
        assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
        assert_eq!(r.json()["accepted"], 500);
    }
    // A small event with its receipt: a checkpoint then covers the bulky ones.
    let small = json!({ "events": [event(&uuid7(1000), "a")] }).to_string();
    let r = call(
        "POST",
        &format!("{events}?wait=checkpoint"),
        Some(&admin),
        Some(small.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let read_key = call(
        "POST",
        &format!("{}/v1/logs/default/keys", server.url),
        Some(&admin),
        Some(json!({"role": "read"}).to_string().as_bytes()),
    )
    .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let export = format!("{}/v1/logs/default/export", server.url);

    let (mut unread, length) = start_unread_export(&server.url, &admin);
    assert!(
        length > 12 << 20,
        "the pack must outgrow the socket buffers: {length}"
    );
    let r = call("GET", &export, Some(&admin), None);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "too_many_exports");
    assert!(r.retry_after.is_some());
    let r = call("GET", &export, Some(&read_key), None);
    assert_eq!(
        r.status,
        200,
        "another key is not held up: {}",
        r.error_code()
    );

    // Past the idle deadline the download ends short, and the key may export again.
    std::thread::sleep(Duration::from_millis(2500));
    let mut got = Vec::new();
    let end = unread.read_to_end(&mut got);
    assert!(
        got.len() < length,
        "the unread export was dropped ({end:?}): {} of {length} bytes",
        got.len()
    );
    let r = call("GET", &export, Some(&admin), None);
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
}

#[test]
fn below_the_disk_reserve_exports_get_507_and_ingest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--export-disk-reserve-bytes", "18446744073709551615"];
    let server = Serve::start(&dir.path().join("data"), &flags);
    let admin = server.admin_token();
    let events = format!("{}/v1/logs/default/events", server.url);
    let body = json!({ "events": [event(&uuid7(1), "a")] }).to_string();
    let r = call("POST", &events, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        "GET",
        &format!("{}/v1/logs/default/export", server.url),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 507, "{}", r.body);
    assert_eq!(r.error_code(), "insufficient_storage");
    assert!(r.body.contains("--export-disk-reserve-bytes"), "{}", r.body);
    let body = json!({ "events": [event(&uuid7(2), "a")] }).to_string();
    let r = call("POST", &events, Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
}
