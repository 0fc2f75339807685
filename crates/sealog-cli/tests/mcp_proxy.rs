//! `sealog mcp-proxy` over stdio, Streamable HTTP and HTTP+SSE, driven by the official MCP Python SDK
//! (`mcp` from PyPI): its client talks through the proxy to a server built with the same SDK
//! (tests/mcp/).

#[path = "mcp/support.rs"]
mod mcp_support;
mod support;

use mcp_support::{KEY, python, script};
use sealog_core::commitment::CommitmentKey;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{Serve, call};

/// `client.py stdio sealog mcp-proxy … -- [wrap…] python server.py`, started.
fn client(server: &Serve, spool: &Path, wrap: &[String], extra: &[&str], pause: bool) -> Child {
    let mut args = vec!["stdio".to_owned(), env!("CARGO_BIN_EXE_sealog").to_owned()];
    args.extend(
        [
            "mcp-proxy",
            "--server",
            &server.url,
            "--commitment-key",
            KEY,
        ]
        .map(String::from),
    );
    args.extend(["--token".to_owned(), server.admin_token()]);
    args.extend([
        "--spool-dir".to_owned(),
        spool.to_string_lossy().into_owned(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--".into());
    args.extend(wrap.iter().cloned());
    args.extend([python(), script("server.py")]);
    let mut cmd = Command::new(python());
    cmd.arg(script("client.py")).args(&args);
    if pause {
        cmd.env("SEALOG_TEST_PAUSE", "1");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The client's output lines, as JSON.
fn finish(child: Child) -> Vec<Value> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the MCP client failed");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter(|l| *l != "paused")
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn expect_session_output(lines: &[Value]) {
    assert_eq!(lines[0], json!({"add": {"result": 5}, "is_error": false}));
    assert_eq!(lines[1], json!({"fail_is_error": true}));
    assert_eq!(lines[2], json!({"resource": "Hello, ada!"}));
    assert_eq!(lines[3], json!({"prompt_messages": 1}));
}

/// The one MCP session recorded in the log, in `seq` order, once it has ended.
fn recorded_session(server: &Serve) -> Vec<Value> {
    let token = server.admin_token();
    for _ in 0..200 {
        let list = format!("{}/v1/logs/default/events?action=session_end", server.url);
        let ends = call("GET", &list, Some(&token), None).json();
        if let Some(end) = ends["events"].as_array().and_then(|e| e.first()) {
            let sid = end["event"]["session"]["id"].as_str().unwrap().to_owned();
            let count = end["event"]["session"]["count"].as_u64().unwrap() as usize;
            let url = format!("{}/v1/logs/default/sessions/{sid}/events", server.url);
            let page = call("GET", &url, Some(&token), None).json();
            let events: Vec<Value> = page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].clone())
                .collect();
            if events.len() == count {
                return events;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the MCP session never arrived whole");
}

fn of<'e>(events: &'e [Value], action: &str, tool: &str) -> &'e Value {
    events
        .iter()
        .find(|e| {
            e["action"] == action && (tool.is_empty() || e["context"]["tool"]["name"] == tool)
        })
        .unwrap_or_else(|| panic!("no {action} {tool} in {events:#?}"))
}

fn check_session(events: &[Value]) {
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["session"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    let start = &events[0];
    assert_eq!(start["action"], "session_start");
    assert_eq!(start["attributes"]["mcp.server.name"], "sealog-test-server");
    assert!(
        start["attributes"]["mcp.protocol_version"].is_string(),
        "{start}"
    );
    assert_eq!(
        start["agent"]["id"], "mcp",
        "the agent is the client's clientInfo.name"
    );
    let add = of(events, "tool_call", "add");
    assert_eq!(add["status"], "ok");
    let key = CommitmentKey::new(KEY.as_bytes()).unwrap();
    let c = add["input"]["commitment"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(key.check_json(&json!({"a": 2, "b": 3}), &c), "{add}");
    assert!(add["output"]["commitment"].is_string() && add["output"].get("content").is_none());
    assert!(add["context"]["metrics"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        add["context"]["tool"]["call_id"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true)
    );
    assert_eq!(of(events, "tool_call", "fail")["status"], "error");
    let read = events
        .iter()
        .find(|e| e["attributes"]["mcp.method"] == "resources/read")
        .unwrap();
    assert_eq!(
        (&read["action"], &read["attributes"]["mcp.resource.uri"]),
        (&json!("retrieval"), &json!("greeting://ada"))
    );
    let prompt = events
        .iter()
        .find(|e| e["attributes"]["mcp.method"] == "prompts/get")
        .unwrap();
    assert_eq!(prompt["context"]["prompt"]["name"], "review");
    assert_eq!(events.last().unwrap()["action"], "session_end");
}

#[test]
fn a_stdio_session_is_recorded_and_a_denied_tool_is_refused_on_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let child = client(
        &server,
        &dir.path().join("spool"),
        &[],
        &["--deny-tool", "delete_*"],
        false,
    );
    let lines = finish(child);
    expect_session_output(&lines);
    let denied = lines[4]["denied_error"]
        .as_str()
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(denied.contains("blocked by Sealog"), "{denied}");

    let events = recorded_session(&server);
    check_session(&events);
    let flag = of(&events, "policy_flag", "delete_everything");
    assert_eq!(flag["status"], "blocked");
    assert!(
        flag["attributes"]["reason"]
            .as_str()
            .unwrap()
            .contains("denied")
    );
    assert!(
        !events
            .iter()
            .any(|e| e["action"] == "tool_call"
                && e["context"]["tool"]["name"] == "delete_everything"),
        "the denied call never reached the server"
    );
    assert_receipt(&server, of(&events, "tool_call", "add"));
}

/// The event has a receipt (an inclusion proof).
fn assert_receipt(server: &Serve, event: &Value) {
    let proof = format!(
        "{}/v1/logs/default/events/{}/proof",
        server.url,
        event["id"].as_str().unwrap()
    );
    let token = server.admin_token();
    let reply = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            call("GET", &proof, Some(&token), None)
        })
        .find(|r| r.status == 200)
        .expect("a receipt for the tool call");
    assert!(reply.body.contains("tlog-proof"), "{}", reply.body);
}

#[test]
fn the_proxy_relays_every_byte_unchanged_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let near = dir.path().join("client-side");
    let far = dir.path().join("server-side");
    // client -> tee(near) -> proxy -> tee(far) -> server: what passes both tees must be equal.
    let tee = |p: &Path| vec![python(), script("tee.py"), p.to_string_lossy().into_owned()];
    let mut args = vec!["stdio".to_owned()];
    args.extend(tee(&near));
    args.push(env!("CARGO_BIN_EXE_sealog").to_owned());
    args.extend(
        [
            "mcp-proxy",
            "--server",
            &server.url,
            "--token",
            &server.admin_token(),
        ]
        .map(String::from),
    );
    args.extend([
        "--spool-dir".to_owned(),
        dir.path().join("spool").to_string_lossy().into_owned(),
        "--".into(),
    ]);
    args.extend(tee(&far));
    args.extend([python(), script("server.py")]);
    let child = Command::new(python())
        .arg(script("client.py"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = finish(child);
    expect_session_output(&lines);
    let read = |p: &Path, ext: &str| std::fs::read(p.with_extension(ext)).unwrap();
    assert!(read(&near, "up").len() > 500);
    assert_eq!(read(&near, "up"), read(&far, "up"), "client to server");
    assert_eq!(read(&near, "down"), read(&far, "down"), "server to client");
}

#[test]
fn with_sealog_down_mid_session_the_mcp_session_goes_on_and_every_event_arrives_later() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let url = server.url.clone();
    let mut child = client(&server, &dir.path().join("spool"), &[], &[], true);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = Vec::new();
    let mut until_paused = |lines: &mut Vec<Value>| loop {
        let mut l = String::new();
        assert!(out.read_line(&mut l).unwrap() > 0, "the client ended early");
        if l.trim() == "paused" {
            return;
        }
        lines.push(serde_json::from_str::<Value>(&l).unwrap());
    };
    until_paused(&mut lines);
    server.kill();
    stdin.write_all(b"go\n").unwrap();
    until_paused(&mut lines);
    expect_session_output(&lines);
    let server = Serve::restart_at(&data, &url);
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let events = recorded_session(&server);
    check_session(&events);
}

#[test]
fn a_streamable_http_session_with_sse_answers_is_recorded_through_the_reverse_proxy() {
    http_session("http");
}

#[test]
fn a_streamable_http_session_with_json_answers_is_recorded_through_the_reverse_proxy() {
    http_session("http-json");
}

/// The flags of an HTTP proxy recording into `server` that denies `delete_*`.
fn http_proxy_args(server: &Serve, spool: &Path) -> Vec<String> {
    [
        "mcp-proxy",
        "--server",
        &server.url,
        "--token",
        &server.admin_token(),
        "--commitment-key",
        KEY,
        "--deny-tool",
        "delete_*",
        "--spool-dir",
        &spool.to_string_lossy(),
    ]
    .map(String::from)
    .into()
}

/// `client.py <transport> <url>` run to its end: checks what it got, denied call included.
fn run_http_client(transport: &str, url: &str) {
    let client = Command::new(python())
        .args([script("client.py"), transport.into(), url.into()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = finish(client);
    expect_session_output(&lines);
    let denied = lines[4]["denied_error"]
        .as_str()
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(denied.contains("blocked by Sealog"), "{denied}");
}

/// One MCP session over Streamable HTTP through the proxy; `mode` is the server's answers.
fn http_session(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let (_upstream, up) = mcp_support::upstream(mode);
    let args = http_proxy_args(&server, &dir.path().join("spool"));
    let (mut proxy, addr) = mcp_support::http_proxy(&args, &up);
    run_http_client("http", &format!("{addr}/mcp"));
    // A protocol without session ids makes the proxy's run one session: it ends with the proxy.
    let pid = proxy.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(proxy.0.wait().unwrap().success());
    let events = recorded_session(&server);
    check_session(&events);
    assert_eq!(
        of(&events, "policy_flag", "delete_everything")["status"],
        "blocked"
    );
}

#[test]
fn an_http_sse_session_is_recorded_through_the_reverse_proxy() {
    sse_session("sse");
}

#[test]
fn an_http_sse_server_naming_itself_by_an_absolute_url_is_reached_through_the_proxy() {
    sse_session("sse-absolute");
}

/// One MCP session over the older HTTP+SSE transport through the proxy; `mode` says how the
/// server announces its message endpoint. The session ends when the client closes its stream.
fn sse_session(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let (_upstream, up) = mcp_support::upstream(mode);
    let args = http_proxy_args(&server, &dir.path().join("spool"));
    let (_proxy, addr) = mcp_support::http_proxy(&args, &up);
    run_http_client("sse", &format!("{addr}/sse"));
    let events = recorded_session(&server);
    check_session(&events);
    assert_eq!(
        of(&events, "policy_flag", "delete_everything")["status"],
        "blocked"
    );
    assert_receipt(&server, of(&events, "tool_call", "add"));
}

/// `sse_raw.py` against `addr`: the stream's bytes and the posts' replies.
fn raw_sse(addr: &str) -> Value {
    let out = Command::new(python())
        .args([
            script("sse_raw.py"),
            addr.trim_start_matches("http://").into(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn over_http_sse_the_proxy_relays_every_byte_unchanged_but_an_absolute_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    for mode in ["sse", "sse-absolute"] {
        let (_upstream, up) = mcp_support::upstream(mode);
        let args = http_proxy_args(&server, &dir.path().join(mode));
        let (_proxy, addr) = mcp_support::http_proxy(&args, &up);
        let direct = raw_sse(&up);
        let proxied = raw_sse(&addr);
        assert_eq!(proxied["replies"], direct["replies"], "{mode}");
        assert_eq!(proxied["replies"][0], json!([202, null, "Accepted"]));
        let stream = direct["stream"].as_str().unwrap();
        assert!(stream.contains(r#""id":4,"result""#), "{stream}");
        // The proxy makes a URL on the upstream a path, so the client posts through it.
        let expected = stream.replace(&format!("http://{up}/"), "/");
        assert_eq!(
            mode == "sse-absolute",
            expected != stream,
            "{mode}: {stream}"
        );
        assert_eq!(proxied["stream"], json!(expected), "{mode}");
    }
}
