//! What a client can hold open, over raw sockets against the real binary: a connection that
//! sends its headers too slowly or idles is closed, connections beyond the per-peer cap are
//! refused with a log line while other clients are served, and a half-sent request cannot keep
//! SIGTERM from finishing. Every wait here is bounded.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{Serve, call};

/// The `host:port` of a server URL.
fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Waits up to `limit` for the server to close `conn`; returns how long that took.
fn closed_within(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            // A 408 or similar answer before the close is fine; keep reading to the close.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(start.elapsed());
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn slow_headers_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--header-timeout-ms", "500"]);
    let mut slow = TcpStream::connect(addr(&server.url)).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut idle = TcpStream::connect(addr(&server.url)).unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(5)).expect("slow headers closed");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let took = closed_within(&mut idle, Duration::from_secs(5)).expect("idle closed");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A client that sends its request in time is served, and closed once it idles after.
    let mut kept = TcpStream::connect(addr(&server.url)).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    kept.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let took = closed_within(&mut kept, Duration::from_secs(5)).expect("idle after a request");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(
        call("GET", &format!("{}/healthz", server.url), None, None).status,
        200
    );
}

#[test]
fn connections_beyond_the_per_peer_cap_are_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let server = Serve::start_logging(
        &dir.path().join("data"),
        &[
            "--max-connections-per-peer",
            "3",
            "--header-timeout-ms",
            "30000",
        ],
        &[],
        &log,
    );
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(addr(&server.url)).unwrap())
        .collect();
    // Let the server take all three before the fourth arrives.
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(addr(&server.url)).unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok();
    let took = closed_within(&mut extra, Duration::from_secs(5)).expect("the fourth is refused");
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(held);
    // The slots come back once the held connections close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TcpStream::connect(addr(&server.url)).unwrap();
        again
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = again.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slots never came back: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("refused a connection") && logged.contains("--max-connections-per-peer"),
        "{logged}"
    );
}

#[test]
fn a_half_sent_request_does_not_keep_sigterm_from_finishing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(
        &dir.path().join("data"),
        &["--header-timeout-ms", "60000", "--drain-timeout-ms", "1000"],
    );
    let admin = server.admin_token();
    let mut half = TcpStream::connect(addr(&server.url)).unwrap();
    // Headers complete, body promised but never sent: the request is in flight.
    let head = format!(
        "POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"events\""
    );
    half.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

/// Sends `head` and the first bytes of a body it announces as longer, then waits up to 5 s
/// for the answer; returns its status line.
fn trickled_body(url: &str, head: &str) -> String {
    let mut conn = TcpStream::connect(addr(url)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(b"{\"events\": [").unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_body_that_trickles_is_cut_off_with_408_on_ingest_and_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--body-timeout-ms", "500"]);
    let token = server.admin_token();
    let ingest = format!(
        "POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let status = trickled_body(&server.url, &ingest);
    assert!(status.starts_with("HTTP/1.1 408"), "{status:?}");
    // The sign-in takes no key: a slow body there must not hold the server either.
    let sign_in = "POST /ui/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Content-Length: 1000\r\n\r\n";
    let status = trickled_body(&server.url, sign_in);
    assert!(
        status.starts_with("HTTP/1.1 4"),
        "answered, not held: {status:?}"
    );
    assert_eq!(
        call("GET", &format!("{}/healthz", server.url), None, None).status,
        200
    );
}

#[test]
fn http2_with_prior_knowledge_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .arg(format!("{}/healthz", server.url))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 200");
}
