//! The demo log of the dashboard's end-to-end test and the README's screenshots: several
//! agents and sessions over the last hour, recorded in time order, with every kind of block the
//! pages lay out. Included with `#[path]` next to `fixture.rs`.

#![allow(dead_code)] // Each test uses a different subset.

use super::fixture::*;
use serde_json::{Value, json};

/// A session recorded whole.
pub const FULL_SESSION: &str = "sess-faq-1937";
/// The events of [`GAP_SESSION`] that were recorded (seq 3 of 0–7 is missing).
pub const GAP_SESSION_EVENTS: usize = 7;

/// A fake but well-formed payload commitment.
fn commitment(seed: u64) -> Value {
    use base64::Engine as _;
    let bytes: Vec<u8> = hex_id(seed, 64)
        .as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect();
    json!({
        "commitment": format!("hmac-sha256:{}", base64::engine::general_purpose::STANDARD.encode(bytes)),
        "size": 200 + seed % 1800,
        "media_type": "application/json"
    })
}

struct Demo {
    n: u64,
    events: Vec<Value>,
}

impl Demo {
    /// Adds an event at `ms` (taking `took` ms) with `extra` members; returns its id.
    fn add(
        &mut self,
        ms: u64,
        took: u64,
        agent: &Value,
        action: &str,
        status: &str,
        extra: Value,
    ) -> String {
        self.n += 1;
        let id = uuid_at(ms, self.n);
        let mut e = json!({
            "id": id, "ts": ts(ms), "agent": agent, "action": action, "status": status,
        });
        if took > 0 {
            e["started"] = json!(ts(ms - took));
        }
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        self.events.push(e);
        id
    }
}

/// A session's `session` and `trace` members for step `seq` (span `seq + 1`, child of the
/// session's root span 0).
fn step(session: &str, seed: u64, seq: u64) -> Value {
    let span = |i: u64| hex_id(seed * 100 + i, 16);
    let mut trace = json!({"trace_id": hex_id(seed, 32), "span_id": span(seq + 1)});
    if seq > 0 {
        trace["parent_span_id"] = json!(span(1));
    }
    json!({"session": {"id": session, "seq": seq}, "trace": trace})
}

fn merge(mut a: Value, b: Value) -> Value {
    for (k, v) in b.as_object().unwrap() {
        if let (Some(x), Some(y)) = (a.get_mut(k).and_then(Value::as_object_mut), v.as_object()) {
            for (kk, vv) in y {
                x.insert(kk.clone(), vv.clone());
            }
        } else {
            a[k] = v.clone();
        }
    }
    a
}

fn model(tokens_in: u64, tokens_out: u64, latency: u64) -> Value {
    json!({"context": {
        "model": {"id": "gpt-4o", "provider": "openai", "params": {"temperature": 0.2}},
        "metrics": {"input_tokens": tokens_in, "output_tokens": tokens_out,
            "latency_ms": latency, "cost": (tokens_in * 5 + tokens_out * 15) as f64 / 1e6}
    }})
}

