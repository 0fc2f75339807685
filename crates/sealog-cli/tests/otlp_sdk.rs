//! OTLP/HTTP ingest end to end: the OpenTelemetry Python SDK's protobuf exporter (configured
//! only by the two environment variables, with gzip) against the real server; an OTLP/JSON
//! request written from the specification's example; and what must be refused, and how.

mod support;

use base64::Engine as _;
use sealog_core::commitment::{Commitment, CommitmentKey};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use support::{Serve, call, call_with};

/// The Python with the OpenTelemetry packages (scripts/requirements-test.txt).
fn python() -> String {
    std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// A new ingest key of the log `default`.
fn ingest_key(server: &Serve) -> String {
    let url = format!("{}/v1/logs/default/keys", server.url);
    let reply = call(
        "POST",
        &url,
        Some(&server.admin_token()),
        Some(br#"{"role":"ingest"}"#),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["key"].as_str().unwrap().to_owned()
}

/// Runs tests/otlp/agent.py `mode` with the exporter pointed at `server`.
fn agent(server: &Serve, key: &str, mode: &str, extra: &[(&str, &str)]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/agent.py");
    let out = Command::new(python())
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
        .envs(extra.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "agent.py {mode} failed (install scripts/requirements-test.txt): {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

/// The log's events, once the index holds all `size` of them.
fn events(server: &Serve) -> (Vec<Value>, String) {
    let url = format!("{}/v1/logs/default/events?limit=1000", server.url);
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

fn size(server: &Serve) -> u64 {
    let url = format!("{}/v1/logs/default", server.url);
    call("GET", &url, Some(&server.admin_token()), None).json()["size"]
        .as_u64()
        .unwrap()
}

fn by_span<'a>(events: &'a [Value], span_id: &Value) -> &'a Value {
    events
        .iter()
        .find(|e| e["trace"]["span_id"] == *span_id)
        .unwrap_or_else(|| panic!("no event of span {span_id}"))
}

#[test]
fn the_python_sdk_exporter_records_ai_spans_with_commitments_instead_of_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let key = ingest_key(&server);
    let sent = agent(
        &server,
        &key,
        "sdk",
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
    );
    let spans = &sent["spans"];
    let (events, body) = events(&server);
    // Four spans of the AI trace and the log record inside it; the database span of a trace
    // with no AI span is left out by the default setting.
    assert_eq!(events.len(), 5, "{body}");
    assert!(!body.contains(spans["SELECT users"]["span_id"].as_str().unwrap()));
    for secret in [
        "secret-prompt-text",
        "secret-reply-text",
        "secret-error-text",
        "secret-log-text",
        "sk-live",
        "sk-abc",
    ] {
        assert!(!body.contains(secret), "{secret} is in the log: {body}");
    }

    let agent_span = by_span(&events, &spans["invoke_agent planner"]["span_id"]);
    assert_eq!(agent_span["action"], "x-invoke_agent");
    assert_eq!(
        agent_span["agent"],
        json!({"id": "agent-7", "name": "planner", "version": "1.2.3", "environment": "test"})
    );
    assert_eq!(agent_span["session"], json!({"id": "conv-1"}));

    let chat = by_span(&events, &spans["chat gpt-4o"]["span_id"]);
    assert_eq!(chat["action"], "llm_call");
    assert_eq!(chat["agent"]["id"], "sdk-agent");
    assert_eq!(
        chat["trace"]["parent_span_id"],
        spans["invoke_agent planner"]["span_id"]
    );
    let model = &chat["context"]["model"];
    assert_eq!(
        (&model["id"], &model["x-request_model"], &model["provider"]),
        (
            &json!("gpt-4o-2024-08-06"),
            &json!("gpt-4o"),
            &json!("openai")
        )
    );
    assert_eq!(model["params"]["temperature"], 0.2);
    let metrics = &chat["context"]["metrics"];
    assert_eq!(
        (
            &metrics["input_tokens"],
            &metrics["output_tokens"],
            &metrics["x-cache_read_input_tokens"]
        ),
        (&json!(11), &json!(5), &json!(4))
    );
    assert!(metrics["latency_ms"].as_f64().unwrap() >= 0.0);

    // The admin fetches the commitment key once, and with it proves what the prompt was.
    let url = format!("{}/v1/logs/default/otlp/commitment-key", server.url);
    let fetched = call("POST", &url, Some(&server.admin_token()), None);
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    let again = call("POST", &url, Some(&server.admin_token()), None);
    assert_eq!(
        (again.status, again.error_code()),
        (409, "already_fetched".into())
    );
    assert_eq!(call("POST", &url, Some(&key), None).status, 403);
    let ck = fetched.json();
    assert_eq!(chat["context"]["x-otlp"]["commitment_key"], ck["id"]);
    let secret = base64::engine::general_purpose::STANDARD
        .decode(ck["key"].as_str().unwrap())
        .unwrap();
    let ck = CommitmentKey::new(&secret).unwrap();
    // The attribute as Python's json.dumps wrote it.
    let prompt = r#"[{"role": "user", "parts": [{"type": "text", "content": "What is the capital of France? secret-prompt-text"}]}]"#;
    let committed = json!({"gen_ai.input.messages": prompt});
    let c: Commitment = chat["input"]["commitment"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ck.check_json(&committed, &c),
        "{committed} {}",
        chat["input"]
    );
    assert_eq!(chat["input"]["media_type"], "application/json");
    // Rotation hands out a new key once; later content is committed under it.
    let rotate = format!("{url}/rotate");
    let rotated = call("POST", &rotate, Some(&server.admin_token()), None).json();
    assert_eq!(
        rotated["replaced"],
        chat["context"]["x-otlp"]["commitment_key"]
    );
    assert_ne!(rotated["id"], rotated["replaced"]);
    assert_eq!(
        call("POST", &url, Some(&server.admin_token()), None).status,
        409
    );

    let http = by_span(&events, &spans["GET"]["span_id"]);
    assert_eq!(http["action"], "x-span");
    assert_eq!(
        http["attributes"]["url.full"],
        "https://api.example/v1/search?q=x&api_key=[redacted]"
    );
    assert_eq!(
        http["attributes"]["http.request.header.authorization"],
        "[redacted]"
    );
    assert_eq!(
        http["context"]["x-otlp"]["redacted"],
        json!(["http.request.header.authorization", "url.full"])
    );

    let tool = by_span(&events, &spans["lookup"]["span_id"]);
    assert_eq!(
        (&tool["action"], &tool["status"]),
        (&json!("tool_call"), &json!("error"))
    );
    assert_eq!(
        tool["context"]["tool"],
        json!({"name": "lookup", "call_id": "call_1"})
    );
    assert!(tool["input"]["commitment"].is_string() && tool["output"]["commitment"].is_string());

    let log = events
        .iter()
        .find(|e| e["context"]["x-otlp"]["source"] == "log")
        .unwrap();
    assert_eq!(
        (&log["action"], &log["status"]),
        (&json!("x-log"), &json!("error"))
    );
    assert_eq!(log["trace"]["trace_id"], spans["lookup"]["trace_id"]);
    assert!(log["input"]["commitment"].is_string(), "{log}");

    // Each event has a receipt that `sealog verify` accepts against the log's key.
    let vkey = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&server.admin_token()),
        None,
    )
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let proof_url = format!(
        "{}/v1/logs/default/events/{}/proof",
        server.url,
        chat["id"].as_str().unwrap()
    );
    let mut receipt = call("GET", &proof_url, Some(&server.admin_token()), None);
    for _ in 0..50 {
        if receipt.status == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        receipt = call("GET", &proof_url, Some(&server.admin_token()), None);
    }
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    let file = dir.path().join("chat.tlog-proof");
    std::fs::write(&file, &receipt.body).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(&file)
        .args(["--log-key", &vkey])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The session has no seq: its view and its evidence pack say completeness is unprovable.
    let view = call(
        "GET",
        &format!("{}/v1/logs/default/sessions/conv-1/events", server.url),
        Some(&server.admin_token()),
        None,
    )
    .json();
    assert_eq!(view["events"].as_array().unwrap().len(), 2);
    assert!(
        view["completeness"]
            .as_str()
            .unwrap()
            .contains("cannot be proven"),
        "{view}"
    );
    let pack = dir.path().join("conv-1.zip");
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args([
            "export",
            "--server",
            &server.url,
            "--token",
            &server.admin_token(),
            "--session",
            "conv-1",
            "-o",
        ])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(&pack)
        .args(["--log-key", &vkey])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("2 events carry no seq") && text.contains("cannot be proven"),
        "{text}"
    );
}

