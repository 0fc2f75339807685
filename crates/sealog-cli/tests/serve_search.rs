//! `?q=` search over HTTP: words naming fields or bare values, combined with the exact filters,
//! paged, counted by the histogram, used as an export filter; clear 400s for searches that
//! cannot work; and an index written before search existed is rebuilt on start.

mod support;

use serde_json::{Value, json};
use support::{Serve, call, uuid7};

fn agent_event(n: u64) -> Value {
    json!({
        "id": uuid7(n),
        "ts": format!("2026-01-01T00:00:{:02}Z", n % 60),
        "agent": {"id": format!("agent-{}", n % 3), "name": "Support Bot"},
        "action": "tool_call",
        "status": if n.is_multiple_of(4) { "error" } else { "ok" },
        "context": {
            "tool": {"name": if n.is_multiple_of(2) { "search_web" } else { "send_email" }},
            "decision": {"reason_codes": if n.is_multiple_of(5) { vec!["pii_detected"] } else { vec![] }},
        },
        "attributes": {"ticket": format!("T-{}", n % 7), "tier": n % 2},
    })
}

/// The log indices of a search, walking every page of size 3.
fn search(server: &Serve, token: &str, query: &str) -> Vec<u64> {
    let mut found = Vec::new();
    let mut url = format!("{}/v1/logs/default/events?limit=3&{query}", server.url);
    loop {
        let reply = call("GET", &url, Some(token), None);
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        let page = reply.json();
        let events = page["events"].as_array().unwrap();
        found.extend(events.iter().map(|e| e["index"].as_u64().unwrap()));
        match page["next"].as_str() {
            Some(next) => {
                url = format!(
                    "{}/v1/logs/default/events?limit=3&{query}&cursor={next}",
                    server.url
                )
            }
            None => return found,
        }
    }
}

/// Indices (newest first) of the 40 events below for which `keep` holds.
fn expected(keep: impl Fn(u64) -> bool) -> Vec<u64> {
    (0..40).rev().filter(|&n| keep(n)).collect()
}

fn ingest(server: &Serve, token: &str) {
    let events: Vec<Value> = (0..40).map(agent_event).collect();
    let reply = call(
        "POST",
        &format!("{}/v1/logs/default/events?wait=checkpoint", server.url),
        Some(token),
        Some(json!({ "events": events }).to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Waits until the index covers the whole log, so searches see every event.
fn wait_indexed(server: &Serve, token: &str, size: u64) {
    for _ in 0..200 {
        let url = format!("{}/v1/logs/default/events?limit=1", server.url);
        if call("GET", &url, Some(token), None).json()["index_watermark"] == size {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the index did not catch up with {size} events");
}

#[test]
fn search_finds_fields_and_values_and_refuses_what_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    ingest(&server, &admin);
    wait_indexed(&server, &admin, 40);

    assert_eq!(
        search(&server, &admin, "q=tool:search_web"),
        expected(|n| n % 2 == 0)
    );
    // Bare words match any field, case ignored; words of a multi-word value match too.
    assert_eq!(
        search(&server, &admin, "q=PII_DETECTED"),
        expected(|n| n % 5 == 0)
    );
    assert_eq!(search(&server, &admin, "q=bot"), expected(|_| true));
    assert_eq!(
        search(&server, &admin, "q=attr.ticket:t-3%20status:error"),
        expected(|n| n % 7 == 3 && n % 4 == 0)
    );
    assert_eq!(
        search(
            &server,
            &admin,
            "q=send_email&agent=agent-1&since=2026-01-01T00:00:10Z"
        ),
        expected(|n| n % 2 == 1 && n % 3 == 1 && n % 60 >= 10)
    );
    assert_eq!(
        search(&server, &admin, "q=attr.tier:1%20tool:search_web"),
        expected(|_| false)
    );

    let histogram = call(
        "GET",
        &format!(
            "{}/v1/logs/default/events/histogram?q=reason:pii_detected",
            server.url
        ),
        Some(&admin),
        None,
    );
    assert_eq!(histogram.status, 200, "{}", histogram.body);
    let total = histogram.json()["total"].as_u64().unwrap();
    assert_eq!(total, 8);

    // A word naming the status is the exact filter; it cannot contradict the filter given.
    assert_eq!(
        search(&server, &admin, "q=status:error%20search_web"),
        expected(|n| n.is_multiple_of(4))
    );
    for (q, says) in [
        ("q=status:error&status=ok", "keep one of them"),
        ("q=", "empty"),
        ("q=tool:", "no value"),
        ("q=%22open", "not closed"),
        ("q=a%20b%20c%20d%20e%20f%20g%20h%20i", "at most 8"),
    ] {
        let url = format!("{}/v1/logs/default/events?{q}", server.url);
        let reply = call("GET", &url, Some(&admin), None);
        assert_eq!(reply.status, 400, "{q}: {}", reply.body);
        assert!(reply.body.contains(says), "{q}: {}", reply.body);
    }
}

#[test]
fn an_index_from_before_search_is_rebuilt_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    ingest(&server, &admin);
    wait_indexed(&server, &admin, 40);
    assert!(server.terminate().success());

    // What an earlier version left: schema 1, no search terms.
    let db = data.join("logs/default/index/index.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{}: {e}", db.display()));
    conn.execute_batch(
        "DELETE FROM postings WHERE kind = 4; DELETE FROM names WHERE kind = 4;
         UPDATE meta SET value = 1 WHERE key = 'schema';",
    )
    .unwrap();
    drop(conn);

    let server = Serve::start(&data, &[]);
    wait_indexed(&server, &admin, 40);
    assert_eq!(
        search(&server, &admin, "q=tool:send_email"),
        expected(|n| n % 2 == 1)
    );
}
