//! The Rust SDK (`sealog-client`) against the real server: sessions, commitments, receipts, the
//! spool across a server outage and a client restart, and the `gap` event of a full spool.

mod support;

use sealog_client::{Client, Event, Options};
use sealog_core::commitment::CommitmentKey;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::{Serve, call};

const KEY: &[u8] = b"a tenant secret of 16+ bytes";

fn options(url: &str, token: &str, spool: &Path) -> Options {
    Options {
        url: url.into(),
        api_key: Some(token.into()),
        commitment_key: Some(KEY.to_vec()),
        spool_dir: spool.into(),
        flush_interval: Duration::from_millis(20),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        spill_after: Duration::ZERO,
        request_timeout: Duration::from_secs(5),
        ..Options::from_env()
    }
}

#[test]
fn a_session_arrives_numbered_with_commitments_and_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let token = server.admin_token();
    let log = Client::new(options(&server.url, &token, &dir.path().join("spool"))).unwrap();
    let s = log.session(Some("s-1"));
    s.start(json!({"user": "u1"})).unwrap();
    let args = json!({"q": "weather", "n": 3});
    s.record(
        Event::new("tool_call")
            .context("tool", json!({"name": "search", "call_id": "c1"}))
            .input(args.clone())
            .output(json!("sunny")),
    )
    .unwrap();
    s.record(
        Event::new("tool_call")
            .status("error")
            .input(json!(1))
            .content(true),
    )
    .unwrap();
    s.end("ok").unwrap();
    assert!(log.flush(Duration::from_secs(10)));

    let receipt = log
        .record_sync(Event::new("decision"), "checkpoint")
        .unwrap();
    assert_eq!(receipt.status, "accepted");
    assert!(
        receipt
            .proof
            .as_deref()
            .unwrap_or("")
            .contains("tlog-proof")
    );
    let proof = log.get_receipt(&receipt.id).unwrap();
    assert!(proof.starts_with("c2sp.org/tlog-proof") || proof.contains("tlog-proof"));

    let events = support::session_events(&server, &token, "s-1", 4);
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["session"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    assert_eq!(events[3]["action"], "session_end");
    assert_eq!(events[3]["session"]["count"], 4);
    assert_eq!(events[0]["attributes"]["user"], "u1");
    let call_ev = &events[1];
    assert_eq!(call_ev["context"]["tool"]["name"], "search");
    let c = call_ev["input"]["commitment"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(CommitmentKey::new(KEY).unwrap().check_json(&args, &c));
    assert!(call_ev["input"].get("content").is_none());
    assert_eq!(events[2]["input"]["content"], 1);
    assert_eq!(events[2]["status"], "error");
    let stats = log.stats();
    assert_eq!((stats.sent, stats.rejected, stats.lost), (5, 0, 0));
    // Plain content is redacted before it leaves the process when asked.
    let redacting = Client::new(Options {
        capture_content: true,
        redact: true,
        ..options(&server.url, &token, &dir.path().join("spool"))
    })
    .unwrap();
    let r = redacting.session(Some("redacted"));
    r.record(Event::new("llm_call").input(json!({"to": "write to ada@example.org"})))
        .unwrap();
    assert!(redacting.flush(Duration::from_secs(10)));
    let ev = &support::session_events(&server, &token, "redacted", 1)[0];
    assert_eq!(ev["input"]["content"]["to"], "write to [email]");
    assert_eq!(ev["input"]["redacted"], json!(["email"]));
    // A bad event never leaves the process and says why.
    let err = log.record(Event::new("not-an-action")).unwrap_err();
    assert!(err.to_string().contains("action"), "{err}");
    assert_eq!(log.stats().invalid, 1);
}

#[test]
fn events_recorded_while_the_server_is_down_arrive_from_the_spool_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spool = dir.path().join("spool");
    let server = Serve::start(&data, &[]);
    let (url, token) = (server.url.clone(), server.admin_token());
    server.kill();
    {
        let log = Client::new(options(&url, &token, &spool)).unwrap();
        let s = log.session(Some("down"));
        for i in 0..50 {
            s.record(Event::new("tool_call").input(json!(i))).unwrap();
        }
        // Nothing can be acknowledged; close spools what is left.
        assert!(!log.close(Duration::from_millis(300)));
        assert_eq!(log.stats().sent, 0);
    }
    let segments = std::fs::read_dir(&spool).unwrap().count();
    assert_eq!(segments, 1, "one spool directory for the log");
    // The spool is per URL: the server comes back at the same address.
    let server = Serve::restart_at(&data, &url);
    assert_eq!(server.url, url);
    let log = Client::new(options(&url, &token, &spool)).unwrap();
    assert!(log.flush(Duration::from_secs(10)));
    assert_eq!(log.stats().replayed, 50);
    let events = support::session_events(&server, &token, "down", 50);
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["session"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..50).collect::<Vec<_>>());
}

