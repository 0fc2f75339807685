//! The openai client instrumented by OpenInference and by OpenLLMetry, and a LangChain chat
//! model instrumented by OpenInference, against a local fake OpenAI server, exporting to the
//! real server over OTLP/HTTP: the same LLM call recorded from each, content committed, and
//! kept only once the log opts in.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use support::{Serve, call};

const PROMPT: &str = "secret-prompt-text";
const REPLY: &str = "secret-reply-text";

fn run(server: &Serve, key: &str, mode: &str) {
    let python = std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/agent.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(mode)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/otlp", server.url),
        )
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("Authorization=Bearer%20{key}"),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "agent.py {mode} failed (install scripts/requirements-test.txt): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The events of `agent`, once the index has caught up, and the whole page's text.
fn events_of(server: &Serve, agent: &str) -> (Vec<Value>, String) {
    let url = format!(
        "{}/v1/logs/default/events?limit=1000&agent={agent}",
        server.url
    );
    for _ in 0..100 {
        let reply = call("GET", &url, Some(&server.admin_token()), None);
        let page = reply.json();
        if page["index_watermark"] == page["size"] {
            let events = page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].clone());
            return (events.collect(), reply.body);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the index did not catch up");
}

fn check_llm_call(e: &Value) {
    assert_eq!(e["action"], "llm_call", "{e}");
    let model = &e["context"]["model"];
    assert_eq!(
        (&model["id"], &model["provider"]),
        (&json!("gpt-test-2025"), &json!("openai")),
        "{e}"
    );
    let metrics = &e["context"]["metrics"];
    assert_eq!(
        (&metrics["input_tokens"], &metrics["output_tokens"]),
        (&json!(7), &json!(3)),
        "{e}"
    );
    assert_eq!(e["agent"]["version"], "1.2.3");
    assert_eq!(e["agent"]["environment"], "test");
}

#[test]
fn each_instrumentation_records_the_llm_call_with_commitments_and_content_only_when_opted_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = format!("{}/v1/logs/default/keys", server.url);
    let key = call("POST", &url, Some(&admin), Some(br#"{"role":"ingest"}"#)).json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (mode, agent) in [
        ("openinference", "oi-agent"),
        ("openllmetry", "tl-agent"),
        ("langchain", "lc-agent"),
    ] {
        run(&server, &key, mode);
        let (events, body) = events_of(&server, agent);
        assert_eq!(events.len(), 1, "{mode}: {body}");
        let e = &events[0];
        check_llm_call(e);
        for side in ["input", "output"] {
            let c = e[side]["commitment"]
                .as_str()
                .unwrap_or_else(|| panic!("{mode}: no {side} commitment: {e}"));
            assert!(c.starts_with("hmac-sha256:"));
        }
        for secret in [PROMPT, REPLY, "sk-test"] {
            assert!(
                !body.contains(secret),
                "{mode}: {secret} is in the log: {body}"
            );
        }
        if mode == "openinference" {
            assert_eq!(e["session"], json!({"id": "oi-session"}));
        }
    }

    // Opted in, the content is kept as it came (the API key of the client stays out).
    let patch = call(
        "PATCH",
        &format!("{}/v1/logs/default", server.url),
        Some(&admin),
        Some(br#"{"otlp_content": true}"#),
    );
    assert_eq!(patch.status, 200, "{}", patch.body);
    assert_eq!(patch.json()["otlp_content"], true);
    run(&server, &key, "openllmetry");
    let (events, body) = events_of(&server, "tl-agent");
    assert_eq!(events.len(), 2, "{body}");
    let kept = events
        .iter()
        .find(|e| e["input"]["content"].is_object())
        .expect("an event with content");
    check_llm_call(kept);
    assert!(
        kept["input"]["content"].to_string().contains(PROMPT),
        "{kept}"
    );
    assert!(
        kept["output"]["content"].to_string().contains(REPLY),
        "{kept}"
    );
    assert!(!body.contains("sk-test"), "{body}");
}
