//! Event validation: a complete event passes and keeps its exact canonical bytes; every kind
//! of mistake is refused with the field's path and a reason a user can act on.

use sealog_core::event::{Limits, OversightDecision, Payload, parse, validate};
use sealog_core::jcs;
use serde_json::{Value, json};

const ID: &str = "0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20";

fn minimal() -> Value {
    json!({"id": ID, "ts": "2026-11-22T10:00:00.250Z", "agent": {"id": "support-bot"},
           "action": "llm_call", "status": "ok"})
}

fn full() -> Value {
    json!({
        "id": ID,
        "ts": "2026-11-22T10:00:01.5Z",
        "started": "2026-11-22T10:00:00Z",
        "agent": {"id": "support-bot", "name": "Support", "version": "1.4.2", "environment": "prod"},
        "action": "human_oversight",
        "status": "ok",
        "session": {"id": "sess-42", "seq": 7},
        "trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                  "parent_span_id": "00f067aa0ba902b8"},
        "input": {"commitment": "hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "size": 12,
                  "media_type": "text/plain"},
        "output": {"content": {"answer": "refund approved"}, "redacted": ["email"]},
        "context": {
            "model": {"id": "gpt-4o", "provider": "openai", "type": "chat",
                      "params": {"temperature": 0.2, "seed": 7, "x": {"nested": true}}},
            "prompt": {"name": "refund", "version": "3"},
            "tool": {"name": "issue_refund", "call_id": "call_1", "type": "function"},
            "policy": {"name": "refunds", "version": "2026-10", "hash": "sha256:ab"},
            "data": {"sources": ["crm://ticket/9"], "lineage": {"from": ["a", "b"]}},
            "checks": [{"name": "pii", "score": 0.1, "threshold": 0.5, "fired": false, "result": "pass"}],
            "decision": {"outcome": "approved", "reason_codes": ["R1"]},
            "oversight": {"required": true, "reviewer": "alice", "role": "supervisor",
                          "decision": "overridden", "reason": "customer is VIP",
                          "target": "0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d21",
                          "reviewed_at": "2026-11-22T10:00:01Z"},
            "metrics": {"latency_ms": 812.5, "input_tokens": 1200, "output_tokens": 80,
                        "cost": 0.0031, "confidence": 0.93, "anomaly_flags": []},
            "subject": {"pseudo_id": "subj-7f3a"},
            "x-acme": {"ticket": 9}
        },
        "attributes": {"€": "non-ASCII key", "big": 1e300, "list": [1, 2, 3]},
        "sig": {"key_id": "agent-key-1", "sig": "A".repeat(86) + "=="}
    })
}