/// The OTLP/JSON trace example of the OpenTelemetry specification (opentelemetry-proto
/// examples/trace.json), with an AI span beside it.
const JSON_FIXTURE: &str = r#"{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeSpans": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "parentSpanId": "eee19b7ec3c1b173", "name": "I'm a server span",
         "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000",
         "kind": 2,
         "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}],
         "someFutureField": true},
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
         "parentSpanId": "eee19b7ec3c1b174", "name": "chat gpt-4o",
         "startTimeUnixNano": "1544712660100000000", "endTimeUnixNano": "1544712660900000000",
         "kind": 3, "status": {"code": 1},
         "attributes": [
           {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
           {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
           {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
           {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
           {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "json-secret-prompt"}}]}
      ]}]}]}"#;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn an_otlp_json_request_is_recorded_once_however_often_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let key = ingest_key(&server);
    let url = format!("{}/otlp/v1/traces", server.url);
    let json_type = [("Content-Type", "application/json")];
    let reply = call_with(
        "POST",
        &url,
        Some(&key),
        &json_type,
        Some(JSON_FIXTURE.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json()["partialSuccess"].is_null(), "{}", reply.body);
    assert_eq!(size(&server), 2);
    // A retry, plain or gzip'd, is a duplicate of every span: nothing new is stored.
    let reply = call_with(
        "POST",
        &url,
        Some(&key),
        &json_type,
        Some(JSON_FIXTURE.as_bytes()),
    );
    assert_eq!(
        (reply.status, &reply.json()["partialSuccess"]),
        (200, &Value::Null)
    );
    let gz = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
    ];
    let reply = call_with(
        "POST",
        &url,
        Some(&key),
        &gz,
        Some(&gzip(JSON_FIXTURE.as_bytes())),
    );
    assert_eq!(
        (reply.status, &reply.json()["partialSuccess"]),
        (200, &Value::Null)
    );
    assert_eq!(size(&server), 2);
    let (events, body) = events(&server);
    assert!(!body.contains("json-secret-prompt"), "{body}");
    let server_span = events.iter().find(|e| e["action"] == "x-span").unwrap();
    assert_eq!(server_span["started"], "2018-12-13T14:51:00Z");
    assert_eq!(server_span["ts"], "2018-12-13T14:51:01Z");
    assert_eq!(server_span["agent"]["id"], "my.service");
    assert_eq!(server_span["attributes"]["my.span.attr"], "some value");
    assert_eq!(server_span["attributes"]["otel.span.kind"], "server");
    let chat = events.iter().find(|e| e["action"] == "llm_call").unwrap();
    assert_eq!(chat["context"]["metrics"]["input_tokens"], 12);
    assert_eq!(chat["context"]["model"]["id"], "gpt-4o");
    // The id is the UUIDv7 of the span's start.
    assert!(
        chat["id"].as_str().unwrap().starts_with("0167a80c-a484-7"),
        "{}",
        chat["id"]
    );

    // A span with an invalid trace id is rejected on its own, and said so.
    let bad = JSON_FIXTURE.replace(
        "\"spanId\": \"eee19b7ec3c1b175\"",
        "\"spanId\": \"0000000000000000\"",
    );
    let reply = call_with("POST", &url, Some(&key), &json_type, Some(bad.as_bytes()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let partial = &reply.json()["partialSuccess"];
    assert_eq!(partial["rejectedSpans"], 1, "{}", reply.body);
    assert!(
        partial["errorMessage"]
            .as_str()
            .unwrap()
            .contains("8-byte span id"),
        "{}",
        reply.body
    );
}

#[test]
fn what_must_not_be_retried_gets_a_4xx_and_the_exporter_does_not_retry_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--max-body-bytes", "65536"]);
    let key = ingest_key(&server);
    // The exporter's own client: a 400 is final (no backoff, which starts at a second).
    let sent = agent(&server, &key, "malformed", &[]);
    assert_eq!(
        (&sent["success"], &sent["status"]),
        (&json!(false), &json!(400)),
        "{sent}"
    );
    assert!(sent["seconds"].as_f64().unwrap() < 1.0, "{sent}");

    let url = format!("{}/otlp/v1/traces", server.url);
    let proto = [("Content-Type", "application/x-protobuf")];
    let json_type = [("Content-Type", "application/json")];
    let reply = call_with(
        "POST",
        &url,
        Some(&key),
        &json_type,
        Some(b"{\"resourceSpans\": 7}"),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("not an OTLP/JSON request"),
        "{}",
        reply.body
    );
    // Over the body limit, plain or once decompressed: 413.
    let big = vec![0u8; 70_000];
    assert_eq!(
        call_with("POST", &url, Some(&key), &proto, Some(&big)).status,
        413
    );
    let gz = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "gzip"),
    ];
    let bomb = gzip(&vec![0u8; 1 << 20]);
    assert!(bomb.len() < 65536);
    assert_eq!(
        call_with("POST", &url, Some(&key), &gz, Some(&bomb)).status,
        413
    );
    // The key decides the log: a server-wide key names none; no key is a 401.
    let admin = server.admin_token();
    let reply = call_with("POST", &url, Some(&admin), &json_type, Some(b"{}"));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        call_with("POST", &url, None, &json_type, Some(b"{}")).status,
        401
    );
    let text = [("Content-Type", "text/plain")];
    assert_eq!(
        call_with("POST", &url, Some(&key), &text, Some(b"{}")).status,
        415
    );
    assert_eq!(size(&server), 0);
}

