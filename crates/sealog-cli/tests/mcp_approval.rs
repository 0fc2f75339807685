//! Human approval of held calls: the approvals API over a real server, and
//! `sealog mcp-proxy --require-approval` driven by the official MCP Python SDK (`mcp` from
//! PyPI), its client talking through the proxy to a server built with the same SDK
//! (tests/mcp/).

#[path = "mcp/support.rs"]
mod mcp_support;
mod support;

use mcp_support::{KEY, python, script};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

/// The next line the MCP client printed, as JSON.
fn next_line(out: &mut impl BufRead) -> Value {
    let mut l = String::new();
    assert!(
        out.read_line(&mut l).unwrap() > 0,
        "the MCP client ended early"
    );
    serde_json::from_str(&l).unwrap()
}

/// The one held call listed now, once there is one.
fn the_held_call(server: &Serve, token: &str) -> String {
    listed(server, token, 1)[0]["event_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The events `filters` selects, once the index shows `want` of them.
fn all(server: &Serve, token: &str, filters: &str, want: usize) -> Vec<Value> {
    for _ in 0..100 {
        let r = call(
            "GET",
            &url(server, &format!("/events?{filters}")),
            Some(token),
            None,
        );
        let events = r.json()["events"].as_array().unwrap().clone();
        if events.len() == want {
            return events.into_iter().map(|e| e["event"].clone()).collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{filters} never selected {want} events");
}

/// The proxy's flags, before its transport's.
fn proxy_args(server: &Serve, ingest: &str, spool: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "mcp-proxy",
        "--server",
        &server.url,
        "--token",
        ingest,
        "--commitment-key",
        KEY,
        "--require-approval",
        "delete_*",
        "--approval-timeout-ms",
        "3000",
        "--spool-dir",
    ]
    .map(String::from)
    .into();
    args.push(spool.to_string_lossy().into_owned());
    args
}

#[test]
fn held_calls_over_stdio_wait_for_a_decision_and_leave_it_on_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let ingest = key(&server, "ingest", "proxy");
    let mut args = vec!["stdio".to_owned(), env!("CARGO_BIN_EXE_sealog").to_owned()];
    args.extend(proxy_args(&server, &ingest, &dir.path().join("spool")));
    args.extend(["--".into(), python(), script("server.py")]);
    let child = Command::new(python())
        .arg(script("approval_client.py"))
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    review(&server, child);
}

#[test]
fn held_calls_over_streamable_http_wait_for_a_decision_and_leave_it_on_the_record() {
    held_calls_over_http("http", "/mcp");
}

#[test]
fn held_calls_over_http_sse_wait_for_a_decision_and_leave_it_on_the_record() {
    held_calls_over_http("sse", "/sse");
}

/// approval_client.py through the HTTP proxy, over `transport` at `path`, reviewed.
fn held_calls_over_http(transport: &str, path: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let ingest = key(&server, "ingest", "proxy");
    let (_upstream, up) = mcp_support::upstream(transport);
    let args = proxy_args(&server, &ingest, &dir.path().join("spool"));
    let (_proxy, addr) = mcp_support::http_proxy(&args, &up);
    let child = Command::new(python())
        .args([
            script("approval_client.py"),
            transport.into(),
            format!("{addr}{path}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    review(&server, child);
}

/// Approves the first held call of `child` (approval_client.py), rejects the second and lets
/// the third time out; checks what the client got and what the log holds.
fn review(server: &Serve, mut child: Child) {
    let admin = key(server, "admin", "alice");
    let mut out = BufReader::new(child.stdout.take().unwrap());

    // While the first call is held, other calls go through.
    assert_eq!(
        next_line(&mut out),
        json!({"add_while_held": {"result": 3}})
    );
    let approved = the_held_call(server, &admin);
    let r = post(
        server,
        &format!("/approvals/{approved}"),
        &admin,
        json!({"decision": "approved"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let first = next_line(&mut out);
    assert_eq!(
        first["result"],
        json!({"result": "deleted /approved"}),
        "{first}"
    );
    let rejected = the_held_call(server, &admin);
    let reason = json!({"decision": "rejected", "reason": "not that path"});
    assert_eq!(
        post(server, &format!("/approvals/{rejected}"), &admin, reason).status,
        200
    );
    let second = next_line(&mut out);
    let error = second["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"));
    assert!(
        error.contains("rejected by alice: not that path"),
        "{error}"
    );
    let timed_out = the_held_call(server, &admin);
    let third = next_line(&mut out);
    let error = third["error"].as_str().unwrap_or_else(|| panic!("{third}"));
    assert!(
        error.contains("no reviewer decided within 3000 ms"),
        "{error}"
    );
    assert!(child.wait().unwrap().success());

    // Each held call is a pending tool_call without content, with its decision targeting it.
    let pending = all(server, &admin, "action=tool_call&status=pending", 3);
    for p in &pending {
        assert_eq!(p["context"]["tool"]["name"], "delete_everything");
        assert!(p["input"]["commitment"].is_string() && p["input"].get("content").is_none());
    }
    let decisions = all(server, &admin, "action=human_oversight", 3);
    let decision = |target: &str| {
        let d = decisions
            .iter()
            .find(|d| d["context"]["oversight"]["target"] == target)
            .unwrap_or_else(|| panic!("no decision on {target}: {decisions:#?}"));
        let o = &d["context"]["oversight"];
        (o["decision"].clone(), o["reviewer"].clone())
    };
    assert_eq!(decision(&approved), (json!("approved"), json!("alice")));
    assert_eq!(decision(&rejected), (json!("rejected"), json!("alice")));
    assert_eq!(
        decision(&timed_out),
        (json!("rejected"), json!("sealog-timeout"))
    );
    // Only the approved call reached the server; its result names the held call.
    let ran = all(
        server,
        &admin,
        "action=tool_call&status=ok&q=tool:delete_everything",
        1,
    );
    assert_eq!(ran[0]["attributes"]["approval.target"], json!(approved));
}

#[test]
fn the_rust_sdk_holds_a_call_until_a_reviewer_decides_or_the_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = key(&server, "admin", "alice");
    let client = sealog_client::Client::new(sealog_client::Options {
        url: server.url.clone(),
        api_key: Some(key(&server, "ingest", "agent")),
        spool_dir: dir.path().join("spool"),
        ..sealog_client::Options::from_env()
    })
    .unwrap();
    let call = || {
        sealog_client::Event::new("tool_call")
            .context("tool", json!({"name": "delete_file"}))
            .input(json!({"path": "/srv"}))
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let id = the_held_call(&server, &admin);
            let body = json!({"decision": "approved", "reason": "ok"});
            assert_eq!(
                post(&server, &format!("/approvals/{id}"), &admin, body).status,
                200
            );
        });
        let d = client
            .require_approval(call(), Duration::from_secs(20))
            .unwrap();
        assert!(d.approved() && d.reviewer == "alice", "{d:?}");
        assert_eq!(d.reason.as_deref(), Some("ok"));
    });
    let d = client
        .require_approval(call(), Duration::from_millis(300))
        .unwrap();
    assert_eq!(
        (d.approved(), d.reviewer.as_str()),
        (false, "sealog-timeout")
    );
    let one = call_get(&server, &admin, &format!("/approvals/{}", d.event_id));
    assert_eq!(one["reviewer"], "sealog-timeout");
}

fn call_get(server: &Serve, token: &str, rest: &str) -> Value {
    call("GET", &url(server, rest), Some(token), None).json()
}
