//! `GET /v1/logs/{log}/sessions/{session}/events`: a session in `seq` order, whatever order its
//! events arrived in, paged from the query index with no cap on its length.

mod support;

use serde_json::{Value, json};
use support::{Serve, call, uuid7};

fn session_event(n: u64, seq: u64) -> Value {
    json!({
        "id": uuid7(n),
        "ts": "2026-01-01T00:00:00Z",
        "agent": {"id": "a"},
        "action": "tool_call",
        "status": "ok",
        "session": {"id": "long", "seq": seq},
    })
}

#[test]
fn a_session_pages_in_seq_order_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    // 2,500 events sent newest seq first, plus one event of another session.
    const N: u64 = 2_500;
    let events: Vec<Value> = (0..N).map(|i| session_event(i, N - 1 - i)).collect();
    let ingest = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    for batch in events.chunks(1_000) {
        let body = json!({"events": batch}).to_string();
        let reply = call("POST", &ingest, Some(&admin), Some(body.as_bytes()));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let other = json!({"events": [{"id": uuid7(N), "ts": "2026-01-01T00:00:00Z",
        "agent": {"id": "a"}, "action": "decision", "status": "ok",
        "session": {"id": "other", "seq": 0}}]});
    let reply = call(
        "POST",
        &ingest,
        Some(&admin),
        Some(other.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    // The index catches up off the acknowledgement path: wait for it before reading.
    let base = format!(
        "{}/v1/logs/default/sessions/long/events?limit=1000",
        server.url
    );
    for _ in 0..100 {
        let first = call("GET", &base, Some(&admin), None).json();
        if first["index_watermark"].as_u64() == Some(N + 1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.clone(),
        };
        let page = call("GET", &url, Some(&admin), None);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        pages += 1;
        for e in page["events"].as_array().unwrap() {
            assert_eq!(e["event"]["session"]["id"], "long");
            seqs.push(e["event"]["session"]["seq"].as_u64().unwrap());
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());

    // A cursor the server never issued is refused, not misread.
    let bad = call("GET", &format!("{base}&cursor=zz"), Some(&admin), None);
    assert_eq!(bad.status, 404, "{}", bad.body);
}