/// One OTLP/JSON span of `trace`, AI work (a chat) or not (an HTTP client call).
fn one_span(trace: &str, span: &str, ai: bool) -> Vec<u8> {
    let attributes = if ai {
        json!([{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}])
    } else {
        json!([{"key": "http.request.method", "value": {"stringValue": "GET"}}])
    };
    let request = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace, "spanId": span, "name": "s", "kind": 3,
        "startTimeUnixNano": "1765000000000000000", "endTimeUnixNano": "1765000001000000000",
        "attributes": attributes}]}]}]});
    serde_json::to_vec(&request).unwrap()
}

#[test]
fn non_ai_spans_are_kept_in_ai_traces_seen_so_far_or_as_the_log_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let key = ingest_key(&server);
    let url = format!("{}/otlp/v1/traces", server.url);
    let json_type = [("Content-Type", "application/json")];
    let send = |body: Vec<u8>| {
        let reply = call_with("POST", &url, Some(&key), &json_type, Some(&body));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    };
    let t1 = "0af7651916cd43dd8448eb211c80319c";
    // Before any AI span of its trace arrived, an HTTP span is left out, and said so.
    let reply = send(one_span(t1, "00f067aa0ba902b1", false));
    assert_eq!(reply["partialSuccess"]["rejectedSpans"], 0, "{reply}");
    assert!(
        reply["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("1 non-AI records were left out"),
        "{reply}"
    );
    assert_eq!(size(&server), 0);
    send(one_span(t1, "00f067aa0ba902b2", true));
    assert_eq!(size(&server), 1);
    // Now the trace is known to hold AI work: its later HTTP spans are kept.
    assert!(send(one_span(t1, "00f067aa0ba902b3", false))["partialSuccess"].is_null());
    assert_eq!(size(&server), 2);

    let patch = |value: &str| {
        let body = format!("{{\"otlp_other_spans\": \"{value}\"}}");
        let reply = call(
            "PATCH",
            &format!("{}/v1/logs/default", server.url),
            Some(&server.admin_token()),
            Some(body.as_bytes()),
        );
        assert_eq!(reply.json()["otlp_other_spans"], value, "{}", reply.body);
    };
    patch("drop");
    send(one_span(t1, "00f067aa0ba902b4", false));
    assert_eq!(size(&server), 2);
    patch("keep");
    send(one_span(
        "1af7651916cd43dd8448eb211c80319c",
        "00f067aa0ba902b5",
        false,
    ));
    assert_eq!(size(&server), 3);
}

#[test]
fn what_may_be_retried_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &["--rate-limit", "1"]);
    let key = ingest_key(&server);
    let url = format!("{}/otlp/v1/traces", server.url);
    let json_type = [("Content-Type", "application/json")];
    let body = one_span("0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b1", true);
    // A burst of twice the rate passes; then the key waits, told for how long.
    let replies: Vec<_> = (0..4)
        .map(|_| call_with("POST", &url, Some(&key), &json_type, Some(&body)))
        .collect();
    let limited = replies.iter().find(|r| r.status == 429).expect("a 429");
    assert!(
        limited
            .retry_after
            .as_deref()
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1),
        "{:?}",
        limited.retry_after
    );
    let status = limited.json();
    assert_eq!(status["code"], 8, "RESOURCE_EXHAUSTED: {}", limited.body);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("rate_limited:"),
        "{}",
        limited.body
    );
}
