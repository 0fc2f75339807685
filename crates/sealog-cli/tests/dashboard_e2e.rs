//! The dashboard end to end: the real `sealog serve` binary, real HTTP, and a real headless
//! Chromium driven with real clicks and typing over the DevTools protocol (`dashboard/cdp.rs`).
//!
//! Events are recorded through the API by an ingest key. Then a reader signs in, filters the
//! explorer, pages through it, checks an event's inclusion proof in the browser against the log
//! key they pinned (and sees it refused against another log's key), follows the session with a
//! gap, downloads an evidence pack and verifies it with `sealog verify`, and signs out, after
//! which the session cookie no longer opens anything. An admin creates and revokes a key while
//! forged requests without the CSRF token fail, and when the session ends elsewhere the open
//! page asks for a key again. Hostile events prove that nothing in event data executes or turns
//! into markup. An ignored test renders the README's screenshots (`scripts/screenshots`).

#[path = "dashboard/cdp.rs"]
mod cdp;
mod support;

use cdp::{Chromium, Page, js};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Reply, Serve, call, call_with};

/// The session with a missing `seq` and a human-oversight decision.
const GAP_SESSION: &str = "sess-refund-4821";
/// A session recorded whole.
const FULL_SESSION: &str = "sess-faq-1937";
/// The events of [`GAP_SESSION`] that were recorded (seq 3 of 0–7 is missing).
const GAP_SESSION_EVENTS: usize = 7;

// ---------------------------------------------------------------------------------------------
// The server side: keys, logs and events over the real HTTP API.

fn get(server: &Serve, token: &str, path: &str) -> Reply {
    call("GET", &format!("{}{path}", server.url), Some(token), None)
}

fn post(server: &Serve, token: &str, path: &str, body: &Value) -> Reply {
    call(
        "POST",
        &format!("{}{path}", server.url),
        Some(token),
        Some(body.to_string().as_bytes()),
    )
}

