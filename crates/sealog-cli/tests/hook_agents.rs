//! `sealog hook <agent>` fed recorded hook payloads of Claude Code and Gemini CLI: each call
//! returns at once with the agent's exit code and stdout, and the session arrives numbered.

mod support;

use sealog_core::commitment::CommitmentKey;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Serve;

const KEY: &str = "a tenant secret of 16+ bytes";

/// Runs `sealog hook AGENT` once per payload line; returns each call's stdout.
fn feed(server_url: &str, token: &str, spool: &Path, agent: &str) -> Vec<String> {
    let payloads = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/hooks/{agent}.jsonl")),
    )
    .unwrap();
    let mut outs = Vec::new();
    for line in payloads.lines() {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args([
                "hook",
                agent,
                "--server",
                server_url,
                "--commitment-key",
                KEY,
            ])
            .arg("--spool-dir")
            .arg(spool)
            .env("SEALOG_API_KEY", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{line}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the hook held the agent up"
        );
        outs.push(String::from_utf8(out.stdout).unwrap());
    }
    outs
}

fn summary(events: &[Value]) -> Vec<(String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    events
        .iter()
        .map(|e| (s(&e["action"]), s(&e["status"])))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn check_numbered(events: &[Value]) {
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["session"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    assert_eq!(events.last().unwrap()["session"]["count"], events.len());
}

#[test]
fn claude_code_hooks_record_a_numbered_session_with_committed_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let token = server.admin_token();
    let outs = feed(
        &server.url,
        &token,
        &dir.path().join("spool"),
        "claude-code",
    );
    assert!(
        outs.iter().all(String::is_empty),
        "Claude Code adds stdout to the context"
    );
    let events =
        support::session_events(&server, &token, "8c35adc1-2f1e-4b8e-9c61-0d2a7e5b3f10", 6);
    assert_eq!(
        summary(&events),
        pairs(&[
            ("session_start", "ok"),
            ("x-user_prompt", "ok"),
            ("tool_call", "pending"),
            ("tool_call", "ok"),
            ("x-turn_end", "ok"),
            ("session_end", "ok"),
        ])
    );
    check_numbered(&events);
    assert_eq!(events[0]["agent"]["id"], "claude-code");
    assert_eq!(events[0]["attributes"]["hook.source"], "startup");
    let post = &events[3];
    assert_eq!(
        post["context"]["tool"],
        json!({"name": "Bash", "call_id": "toolu_01ABC123"})
    );
    let key = CommitmentKey::new(KEY.as_bytes()).unwrap();
    let c = post["input"]["commitment"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let args = json!({"command": "cargo test", "description": "Run the tests", "timeout": 120000});
    assert!(key.check_json(&args, &c));
    let prompt = events[1]["input"]["commitment"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(key.check_json(&json!("Run the tests and fix what fails"), &prompt));
}

#[test]
fn gemini_cli_hooks_answer_json_and_record_failed_tools_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let token = server.admin_token();
    let outs = feed(&server.url, &token, &dir.path().join("spool"), "gemini-cli");
    assert!(
        outs.iter().all(|o| o.trim() == "{}"),
        "Gemini CLI parses stdout as JSON: {outs:?}"
    );
    let events = support::session_events(&server, &token, "gem-5b1f0c2e", 7);
    assert_eq!(
        summary(&events),
        pairs(&[
            ("session_start", "ok"),
            ("x-user_prompt", "ok"),
            ("tool_call", "pending"),
            ("tool_call", "ok"),
            ("tool_call", "error"),
            ("x-turn_end", "ok"),
            ("session_end", "ok"),
        ])
    );
    check_numbered(&events);
    assert_eq!(events[4]["context"]["tool"]["name"], "read_file");
    assert_eq!(events[0]["agent"]["id"], "gemini-cli");
}

#[test]
fn with_the_server_down_hooks_still_return_at_once_and_a_later_hook_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let (url, token) = (server.url.clone(), server.admin_token());
    server.kill();
    let spool = dir.path().join("spool");
    feed(&url, &token, &spool, "claude-code");
    let server = Serve::restart_at(&data, &url);
    // Any later hook call starts a delivery that sends what waited.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args([
            "hook",
            "claude-code",
            "--server",
            &url,
            "--commitment-key",
            KEY,
        ])
        .arg("--spool-dir")
        .arg(&spool)
        .env("SEALOG_API_KEY", &token)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let late =
        json!({"session_id": "later", "hook_event_name": "SessionStart", "source": "resume"});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(late.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let events =
        support::session_events(&server, &token, "8c35adc1-2f1e-4b8e-9c61-0d2a7e5b3f10", 6);
    check_numbered(&events);
}
