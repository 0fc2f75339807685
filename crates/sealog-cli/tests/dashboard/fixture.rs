//! What the dashboard's browser tests share: keys, logs and events over the real HTTP API, a
//! small log of about twenty events, and the browser steps. Each test includes this file with
//! `#[path]`, next to `cdp.rs` and `support`.

#![allow(dead_code)] // Each test uses a different subset.

use super::cdp::{Page, js};
use super::support::{Reply, Serve, call};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The session whose `seq` 3 is missing, with a policy flag and a human decision.
pub const GAP_SESSION: &str = "sess-refund-4821";

pub fn get(server: &Serve, token: &str, path: &str) -> Reply {
    call("GET", &format!("{}{path}", server.url), Some(token), None)
}

pub fn post(server: &Serve, token: &str, path: &str, body: &Value) -> Reply {
    call(
        "POST",
        &format!("{}{path}", server.url),
        Some(token),
        Some(body.to_string().as_bytes()),
    )
}

/// A new key of the log `default`: (key id, secret).
pub fn create_key(server: &Serve, admin: &str, role: &str, label: &str) -> (String, String) {
    let r = post(
        server,
        admin,
        "/v1/logs/default/keys",
        &json!({"role": role, "label": label}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    (
        j["id"].as_str().unwrap().to_owned(),
        j["key"].as_str().unwrap().to_owned(),
    )
}

/// The vkey of `log`, as its operator would hand it out.
pub fn vkey(server: &Serve, admin: &str, log: &str) -> String {
    let r = get(server, admin, &format!("/v1/logs/{log}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["vkey"].as_str().unwrap().to_owned()
}

/// `<name>+<key id>` of a vkey: what the page names as the key that signed.
pub fn key_name(vkey: &str) -> String {
    vkey.splitn(3, '+').take(2).collect::<Vec<_>>().join("+")
}

/// What the server said about one recorded event.
pub struct Recorded {
    pub index: u64,
    pub leaf_hash: String,
}

/// Records `events` in the log `default` with `token` (waiting for their checkpoint, and for
/// the index to cover them); returns what the server said about each, by event id.
pub fn record(server: &Serve, token: &str, events: &[Value]) -> HashMap<String, Recorded> {
    record_in(server, token, "default", events)
}

/// [`record`] into the log `log`.
pub fn record_in(
    server: &Serve,
    token: &str,
    log: &str,
    events: &[Value],
) -> HashMap<String, Recorded> {
    let r = post(
        server,
        token,
        &format!("/v1/logs/{log}/events?wait=checkpoint"),
        &json!({ "events": events }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["accepted"], events.len(), "{}", r.body);
    let mut out = HashMap::new();
    for res in body["results"].as_array().unwrap() {
        out.insert(
            res["id"].as_str().unwrap().to_owned(),
            Recorded {
                index: res["index"].as_u64().unwrap(),
                leaf_hash: res["leaf_hash"].as_str().unwrap().to_owned(),
            },
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = get(server, &server.admin_token(), &format!("/v1/logs/{log}")).json();
        if info["index_lag"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the index did not catch up: {info}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    out
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

/// RFC 3339 UTC with microseconds, as the event format wants.
pub fn ts(ms: u64) -> String {
    sealog_core::leaf::format_received(i64::try_from(ms).unwrap() * 1000)
}

/// A UUIDv7 for time `ms`, made unique by `n`.
pub fn uuid_at(ms: u64, n: u64) -> String {
    let tail = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{tail:012x}",
        ms >> 16,
        ms & 0xffff,
        (n >> 12) & 0xfff,
        n & 0xfff
    )
}

/// `digits` hex digits made from `seed`, the same every run.
pub fn hex_id(seed: u64, digits: usize) -> String {
    let mut x = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let mut s = String::new();
    while s.len() < digits {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(digits);
    s
}

/// About twenty events over the last half hour, in time order: routine calls of two agents,
/// and [`GAP_SESSION`] with every kind of block the pages lay out (model and metrics, data
/// sources, a payload commitment and plain content, a policy check that fired, a human
/// decision, attributes), spans with parents, and a missing `seq`.
pub fn events(now: u64) -> Vec<Value> {
    let support = json!({"id": "support-bot", "name": "Support assistant", "version": "2.3.1", "environment": "prod"});
    let billing = json!({"id": "billing-agent", "version": "1.4.0", "environment": "prod"});
    let t0 = now - 30 * 60_000;
    let mut out = Vec::new();
    let mut n = 0;
    let mut add = |ms: u64, took: u64, agent: &Value, action: &str, status: &str, extra: Value| {
        n += 1;
        let id = uuid_at(ms, n);
        let mut e =
            json!({"id": id, "ts": ts(ms), "agent": agent, "action": action, "status": status});
        if took > 0 {
            e["started"] = json!(ts(ms - took));
        }
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        out.push(e);
        id
    };
    for k in 0..8u64 {
        let status = if k % 3 == 2 { "error" } else { "ok" };
        add(
            t0 + k * 120_000,
            300 + k * 40,
            &billing,
            "tool_call",
            status,
            json!({"context": {"tool": {"name": "charge_card", "call_id": format!("ch_{}", hex_id(k, 8))}},
                   "attributes": {"amount_eur": 19 + k * 11, "currency": "EUR"}}),
        );
    }
    let step = |seq: u64| {
        let span = |i: u64| hex_id(4821 * 100 + i, 16);
        let mut trace = json!({"trace_id": hex_id(4821, 32), "span_id": span(seq + 1)});
        if seq > 0 {
            trace["parent_span_id"] = json!(span(1));
        }
        (json!({"id": GAP_SESSION, "seq": seq}), trace)
    };
    let with = |seq: u64, mut extra: Value| {
        let (session, trace) = step(seq);
        extra["session"] = session;
        extra["trace"] = trace;
        extra
    };
    let t = now - 10 * 60_000;
    add(t, 0, &support, "session_start", "ok", with(0, json!({})));
    add(
        t + 1200,
        800,
        &support,
        "retrieval",
        "ok",
        with(
            1,
            json!({"context": {"data": {"sources": ["orders-db", "refund-policy-v7"]}},
                   "input": {"content": {"query": "order 4821 refund eligibility"}, "media_type": "application/json"}}),
        ),
    );
    add(
        t + 3500,
        1840,
        &support,
        "llm_call",
        "ok",
        with(
            2,
            json!({"context": {
                "model": {"id": "gpt-4o", "provider": "openai", "params": {"temperature": 0.2}},
                "metrics": {"input_tokens": 1834, "output_tokens": 212, "latency_ms": 1840}},
              "input": {"commitment": "hmac-sha256:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", "size": 5120, "media_type": "application/json"}}),
        ),
    );
    let flag = add(
        t + 6000,
        0,
        &support,
        "policy_flag",
        "blocked",
        with(
            4,
            json!({"context": {
                "policy": {"name": "refunds", "version": "7"},
                "checks": [{"name": "refund-limit", "version": "3", "score": 742, "threshold": 500, "fired": true, "result": "needs_review"}]},
              "attributes": {"order": "4821", "amount_eur": 742}}),
        ),
    );
    add(
        t + 95_000,
        0,
        &support,
        "human_oversight",
        "ok",
        with(
            5,
            json!({"context": {"oversight": {
                "required": true, "reviewer": "alice@example.com", "role": "support-lead",
                "decision": "approved", "reason": "Long-standing customer; within the discretionary limit.",
                "target": flag, "reviewed_at": ts(t + 94_000)}}}),
        ),
    );
    add(
        t + 97_000,
        400,
        &support,
        "tool_call",
        "ok",
        with(
            6,
            json!({"context": {"tool": {"name": "issue_refund", "call_id": "call_8f2a"}},
                   "output": {"content": {"refund_id": "rf_1093", "state": "submitted"}}}),
        ),
    );
    add(t + 98_000, 0, &support, "session_end", "ok", {
        let mut e = with(7, json!({}));
        e["session"]["count"] = json!(8);
        e
    });
    out.sort_by(|a, b| a["ts"].as_str().unwrap().cmp(b["ts"].as_str().unwrap()));
    out
}

/// Types `key` into the sign-in form and presses Enter; returns the page text once it shows
/// `expect`.
pub fn sign_in(page: &Page, key: &str, expect: &str) -> String {
    page.run("await waitFor(() => document.getElementById('api-key'), 'the sign-in form');");
    page.type_into("document.getElementById('api-key')", key);
    page.press("Enter");
    page.run(&format!("return await waitText({});", js(expect)))
        .as_str()
        .unwrap()
        .to_owned()
}

/// Does `action`, which replaces the page shown, and waits until the next page is there (so
/// that what follows cannot read the old one).
pub fn then_fresh(page: &Page, action: impl FnOnce()) {
    page.run("markStale();");
    action();
    page.run("await fresh();");
}

/// Goes to the dashboard route `hash` (which must differ from the current one).
pub fn goto_hash(page: &Page, hash: &str) {
    then_fresh(page, || {
        page.run(&format!("location.hash = {};", js(hash)));
    });
}

/// CSP violations and uncaught errors recorded on the page so far.
pub fn assert_no_page_errors(page: &Page) {
    let seen = page.run("return {violations: window.__violations, errors: window.__errors};");
    assert_eq!(seen["violations"], json!([]), "CSP blocked something");
    assert_eq!(seen["errors"], json!([]), "the page threw");
}