/// About a hundred and twenty events of three agents over the hour before `now`, in time order.
pub fn demo_events(now: u64) -> Vec<Value> {
    let support = json!({"id": "support-bot", "name": "Support assistant", "version": "2.3.1", "environment": "prod"});
    let research = json!({"id": "research-agent", "name": "Market research", "version": "0.9.0", "environment": "staging"});
    let billing = json!({"id": "billing-agent", "version": "1.4.0", "environment": "prod"});
    let min = 60_000;
    let base = now - 58 * min;
    let mut d = Demo {
        n: 0,
        events: Vec::new(),
    };

    // Routine support sessions all hour long.
    for k in 0..20u64 {
        let t = base + k * 5 * min / 2 + (k * 7919) % 30_000;
        let s = format!("sess-{}", 3000 + k * 37);
        let seed = 1000 + k;
        d.add(t, 0, &support, "session_start", "ok", step(&s, seed, 0));
        let took = 700 + (k * 131) % 1500;
        d.add(
            t + 400 + took,
            took,
            &support,
            "llm_call",
            "ok",
            merge(
                step(&s, seed, 1),
                merge(
                    model(900 + k * 13, 120 + k * 3, took),
                    json!({"input": commitment(seed), "output": commitment(seed + 500)}),
                ),
            ),
        );
        let status = if k % 9 == 4 { "timeout" } else { "ok" };
        d.add(
            t + 2600 + took,
            380,
            &support,
            "tool_call",
            status,
            merge(
                step(&s, seed, 2),
                json!({"context": {"tool": {"name": "search_kb", "call_id": format!("call_{}", hex_id(seed, 6))}}}),
            ),
        );
        d.add(
            t + 3200 + took,
            0,
            &support,
            "session_end",
            "ok",
            merge(step(&s, seed, 3), json!({"session": {"count": 4}})),
        );
    }

    // Research: a whole session with a provider error and a retry.
    let t = base + 6 * min;
    let s = "sess-research-77";
    let mut seq = 0;
    let mut next = |d: &mut Demo, dt: u64, took: u64, action: &str, status: &str, extra: Value| {
        let e = merge(step(s, 77, seq), extra);
        seq += 1;
        d.add(t + dt, took, &research, action, status, e)
    };
    next(&mut d, 0, 0, "session_start", "ok", json!({}));
    for (i, src) in [
        "web:eurostat",
        "web:company-filings",
        "vector:analyst-notes",
    ]
    .iter()
    .enumerate()
    {
        let i = i as u64;
        next(
            &mut d,
            1500 + i * 2200,
            1300 + i * 250,
            "retrieval",
            "ok",
            json!({"context": {"data": {"sources": [src]}}}),
        );
    }
    next(
        &mut d,
        11_000,
        2900,
        "llm_call",
        "ok",
        model(5200, 640, 2900),
    );
    next(
        &mut d,
        12_000,
        0,
        "decision",
        "ok",
        json!({"context": {"decision": {"outcome": "shortlist", "reason_codes": ["price", "coverage"]}}}),
    );
    next(
        &mut d,
        14_500,
        2100,
        "error",
        "error",
        json!({"attributes": {"message": "provider returned 429: rate limited"}}),
    );
    next(
        &mut d,
        19_000,
        3100,
        "llm_call",
        "ok",
        model(5300, 702, 3100),
    );
    next(
        &mut d,
        19_500,
        0,
        "session_end",
        "ok",
        json!({"session": {"count": 9}}),
    );

    // Billing: card charges without sessions, some failing, and a configuration change.
    for k in 0..14u64 {
        let status = match k % 5 {
            2 => "error",
            4 if k > 5 => "timeout",
            _ => "ok",
        };
        d.add(
            base + 2 * min + k * 4 * min,
            240 + (k * 37) % 400,
            &billing,
            "tool_call",
            status,
            json!({"context": {"tool": {"name": "charge_card", "call_id": format!("ch_{}", hex_id(k, 8))}},
                   "attributes": {"amount_eur": 19 + k * 11, "currency": "EUR"}}),
        );
    }
    d.add(
        base + 31 * min,
        0,
        &billing,
        "config_change",
        "ok",
        json!({"attributes": {"setting": "retry_limit", "from": 3, "to": 5, "by": "ops@example.com"}}),
    );

    // A complete FAQ session.
    let t = base + 44 * min;
    let s = FULL_SESSION;
    d.add(t, 0, &support, "session_start", "ok", step(s, 1937, 0));
    d.add(
        t + 1400,
        920,
        &support,
        "llm_call",
        "ok",
        merge(step(s, 1937, 1), model(640, 88, 920)),
    );
    d.add(
        t + 2100,
        450,
        &support,
        "tool_call",
        "ok",
        merge(
            step(s, 1937, 2),
            json!({"context": {"tool": {"name": "search_kb", "call_id": "call_faq_1"}}}),
        ),
    );
    d.add(
        t + 3900,
        1600,
        &support,
        "llm_call",
        "ok",
        merge(step(s, 1937, 3), model(1210, 264, 1600)),
    );
    d.add(
        t + 4000,
        0,
        &support,
        "session_end",
        "ok",
        merge(step(s, 1937, 4), json!({"session": {"count": 5}})),
    );

    // The refund session: its seq 3 never arrived, a policy flag stopped it, a human approved.
    let t = base + 52 * min;
    let s = GAP_SESSION;
    d.add(t, 0, &support, "session_start", "ok", step(s, 4821, 0));
    d.add(
        t + 1200,
        800,
        &support,
        "retrieval",
        "ok",
        merge(
            step(s, 4821, 1),
            json!({"context": {"data": {"sources": ["orders-db", "refund-policy-v7"]}},
                   "input": {"content": {"query": "order 4821 refund eligibility"}, "media_type": "application/json"}}),
        ),
    );
    d.add(
        t + 3500,
        1840,
        &support,
        "llm_call",
        "ok",
        merge(
            step(s, 4821, 2),
            merge(
                model(1834, 212, 1840),
                json!({"input": commitment(4821), "output": commitment(4822)}),
            ),
        ),
    );
    let flag = d.add(
        t + 6000,
        0,
        &support,
        "policy_flag",
        "blocked",
        merge(
            step(s, 4821, 4),
            json!({"context": {
                "policy": {"name": "refunds", "version": "7"},
                "checks": [{"name": "refund-limit", "version": "3", "score": 742, "threshold": 500, "fired": true, "result": "needs_review"}]},
              "attributes": {"order": "4821", "amount_eur": 742}}),
        ),
    );
    d.add(
        t + 95_000,
        0,
        &support,
        "human_oversight",
        "ok",
        merge(
            step(s, 4821, 5),
            json!({"context": {"oversight": {
                "required": true, "reviewer": "alice@example.com", "role": "support-lead",
                "decision": "approved", "reason": "Long-standing customer; within the discretionary limit.",
                "target": flag, "reviewed_at": ts(t + 94_000)}}}),
        ),
    );
    d.add(
        t + 97_000,
        400,
        &support,
        "tool_call",
        "ok",
        merge(
            step(s, 4821, 6),
            json!({"context": {"tool": {"name": "issue_refund", "call_id": "call_8f2a"}},
                   "input": {"content": {"order_id": "4821", "amount_eur": 742}},
                   "output": {"content": {"refund_id": "rf_1093", "state": "submitted"}}}),
        ),
    );
    d.add(
        t + 98_000,
        0,
        &support,
        "session_end",
        "ok",
        merge(step(s, 4821, 7), json!({"session": {"count": 8}})),
    );

    d.events
        .sort_by(|a, b| a["ts"].as_str().unwrap().cmp(b["ts"].as_str().unwrap()));
    d.events
}