fn errors(v: &Value) -> Vec<String> {
    validate(v, &Limits::default())
        .unwrap_err()
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn one_error(v: &Value) -> String {
    let errs = errors(v);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn a_complete_event_validates_and_keeps_its_exact_canonical_bytes() {
    let v = full();
    let ok = validate(&v, &Limits::default()).unwrap();
    assert_eq!(ok.canonical, sealog_core::jcs::canonicalize(&v));
    assert_eq!(ok.id, 0x0190b3a4_8d0e_7cc1_9a53_8e5c2b7f1d20);
    let e = &ok.event;
    assert_eq!(e.agent.environment.as_deref(), Some("prod"));
    assert_eq!(e.session.as_ref().unwrap().seq, Some(7));
    let ctx = e.context.as_ref().unwrap();
    assert_eq!(
        ctx.oversight.as_ref().unwrap().decision,
        Some(OversightDecision::Overridden)
    );
    assert_eq!(ctx.metrics.as_ref().unwrap().input_tokens, Some(1200));
    assert_eq!(ctx.tool.as_ref().unwrap().name, "issue_refund");
    assert!(matches!(
        e.input,
        Some(Payload::Commitment { size: 12, .. })
    ));
    assert!(
        matches!(&e.output, Some(Payload::Content { redacted: Some(r), .. }) if r == &["email"])
    );
    // The x- extension and free-form params survive in the canonical bytes.
    let text = String::from_utf8(ok.canonical).unwrap();
    assert!(text.contains(r#""x-acme":{"ticket":9}"#), "{text}");
    assert!(text.contains(r#""x":{"nested":true}"#), "{text}");
}

#[test]
fn minimal_event_and_parse_from_text() {
    let text = serde_json::to_vec(&minimal()).unwrap();
    let ok = parse(&text, &Limits::default()).unwrap();
    assert_eq!(ok.event.action, "llm_call");
    assert_eq!(
        String::from_utf8(ok.canonical).unwrap(),
        r#"{"action":"llm_call","agent":{"id":"support-bot"},"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","status":"ok","ts":"2026-11-22T10:00:00.250Z"}"#
    );
}

#[test]
fn field_errors_name_the_path_and_the_reason() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"session": {"id": "s", "seq": -1}}),
            "`session.seq`: must be a non-negative integer",
        ),
        (
            json!({"session": {"id": "s", "seq": 1.5}}),
            "`session.seq`: must be a non-negative integer",
        ),
        (
            json!({"session": {"id": "s", "seq": 9007199254740992u64}}),
            "`session.seq`: 9007199254740992 is outside ±(2^53 - 1), the range canonical JSON keeps exact; send it as a string",
        ),
        (
            json!({"action": "session_end", "session": {"id": "s", "count": 1}}),
            "`session.count`: needs `session.seq`: a count is checked against it",
        ),
        (
            json!({"session": {"id": "s", "seq": 3, "count": 4}}),
            "`session.count`: is only allowed on a session_end event",
        ),
        (
            json!({"action": "session_end", "session": {"id": "s", "seq": 3, "count": 9}}),
            "`session.count`: must equal `session.seq` + 1: the events of the session, session_end included",
        ),
        (json!({"agent": {}}), "`agent.id`: is required"),
        (
            json!({"agent": {"id": ""}}),
            "`agent.id`: must not be empty",
        ),
        (
            json!({"agent": {"id": "a\u{0}b"}}),
            "`agent.id`: must not contain control characters",
        ),
        (
            json!({"agent": {"id": "a".repeat(257)}}),
            "`agent.id`: must be at most 256 bytes long, not 257",
        ),
        (
            json!({"agent": "bot"}),
            "`agent`: must be an object, not a string",
        ),
        (
            json!({"agent": {"id": "a", "team": "x"}}),
            "`agent.team`: unknown field; expected one of: id, name, version, environment",
        ),
        (
            json!({"id": "0190B3A4-8D0E-7CC1-9A53-8E5C2B7F1D20"}),
            "`id`: must be a UUIDv7 in lowercase hyphenated form, such as 0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20",
        ),
        (
            json!({"id": "0190b3a4-8d0e-4cc1-9a53-8e5c2b7f1d20"}),
            "`id`: must be a UUIDv7 in lowercase hyphenated form, such as 0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20",
        ),
        (
            json!({"ts": "2026-11-22T10:00:00+01:00"}),
            "`ts`: must be an RFC 3339 time in UTC ending in Z, such as 2026-11-22T14:03:28.123Z",
        ),
        (
            json!({"ts": "2026-11-22 10:00:00Z"}),
            "`ts`: must be an RFC 3339 time in UTC ending in Z, such as 2026-11-22T14:03:28.123Z",
        ),
        (
            json!({"ts": 1732269600}),
            "`ts`: must be a string, not a number",
        ),
        (
            json!({"started": "2026-11-22T10:00:01Z"}),
            "`started`: must not be later than `ts`",
        ),
        (
            json!({"action": "LLM"}),
            "`action`: unknown action \"LLM\"; use one of llm_call, tool_call, retrieval, decision, human_oversight, policy_flag, session_start, session_end, config_change, error, gap, erasure, legal_hold, legal_hold_lifted, prune, retention_changed, incident or a custom `x-<name>`",
        ),
        (
            json!({"status": "x-"}),
            "`status`: unknown status \"x-\"; use one of ok, error, blocked, pending, cancelled, timeout or a custom `x-<name>`",
        ),
        (
            json!({"trace": {"trace_id": "0".repeat(32), "span_id": "00f067aa0ba902b7"}}),
            "`trace.trace_id`: must not be all zeros (an invalid id in W3C trace context)",
        ),
        (
            json!({"trace": {"trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736", "span_id": "00f067aa0ba902b7"}}),
            "`trace.trace_id`: must be 32 lowercase hexadecimal digits",
        ),
        (
            json!({"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "parent_span_id": "00f067aa0ba902b7"}}),
            "`trace.parent_span_id`: must differ from `span_id`",
        ),
        (
            json!({"input": {"commitment": "sha256:abc", "size": 1}}),
            "`input.commitment`: must be \"hmac-sha256:\" followed by the standard base64 of 32 bytes",
        ),
        (
            json!({"input": {"commitment": "hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}),
            "`input.size`: is required",
        ),
        (
            json!({"input": {"content": "hi", "commitment": "hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "size": 2}}),
            "`input`: must have exactly one of `commitment`, `content` or `encrypted`",
        ),
        (
            json!({"output": {}}),
            "`output`: must have exactly one of `commitment`, `content` or `encrypted`",
        ),
        (
            json!({"output": {"content": "hi", "size": 2}}),
            "`output.size`: is not allowed in a content payload",
        ),
        (
            json!({"output": {"content": "hi", "media_type": "text"}}),
            "`output.media_type`: must be a media type such as text/plain or application/json",
        ),
        (
            json!({"output": {"encrypted": {"subject": "s", "key_id": "k", "ciphertext_sha256": "ab"}}}),
            "`output.encrypted.ciphertext_sha256`: must be 64 lowercase hexadecimal digits",
        ),
        (
            json!({"context": {"modle": {}}}),
            "`context.modle`: unknown field; expected one of: model, prompt, tool, policy, data, checks, decision, oversight, metrics, subject, or an `x-` extension",
        ),
        (
            json!({"context": {"tool": {"call_id": "c"}}}),
            "`context.tool.name`: is required",
        ),
        (
            json!({"context": {"checks": [{"name": "a"}, {"name": "b", "score": "high"}]}}),
            "`context.checks[1].score`: must be a number, not a string",
        ),
        (
            json!({"context": {"metrics": {"confidence": 1.5}}}),
            "`context.metrics.confidence`: must be between 0 and 1, not 1.5",
        ),
        (
            json!({"context": {"oversight": {"decision": "maybe"}}}),
            "`context.oversight.decision`: must be one of: approved, rejected, overridden, stopped",
        ),
        (
            json!({"context": {"oversight": {"target": "not-an-id"}}}),
            "`context.oversight.target`: must be the id (a UUIDv7) of the event reviewed",
        ),
        (
            json!({"action": "human_oversight"}),
            "`context.oversight`: a human_oversight event must say who reviewed (`reviewer`) and what they decided (`decision`)",
        ),
        (
            json!({"attributes": [1]}),
            "`attributes`: must be an object",
        ),
        (
            json!({"attributes": {"n": 9007199254740993u64}}),
            "`attributes.n`: 9007199254740993 is outside ±(2^53 - 1), the range canonical JSON keeps exact; send it as a string",
        ),
        (
            json!({"sig": {"key_id": "k", "sig": "abc"}}),
            "`sig.sig`: must be the standard base64 of a 64-byte Ed25519 signature",
        ),
        (
            json!({"prompt": "hello"}),
            "`prompt`: unknown field; expected one of: id, ts, started, agent, action, status, session, trace, input, output, context, attributes, sig",
        ),
    ];
    for (patch, want) in cases {
        let mut v = minimal();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        assert_eq!(one_error(&v), want, "patch {patch}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let v = json!({"id": "nope", "agent": {}, "action": "llm_call", "status": "fine"});
    assert_eq!(
        errors(&v),
        vec![
            "`id`: must be a UUIDv7 in lowercase hyphenated form, such as 0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20",
            "`ts`: is required",
            "`agent.id`: is required",
            "`status`: unknown status \"fine\"; use one of ok, error, blocked, pending, cancelled, timeout or a custom `x-<name>`",
        ]
    );
}

#[test]
fn null_means_absent_for_optional_fields_only() {
    let mut v = minimal();
    v["session"] = Value::Null;
    v["agent"]["name"] = Value::Null;
    assert!(validate(&v, &Limits::default()).is_ok());
    v["status"] = Value::Null;
    assert_eq!(one_error(&v), "`status`: is required");
}

#[test]
fn limits_are_enforced() {
    let limits = Limits::default();
    let mut deep = json!(1);
    for _ in 0..20 {
        deep = json!([deep]);
    }
    let mut v = minimal();
    v["attributes"] = json!({"d": deep});
    assert!(one_error(&v).ends_with("nesting is deeper than 16 levels"));

    let mut v = minimal();
    v["attributes"] = json!({"a": vec![0; 1025]});
    assert_eq!(
        one_error(&v),
        "`attributes.a`: array has 1025 elements; the limit is 1024"
    );

    let mut v = minimal();
    v["attributes"] = json!({"s": "x".repeat(32 * 1024 + 1)});
    assert_eq!(
        one_error(&v),
        "`attributes.s`: string is 32769 bytes; the limit is 32768"
    );

    let mut v = minimal();
    let big: serde_json::Map<String, Value> = (0..3)
        .map(|i| (format!("k{i}"), json!("y".repeat(30_000))))
        .collect();
    v["attributes"] = Value::Object(big);
    let err = one_error(&v);
    assert!(err.starts_with("event is 90"), "{err}");
    assert!(
        err.contains(&format!("the limit is {}", limits.max_event_bytes)),
        "{err}"
    );

    let mut v = minimal();
    let many: serde_json::Map<String, Value> =
        (0..257).map(|i| (format!("k{i}"), json!(i))).collect();
    v["attributes"] = Value::Object(many);
    assert_eq!(
        one_error(&v),
        "`attributes`: object has 257 members; the limit is 256"
    );
}

#[test]
fn malformed_text_is_refused_with_a_position() {
    let err = parse(b"{\"id\": 1,\n \"id\": 2}", &Limits::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "invalid JSON: duplicate key \"id\" at line 2 column 5");
    let err = parse(b"{\"id\": ", &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("invalid JSON: EOF while parsing"), "{err}");
    assert!(
        parse(b"[]", &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("must be an object, not an array")
    );
}

#[test]
fn the_typed_event_serializes_to_the_same_canonical_bytes() {
    // Rust users can build events from the typed structs: serializing them back gives JSON
    // that validates to the same canonical bytes.
    let ok = validate(&full(), &Limits::default()).unwrap();
    let again = serde_json::to_value(&ok.event).unwrap();
    let ok2 = validate(&again, &Limits::default()).unwrap();
    assert_eq!(ok2.event, ok.event);
}

/// Found by the `event_json` fuzzer: free-form numbers are rewritten in canonical form
/// (`-0` → `0`, `100.0` → `100`, `1E21` → `1e+21`), and the canonical bytes validate again to
/// the same canonical bytes and the same typed event in canonical form.
#[test]
fn free_form_numbers_are_canonical_and_stable() {
    let text = br#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d22","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"x-scoring","status":"ok","attributes":{"a":1E21,"b":1e-7,"c":-0,"d":0.1,"e":100.0,"f":5e-324,"g":9007199254740991,"h":-1.5e300}}"#;
    let limits = Limits::default();
    let first = parse(text, &limits).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&first.canonical),
        r#"{"action":"x-scoring","agent":{"id":"bot"},"attributes":{"a":1e+21,"b":1e-7,"c":0,"d":0.1,"e":100,"f":5e-324,"g":9007199254740991,"h":-1.5e+300},"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d22","status":"ok","ts":"2026-11-22T10:00:00Z"}"#
    );
    let again = parse(&first.canonical, &limits).unwrap();
    assert_eq!(again.canonical, first.canonical);
    let typed =
        |e: &sealog_core::event::Event| jcs::canonicalize(&serde_json::to_value(e).unwrap());
    assert_eq!(typed(&again.event), typed(&first.event));
}

/// Found by the `event_json` fuzzer: a number written as a fraction or with an exponent can
/// still be a whole number beyond 2^53, which canonical JSON writes as a plain integer; it is
/// refused like the integer itself, so that every accepted event's canonical bytes validate.
#[test]
fn whole_doubles_beyond_the_safe_range_are_refused() {
    let limits = Limits::default();
    for (number, refused) in [
        ("1111111111111111111111111.1111111111111111e-7", true),
        ("9007199254740992.0", true),
        ("-9.1e15", true),
        ("9007199254740991.0", false),
        ("1e21", false),
        ("-1.5e300", false),
        ("12345.678", false),
    ] {
        let text = format!(
            r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d22","ts":"2026-11-22T10:00:00Z","agent":{{"id":"bot"}},"action":"x-scoring","status":"ok","attributes":{{"b":{number}}}}}"#
        );
        match parse(text.as_bytes(), &limits) {
            Ok(ok) => {
                assert!(!refused, "{number} was accepted");
                assert_eq!(
                    parse(&ok.canonical, &limits).unwrap().canonical,
                    ok.canonical
                );
            }
            Err(e) => {
                assert!(refused, "{number} was refused: {e}");
                assert_eq!(e.errors[0].path, "attributes.b");
                assert!(e.errors[0].message.contains("outside ±(2^53 - 1)"), "{e}");
            }
        }
    }
}