#[test]
fn a_full_spool_records_a_gap_event_for_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spool = dir.path().join("spool");
    let server = Serve::start(&data, &[]);
    let (url, token) = (server.url.clone(), server.admin_token());
    server.kill();
    {
        let mut opts = options(&url, &token, &spool);
        opts.spool_max_bytes = 2_000;
        let log = Client::new(opts).unwrap();
        for i in 0..40 {
            log.record(Event::new("decision").input(json!(i))).unwrap();
        }
        log.close(Duration::from_millis(300));
        let stats = log.stats();
        assert!(stats.lost > 0, "{stats:?}");
        assert_eq!(stats.lost + stats.spooled, 41, "{stats:?}");
    }
    let server = Serve::restart_at(&data, &url);
    let log = Client::new(options(&url, &token, &spool)).unwrap();
    assert!(log.flush(Duration::from_secs(10)));
    let list = format!("{}/v1/logs/default/events?action=gap", server.url);
    let gap = (0..100)
        .find_map(|_| {
            let page = call("GET", &list, Some(&token), None).json();
            let found = page["events"].as_array().and_then(|e| e.first().cloned());
            if found.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            found
        })
        .expect("a gap event");
    assert_eq!(gap["event"]["attributes"]["reason"], "spool_full");
    assert!(gap["event"]["attributes"]["lost"].as_u64().unwrap() > 0);
}

/// Runs the Python SDK: `code` with `log`, a client of `url` spooling into `spool`.
fn python_sdk(url: &str, token: &str, spool: &Path, code: &str) {
    let python = std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = format!(
        "import sealog, sys\nlog = sealog.Sealog(url=sys.argv[1], api_key=sys.argv[2], \
         spool_dir=sys.argv[3], commitment_key=sys.argv[4], backoff_max=0.2)\n{code}\n"
    );
    let status = std::process::Command::new(python)
        .args(["-c", &script, url, token])
        .arg(spool)
        .arg(std::str::from_utf8(KEY).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "the Python SDK failed");
}

#[test]
fn the_python_sdk_and_this_one_replay_each_others_spool() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spool = dir.path().join("spool");
    let server = Serve::start(&data, &[]);
    let (url, token) = (server.url.clone(), server.admin_token());
    server.kill();
    // Both write while the server is down.
    python_sdk(
        &url,
        &token,
        &spool,
        "with log.session('from-python') as s:\n    \
        s.record('tool_call')\nlog.close(timeout=0.3)",
    );
    let rust = Client::new(options(&url, &token, &spool)).unwrap();
    let s = rust.session(Some("from-rust"));
    s.start(json!({})).unwrap();
    s.record(Event::new("tool_call")).unwrap();
    s.end("ok").unwrap();
    rust.close(Duration::from_millis(300));
    drop(rust);
    // The Rust client sends both; then the Python SDK sends what the Rust one left later.
    let server = Serve::restart_at(&data, &url);
    let rust = Client::new(options(&url, &token, &spool)).unwrap();
    assert!(rust.flush(Duration::from_secs(10)));
    assert_eq!(rust.stats().replayed, 6);
    rust.close(Duration::from_secs(1));
    drop(rust);
    assert_eq!(
        support::session_events(&server, &token, "from-python", 3).len(),
        3
    );
    assert_eq!(
        support::session_events(&server, &token, "from-rust", 3).len(),
        3
    );
    server.kill();
    let rust = Client::new(options(&url, &token, &spool)).unwrap();
    rust.record(Event::new("decision").id("0192f3a0-0000-7000-8000-0000000000aa"))
        .unwrap();
    rust.close(Duration::from_millis(300));
    drop(rust);
    let server = Serve::restart_at(&data, &url);
    python_sdk(
        &url,
        &token,
        &spool,
        "assert log.flush(10)\nassert log.stats()['replayed'] == 1, log.stats()",
    );
    let ev = format!(
        "{}/v1/logs/default/events/0192f3a0-0000-7000-8000-0000000000aa",
        server.url
    );
    assert_eq!(call("GET", &ev, Some(&token), None).status, 200);
}