/// A new key of the log `default`: (key id, secret).
fn create_key(server: &Serve, admin: &str, role: &str, label: &str) -> (String, String) {
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
fn vkey(server: &Serve, admin: &str, log: &str) -> String {
    let r = get(server, admin, &format!("/v1/logs/{log}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["vkey"].as_str().unwrap().to_owned()
}

/// What the server said about one recorded event.
struct Recorded {
    index: u64,
    leaf_hash: String,
}

/// Records `events` in the log `default` with `token` (waiting for their checkpoint, and for
/// the index to cover them); returns what the server said about each, by event id.
fn record(server: &Serve, token: &str, events: &[Value]) -> HashMap<String, Recorded> {
    record_in(server, token, "default", events)
}

/// [`record`] into the log `log`.
fn record_in(
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

/// A request carrying only the given `Cookie` header, as a replayed stolen cookie would.
fn with_cookie(server: &Serve, method: &str, path: &str, cookie: &str) -> u16 {
    call_with(
        method,
        &format!("{}{path}", server.url),
        None,
        &[("Cookie", cookie)],
        None,
    )
    .status
}

// ---------------------------------------------------------------------------------------------
// Demo events: several agents and sessions over the last hour, recorded in time order.

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

/// RFC 3339 UTC with microseconds, as the event format wants.
fn ts(ms: u64) -> String {
    sealog_core::leaf::format_received(i64::try_from(ms).unwrap() * 1000)
}

/// A UUIDv7 for time `ms`, made unique by `n`.
fn uuid_at(ms: u64, n: u64) -> String {
    let tail = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{tail:012x}",
        ms >> 16,
        ms & 0xffff,
        (n >> 12) & 0xfff,
        n & 0xfff
    )
}

fn hex_id(seed: u64, digits: usize) -> String {
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
fn demo_events(now: u64) -> Vec<Value> {
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

// ---------------------------------------------------------------------------------------------
// The browser side.

/// Types `key` into the sign-in form and presses Enter; returns the page text afterwards once
/// it shows `expect`.
fn sign_in(page: &Page, key: &str, expect: &str) -> String {
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
fn then_fresh(page: &Page, action: impl FnOnce()) {
    page.run("markStale();");
    action();
    page.run("await fresh();");
}

/// Goes to the dashboard route `hash` (which must differ from the current one).
fn goto_hash(page: &Page, hash: &str) {
    then_fresh(page, || {
        page.run(&format!("location.hash = {};", js(hash)));
    });
}

/// The `sealog_session` cookie the browser holds for the server, if any.
fn session_cookie(page: &Page, server: &Serve) -> Option<Value> {
    page.cookies(&server.url)
        .into_iter()
        .find(|c| c["name"] == "sealog_session")
}

/// Waits until the explorer has loaded every matching event, and returns its rows.
fn explorer_rows(page: &Page) -> Vec<Vec<String>> {
    let rows = page.run(
        "await waitFor(() => /events loaded \\(end\\)/.test(el('p.muted[role=status]').textContent), 'the last page of events');
         return rows();",
    );
    serde_json::from_value(rows).unwrap()
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let rest = &text[text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// The explorer's chart once drawn: its caption, and each bar as (action, count, from, to).
fn chart_bars(page: &Page) -> (String, Vec<(String, u64, String, String)>) {
    let chart = page.run(
        "const caption = await waitFor(() => document.querySelector('.chart figcaption'), 'the chart');
         return {caption: caption.textContent,
           bars: [...document.querySelectorAll('.chart svg rect title')].map((t) => t.textContent)};",
    );
    let bars = chart["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            // "<action>: <count> (<from> to <to>)"
            let t = t.as_str().unwrap();
            let (action, rest) = t.rsplit_once(": ").unwrap();
            let (n, range) = rest.split_once(" (").unwrap();
            let (from, to) = range.trim_end_matches(')').split_once(" to ").unwrap();
            (
                action.to_owned(),
                n.parse().unwrap(),
                from.to_owned(),
                to.to_owned(),
            )
        })
        .collect();
    (chart["caption"].as_str().unwrap().to_owned(), bars)
}

/// Checks that every bar of the chart counts exactly the `events` of its action and time
/// range, and that together they count all of them; returns how many that is.
fn assert_chart_counts(page: &Page, events: &[&Value]) -> u64 {
    let (caption, bars) = chart_bars(page);
    let us = |t: &str| sealog_storage::index::parse_ts(t).unwrap();
    for (action, n, from, to) in &bars {
        let want = events
            .iter()
            .filter(|e| {
                let t = us(e["ts"].as_str().unwrap());
                e["action"] == action.as_str() && us(from) <= t && t < us(to)
            })
            .count() as u64;
        assert_eq!(*n, want, "{action} from {from} to {to}");
    }
    let charted: u64 = bars.iter().map(|b| b.1).sum();
    assert_eq!(charted, events.len() as u64, "every event is in a bar");
    // The table beside the chart (for keyboards and screen readers) says the same.
    let table = page.run(
        "const t = el('.chart-data table');
         return {head: [...t.querySelectorAll('thead th')].map((c) => c.textContent),
           rows: [...t.querySelectorAll('tbody tr')].map((r) => [...r.children].map((c) => c.textContent))};",
    );
    let head: Vec<&str> = table["head"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let mut cells = Vec::new();
    let mut all = 0;
    for row in table["rows"].as_array().unwrap() {
        let row: Vec<&str> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(row.len(), head.len());
        for (action, n) in head[1..head.len() - 1].iter().zip(&row[1..row.len() - 1]) {
            let n: u64 = n.parse().unwrap();
            if n > 0 {
                cells.push((action.to_string(), n, row[0].to_owned()));
            }
        }
        all += row[row.len() - 1].parse::<u64>().unwrap();
    }
    let mut from_bars: Vec<_> = bars
        .iter()
        .map(|(a, n, from, _)| (a.clone(), *n, from.clone()))
        .collect();
    from_bars.sort();
    cells.sort();
    assert_eq!(cells, from_bars, "the table has one cell per bar");
    assert_eq!(all, charted);
    assert!(
        caption.starts_with(&format!(
            "Events over time by action: all {charted} matching events, in "
        )),
        "{caption}"
    );
    charted
}

fn assert_no_page_errors(page: &Page) {
    let seen = page.run("return {violations: window.__violations, errors: window.__errors};");
    assert_eq!(seen["violations"], json!([]), "CSP blocked something");
    assert_eq!(seen["errors"], json!([]), "the page threw");
}

#[test]
fn a_reader_signs_in_filters_verifies_follows_a_gap_exports_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = server.url.clone();
    let log_vkey = vkey(&server, &admin, "default");
    // `<name>+<key id>`: what the page reports as the key that signed (the key itself is base64,
    // which has its own '+' signs).
    let key_name = log_vkey
        .splitn(3, '+')
        .take(2)
        .collect::<Vec<_>>()
        .join("+");
    let other = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(other.status, 201, "{}", other.body);
    let other_vkey = other.json()["vkey"].as_str().unwrap().to_owned();
    let (read_id, read_key) = create_key(&server, &admin, "read", "auditor");
    let (_, ingest_key) = create_key(&server, &admin, "ingest", "agents");
    let events = demo_events(now_ms());
    let recorded = record(&server, &ingest_key, &events);
    let total = events.len();
    assert!(total > 100, "the explorer must need a second page");

    let chromium = Chromium::launch();
    let downloads = tempfile::tempdir().unwrap();
    chromium.allow_downloads(downloads.path());
    let page = chromium.page(1280, 900);
    page.goto(&format!("{url}/"));

    // Sign-in refuses an ingest key and a wrong key, then takes the read key.
    sign_in(&page, &ingest_key, "ingest keys cannot sign in");
    sign_in(&page, "sealog_not_a_key", "invalid API key");
    assert!(session_cookie(&page, &server).is_none());
    sign_in(&page, &read_key, "Checkpoint size");
    assert_eq!(
        page.run("return document.getElementById('api-key');"),
        Value::Null,
        "the key field is gone"
    );
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str()
            .unwrap()
            .contains(&format!("{read_id} · read · log default")),
        "{nav}"
    );
    let cookie = session_cookie(&page, &server).expect("a session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/", "{cookie}");
    assert_eq!(cookie["secure"], false, "plain HTTP: {cookie}");
    assert_eq!(
        page.run("return document.cookie;"),
        "",
        "script cannot read it"
    );
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        200
    );

    // The overview: the one log this key may read, its size and checkpoint, no key pinned yet.
    let overview: Vec<Vec<String>> = serde_json::from_value(page.run(
        "await waitFor(() => document.querySelector('table.logs tbody tr'), 'the logs table');
         return [...document.querySelectorAll('table.logs tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent));",
    ))
    .unwrap();
    assert_eq!(overview.len(), 1, "{overview:?}");
    let row = &overview[0];
    assert_eq!(row[0], "default");
    assert_eq!(row[1], total.to_string(), "{row:?}");
    assert_eq!(row[2], total.to_string(), "checkpoint size: {row:?}");
    assert!(
        row[3].contains(" s ago)"),
        "checkpoint time and age: {row:?}"
    );
    assert_eq!(row[4], "0", "index lag: {row:?}");
    assert_eq!(row[5], "measuring…", "{row:?}");
    assert_eq!(row[6], "none", "witnesses: {row:?}");
    assert_eq!(row[7], "not pinned");

    // The explorer: newest first, 100 per page, "Load more" for the rest, each event once.
    page.click("el('table.logs a', 'default')");
    let first = page.run(
        "await waitFor(() => rows().length === 100, 'the first page');
         return {rows: rows(), more: !el('button', 'Load more').hidden};",
    );
    assert_eq!(first["more"], true);
    // The chart counts every event of the log, per bucket and action, not only the 100 rows
    // loaded: most of what it counts is on pages not loaded.
    let all_events: Vec<&Value> = events.iter().collect();
    assert_eq!(assert_chart_counts(&page, &all_events), total as u64);
    assert!(total > first["rows"].as_array().unwrap().len());
    // Events recorded meanwhile do not shift the pages: the cursor means "older than this".
    let late: Vec<Value> = (0..3)
        .map(|n| {
            json!({"id": uuid_at(now_ms(), 900 + n), "ts": ts(now_ms()), "agent": {"id": "late-agent"},
                "action": "decision", "status": "ok"})
        })
        .collect();
    record(&server, &ingest_key, &late);
    page.click("el('button', 'Load more')");
    let all = explorer_rows(&page);
    assert_eq!(all.len(), total);
    let indices: Vec<u64> = all.iter().map(|r| r[0].parse().unwrap()).collect();
    let expected: Vec<u64> = (0..total as u64).rev().collect();
    assert_eq!(indices, expected, "every event once, newest first");
    let ids: HashSet<&str> = all.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(ids.len(), total);
    assert!(
        events
            .iter()
            .all(|e| ids.contains(e["id"].as_str().unwrap()))
    );

    // Filters, typed into the form: by agent, then by action and status together, then by time.
    page.type_into("document.getElementById('f-agent')", "research-agent");
    then_fresh(&page, || page.click("el('button', 'Filter')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default?agent=research-agent",
        "the filter is in the URL"
    );
    let rows = explorer_rows(&page);
    let research: Vec<&Value> = events
        .iter()
        .filter(|e| e["agent"]["id"] == "research-agent")
        .collect();
    let want = research.len();
    assert_eq!(rows.len(), want, "{rows:?}");
    assert!(rows.iter().all(|r| r[2] == "research-agent"), "{rows:?}");
    // The chart counts what the filter matches.
    assert_chart_counts(&page, &research);

    // Live tail: a matching event recorded now shows up at the top within a poll.
    page.click("el('#tail')");
    let tailed = json!({"id": uuid_at(now_ms(), 999), "ts": ts(now_ms()),
        "agent": {"id": "research-agent"}, "action": "llm_call", "status": "ok"});
    let at = record(&server, &ingest_key, std::slice::from_ref(&tailed))
        [tailed["id"].as_str().unwrap()]
    .index;
    let top = page.run(&format!(
        "await waitFor(() => rows().length === {}, 'the tailed event', 10000);
         return {{first: rows()[0], status: el('p.muted[role=status]').textContent}};",
        want + 1
    ));
    assert_eq!(top["first"][0], at.to_string().as_str());
    assert_eq!(top["first"][6], tailed["id"]);
    assert_eq!(
        top["status"],
        format!("1 new events; {} loaded.", want + 1).as_str()
    );
    // The tail redraws the chart with the new event.
    page.run(&format!(
        "await waitFor(() => el('.chart figcaption').textContent.includes('all {} matching events'), 'the chart to count the tailed event', 10000);",
        want + 1
    ));

    page.type_into("document.getElementById('f-agent')", "");
    page.type_into("document.getElementById('f-action')", "tool_call");
    page.type_into("document.getElementById('f-status')", "error");
    then_fresh(&page, || page.click("el('button', 'Filter')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default?action=tool_call&status=error"
    );
    let rows = explorer_rows(&page);
    let want: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| e["action"] == "tool_call" && e["status"] == "error")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(!want.is_empty());
    let got: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(got, want);

    let gap_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["session"]["id"] == GAP_SESSION)
        .collect();
    assert_eq!(gap_events.len(), GAP_SESSION_EVENTS);
    let since = gap_events[1]["ts"].as_str().unwrap();
    let until = gap_events[4]["ts"].as_str().unwrap();
    page.type_into("document.getElementById('f-action')", "");
    page.type_into("document.getElementById('f-status')", "");
    page.type_into("document.getElementById('f-since')", since);
    page.type_into("document.getElementById('f-until')", until);
    then_fresh(&page, || page.press("Enter"));
    let rows = explorer_rows(&page);
    let want: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| {
            let t = e["ts"].as_str().unwrap();
            since <= t && t < until
        })
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(want.len(), 3, "the flag, the retrieval and the LLM call");
    let got: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(got, want);

    // An invalid time is the server's 400, shown as an error.
    page.type_into("document.getElementById('f-since')", "yesterday");
    then_fresh(&page, || page.press("Enter"));
    page.run("await waitText('is not an RFC 3339 time');");
    assert_eq!(
        page.run("return el('#f-since').value;"),
        "yesterday",
        "the form stays, to correct the filter"
    );

    // Pin the log key, typed in as the operator handed it out.
    goto_hash(&page, &format!("#/logs/default?session={GAP_SESSION}"));
    assert_eq!(explorer_rows(&page).len(), GAP_SESSION_EVENTS);
    page.type_into("document.querySelector('details.card input')", &log_vkey);
    page.click("el('button', 'Pin key')");
    page.run(&format!(
        "await waitText({});",
        js(&format!("Pinned {key_name}."))
    ));

    // Open the flagged event: its proof is checked in the browser against the pinned key.
    let flag = gap_events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();
    let flag_id = flag["id"].as_str().unwrap();
    let flag_rec = &recorded[flag_id];
    page.click(&format!("el('table.events a', {})", js(flag_id)));
    let detail = page.run("return await waitText('Verified: entry');");
    let detail = detail.as_str().unwrap();
    let cp_size = number_after(detail, "in the checkpoint of size ");
    let log_size = get(&server, &admin, "/v1/logs/default").json()["size"]
        .as_u64()
        .unwrap();
    assert!(cp_size > flag_rec.index && cp_size <= log_size, "{detail}");
    assert!(
        detail.contains(&format!(
            "Verified: entry {} of test.local/default, in the checkpoint of size {cp_size} signed by {key_name}.",
            flag_rec.index
        )),
        "{detail}"
    );
    assert!(!detail.contains("Proof verified, but"), "{detail}");
    assert!(detail.contains("What this proves") && detail.contains("What it does not prove"));
    let proof = page.run(
        "const dd = [...document.querySelectorAll('section.proof dt')].find((d) => d.textContent === 'leaf hash');
         return dd.nextElementSibling.textContent;",
    );
    assert_eq!(proof, flag_rec.leaf_hash.as_str(), "the verified leaf hash");
    for shown in [
        "policy_flag",
        "blocked",
        "refund-limit",
        "needs_review",
        "sess-refund-4821 #4",
    ] {
        assert!(
            detail.contains(shown),
            "event detail lacks {shown:?}: {detail}"
        );
    }
    // JSON is laid out on lines (with the control characters inside strings escaped).
    let attributes = page.run(
        "const card = [...document.querySelectorAll('section.card')].find((c) => c.querySelector('h2').textContent === 'Attributes');
         return card.querySelector('pre').textContent;",
    );
    assert_eq!(
        attributes,
        "{\n  \"amount_eur\": 742,\n  \"order\": \"4821\"\n}"
    );
    let leaf = page.run("return el('section.proof pre').textContent;");
    assert!(
        leaf.as_str()
            .unwrap()
            .contains(&format!("\"id\":\"{flag_id}\"")),
        "{leaf}"
    );

    // Against another log's key the same proof is refused; the right key verifies it again.
    page.click("el('details.card summary')");
    page.click("el('button', 'Unpin')");
    page.run("await waitText('Pin the log key above');");
    page.type_into("document.querySelector('details.card input')", &other_vkey);
    page.click("el('button', 'Pin key')");
    let refused = page.run("return await waitText('Not verified');");
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("checkpoint is not signed by the pinned key test.local/staging+"),
        "{refused}"
    );
    page.click("el('button', 'Unpin')");
    page.type_into("document.querySelector('details.card input')", &log_vkey);
    page.click("el('button', 'Pin key')");
    page.run("await waitText('Verified: entry');");

    // The session: seq order, the missing seq 3 flagged, the flag and the oversight highlighted.
    page.click("el('section.card a', 'sess-refund-4821 #4')");
    let session = page.run(
        "const t = await waitText('Span tree');
         const items = [...document.querySelectorAll('ol.timeline li')];
         return {
           text: t,
           seqs: [...document.querySelectorAll('ol.timeline .seq')].map((e) => e.textContent),
           gaps: items.filter((li) => li.classList.contains('gap')).map((li) => li.textContent),
           flagged: items.filter((li) => li.classList.contains('flag')).map((li) => li.textContent),
           oversight: items.filter((li) => li.classList.contains('oversight')).map((li) => li.textContent),
           nested: document.querySelectorAll('ul.tree > li > ul > li').length,
         };",
    );
    let text = session["text"].as_str().unwrap();
    assert_eq!(
        session["seqs"],
        json!(["#0", "#1", "#2", "#4", "#5", "#6", "#7"])
    );
    assert_eq!(session["gaps"], json!(["Gap: seq 3 missing"]));
    assert!(text.contains("7 events · 1 gap flagged"), "{text}");
    let flagged = session["flagged"].as_array().unwrap();
    assert!(
        flagged.len() == 1 && flagged[0].as_str().unwrap().contains("policy_flag"),
        "{flagged:?}"
    );
    let oversight = session["oversight"].as_array().unwrap();
    assert!(
        oversight.len() == 1
            && oversight[0]
                .as_str()
                .unwrap()
                .contains("oversight: approved by alice@example.com"),
        "{oversight:?}"
    );
    assert!(
        text.contains("took 1840 ms"),
        "the LLM call's duration: {text}"
    );
    assert!(
        text.contains("human_oversight ok 89 s after the previous event"),
        "the wait for the reviewer: {text}"
    );
    assert_eq!(
        session["nested"], 6,
        "six steps under the session's root span"
    );

    // A session recorded whole has no gap.
    goto_hash(&page, &format!("#/logs/default/sessions/{FULL_SESSION}"));
    let full = page.run("return await waitText('Span tree');");
    assert!(
        full.as_str().unwrap().contains("5 events · no gaps"),
        "{full}"
    );
    assert_eq!(
        page.run("return document.querySelectorAll('li.gap').length;"),
        0
    );

    // Export: the session's events as a pack, downloaded by clicking, verified offline with the
    // command the page shows.
    goto_hash(&page, "#/logs/default");
    then_fresh(&page, || page.click("el('nav.tabs a', 'Export')"));
    page.type_into("document.getElementById('f-session')", GAP_SESSION);
    then_fresh(&page, || page.click("el('button', 'Update')"));
    assert_eq!(
        page.run("return location.hash;"),
        "#/logs/default/export?session=sess-refund-4821"
    );
    let command =
        page.run("await waitText('Download evidence pack'); return el('pre.cmd').textContent;");
    let command = command.as_str().unwrap();
    let file = command
        .strip_prefix("sealog verify ")
        .and_then(|c| c.strip_suffix(&format!(" --log-key '{log_vkey}'")))
        .unwrap_or_else(|| panic!("the command names the file and the pinned key: {command}"));
    page.watch_responses("*/v1/logs/default/export*");
    page.click("el('a.button', 'Download evidence pack')");
    let done = chromium.wait_event("Browser.downloadProgress", Duration::from_secs(30), |p| {
        p["state"] == "completed" || p["state"] == "canceled"
    });
    assert_eq!(done["state"], "completed", "{done}");
    let begun = &chromium.events("Browser.downloadWillBegin")[0]["params"];
    assert_eq!(
        begun["suggestedFilename"], file,
        "the browser saves the file the command names"
    );
    assert_eq!(
        begun["url"],
        format!("{url}/v1/logs/default/export?session=sess-refund-4821").as_str()
    );
    let pack = downloads.path().join(file);
    let bytes = std::fs::read(&pack).unwrap();
    assert!(bytes.starts_with(b"PK\x03\x04"), "a ZIP");
    let response = page
        .events("Fetch.requestPaused")
        .into_iter()
        .find(|r| r["request"]["url"] == begun["url"])
        .expect("the export's response");
    assert_eq!(response["responseStatusCode"], 200);
    let header = |name: &str| {
        response["responseHeaders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/zip"));
    assert_eq!(
        header("content-disposition"),
        Some(format!("attachment; filename=\"{file}\""))
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(&pack)
        .args(["--log-key", &log_vkey, "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verify.status.code(), Some(0), "{report}");
    assert_eq!(report["valid"], true);
    assert_eq!(report["entries"], GAP_SESSION_EVENTS);
    assert_eq!(report["filters"], json!({"session": GAP_SESSION}));
    assert_eq!(report["oversight"], 1);
    assert_eq!(report["sessions"][0]["complete"], false, "{report}");

    // A filter that matches nothing offers no download.
    page.type_into("document.getElementById('f-session')", "no-such-session");
    then_fresh(&page, || page.click("el('button', 'Update')"));
    page.run("await waitText('nothing to export');");
    assert_eq!(
        page.run("return document.querySelectorAll('a.button').length;"),
        0
    );

    // Keys are for admins: a read key sees no Keys tab.
    assert_eq!(
        page.run("return [...document.querySelectorAll('nav.tabs a')].map((a) => a.textContent);"),
        json!(["Events", "Export"])
    );
    assert_no_page_errors(&page);

    // Sign out: the cookie is gone from the browser and dead on the server.
    then_fresh(&page, || page.click("el('#nav button', 'Sign out')"));
    page.run("await waitText('API key (read or admin)');");
    assert!(session_cookie(&page, &server).is_none());
    assert_eq!(page.run("return (await fetch('/ui/session')).status;"), 401);
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/events?limit=1", &stolen),
        401
    );
    assert_eq!(with_cookie(&server, "GET", "/ui/session", &stolen), 401);
    // A deep link now asks for a key instead of showing data.
    goto_hash(&page, &format!("#/logs/default/events/{flag_id}"));
    page.run("await waitText('API key (read or admin)');");
    assert!(
        !page
            .run("return text();")
            .as_str()
            .unwrap()
            .contains("policy_flag")
    );
}

#[test]
fn an_admin_creates_and_revokes_a_key_forgeries_fail_and_an_ended_session_asks_for_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let keys_of = |server: &Serve| {
        get(server, &admin, "/v1/logs/default/keys").json()["keys"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = keys_of(&server).len();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    let nav = page.run("return document.getElementById('nav').textContent;");
    assert!(
        nav.as_str().unwrap().contains("· admin · all logs"),
        "{nav}"
    );
    page.click("el('table.logs a', 'default')");
    page.click("el('nav.tabs a', 'Keys')");
    page.run("await waitText('Create a key');");

    // Create a read key with a label that looks like markup.
    page.type_into("document.getElementById('k-label')", "ci <b>bot</b>");
    page.run("el('#k-role').value = 'read';");
    page.click("el('form.card button', 'Create')");
    page.run("await waitText('Copy it now');");
    let secret = page.run("return el('pre.cmd').textContent;");
    let secret = secret.as_str().unwrap().to_owned();
    let keys = keys_of(&server);
    assert_eq!(keys.len(), before + 1);
    let new = keys.iter().find(|k| k["label"] == "ci <b>bot</b>").unwrap();
    assert_eq!(new["role"], "read");
    let new_id = new["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&server, &secret, "/v1/logs/default/events?limit=1").status,
        200,
        "the secret shown is the key's"
    );
    let row = page.run(&format!(
        "await waitFor(() => [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id}), 'the new key');
         const tr = [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {id});
         return {{cells: [...tr.cells].map((c) => c.textContent), bold: tr.querySelectorAll('b').length}};",
        id = js(&new_id)
    ));
    assert_eq!(row["cells"][1], "ci <b>bot</b>", "the label as text");
    assert_eq!(row["bold"], 0);

    // The session cookie alone cannot change anything: without the CSRF token, or with a
    // wrong one, creating a key is refused and nothing is created.
    let forged = page.run(
        "const post = (headers) => fetch('/v1/logs/default/keys', {method: 'POST',
           headers: {'Content-Type': 'application/json', ...headers},
           body: JSON.stringify({label: 'forged', role: 'admin'})}).then((r) => r.status);
         return [await post({}), await post({'X-CSRF-Token': '0'.repeat(64)})];",
    );
    assert_eq!(forged, json!([401, 401]));
    let forged_delete = page.run(&format!(
        "return (await fetch('/v1/logs/default/keys/' + {}, {{method: 'DELETE'}})).status;",
        js(&new_id)
    ));
    assert_eq!(forged_delete, 401);
    assert_eq!(keys_of(&server).len(), before + 1);
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 200);

    // Revoke it with its button (the confirmation dialog answered "OK").
    page.click(&format!(
        "[...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).querySelector('button')",
        js(&new_id)
    ));
    page.run(&format!(
        "await waitText({});",
        js(&format!("Key {new_id} revoked."))
    ));
    let dialogs = page.events("Page.javascriptDialogOpening");
    assert_eq!(dialogs.len(), 1, "{dialogs:?}");
    assert_eq!(
        dialogs[0]["message"],
        format!("Revoke key {new_id}?").as_str()
    );
    assert_eq!(get(&server, &secret, "/v1/logs/default").status, 401);
    let revoked = keys_of(&server)
        .into_iter()
        .find(|k| k["id"] == new_id.as_str())
        .unwrap();
    assert!(!revoked["revoked"].is_null(), "{revoked}");
    // When the page says so, its list says so too.
    let state = page.run(&format!(
        "return [...document.querySelectorAll('tbody tr')].find((tr) => tr.cells[0].textContent === {}).cells[4].textContent;",
        js(&new_id)
    ));
    assert!(state.as_str().unwrap().starts_with("revoked"), "{state}");
    assert_no_page_errors(&page);

    // The session ends elsewhere (as when it expires): the open overview notices at its next
    // refresh and asks for a key again.
    goto_hash(&page, "#/");
    page.run("await waitText('Checkpoint size');");
    let cookie = session_cookie(&page, &server).unwrap();
    let stolen = format!("sealog_session={}", cookie["value"].as_str().unwrap());
    let me = call_with(
        "GET",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen)],
        None,
    );
    assert_eq!(me.status, 200, "{}", me.body);
    let csrf = me.json()["csrf_token"].as_str().unwrap().to_owned();
    let ended = call_with(
        "DELETE",
        &format!("{}/ui/session", server.url),
        None,
        &[("Cookie", &stolen), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(ended.status, 204, "{}", ended.body);
    page.run("await waitFor(() => document.getElementById('api-key'), 'the sign-in form', 8000);");
    assert_eq!(with_cookie(&server, "GET", "/ui/session", &stolen), 401);
    assert_eq!(
        with_cookie(&server, "GET", "/v1/logs/default/keys", &stolen),
        401
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile data.

const H_SCRIPT: &str = "<script>document.title='pwned';window.__pwned=1</script>";
const H_IMG: &str = "<img src=x onerror=\"document.title='pwned';window.__pwned=2\">";
const H_ENTITIES: &str = "&lt;b&gt;&amp;&#x3C;script&#x3E;";
/// Control characters are refused in identifiers, so they go into free text and attributes.
const H_CONTROL: &str = "ctl\u{0}\u{1b}[31m\u{202e}rev\u{7f}";
const H_ATTR: &str = "\"><svg onload=window.__pwned=3>";
const H_URL: &str = "javascript:window.__pwned=4";
/// A bidirectional override is allowed in identifiers; it must still be shown visibly.
const H_BIDI: &str = "admin\u{202e}gnp.exe";

fn hostile_events(now: u64) -> Vec<Value> {
    let t = now - 60_000;
    let agent =
        json!({"id": H_IMG, "name": H_SCRIPT, "version": H_ENTITIES, "environment": H_BIDI});
    let main = json!({
        "id": uuid_at(t, 1), "ts": ts(t + 500), "started": ts(t),
        "agent": agent, "action": "x-evil", "status": "ok",
        "session": {"id": H_SCRIPT, "seq": 0},
        "trace": {"trace_id": hex_id(1, 32), "span_id": hex_id(2, 16)},
        "input": {"content": {"html": format!("{H_SCRIPT}{H_IMG}"), "link": H_URL, "ctl": H_CONTROL}},
        "output": {"content": H_ATTR, "media_type": "text/html"},
        "context": {
            "tool": {"name": H_URL, "call_id": H_IMG},
            "oversight": {"reviewer": H_IMG, "decision": "approved", "reason": H_CONTROL},
            "x-evil": {H_SCRIPT: H_IMG, "ctl": H_CONTROL}
        },
        "attributes": {H_SCRIPT: H_CONTROL, "entities": H_ENTITIES, "attr": H_ATTR, "url": H_URL}
    });
    let oversight = json!({
        "id": uuid_at(t, 2), "ts": ts(t + 3000),
        "agent": {"id": "bot"}, "action": "human_oversight", "status": "ok",
        "session": {"id": H_SCRIPT, "seq": 2},
        "trace": {"trace_id": hex_id(1, 32), "span_id": hex_id(3, 16), "parent_span_id": hex_id(2, 16)},
        "context": {"oversight": {"reviewer": H_ATTR, "decision": "rejected", "reason": H_SCRIPT}}
    });
    vec![main, oversight]
}

#[test]
fn hostile_event_fields_render_as_text_and_nothing_executes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let events = hostile_events(now_ms());
    let recorded = record(&server, &admin, &events);
    let hostile_id = events[0]["id"].as_str().unwrap();
    let label_r = post(
        &server,
        &admin,
        "/v1/logs/default/keys",
        &json!({"role": "read", "label": H_IMG}),
    );
    assert_eq!(label_r.status, 201, "{}", label_r.body);

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(&log_vkey)
    ));

    let mut seen = Vec::new();
    let mut visit = |label: &str, hash: String, ready: &str| {
        goto_hash(&page, &hash);
        page.run(&format!("await waitText({});", js(ready)));
        // Give anything that might fire late (image errors, SVG loads) the time to do it.
        page.run("await sleep(300);");
        let got = page.run(&format!("return inspect({});", js(label)));
        seen.push(got);
    };
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    visit("events", "#/logs/default".into(), "events loaded");
    visit(
        "filtered",
        format!("#/logs/default?agent={}", enc(H_IMG)),
        "1 events loaded (end)",
    );
    visit(
        "detail",
        format!("#/logs/default/events/{hostile_id}"),
        "Verified: entry",
    );
    visit(
        "session",
        format!("#/logs/default/sessions/{}", enc(H_SCRIPT)),
        "Span tree",
    );
    visit("keys", "#/logs/default/keys".into(), "Create a key");
    visit(
        "export",
        format!("#/logs/default/export?agent={}", enc(H_IMG)),
        "Download evidence pack",
    );
    let export_href = page.run("return el('a.button').getAttribute('href');");

    assert!(
        page.events("Page.javascriptDialogOpening").is_empty(),
        "a dialog opened"
    );
    for p in &seen {
        let label = p["label"].as_str().unwrap();
        assert_eq!(p["pwned"], Value::Null, "{label}: a hostile script ran");
        assert_ne!(p["title"], "pwned", "{label}: a payload changed the title");
        assert_eq!(p["suspicious"], json!([]), "{label}: injected markup");
        assert_eq!(
            p["violations"],
            json!([]),
            "{label}: CSP had to block something"
        );
        assert_eq!(p["errors"], json!([]), "{label}: the page threw");
        let text = p["text"].as_str().unwrap();
        for raw in ['\u{0}', '\u{1b}', '\u{202e}', '\u{7f}'] {
            assert!(
                !text.contains(raw),
                "{label}: raw control character {raw:?} shown"
            );
        }
    }
    let text = |label: &str| {
        seen.iter().find(|p| p["label"] == label).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for s in [H_IMG, H_SCRIPT] {
        assert!(text("events").contains(s), "events list lacks {s:?}");
        assert!(text("filtered").contains(s), "filtered list lacks {s:?}");
    }
    let detail = text("detail");
    for s in [
        H_SCRIPT,
        H_IMG,
        H_ENTITIES,
        H_ATTR,
        H_URL,
        "admin\\u202egnp.exe",
        // Free text shown as a value, and inside JSON (where JSON escapes some controls).
        "ctl\\u0000\\u001b[31m\\u202erev\\u007f",
    ] {
        assert!(detail.contains(s), "event detail lacks {s:?}: {detail}");
    }
    // The hostile event's own proof verifies, and is this event's.
    let index = recorded[hostile_id].index;
    assert!(
        detail.contains(&format!("Verified: entry {index} of test.local/default")),
        "{detail}"
    );
    assert!(!detail.contains("Proof verified, but"), "{detail}");
    let session = text("session");
    assert!(session.contains("Gap: seq 1 missing"), "{session}");
    assert!(
        session.contains(&format!("oversight: rejected by {H_ATTR}")),
        "{session}"
    );
    assert!(text("keys").contains(H_IMG), "the hostile key label");
    assert_eq!(
        export_href,
        "/v1/logs/default/export?agent=%3Cimg+src%3Dx+onerror%3D%22document.title%3D%27pwned%27%3Bwindow.__pwned%3D2%22%3E"
    );
}

// ---------------------------------------------------------------------------------------------
// Screenshots for the README.

/// Renders the main pages over the demo events into `$SEALOG_SCREENSHOTS` (see
/// `scripts/screenshots`). Ignored by default: it checks nothing the tests above do not.
#[test]
#[ignore = "writes the README's screenshots; run scripts/screenshots"]
fn screenshots() {
    let out = std::env::var("SEALOG_SCREENSHOTS")
        .expect("set SEALOG_SCREENSHOTS to the directory to write into");
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The server name shows in every origin; make it look like a deployment.
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[]);
    let admin = server.admin_token();
    let log_vkey = vkey(&server, &admin, "default");
    let (_, ingest) = create_key(&server, &admin, "ingest", "support-bot (prod)");
    create_key(&server, &admin, "ingest", "research-agent (staging)");
    create_key(&server, &admin, "read", "auditor: Q3 review");
    // The newest events arrive while the overview is open, so it measures an ingest rate.
    let events = demo_events(now_ms());
    let (older, newer) = events.split_at(events.len() - 24);
    record(&server, &ingest, older);
    // A second log, whose key this reader has not pinned.
    let staging = post(&server, &admin, "/v1/logs", &json!({"name": "staging"}));
    assert_eq!(staging.status, 201, "{}", staging.body);
    let research: Vec<Value> = events
        .iter()
        .filter(|e| e["agent"]["id"] == "research-agent")
        .cloned()
        .collect();
    record_in(&server, &admin, "staging", &research);
    let flag = events
        .iter()
        .find(|e| e["action"] == "policy_flag")
        .unwrap();

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 800);
    page.color_scheme("light");
    page.goto(&format!("{}/", server.url));
    sign_in(&page, &admin, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(&log_vkey)
    ));
    std::thread::sleep(Duration::from_millis(2000));
    record(&server, &ingest, newer);
    page.run("await waitFor(() => !text().includes('measuring'), 'an ingest rate', 8000);");
    let shot = |name: &str, height: u32| {
        page.run("await sleep(200);");
        page.screenshot(&out.join(name), height);
    };
    page.viewport(1280, 360);
    shot("logs.png", 360);

    page.viewport(1280, 800);
    goto_hash(&page, "#/logs/default");
    page.run("await waitFor(() => rows().length === 100, 'the events');");
    shot("events.png", 1000);

    goto_hash(
        &page,
        &format!("#/logs/default/events/{}", flag["id"].as_str().unwrap()),
    );
    page.run("await waitText('Verified: entry');");
    page.run("document.querySelector('section.proof details').open = true;");
    shot("event.png", 2400);

    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session.png", 1200);

    goto_hash(&page, "#/logs/default/keys");
    page.run("await waitText('Create a key');");
    page.run("el('#k-label').value = 'ci-pipeline'; el('#k-role').value = 'ingest';");
    page.click("el('form.card button', 'Create')");
    page.run("await waitText('Copy it now');");
    shot("keys.png", 900);

    goto_hash(
        &page,
        &format!("#/logs/default/export?session={GAP_SESSION}"),
    );
    page.run("await waitText('Download evidence pack');");
    shot("export.png", 700);

    page.color_scheme("dark");
    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session-dark.png", 1200);

    page.color_scheme("light");
    page.viewport(390, 844);
    goto_hash(&page, "#/logs/default");
    goto_hash(&page, &format!("#/logs/default/sessions/{GAP_SESSION}"));
    page.run("await waitText('Span tree');");
    shot("session-phone.png", 844);
}

// ---------------------------------------------------------------------------------------------
// Rendering time with a large log (bench/dashboard.sh).

/// The median of `xs` (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times the main pages in the browser against a server that `bench/dashboard.sh` started and
/// filled: `$SEALOG_BENCH_URL`, signed in with `$SEALOG_BENCH_TOKEN`, `$SEALOG_BENCH_RUNS` runs
/// of each page (default 5). Each run goes to the page from another one inside the app ("in
/// app": from the start of the app's render to its `sealog:page` measure, when the page shows
/// its data, and to the next frame drawn), then loads it afresh in a new document ("new load":
/// from navigation start to that measure). Prints a table; asserts only that every page showed
/// what it should, never how fast.
#[test]
#[ignore = "a benchmark against a filled server; run bench/dashboard.sh"]
fn render_times() {
    let url = std::env::var("SEALOG_BENCH_URL").expect("set SEALOG_BENCH_URL");
    let token = std::env::var("SEALOG_BENCH_TOKEN").expect("set SEALOG_BENCH_TOKEN");
    let runs: usize = std::env::var("SEALOG_BENCH_RUNS").map_or(5, |r| r.parse().unwrap());
    let api = |path: &str| {
        let r = call("GET", &format!("{url}{path}"), Some(&token), None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    };
    let info = api("/v1/logs/default");
    let newest = &api("/v1/logs/default/events?limit=1")["events"][0]["event"];
    let id = newest["id"].as_str().unwrap().to_owned();
    let session = newest["session"]["id"].as_str().unwrap().to_owned();
    let agent = newest["agent"]["id"].as_str().unwrap().to_owned();
    println!(
        "log size {}, index lag {}; event {id}, session {session}",
        info["size"], info["index_lag"]
    );

    let chromium = Chromium::launch();
    let page = chromium.page(1280, 900);
    page.goto(&format!("{url}/"));
    sign_in(&page, &token, "Checkpoint size");
    page.run(&format!(
        "localStorage.setItem('sealog.pin.default', {});",
        js(info["vkey"].as_str().unwrap())
    ));
    // The newest event's own microsecond: a time range that the zone maps narrow down.
    let at = sealog_storage::index::parse_ts(newest["ts"].as_str().unwrap()).unwrap();
    let (since, until) = (
        sealog_core::leaf::format_received(at),
        sealog_core::leaf::format_received(at + 1),
    );
    // (name, route, what the populated page shows)
    let pages = [
        (
            "logs overview",
            "#/".to_owned(),
            "document.querySelector('table.logs tbody tr')",
        ),
        (
            "events, no filter",
            "#/logs/default".to_owned(),
            "rows().length === 100",
        ),
        (
            "events, agent=",
            format!("#/logs/default?agent={agent}"),
            "rows().length === 100",
        ),
        (
            "events, session=",
            format!("#/logs/default?session={session}"),
            "rows().length > 0",
        ),
        (
            "events, action=&status=",
            "#/logs/default?action=tool_call&status=ok".to_owned(),
            "rows().length === 100",
        ),
        (
            "events, status=error (none)",
            "#/logs/default?status=error".to_owned(),
            "/0 events loaded/.test(text())",
        ),
        (
            "events, since=&until=",
            format!("#/logs/default?since={since}&until={until}"),
            "rows().length > 0",
        ),
        (
            "event + verify in browser",
            format!("#/logs/default/events/{id}"),
            "text().includes('Verified: entry')",
        ),
        (
            "session view",
            format!("#/logs/default/sessions/{session}"),
            "text().includes('Span tree')",
        ),
    ];
    println!(
        "\n| page | in app: data shown | in app: next frame | new load: data shown | slowest API call (in app, last run) |"
    );
    println!("|---|---|---|---|---|");
    for (name, route, shown) in &pages {
        let (mut ready, mut painted, mut loaded) = (Vec::new(), Vec::new(), Vec::new());
        let mut slowest = Value::Null;
        for run in 0..runs {
            // In the app: from an empty page to this one.
            goto_hash(&page, &format!("#/bench-{run}"));
            let m = page.run(&format!(
                "const measured = nextMeasure();
                 location.hash = {route};
                 const m = await measured;
                 const painted = await nextPaint();
                 await waitFor(() => {shown}, 'the populated page');
                 return {{ready: m.duration, painted: painted - m.startTime, api: apiSince(m.startTime)}};",
                route = js(route),
            ));
            ready.push(m["ready"].as_f64().unwrap());
            painted.push(m["painted"].as_f64().unwrap());
            slowest = m["api"][0].clone();
            // A new document: HTML, scripts, session check, then the page.
            page.goto("about:blank");
            page.goto(&format!("{url}/{route}"));
            let m = page.run(&format!(
                "const m = await waitFor(() => performance.getEntriesByName('sealog:page')[0], 'the page');
                 await waitFor(() => {shown}, 'the populated page');
                 return m.startTime + m.duration;"
            ));
            loaded.push(m.as_f64().unwrap());
        }
        let range = |xs: &mut Vec<f64>| {
            let med = median(xs);
            format!("{med:.0} ms ({:.0}–{:.0})", xs[0], xs[xs.len() - 1])
        };
        println!(
            "| {name} | {} | {} | {} | {} |",
            range(&mut ready),
            range(&mut painted),
            range(&mut loaded),
            match slowest.as_array() {
                Some(a) => format!("`{}` {} ms", a[0].as_str().unwrap(), a[1]),
                None => "–".to_owned(),
            }
        );
    }
    assert_no_page_errors(&page);
}
