//! Human approval of held calls: the approvals API over a real server, and
//! `sealog mcp-proxy --require-approval` driven by the official MCP Python SDK (`mcp` from
//! PyPI), its client talking through the proxy to a server built with the same SDK
//! (tests/mcp/).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Serve, call, uuid7};

fn url(server: &Serve, rest: &str) -> String {
    format!("{}/v1/logs/default{rest}", server.url)
}

fn post(server: &Serve, rest: &str, token: &str, body: Value) -> support::Reply {
    let body = body.to_string();
    call(
        "POST",
        &url(server, rest),
        Some(token),
        Some(body.as_bytes()),
    )
}

/// A key of the default log with `role`.
fn key(server: &Serve, role: &str, label: &str) -> String {
    let r = post(
        server,
        "/keys",
        &server.admin_token(),
        json!({"role": role, "label": label}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["key"].as_str().unwrap().to_owned()
}

fn held_call(id: &str) -> Value {
    json!({
        "id": id, "ts": "2026-01-01T00:00:00Z", "agent": {"id": "coder"},
        "action": "tool_call", "status": "pending",
        "context": {"tool": {"name": "delete_file", "call_id": "7"}},
    })
}

/// The ids of the calls `GET /approvals` lists, once the index shows `want` of them.
fn listed(server: &Serve, token: &str, want: usize) -> Vec<Value> {
    for _ in 0..100 {
        let r = call("GET", &url(server, "/approvals"), Some(token), None);
        assert_eq!(r.status, 200, "{}", r.body);
        let pending = r.json()["pending"].as_array().unwrap().clone();
        if pending.len() == want {
            return pending;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the approvals list never held {want} calls");
}

#[test]
fn the_approvals_api_lists_decides_once_and_keeps_decisions_over_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = key(&server, "admin", "alice");
    let ingest = key(&server, "ingest", "agent");
    let reader = key(&server, "read", "auditor");
    let (a, b) = (uuid7(1), uuid7(2));
    let batch = json!({"events": [held_call(&a), held_call(&b), support::event(&uuid7(3), "x")]});
    assert_eq!(post(&server, "/events", &ingest, batch).status, 200);

    let pending = listed(&server, &reader, 2);
    assert_eq!(pending[0]["tool"]["name"], "delete_file");
    assert_eq!(pending[0]["agent"]["id"], "coder");
    let r = call("GET", &url(&server, "/approvals"), Some(&ingest), None);
    assert_eq!(r.status, 403, "an ingest key does not list: {}", r.body);
    let one = call(
        "GET",
        &url(&server, &format!("/approvals/{a}")),
        Some(&ingest),
        None,
    );
    assert_eq!(one.json()["decision"], "pending", "{}", one.body);

    // Only an admin decides; bad decisions and unknown or unheld events are refused.
    let approve = json!({"decision": "approved", "reason": "checked the path"});
    let path = format!("/approvals/{a}");
    assert_eq!(post(&server, &path, &reader, approve.clone()).status, 403);
    assert_eq!(post(&server, &path, &ingest, approve.clone()).status, 403);
    let r = post(&server, &path, &admin, json!({"decision": "maybe"}));
    assert_eq!((r.status, r.error_code()), (422, "invalid_decision".into()));
    let r = post(
        &server,
        &format!("/approvals/{}", uuid7(9)),
        &admin,
        approve.clone(),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = post(
        &server,
        &format!("/approvals/{}", uuid7(3)),
        &admin,
        approve.clone(),
    );
    assert_eq!(r.status, 404, "not a held call: {}", r.body);

    let r = post(&server, &path, &admin, approve.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    assert_eq!(
        (&d["decision"], &d["reviewer"]),
        (&json!("approved"), &json!("alice"))
    );
    let r = post(&server, &path, &admin, json!({"decision": "rejected"}));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already approved by alice"), "{}", r.body);
    // An ingest key may only record that nobody decided in time.
    let late = json!({"decision": "rejected", "timeout": true});
    let r = post(
        &server,
        &format!("/approvals/{b}"),
        &ingest,
        json!({"decision": "approved", "timeout": true}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let r = post(&server, &format!("/approvals/{b}"), &ingest, late);
    assert_eq!(r.json()["reviewer"], "sealog-timeout", "{}", r.body);
    assert_eq!(listed(&server, &reader, 0).len(), 0);

    // The decision is an event in the log, targeting the held call.
    let ev_id = d["decision_event"]["id"].as_str().unwrap();
    let ev = call(
        "GET",
        &url(&server, &format!("/events/{ev_id}")),
        Some(&reader),
        None,
    )
    .json();
    let o = &ev["event"]["context"]["oversight"];
    assert_eq!(ev["event"]["action"], "human_oversight");
    assert_eq!(
        (&o["target"], &o["reason"]),
        (&json!(a), &json!("checked the path"))
    );

    let url_now = server.url.clone();
    server.kill();
    let server = Serve::restart_at(&data, &url_now);
    let one = call("GET", &url(&server, &path), Some(&reader), None).json();
    assert_eq!(
        (&one["decision"], &one["reviewer"]),
        (&json!("approved"), &json!("alice"))
    );
    assert_eq!(post(&server, &path, &admin, approve).status, 409);
}
