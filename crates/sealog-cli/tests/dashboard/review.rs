//! One session an auditor reviews, in the log and in its reports: a model call with a
//! committed prompt, tool calls (one failing), a decision, a policy flag and a human review of
//! the decision. Included with `#[path]` next to `support`.

use super::support::uuid7;
use serde_json::{Value, json};

/// The committed prompt of the model call; no report may show it.
pub const COMMITMENT: &str = "hmac-sha256:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// Event `seq` of session `r-1`, with `extra` members.
fn step(seq: u64, action: &str, status: &str, extra: Value) -> Value {
    let mut e = json!({
        "id": uuid7(100 + seq),
        "ts": format!("2026-11-30T10:{seq:02}:00Z"),
        "agent": {"id": "claims-bot"},
        "action": action,
        "status": status,
        "session": {"id": "r-1", "seq": seq},
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// A session with a model call, tool calls (one failing), a decision, a policy flag and a
/// human review of the decision.
pub fn session() -> Vec<Value> {
    vec![
        step(0, "session_start", "ok", json!({})),
        step(
            1,
            "llm_call",
            "ok",
            json!({"context": {"model": {"id": "gpt-4o-mini", "provider": "openai"}},
                "input": {"commitment": COMMITMENT, "size": 512}}),
        ),
        step(
            2,
            "tool_call",
            "ok",
            json!({"context": {"tool": {"name": "lookup_order"}}}),
        ),
        step(
            3,
            "tool_call",
            "error",
            json!({"context": {"tool": {"name": "issue_refund"}},
                "attributes": {"error.type": "TimeoutError"}}),
        ),
        step(
            4,
            "decision",
            "ok",
            json!({"context": {"decision": {"outcome": "escalated", "reason_codes": ["amount_over_limit"]}}}),
        ),
        step(
            5,
            "policy_flag",
            "blocked",
            json!({"context": {"decision": {"outcome": "blocked", "reason_codes": ["pii_detected"]}}}),
        ),
        step(
            6,
            "human_oversight",
            "ok",
            json!({"context": {"oversight": {"reviewer": "ana@example.com", "decision": "approved",
                "target": reviewed_id(), "reason": "refund within policy"}}}),
        ),
        step(
            7,
            "session_end",
            "ok",
            json!({"session": {"id": "r-1", "seq": 7, "count": 8}}),
        ),
    ]
}

/// The id of the decision the review approved (seq 4).
pub fn reviewed_id() -> String {
    uuid7(104)
}
